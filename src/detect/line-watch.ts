import type { TelemetrySample } from '../telemetry/sample.js';
import { ChannelMap } from './channel-map.js';
import { DrugLibrary } from './drug-library.js';
import type { FindingSink } from '../alarms/finding.js';
import { DisturbanceJudge } from './disturbance.js';
import { InfiltrationWatch } from './infiltration-watch.js';
import { LineState, SEGMENT_NONE, SEGMENT_RESUME, SEGMENT_STARTUP, type SegmentKind } from './line-state.js';
import { OcclusionWatch } from './occlusion-watch.js';
import { RecurrenceWatch } from './recurrence-watch.js';
import type { DetectorSettings } from './settings.js';

const MS_PER_HOUR = 3_600_000;
/** A reported volume that falls by more than this means a new syringe or infusion. */
const VOLUME_RESET_ML = 0.01;
/** An infusion already this far along when first seen is past its start-up. */
const PAST_STARTUP_ML = 0.5;

/** What `LineWatch.inspect` returns. */
export interface ChannelInspection {
  volumeMl: number;
  segment: { kind: 'startup' | 'resume'; startTs: number; startVolumeMl: number; baselineLearned: boolean };
  /** Learned baseline pressure of the segment (null while it is still being learned). */
  baselineMmHg: number | null;
  tissue: {
    /** Evidence for a tissue-slope rise, nats, and the threshold it is judged against. */
    scoreNats: number;
    thresholdNats: number;
    operatingPoint: 'ward' | 'vesicant-line';
    /** Slope of the current run of evidence (null when there is none). */
    judgedSlopeMmHgPerMl: number | null;
    onsetMmHg: number | null;
    driftMmHg2PerHour: number;
  };
  occlusionActive: boolean;
  infiltrationActive: boolean;
  recurrentActive: boolean;
}

export interface LineWatchOptions {
  settings: DetectorSettings;
  /** The pump's own downstream-occlusion codes (config `detection.occlusionAlarmCodes`), for recurrence. */
  occlusionAlarmCodes: readonly string[];
  emit: FindingSink;
}

/**
 * The pressure-trend detector: one `LineState` per pump channel, updated in O(1) per sample with
 * no allocation unless a finding is emitted. Pressure is judged against the volume delivered, not
 * time, so one slope threshold holds at every rate:
 *
 * - `downstream-occlusion`: a ramp at system-compliance slope rising ≥ 10 mmHg above the learned
 *   baseline, still rising in the second half of the volume since its onset (a step is not a
 *   ramp), whose likelihood ratio against a wandering level (`occlusion-watch.ts`, `rampLlr`)
 *   crosses its threshold on two consecutive blocks; a fixed rise while the baseline is learned;
 * - `possible-infiltration`: a sequential test (CUSUM of log-likelihood ratios) for a rise at
 *   tissue-compliance slope (10–33 mmHg/mL) against a vein, with slow drift as a random walk
 *   (`infiltration-watch.ts`, `slope-cusum.ts`); a more sensitive operating point on vesicant
 *   lines in sensitive care areas, medium priority on vesicant lines;
 * - `recurrent-occlusion`: several occlusion episodes or auto-restarts within an hour.
 *
 * Learning restarts after every event that changes the hydraulics (start-up, rate change, bolus,
 * pause/resume, syringe change, telemetry gap), so transients are never judged against an old
 * baseline. Deterministic: time comes only from sample timestamps.
 */
export class LineWatch {
  readonly #s: DetectorSettings;
  readonly #channels: ChannelMap<LineState>;
  readonly #disturbance: DisturbanceJudge;
  readonly #occlusion: OcclusionWatch;
  readonly #infiltration: InfiltrationWatch;
  readonly #recurrence: RecurrenceWatch;
  readonly #drugs: DrugLibrary;
  readonly #maxGapMs: number;

