import type { AlarmEvidence } from '../alarms/event.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import { ChannelMap } from './channel-map.js';
import { DrugLibrary } from './drug-library.js';
import type { FindingSink } from './finding.js';
import { EPISODE_RING_SIZE, LineState, RING_SIZE, SEGMENT_NONE, SEGMENT_RESUME, SEGMENT_STARTUP, type SegmentKind } from './line-state.js';
import type { DetectorSettings } from './settings.js';

const MS_PER_HOUR = 3_600_000;
/** σ of a block mean from the mean |difference| of consecutive blocks: E|d| = 2σ/√π. */
const ABS_DIFF_TO_SIGMA = Math.sqrt(Math.PI) / 2;
/** Weight of one new block or slab in the running noise estimates. */
const NOISE_WEIGHT = 1 / 16;
/** The wander prior counts as this many windows; after that, the memory is this many windows. */
const WANDER_PRIOR_WEIGHT = 4;
const WANDER_MEMORY = 16;
/** A reported volume that falls by more than this means a new syringe or infusion. */
const VOLUME_RESET_ML = 0.01;
/** An infusion already this far along when first seen is past its start-up. */
const PAST_STARTUP_ML = 0.5;

export interface LineWatchOptions {
  settings: DetectorSettings;
  /** The pump's own downstream-occlusion codes (config `detection.occlusionAlarmCodes`), for recurrence. */
  occlusionAlarmCodes: readonly string[];
  emit: FindingSink;
}

interface WindowFit {
  /** Undisturbed slabs in the window; the rest of the fit is valid only when ≥ 4. */
  clean: number;
  slope: number;
  rise: number;
  spanMl: number;
  startP: number;
  even: boolean;
}

/**
 * Running mean of |difference| between consecutive block or slab means. Each new difference is
 * clipped at 3× the current scale, so a step (which the shape tests handle) is not taken for noise.
 */