  constructor({ settings, occlusionAlarmCodes, emit }: LineWatchOptions) {
    this.#s = settings;
    const driftPrior = settings.infiltration.driftPriorMmHg2PerHour;
    this.#channels = new ChannelMap(() => new LineState(driftPrior));
    this.#disturbance = new DisturbanceJudge(settings.disturbance);
    this.#occlusion = new OcclusionWatch(settings, emit, this.#disturbance);
    this.#infiltration = new InfiltrationWatch(settings, emit);
    this.#recurrence = new RecurrenceWatch(settings, occlusionAlarmCodes, emit);
    this.#drugs = new DrugLibrary(settings.drugLibrary, settings.sensitiveContext.careAreas);
    this.#maxGapMs = settings.segments.maxGapSeconds * 1000;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /** A channel's raw state for the ward page's charts; undefined before its first sample. Never write to it. */
  state(pumpId: string, channel: string): Readonly<LineState> | undefined {
    return this.#channels.get(pumpId, channel);
  }

  /**
   * Read-only view of one channel's detector state, for per-channel charts (baseline, the slope
   * being judged, segment restarts): undefined for a channel never seen. Allocates a small object
   * per call, so it is for views and tests, not the sample path. Pressures in mmHg, volumes in mL
   * delivered since the channel was first seen, times in epoch ms.
   */
  inspect(pumpId: string, channel: string): ChannelInspection | undefined {
    const st = this.#channels.get(pumpId, channel);
    if (st === undefined) return undefined;
    const spanMl = st.tissueLastV - st.tissueOnsetV;
    const judging = st.tissueScore > 0 && spanMl > 0;
    return {
      volumeMl: st.volume,
      segment: {
        kind: st.segmentKind === SEGMENT_STARTUP ? 'startup' : 'resume',
        startTs: st.segmentStartTs,
        startVolumeMl: st.segmentStartVolume,
        baselineLearned: st.baselineLearned,
      },
      baselineMmHg: st.baselineLearned ? st.baseline : null,
      tissue: {
        scoreNats: st.tissueScore,
        thresholdNats: this.#infiltration.thresholdNats(st),
        operatingPoint: InfiltrationWatch.vesicantPoint(st) ? 'vesicant-line' : 'ward',
        judgedSlopeMmHgPerMl: judging ? (st.tissueLastP - st.tissueOnsetP) / spanMl : null,
        onsetMmHg: Number.isNaN(st.tissueOnsetP) ? null : st.tissueOnsetP,
        driftMmHg2PerHour: st.driftRate,
      },
      occlusionActive: st.occlusionActive,
      infiltrationActive: st.infiltrationActive,
      recurrentActive: st.recurrentActive,
    };
  }

  /** A retired channel starts afresh if it ever comes back. */
  forget(pumpId: string, channel: string): void {
    this.#channels.delete(pumpId, channel);
  }

  onSample(sample: TelemetrySample): void {
    this.onSampleAt(this.channel(sample.pumpId, sample.channel), sample);
  }

  /** A channel's detector state, made on first use; dropped by `forget`. */
  channel(pumpId: string, channel: string): LineState {
    return this.#channels.getOrCreate(pumpId, channel);
  }

  /** `onSample` with the channel's state already resolved (`channel`). */
  onSampleAt(st: LineState, sample: TelemetrySample): void {
    const ts = sample.ts;
    // Duplicated and reordered samples carry nothing new; judging them would bend the volume axis.
    if (st.hasPrevious && ts <= st.lastTs) return;

    let restart = this.#updateContext(st, sample);
    this.#recurrence.onSample(st, sample, ts);

    const infusing = sample.state === 'infusing' || sample.state === 'kvo';
    const rate = sample.rateMlPerH ?? 0;
    if (st.hasPrevious) {
      const dtMs = ts - st.lastTs;
      if (st.previousInfusing) st.volume += (st.previousRate * Math.min(dtMs, this.#maxGapMs)) / MS_PER_HOUR;
      if (dtMs > this.#maxGapMs && restart < SEGMENT_RESUME) restart = SEGMENT_RESUME;
      if (infusing && !st.previousInfusing) restart = st.startupPending ? SEGMENT_STARTUP : Math.max(restart, SEGMENT_RESUME) as SegmentKind;
      if (infusing && st.previousInfusing && Math.abs(rate - st.previousRate) > this.#s.segments.rateChangeFraction * st.previousRate) {
        if (restart < SEGMENT_RESUME) restart = SEGMENT_RESUME;
      }
    } else {
      restart = (sample.volumeInfusedMl ?? 0) >= PAST_STARTUP_ML ? SEGMENT_RESUME : SEGMENT_STARTUP;
    }
    const reported = sample.volumeInfusedMl;
    if (reported !== undefined) {
      if (st.hasPrevious && reported < st.reportedVolume - VOLUME_RESET_ML) restart = SEGMENT_STARTUP;
      st.reportedVolume = reported;
    }
    if (sample.state === 'stopped' || sample.state === 'priming') st.startupPending = true;
    if (restart !== SEGMENT_NONE) this.#startSegment(st, restart, ts, sample);
    if (infusing) st.startupPending = false;
    st.hasPrevious = true;
    st.lastTs = ts;
    st.previousRate = rate;
    st.previousInfusing = infusing;

    const rawPressure = sample.downstreamPressureMmHg;
    if (rawPressure === undefined) return;
    const pressure = st.filterPressure(rawPressure);
    // The hydraulics changed (clamp opened, line replaced): learn the line afresh.
    if (st.occlusionActive && this.#occlusion.checkEnd(st, pressure, ts, sample)) this.#startSegment(st, SEGMENT_RESUME, ts, sample);
    if (!infusing || rate <= 0) return;
    this.#accumulate(st, pressure, ts, sample);
  }

  /** Re-matches drug and care area only when they change. A drug change means a new infusion. */
  #updateContext(st: LineState, sample: TelemetrySample): SegmentKind {
    let restart: SegmentKind = SEGMENT_NONE;
    const drugName = sample.drug?.name;
    if (drugName !== undefined && drugName !== st.drugName) {
      // A missing name keeps the last one: some pumps send the drug only now and then.
      if (st.drugName !== undefined) restart = SEGMENT_STARTUP;
      st.drugName = drugName;
      const match = this.#drugs.match(sample.drug);
      st.vesicant = match?.vesicant ?? false;
      st.drugLabel = match?.name ?? drugName;
    }
    const careArea = sample.careArea;
    if (careArea !== undefined && careArea !== st.careArea) {
      st.careArea = careArea;
      st.sensitiveArea = this.#drugs.isSensitiveCareArea(careArea);
    }
    return restart;
  }

  #startSegment(st: LineState, kind: SegmentKind, ts: number, sample: TelemetrySample): void {
    st.segmentKind = kind;
    st.segmentStartTs = ts;
    st.segmentStartVolume = st.volume;
    st.segmentMinP = Number.POSITIVE_INFINITY;
    st.clearRings();
    st.baselineLearned = false;
    st.occlusionConfirm = 0;
    // A new syringe or infusion means someone has handled the line.
    if (kind === SEGMENT_STARTUP && st.infiltrationActive) this.#infiltration.end(st, ts, sample, 'new-infusion');
  }

  #accumulate(st: LineState, pressure: number, ts: number, sample: TelemetrySample): void {
    const volume = st.volume;
    this.#occlusion.noteSample(st, pressure, volume);
    st.addToBlock(volume, pressure);
    if (st.blockSamples >= this.#s.occlusion.blockSamples && st.blockSpanMl >= this.#s.occlusion.blockVolumeMl) {
      st.closeBlock();
      if (this.#occlusion.onBlock(st, ts, sample)) {
        if (st.infiltrationActive) this.#infiltration.end(st, ts, sample, 'occlusion');
        if (!st.pumpOcclusionCode) this.#recurrence.episode(st, ts, sample);
      }
    }
    st.addToSlab(volume, pressure);
    const slabSamples = st.slabSamples;
    if (slabSamples >= this.#s.infiltration.slabSamples && st.slabSpanMl >= this.#s.infiltration.slabVolumeMl) {
      st.closeSlab();
      const quiet = this.#disturbance.nextQuiet(st, st.closedJaggedness, st.quietSlabJaggedness);
      const disturbed = Number.isNaN(quiet);
      if (!disturbed) st.quietSlabJaggedness = quiet;
      this.#infiltration.onSlab(st, st.closedP, st.closedV, slabSamples, disturbed, st.baselineLearned && !st.occlusionActive, ts, sample);
    }
  }

}