function updateMeanAbsDiff(current: number, difference: number, floorMmHg: number): number {
  const observed = Math.min(Math.abs(difference), 3 * (current + floorMmHg));
  return current + (observed - current) * NOISE_WEIGHT;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * The pressure-trend detector: one `LineState` per pump channel, updated in O(1) per sample with
 * no allocation unless a finding is emitted. Pressure is judged against the volume delivered, not
 * time, so one slope threshold holds at every rate:
 *
 * - `downstream-occlusion`: a ramp at system-compliance slope (≥ 100 mmHg/mL) rising ≥ 10 mmHg
 *   above the learned baseline, still rising in the second half of the volume since its onset
 *   (a step is not a ramp), confirmed on two consecutive blocks;
 * - `possible-infiltration`: a slow rise at tissue-compliance slope (8–100 mmHg/mL), at least
 *   3 mmHg and 4× the slab noise across 0.2 mL, spread evenly over the window (a step is not a
 *   ramp); earlier on vesicant lines in sensitive care areas, medium priority on vesicant lines;
 * - `recurrent-occlusion`: several occlusion episodes or auto-restarts within an hour.
 *
 * Learning restarts after every event that changes the hydraulics (start-up, rate change, bolus,
 * pause/resume, syringe change, telemetry gap), so transients are never judged against an old
 * baseline. Deterministic: time comes only from sample timestamps.
 */
export class LineWatch {
  readonly #s: DetectorSettings;
  readonly #emit: FindingSink;
  readonly #channels = new ChannelMap(() => new LineState());
  readonly #drugs: DrugLibrary;
  readonly #occlusionCodes: ReadonlySet<string>;
  readonly #restartCodes: ReadonlySet<string>;
  readonly #maxGapMs: number;
  readonly #recurrenceCount: number;
  readonly #recurrenceWindowMs: number;

  constructor({ settings, occlusionAlarmCodes, emit }: LineWatchOptions) {
    this.#s = settings;
    this.#emit = emit;
    this.#drugs = new DrugLibrary(settings.drugLibrary, settings.sensitiveContext.careAreas);
    this.#occlusionCodes = new Set(occlusionAlarmCodes);
    this.#restartCodes = new Set(settings.recurrentOcclusion.autoRestartCodes);
    this.#maxGapMs = settings.segments.maxGapSeconds * 1000;
    this.#recurrenceCount = Math.min(settings.recurrentOcclusion.count, EPISODE_RING_SIZE);
    this.#recurrenceWindowMs = settings.recurrentOcclusion.windowMinutes * 60_000;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /** A retired channel starts afresh if it ever comes back. */
  forget(pumpId: string, channel: string): void {
    this.#channels.delete(pumpId, channel);
  }

  onSample(sample: TelemetrySample): void {
    const st = this.#channels.getOrCreate(sample.pumpId, sample.channel);
    const ts = sample.ts;
    // Duplicated and reordered samples carry nothing new; judging them would bend the volume axis.
    if (st.hasPrevious && ts <= st.lastTs) return;

    let restart = this.#updateContext(st, sample);
    this.#trackPumpCodes(st, sample, ts);

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
    if (st.occlusionActive) this.#checkOcclusionEnd(st, pressure, ts, sample);
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
    st.infiltrationArmed = false;
    st.infiltrationConfirm = 0;
    // A new syringe or infusion means someone has handled the line.
    if (kind === SEGMENT_STARTUP && st.infiltrationActive) this.#endInfiltration(st, ts, sample, 'new-infusion');
  }

  #accumulate(st: LineState, pressure: number, ts: number, sample: TelemetrySample): void {
    const volume = st.volume;
    st.addToBlock(volume, pressure);
    if (st.blockSamples >= this.#s.occlusion.blockSamples && st.blockSpanMl >= this.#s.occlusion.blockVolumeMl) {
      st.closeBlock();
      this.#onBlock(st, ts, sample);
    }
    st.addToSlab(volume, pressure);
    if (st.slabSamples >= this.#s.infiltration.slabSamples && st.slabSpanMl >= this.#s.infiltration.slabVolumeMl) {
      st.closeSlab();
      this.#onSlab(st, ts, sample);
    }
  }

  /**
   * Whether a block's samples were jagged compared with this line's quiet blocks: crying,
   * movement, a knock or a flush. Disturbed blocks and slabs are left out of every trend test.
   */
  #disturbed(st: LineState, jaggedness: number, quiet: number): boolean {
    const disturbance = this.#s.disturbance;
    // A ramp reported in coarse steps scatters by up to a step around its own line.
    const floor = Math.max(disturbance.jaggednessFloorMmHg, Number.isFinite(st.resolutionMmHg) ? disturbance.resolutionFraction * st.resolutionMmHg : 0);
    return jaggedness > disturbance.jaggednessMultiple * Math.max(quiet, floor);
  }

  /** The quiet jaggedness learned with one more block, or NaN when this block was disturbed. */
  #nextQuiet(st: LineState, jaggedness: number, quiet: number): number {
    if (quiet === 0) return jaggedness;
    return this.#disturbed(st, jaggedness, quiet) ? Number.NaN : quiet + (jaggedness - quiet) * NOISE_WEIGHT;
  }

  // ── occlusion ────────────────────────────────────────────────────────────────────────────────

  #blockSigma(st: LineState): number {
    return Math.max(this.#s.segments.noiseFloorMmHg, st.blockMeanAbsDiff * ABS_DIFF_TO_SIGMA);
  }

  #blockDisturbed(st: LineState, back: number): boolean {
    return this.#disturbed(st, st.fineJaggedness(back), st.quietBlockJaggedness);
  }

  /** The last three blocks are undisturbed, lie within the flat band and do not rise at occlusion slope. */
  #lastBlocksFlat(st: LineState): boolean {
    if (st.fineCount < 3 || this.#blockDisturbed(st, 0) || this.#blockDisturbed(st, 1) || this.#blockDisturbed(st, 2)) return false;
    const p0 = st.fineP(0);
    const p1 = st.fineP(1);
    const p2 = st.fineP(2);
    const range = Math.max(p0, p1, p2) - Math.min(p0, p1, p2);
    const slope = Math.abs(p0 - p2) / Math.max(st.fineV(0) - st.fineV(2), Number.EPSILON);
    return range <= this.#s.segments.flatMmHg && slope < this.#s.occlusion.minSlopeMmHgPerMl / 4;
  }

  #onBlock(st: LineState, ts: number, sample: TelemetrySample): void {
    const volume = st.closedV;
    const pressure = st.closedP;
    const previousP = st.fineCount > 0 ? st.fineP(0) : pressure;
    const previousV = st.fineCount > 0 ? st.fineV(0) : volume;
    const previousClean = st.fineCount > 0 && !this.#blockDisturbed(st, 0);
    st.pushFine();
    const quiet = this.#nextQuiet(st, st.closedJaggedness, st.quietBlockJaggedness);
    const disturbed = Number.isNaN(quiet);
    if (!disturbed) st.quietBlockJaggedness = quiet;
    if (!disturbed && pressure < st.segmentMinP) st.segmentMinP = pressure;
    if (st.occlusionActive) {
      if (pressure > st.occlusionPeakP) st.occlusionPeakP = pressure;
      return;
    }
    const segments = this.#s.segments;
    const occlusion = this.#s.occlusion;
    if (!st.baselineLearned) {
      const settleMs = (st.segmentKind === SEGMENT_STARTUP ? segments.startupSettleSeconds : segments.resumeSettleSeconds) * 1000;
      if (ts - st.segmentStartTs >= settleMs && volume - st.segmentStartVolume >= segments.settleVolumeMl && this.#lastBlocksFlat(st)) {
        st.baseline = (st.fineP(0) + st.fineP(1) + st.fineP(2)) / 3;
        st.blockMeanAbsDiff = (Math.abs(st.fineP(0) - st.fineP(1)) + Math.abs(st.fineP(1) - st.fineP(2))) / 2;
        st.baselineLearned = true;
      }
    }

    let base: number;
    let threshold: number;
    if (st.baselineLearned) {
      threshold = Math.max(occlusion.riseMmHg, occlusion.riseNoiseMultiple * this.#blockSigma(st));
      const residual = pressure - st.baseline;
      if (!disturbed && Math.abs(residual) <= threshold / 2) {
        st.baseline += residual * Math.min(1, (volume - previousV) / segments.trackVolumeMl);
        if (previousClean) st.blockMeanAbsDiff = updateMeanAbsDiff(st.blockMeanAbsDiff, pressure - previousP, segments.noiseFloorMmHg);
      }
      base = st.baseline;
    } else {
      base = st.segmentMinP;
      threshold = st.segmentKind === SEGMENT_STARTUP ? occlusion.startupRiseMmHg : occlusion.settleRiseMmHg;
    }

    if (disturbed) return;
    if (ts - st.occlusionEndedTs < occlusion.holdOffSeconds * 1000) {
      st.occlusionConfirm = 0;
      return;
    }
    const onsetBack = this.#rampOnset(st, base, threshold);
    if (onsetBack < 0) {
      st.occlusionConfirm = 0;
      // A level shift that has stopped rising (height change, movement) becomes the new baseline.
      if (st.baselineLearned && Math.abs(pressure - base) >= threshold && this.#lastBlocksFlat(st)) {
        st.baseline = (st.fineP(0) + st.fineP(1) + st.fineP(2)) / 3;
      }
      return;
    }
    // A rise several times the threshold needs no second block: at slow telemetry one block is a minute.
    const large = pressure - base >= occlusion.immediateRiseMultiple * threshold;
    if (++st.occlusionConfirm < occlusion.confirmBlocks && !large) return;
    this.#raiseOcclusion(st, base, threshold, onsetBack, ts, sample);
  }

  /**
   * Whether the newest block ends an occlusion-like ramp above `base`: returns how many blocks
   * back the ramp began, or −1. Only undisturbed blocks count. The onset is the last block near
   * the base (or the oldest held, when the ramp began before the ring); the rise from there must
   * be steep against volume, span several blocks, still be growing in its second half (a step of
   * any height fails this once the blocks after it settle) and lie close to a straight line (a
   * blocked line fills its compliance smoothly; crying and movement are jagged).
   */
  #rampOnset(st: LineState, base: number, threshold: number): number {
    const occlusion = this.#s.occlusion;
    const count = st.fineCount;
    const pressure = st.fineP(0);
    if (count <= occlusion.minBlocks || pressure - base < threshold) return -1;
    const onsetLevel = base + threshold / 4;
    let onset = -1;
    let oldestClean = -1;
    let clean = 0;
    for (let back = 1; back < count; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      oldestClean = back;
      if (st.fineP(back) <= onsetLevel) {
        onset = back;
        break;
      }
      clean++;
    }
    if (onset < 0) onset = oldestClean;
    // `clean` counts the undisturbed blocks after the onset, the newest included once below.
    if (onset < 0 || clean + 1 < occlusion.minBlocks) return -1;
    const onsetV = st.fineV(onset);
    const rise = pressure - st.fineP(onset);
    const spanMl = st.fineV(0) - onsetV;
    if (spanMl <= 0 || rise / spanMl < occlusion.minSlopeMmHgPerMl) return -1;
    // Rings restart at every rate change, so volume over rate is the time the rise has lasted.
    if ((spanMl / st.previousRate) * 3600 < occlusion.minRiseSeconds) return -1;
    const midV = onsetV + spanMl / 2;
    let midP = st.fineP(onset);
    let midDistance = Number.POSITIVE_INFINITY;
    for (let back = onset - 1; back > 0; back--) {
      if (this.#blockDisturbed(st, back)) continue;
      const distance = Math.abs(st.fineV(back) - midV);
      if (distance < midDistance) {
        midDistance = distance;
        midP = st.fineP(back);
      }
    }
    if (pressure - midP < occlusion.continuationFraction * rise) return -1;
    const allowed = Math.max(occlusion.linearityNoiseMultiple * this.#blockSigma(st), occlusion.linearityFraction * rise);
    return this.#rampResidual(st, onset) <= allowed ? onset : -1;
  }

  /** RMS distance of the undisturbed blocks since the onset from their least-squares line. */
  #rampResidual(st: LineState, onset: number): number {
    let n = 0;
    let sumV = 0;
    let sumP = 0;
    for (let back = 0; back <= onset; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      n++;
      sumV += st.fineV(back);
      sumP += st.fineP(back);
    }
    const meanV = sumV / n;
    const meanP = sumP / n;
    let sxx = 0;
    let sxy = 0;
    for (let back = 0; back <= onset; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      const dv = st.fineV(back) - meanV;
      sxx += dv * dv;
      sxy += dv * (st.fineP(back) - meanP);
    }
    const slope = sxx > 0 ? sxy / sxx : 0;
    let sse = 0;
    for (let back = 0; back <= onset; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      const residual = st.fineP(back) - meanP - slope * (st.fineV(back) - meanV);
      sse += residual * residual;
    }
    return Math.sqrt(sse / Math.max(1, n - 2));
  }

  #raiseOcclusion(st: LineState, base: number, threshold: number, onsetBack: number, ts: number, sample: TelemetrySample): void {
    const pressure = st.fineP(0);
    const rise = pressure - st.fineP(onsetBack);
    const spanMl = st.fineV(0) - st.fineV(onsetBack);
    st.occlusionActive = true;
    st.occlusionConfirm = 0;
    st.occlusionReference = base;
    st.occlusionEndLevel = base + Math.max(this.#s.occlusion.endRiseMmHg, threshold / 2);
    st.occlusionBelowSince = Number.NaN;
    st.occlusionPeakP = pressure;
    if (st.infiltrationActive) this.#endInfiltration(st, ts, sample, 'occlusion');
    if (!st.pumpOcclusionCode) this.#episode(st, ts, sample);
    const slope = rise / spanMl;
    this.#emit({
      condition: 'downstream-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: true,
      atMs: ts,
      message:
        `Line pressure is climbing steadily as the pump delivers (${round(rise, 0)} mmHg over ${round(spanMl * 1000, 0)} µL). ` +
        'Check for a closed clamp or stopcock, a kinked line or a blocked cannula.',
      evidence: {
        source: 'pressure-trend',
        baselineMmHg: round(base, 1),
        baselineLearned: st.baselineLearned,
        pressureMmHg: round(pressure, 1),
        riseMmHg: round(rise, 1),
        thresholdMmHg: round(threshold, 1),
        slopeMmHgPerMl: round(slope, 0),
        volumeSinceOnsetMl: round(spanMl, 4),
        rateMlPerH: sample.rateMlPerH ?? null,
        apparentComplianceUlPerMmHg: round(1000 / slope, 2),
      },
    });
  }

  /** Ends the occlusion once the pressure has stayed near the reference for a while (hysteresis). */
  #checkOcclusionEnd(st: LineState, pressure: number, ts: number, sample: TelemetrySample): void {
    if (pressure > st.occlusionEndLevel) {
      st.occlusionBelowSince = Number.NaN;
      return;
    }
    if (Number.isNaN(st.occlusionBelowSince)) {
      st.occlusionBelowSince = ts;
      return;
    }
    if (ts - st.occlusionBelowSince < this.#s.occlusion.endHoldSeconds * 1000) return;
    st.occlusionActive = false;
    st.occlusionEndedTs = ts;
    this.#emit({
      condition: 'downstream-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: false,
      atMs: ts,
      evidence: {
        source: 'pressure-trend',
        pressureMmHg: round(pressure, 1),
        referenceMmHg: round(st.occlusionReference, 1),
        peakMmHg: round(st.occlusionPeakP, 1),
      },
    });
    // The hydraulics changed (clamp opened, line replaced): learn the line afresh.
    this.#startSegment(st, SEGMENT_RESUME, ts, sample);
  }

  // ── infiltration ─────────────────────────────────────────────────────────────────────────────

  #sensitive(st: LineState): boolean {
    return st.vesicant && st.sensitiveArea;
  }

  #windowSlabs(st: LineState): number {
    const infiltration = this.#s.infiltration;
    const factor = this.#sensitive(st) ? this.#s.sensitiveContext.windowFactor : 1;
    const slabs = Math.round((infiltration.windowVolumeMl * factor) / infiltration.slabVolumeMl) + 1;
    return Math.min(RING_SIZE, Math.max(5, slabs));
  }

  #slabDisturbed(st: LineState, back: number): boolean {
    return this.#disturbed(st, st.slabJaggedness(back), st.quietSlabJaggedness);
  }

  /**
   * Least-squares line through the undisturbed slabs among the newest `n`, and whether the rise is
   * spread evenly across their four quarters. Only called when a slab closes (every ≥ 3 samples),
   * so O(n) stays O(1) per sample on average and bounded at worst.
   */
  #fitWindow(st: LineState, n: number, out: WindowFit): void {
    let clean = 0;
    let sumV = 0;
    let sumP = 0;
    for (let back = 0; back < n; back++) {
      if (this.#slabDisturbed(st, back)) continue;
      clean++;
      sumV += st.slabV(back);
      sumP += st.slabP(back);
    }
    out.clean = clean;
    if (clean < 4) return;
    const meanV = sumV / clean;
    const meanP = sumP / clean;
    let sxx = 0;
    let sxy = 0;
    for (let back = 0; back < n; back++) {
      if (this.#slabDisturbed(st, back)) continue;
      const dv = st.slabV(back) - meanV;
      sxx += dv * dv;
      sxy += dv * (st.slabP(back) - meanP);
    }
    const slope = sxx > 0 ? sxy / sxx : 0;
    const oldestV = st.slabV(n - 1);
    out.slope = slope;
    out.spanMl = st.slabV(0) - oldestV;
    out.rise = slope * out.spanMl;
    out.startP = meanP + slope * (oldestV - meanV);

    // Quarters of the undisturbed slabs, oldest first; each step between quarter means must carry its share.
    out.even = true;
    let previousV = 0;
    let previousP = 0;
    let index = 0;
    let quarter = 0;
    let qv = 0;
    let qp = 0;
    let inQuarter = 0;
    for (let back = n - 1; back >= 0; back--) {
      if (this.#slabDisturbed(st, back)) continue;
      qv += st.slabV(back);
      qp += st.slabP(back);
      inQuarter++;
      index++;
      if (index < Math.floor(((quarter + 1) * clean) / 4)) continue;
      qv /= inQuarter;
      qp /= inQuarter;
      if (quarter > 0 && qp - previousP < this.#s.infiltration.evenness * slope * (qv - previousV)) out.even = false;
      previousV = qv;
      previousP = qp;
      quarter++;
      qv = 0;
      qp = 0;
      inQuarter = 0;
    }
  }

  readonly #fit: WindowFit = { clean: 0, slope: 0, rise: 0, spanMl: 0, startP: 0, even: false };

  #onSlab(st: LineState, ts: number, sample: TelemetrySample): void {
    const pressure = st.closedP;
    const previousClean = st.slabCount > 0 && !this.#slabDisturbed(st, 0);
    st.pushSlab();
    const quiet = this.#nextQuiet(st, st.closedJaggedness, st.quietSlabJaggedness);
    const disturbed = Number.isNaN(quiet);
    if (!disturbed) st.quietSlabJaggedness = quiet;
    if (st.occlusionActive) {
      st.infiltrationConfirm = 0;
      return;
    }
    if (st.infiltrationActive) {
      // Ends only if the pressure falls back to where the rise began: tissue does not drain itself.
      if (!disturbed) st.infiltrationEndConfirm = pressure <= st.infiltrationStartP ? st.infiltrationEndConfirm + 1 : 0;
      if (st.infiltrationEndConfirm >= 2) this.#endInfiltration(st, ts, sample, 'pressure-fell');
      return;
    }
    if (!st.baselineLearned) return;
    const infiltration = this.#s.infiltration;
    const n = this.#windowSlabs(st);
    if (st.slabCount < n) return;
    const fit = this.#fit;
    this.#fitWindow(st, n, fit);
    // A window mostly taken up by crying or handling says nothing either way.
    if (disturbed || fit.clean < this.#s.disturbance.minCleanFraction * n) return;

    if (!st.infiltrationArmed) {
      // Armed only once a whole window has looked like a vein: start-up creep is not a site.
      if (Math.abs(fit.slope) < infiltration.minSlopeMmHgPerMl / 2) {
        st.infiltrationArmed = true;
        let sumAbsDiff = 0;
        let pairs = 0;
        for (let back = 1; back < n; back++) {
          if (this.#slabDisturbed(st, back - 1) || this.#slabDisturbed(st, back)) continue;
          sumAbsDiff += Math.abs(st.slabP(back - 1) - st.slabP(back));
          pairs++;
        }
        st.slabMeanAbsDiff = pairs > 0 ? sumAbsDiff / pairs : 0;
        const prior = infiltration.wanderPriorMmHg;
        st.windowRiseVariance = prior * prior;
        st.windowRiseCount = 0;
        st.slabsSinceWanderUpdate = 0;
      }
      return;
    }
    const sensitive = this.#sensitive(st);
    const noiseFloor = this.#s.segments.noiseFloorMmHg;
    const sigma = Math.max(noiseFloor, st.slabMeanAbsDiff * ABS_DIFF_TO_SIGMA);
    const factor = sensitive ? this.#s.sensitiveContext.riseFactor : 1;
    const wander = Math.sqrt(st.windowRiseVariance);
    const threshold =
      Math.max(infiltration.riseMmHg, infiltration.riseNoiseMultiple * sigma, infiltration.wanderMultiple * wander) * factor;
    const tissueShaped = fit.slope >= infiltration.minSlopeMmHgPerMl && fit.slope < this.#s.occlusion.minSlopeMmHgPerMl && fit.even;
    // Disjoint windows only, and never one shaped like the very thing being looked for.
    if (++st.slabsSinceWanderUpdate >= n && !tissueShaped) this.#learnWander(st, fit.rise, wander);
    if (!tissueShaped || fit.rise < threshold) {
      st.infiltrationConfirm = 0;
      if (previousClean && fit.slope < infiltration.minSlopeMmHgPerMl) {
        st.slabMeanAbsDiff = updateMeanAbsDiff(st.slabMeanAbsDiff, pressure - st.slabP(1), noiseFloor);
      }
      return;
    }
    const confirm = sensitive ? this.#s.sensitiveContext.confirmSlabs : infiltration.confirmSlabs;
    if (++st.infiltrationConfirm < confirm) return;
    if (ts - st.infiltrationEndedTs < infiltration.holdOffMinutes * 60_000) return;
    this.#raiseInfiltration(st, fit, sigma, threshold, ts, sample);
  }

  /**
   * Learns how far a window's pressure wanders on this line when nothing is wrong: slow venous
   * drift and limb movement look like a slope at low rates, where a 0.2 mL window lasts 24 min.
   * A running mean of the squared rise of disjoint windows, starting from a prior worth a few
   * windows; each observation is clipped at 2× the current scale so that a step (such as the fall
   * when a cannula tip leaves the vein) does not teach the detector to ignore what follows.
   */
  #learnWander(st: LineState, rise: number, wander: number): void {
    st.slabsSinceWanderUpdate = 0;
    const clipped = Math.min(Math.abs(rise), 2 * wander);
    const weight = 1 / Math.min(st.windowRiseCount + WANDER_PRIOR_WEIGHT, WANDER_MEMORY);
    st.windowRiseVariance += (clipped * clipped - st.windowRiseVariance) * weight;
    st.windowRiseCount++;
  }

  #raiseInfiltration(st: LineState, fit: WindowFit, sigma: number, threshold: number, ts: number, sample: TelemetrySample): void {
    const infiltration = this.#s.infiltration;
    st.infiltrationActive = true;
    st.infiltrationConfirm = 0;
    st.infiltrationEndConfirm = 0;
    st.infiltrationStartP = fit.startP;
    const drugNote = st.vesicant ? ` This line carries ${st.drugLabel ?? 'a vesicant'}, a vesicant: check the site now.` : '';
    const evidence: AlarmEvidence = {
      source: 'pressure-trend',
      baselineMmHg: round(st.baseline, 1),
      pressureMmHg: round(st.slabP(0), 1),
      riseMmHg: round(fit.rise, 1),
      thresholdMmHg: round(threshold, 1),
      noiseMmHg: round(sigma, 2),
      wanderMmHg: round(Math.sqrt(st.windowRiseVariance), 2),
      slopeMmHgPerMl: round(fit.slope, 1),
      volumeSinceOnsetMl: round(fit.spanMl, 3),
      rateMlPerH: sample.rateMlPerH ?? null,
      apparentSiteComplianceMlPerMmHg: round(1 / fit.slope, 3),
      vesicant: st.vesicant,
      drug: st.drugLabel ?? null,
      careArea: st.careArea ?? null,
    };
    this.#emit({
      condition: 'possible-infiltration',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: true,
      atMs: ts,
      priority: st.vesicant ? infiltration.priorityVesicant : infiltration.priorityOther,
      message:
        `Line pressure is creeping up with the volume delivered (${round(fit.rise, 1)} mmHg over ${round(fit.spanMl, 2)} mL), ` +
        `as it can when fluid collects in tissue. Check the IV site for swelling, blanching, coolness or leakage.${drugNote}`,
      evidence,
    });
  }

  #endInfiltration(st: LineState, ts: number, sample: TelemetrySample, reason: string): void {
    st.infiltrationActive = false;
    st.infiltrationEndedTs = ts;
    st.infiltrationConfirm = 0;
    this.#emit({
      condition: 'possible-infiltration',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: false,
      atMs: ts,
      evidence: { source: 'pressure-trend', reason },
    });
  }

  // ── recurrence ───────────────────────────────────────────────────────────────────────────────

  /** Rising edges of the pump's occlusion and auto-restart codes are episodes; so are our raises. */
  #trackPumpCodes(st: LineState, sample: TelemetrySample, ts: number): void {
    let occluded = false;
    let restarted = false;
    const codes = sample.pumpAlarms;
    if (codes !== undefined) {
      for (let index = 0; index < codes.length; index++) {
        const code = codes[index] as string;
        if (this.#occlusionCodes.has(code)) occluded = true;
        if (this.#restartCodes.has(code)) restarted = true;
      }
    }
    if (occluded && !st.pumpOcclusionCode && !st.occlusionActive) this.#episode(st, ts, sample);
    if (restarted && !st.pumpRestartCode) this.#episode(st, ts, sample);
    st.pumpOcclusionCode = occluded;
    st.pumpRestartCode = restarted;
    if (st.recurrentActive && ts - st.lastEpisodeTs > this.#recurrenceWindowMs) {
      st.recurrentActive = false;
      this.#emit({
        condition: 'recurrent-occlusion',
        pumpId: sample.pumpId,
        channel: sample.channel,
        active: false,
        atMs: ts,
        evidence: { quietMinutes: this.#s.recurrentOcclusion.windowMinutes },
      });
    }
  }

  #episode(st: LineState, ts: number, sample: TelemetrySample): void {
    st.pushEpisode(ts);
    const needed = this.#recurrenceCount;
    if (st.recurrentActive || st.episodeCount < needed) return;
    const firstTs = st.episodeTs(needed - 1);
    if (ts - firstTs > this.#recurrenceWindowMs) return;
    st.recurrentActive = true;
    const minutes = this.#s.recurrentOcclusion.windowMinutes;
    this.#emit({
      condition: 'recurrent-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: true,
      atMs: ts,
      message: `${needed} occlusions or automatic restarts on this line within ${round((ts - firstTs) / 60_000, 0)} min. Check the cannula position and how the line is routed.`,
      evidence: {
        episodes: needed,
        withinMinutes: round((ts - firstTs) / 60_000, 1),
        windowMinutes: minutes,
        rateMlPerH: sample.rateMlPerH ?? null,
      },
    });
  }
}
