import type { InfusionState } from '../telemetry/sample.js';
import { LABEL_CATEGORY, type LabelDetailValue, type LabelKind, type SimLabel } from './labels.js';
import {
  closedInletFillFraction,
  closedInletPressureMmHg,
  hydrostaticHeadMmHg,
  MMHG_PER_MLH_PER_RU,
  MS_PER_H,
  nodePressureAfterStepMmHg,
  outflowOverStepMl,
  refillTimeS,
  solveLine,
  STEP_H,
  STEP_MS,
  tissueVolumeAfterStepMl,
  type LineNetwork,
  type LineOcclusion,
  type Thevenin,
  type TissueSite,
} from './hydraulics.js';
import { PARAMETERS } from './parameters.js';
import { PATIENT_TICK_MS, PatientProcess } from './patient.js';
import { deriveSeed, Rng } from './random.js';
import type { ChannelEventKind, ChannelEventSpec, ChannelSpec, PatientSpec } from './spec.js';

export { STEP_MS } from './hydraulics.js';
const VOLUME_POINT_MS = 60_000;
/** Purge before a new line is connected (assumption; [S14] used a 2 mL priming bolus). */
const PRIME_RATE_ML_PER_H = 120;
const PRIME_VOLUME_ML = 1;
const SYRINGE_CHANGE_DEFAULT_PAUSE_MS = 120_000;
/** Pressures outside the telemetry schema's range are clipped there, as a sensor saturates. */
const MIN_REPORTED_MMHG = -500;
const MAX_REPORTED_MMHG = 3000;

export const PUMP_ALARM_CODES = {
  downstream: 'OCCLUSION_DOWNSTREAM',
  upstream: 'OCCLUSION_UPSTREAM',
  syringeEmpty: 'SYRINGE_EMPTY',
  bagEmpty: 'BAG_EMPTY',
} as const;

type Mode = 'infusing' | 'bolus' | 'paused' | 'stopped' | 'alarm' | 'priming';

/** A telemetry v1 sample as the simulator writes it (field order fixed, so output bytes are stable). */
export interface SimSample {
  pumpId: string;
  channel: string;
  ts: string;
  seq: number;
  state: InfusionState;
  rateMlPerH: number;
  volumeInfusedMl: number;
  downstreamPressureMmHg?: number;
  upstreamPressureMmHg?: number;
  occlusionLimitMmHg: number;
  pumpType: 'syringe' | 'volumetric';
  drug?: { name: string; concentration?: string; code?: string };
  careArea?: string;
  pumpAlarms?: string[];
}

/** One sample and the time it arrives: `atMs` differs from the sample's `ts` only for reordered samples. */
export interface SimEmission {
  atMs: number;
  sample: SimSample;
}

export interface ChannelContext {
  pumpId: string;
  careArea?: string;
  patient: PatientSpec;
  /** Seeds for this channel's own noise and for the patient it shares with its pump's other channels. */
  channelSeed: number;
  patientSeed: number;
  startMs: number;
  endMs: number;
}

interface Action {
  atMs: number;
  order: number;
  run: () => void;
}

interface Occlusion extends LineOcclusion {
  label: SimLabel;
}

interface Infiltration extends TissueSite {
  label: SimLabel;
  volumeMl: number;
  nextPointMs: number;
  points: [number, number][];
}

type EventOf<K extends ChannelEventKind> = Extract<ChannelEventSpec, { kind: K }>;
/** What one kind of scheduled event does when it starts, at channel time `t`. */
type EventStart<K extends ChannelEventKind> = (channel: SimChannel, event: EventOf<K>, t: number, index: number) => void;

interface Outgoing {
  atMs: number;
  sample: SimSample;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/**
 * One pump channel: the pump mechanism, the hydraulic line to the patient (the pure functions of
 * hydraulics.ts over this channel's state), the patient's disturbances, the nurse who answers
 * alarms, and the telemetry it reports. It runs lazily: `peekAtMs()` simulates just far enough to
 * know the next sample.
 */
export class SimChannel {
  readonly pumpId: string;
  readonly channel: string;
  readonly spec: ChannelSpec;
  readonly #ctx: ChannelContext;
  readonly #rng: Rng;
  readonly #patient: PatientProcess;
  readonly #actions: Action[] = [];
  #actionOrder = 0;
  readonly #completedLabels: SimLabel[] = [];
  readonly #openLabels = new Set<SimLabel>();
  #labelCount = 0;
  /** Generated samples not yet handed out, in arrival order (equal times keep generation order). */
  readonly #outbox: Outgoing[] = [];

  #tMs: number;
  #nextPatientTickMs: number;
  #nextReportMs: number;
  readonly #intervalMs: number;
  #seq = 0;
  #done = false;

  // Pump mechanism
  #mode: Mode;
  #rateMlPerH: number;
  #bolusRateMlPerH = 0;
  #bolusLeftMl = 0;
  #bolusLabel: SimLabel | undefined;
  #primeLeftMl = 0;
  #volumeInfusedMl: number;
  #containerLeftMl: number;
  #slackLeftMl = 0;
  #settleMl = 0;
  #settleDoneMl = 0;
  #startUpLabel: SimLabel | undefined;
  #stickDeltaMl = 0;
  #stickThresholdMl: number;
  #ripplePhase: number;
  #alarms: string[] = [];
  #alarmLabel: SimLabel | undefined;

  // Hydraulics
  readonly #complianceMl: number;
  #pressureMmHg = 0;
  #deliveredMl = 0;
  #pumpHeightCm: number;
  /** The line as the hydraulics see it and its Thevenin view, refreshed every step (reused objects: this is the hot loop). */
  readonly #line: LineNetwork;
  readonly #thevenin: Thevenin = { peqMmHg: 0, rtotMmHgPerMlH: 1, lineBlocked: false, catheterBlocked: false };
  #flushRateMlPerH = 0;
  readonly #occlusions: Occlusion[] = [];
  #infiltration: Infiltration | undefined;
  #disconnection: { label: SimLabel; endHeightCm: number } | undefined;
  #upstream: { label: SimLabel; startMs: number } | undefined;
  #upstreamMmHg: number;

  // Telemetry faults
  #dropping = 0;
  #duplicateProbability = 0;
  #reorderProbability = 0;

  constructor(spec: ChannelSpec, ctx: ChannelContext) {
    this.spec = spec;
    this.pumpId = ctx.pumpId;
    this.channel = spec.channel;
    this.#ctx = ctx;
    this.#rng = new Rng(ctx.channelSeed);
    this.#patient = new PatientProcess(ctx.patient, ctx.patientSeed, ctx.startMs);
    this.#tMs = ctx.startMs;
    this.#nextPatientTickMs = ctx.startMs;
    this.#intervalMs = Math.max(1, Math.round((spec.reportIntervalS * 1000) / STEP_MS)) * STEP_MS;
    this.#nextReportMs = ctx.startMs + this.#rng.int(0, this.#intervalMs / STEP_MS - 1) * STEP_MS;
    this.#complianceMl = spec.complianceUlPerMmHg / 1000;
    this.#pumpHeightCm = spec.pumpHeightCm;
    this.#rateMlPerH = spec.rateMlPerH;
    this.#volumeInfusedMl = spec.initialVolumeMl;
    this.#containerLeftMl = spec.initialFillMl;
    this.#stickThresholdMl = this.#drawStickThreshold();
    this.#stickDeltaMl = this.#rng.next() * this.#stickThresholdMl;
    this.#ripplePhase = this.#rng.next() * 2 * Math.PI;
    this.#upstreamMmHg = hydrostaticHeadMmHg(spec.bagHeightCm);
    this.#line = {
      lineResistanceMmHgPerMlH: spec.lineResistanceMmHgPerMlH,
      catheterResistanceMmHgPerMlH: spec.catheterResistanceMmHgPerMlH,
      occlusions: this.#occlusions,
      openEndHeightCm: undefined,
      pumpHeightCm: spec.pumpHeightCm,
      limbHeightCm: 0,
      veinPressureMmHg: spec.venousPressureMmHg,
      veinResistanceMmHgPerMlH: spec.veinResistanceRu * MMHG_PER_MLH_PER_RU,
      tissueOffsetMmHg: 0,
      site: undefined,
      flushRateMlPerH: 0,
    };
    this.#mode = spec.startMode === 'running' ? 'infusing' : 'stopped';
    this.#patient.tick(ctx.startMs);
    this.#nextPatientTickMs += PATIENT_TICK_MS;
    // Start at steady state: the infusion has been running long before the run begins.
    const thevenin = this.#solveLine();
    this.#pressureMmHg = thevenin.peqMmHg + (this.#mode === 'infusing' ? spec.rateMlPerH * thevenin.rtotMmHgPerMlH : 0);
    spec.events.forEach((event, index) => this.#schedule(ctx.startMs + event.atMs, () => this.#startEvent(event, index)));
    for (const event of ctx.patient.events) {
      this.#schedule(ctx.startMs + event.atMs, () => {
        const label = this.#openLabel(event.kind, event.kind === 'crying' ? { riseMmHg: round(event.riseMmHg, 1) } : { amplitudeMmHg: round(event.amplitudeMmHg, 1) });
        this.#schedule(ctx.startMs + event.atMs + event.durationMs, () => this.#closeLabel(label, this.#tMs));
      });
    }
  }

  // ---- emission -------------------------------------------------------------------------

  /** When the next sample arrives, simulating as far as needed; undefined when the run is over. */
  peekAtMs(): number | undefined {
    for (;;) {
      const first = this.#outbox[0];
      // Any sample still to be generated arrives no earlier than its own time, the next report time.
      if (first !== undefined && (this.#done || first.atMs <= this.#nextReportMs)) return first.atMs;
      if (this.#done) return undefined;
      this.#generateReport();
    }
  }

  /** The next sample in arrival order; call after `peekAtMs()` returned a time. */
  take(): SimEmission | undefined {
    if (this.peekAtMs() === undefined) return undefined;
    const next = this.#outbox.shift()!;
    return { atMs: next.atMs, sample: next.sample };
  }

  /** Moves labels that have ended (or all, once the run is over) into `into`. */
  drainLabels(into: SimLabel[]): void {
    for (const label of this.#completedLabels) into.push(label);
    this.#completedLabels.length = 0;
  }

  /** Physics, for calibration and tests: volume that has reached the patient (vein or tissue), not what the motor pushed. */
  get deliveredMl(): number {
    return this.#deliveredMl;
  }

  get infiltratedVolumeMl(): number {
    return this.#infiltration?.volumeMl ?? 0;
  }

  /** Simulates up to `targetMs` without reporting (calibration code drives the channel directly). */
  advanceTo(targetMs: number): void {
    for (;;) {
      this.#runDueActions();
      if (this.#tMs >= this.#nextPatientTickMs) {
        this.#patient.tick(this.#nextPatientTickMs);
        this.#nextPatientTickMs += PATIENT_TICK_MS;
      }
      if (this.#tMs >= targetMs) return;
      this.#step();
      this.#tMs += STEP_MS;
    }
  }

  #generateReport(): void {
    const reportMs = this.#nextReportMs;
    if (reportMs >= this.#ctx.endMs) {
      this.#finish();
      return;
    }
    this.advanceTo(reportMs);
    this.#nextReportMs += this.#intervalMs;
    const seq = this.#seq++;
    if (this.#dropping > 0) return;
    const sample = this.#buildSample(reportMs, seq);
    const rng = this.#rng;
    let atMs = reportMs;
    if (this.#reorderProbability > 0 && rng.chance(this.#reorderProbability)) {
      // Held back past the next one or two samples, as a store-and-forward gateway might.
      atMs = reportMs + this.#intervalMs * rng.int(1, 2) + 1;
    }
    this.#push(atMs, sample);
    if (this.#duplicateProbability > 0 && rng.chance(this.#duplicateProbability)) this.#push(atMs + 1, sample);
  }

  #push(atMs: number, sample: SimSample): void {
    const item: Outgoing = { atMs, sample };
    const outbox = this.#outbox;
    let index = outbox.length;
    while (index > 0 && outbox[index - 1]!.atMs > atMs) index--;
    outbox.splice(index, 0, item);
  }

  #buildSample(tMs: number, seq: number): SimSample {
    const spec = this.spec;
    // Fields are added in wire order (insertion order is JSON order), so output bytes are stable.
    const sample = {
      pumpId: this.pumpId,
      channel: this.channel,
      ts: new Date(tMs).toISOString(),
      seq,
      state: this.#mode,
      rateMlPerH: this.#mode === 'bolus' ? this.#bolusRateMlPerH : this.#rateMlPerH,
      volumeInfusedMl: round(this.#volumeInfusedMl, 3),
    } as SimSample;
    if (spec.reportsPressure) {
      let reading = this.#sensorReadingMmHg() + spec.sensorNoiseMmHg * this.#rng.normal();
      if (spec.pumpType === 'volumetric') {
        reading += spec.rippleSensorMmHg * Math.sin(this.#ripplePhase);
        sample.downstreamPressureMmHg = this.#quantise(reading);
        sample.upstreamPressureMmHg = this.#quantise(this.#upstreamMmHg + spec.sensorNoiseMmHg * this.#rng.normal());
      } else {
        sample.downstreamPressureMmHg = this.#quantise(reading);
      }
    }
    sample.occlusionLimitMmHg = spec.occlusionLimitMmHg;
    sample.pumpType = spec.pumpType;
    if (spec.drug !== undefined) sample.drug = spec.drug;
    if (this.#ctx.careArea !== undefined) sample.careArea = this.#ctx.careArea;
    if (this.#alarms.length > 0) sample.pumpAlarms = [...this.#alarms];
    return sample;
  }

  /** What the pump's own sensor reads: node pressure, zero error and the stick-slip force on the plunger. */
  #sensorReadingMmHg(): number {
    const spec = this.spec;
    let reading = this.#pressureMmHg + spec.sensorOffsetMmHg;
    if (spec.pumpType === 'syringe' && spec.stickSlipMmHg > 0) reading += (spec.stickSlipMmHg * this.#stickDeltaMl) / this.#stickThresholdMl;
    return reading;
  }

  #quantise(value: number): number {
    const step = this.spec.quantisationMmHg;
    const clipped = Math.min(MAX_REPORTED_MMHG, Math.max(MIN_REPORTED_MMHG, value));
    const quantised = Math.round(clipped / step) * step;
    return step >= 1 ? quantised : round(quantised, 2);
  }

  #finish(): void {
    this.#done = true;
    const endMs = this.#ctx.endMs;
    const infiltration = this.#infiltration;
    if (infiltration !== undefined) {
      infiltration.points.push([Math.round((endMs - infiltration.startMs) / 1000), round(infiltration.volumeMl, 4)]);
      infiltration.label.infiltratedVolumeMl = infiltration.points;
      infiltration.label.detail.finalVolumeMl = round(infiltration.volumeMl, 4);
    }
    for (const label of this.#openLabels) this.#completedLabels.push(label);
    this.#openLabels.clear();
  }

  // ---- time and actions -----------------------------------------------------------------

  #alignUp(atMs: number): number {
    const start = this.#ctx.startMs;
    return start + Math.ceil((atMs - start) / STEP_MS) * STEP_MS;
  }

  #schedule(atMs: number, run: () => void): void {
    const action: Action = { atMs: Math.max(this.#alignUp(atMs), this.#tMs), order: this.#actionOrder++, run };
    const actions = this.#actions;
    let index = actions.length;
    while (index > 0 && actions[index - 1]!.atMs > action.atMs) index--;
    actions.splice(index, 0, action);
  }

  #runDueActions(): void {
    const actions = this.#actions;
    while (actions.length > 0 && actions[0]!.atMs <= this.#tMs) actions.shift()!.run();
  }

  // ---- labels ---------------------------------------------------------------------------

  #openLabel(kind: LabelKind, detail: Record<string, LabelDetailValue>, atMs = this.#tMs): SimLabel {
    const label: SimLabel = {
      id: `${this.pumpId}/${this.channel}/${++this.#labelCount}`,
      kind,
      category: LABEL_CATEGORY[kind],
      pumpId: this.pumpId,
      channel: this.channel,
      onset: new Date(atMs).toISOString(),
      onsetMs: atMs,
      end: null,
      endMs: null,
      detail,
    };
    this.#openLabels.add(label);
    return label;
  }

  #closeLabel(label: SimLabel, atMs: number, endedBy?: string): void {
    if (!this.#openLabels.delete(label)) return;
    label.endMs = atMs;
    label.end = new Date(atMs).toISOString();
    if (endedBy !== undefined) label.detail.endedBy = endedBy;
    this.#completedLabels.push(label);
  }

  /** An instant event: its label ends where it starts. */
  #instantLabel(kind: LabelKind, detail: Record<string, LabelDetailValue>): void {
    this.#closeLabel(this.#openLabel(kind, detail), this.#tMs);
  }

  #noteAlarmOnActiveEvents(atMs: number): void {
    for (const label of this.#openLabels) {
      if ((label.category === 'downstream-occlusion' || label.category === 'infiltration' || label.category === 'delivery') && label.detail.pumpAlarmAfterS === undefined) {
        label.detail.pumpAlarmAfterS = Math.round((atMs - label.onsetMs) / 1000);
      }
    }
  }

  // ---- events ---------------------------------------------------------------------------

  #startEvent(event: ChannelEventSpec, index: number): void {
    const start = SimChannel.#eventStarts[event.kind] as EventStart<ChannelEventKind>;
    start(this, event, this.#tMs, index);
  }

  /** Ends an event `durationMs` after `t`; an event without a duration runs until something else ends it. */
  #endAfter(t: number, durationMs: number | undefined, end: () => void): void {
    if (durationMs !== undefined) this.#schedule(t + durationMs, end);
  }

  /** What each kind of scheduled event does when it starts: one entry per kind, checked by the compiler. */
  static readonly #eventStarts: { readonly [K in ChannelEventKind]: EventStart<K> } = {
    infiltration: (channel, event, t) => {
      if (channel.#infiltration !== undefined || channel.#disconnection !== undefined) return;
      const label = channel.#openLabel('infiltration', {
        site: event.site,
        siteComplianceMlPerMmHg: round(event.siteComplianceMlPerMmHg, 4),
        plateauMmHg: round(event.plateauMmHg, 1),
        tissueResistanceRu: Math.round(event.tissueResistanceRu),
        fraction: round(event.fraction, 3),
        rateMlPerH: channel.#rateMlPerH,
        drug: channel.spec.drug?.name ?? null,
      });
      const infiltration: Infiltration = {
        label,
        startMs: t,
        tipOutMs: Math.max(STEP_MS, event.tipOutMs),
        fraction: event.fraction,
        tissueResistanceMmHgPerMlH: event.tissueResistanceRu * MMHG_PER_MLH_PER_RU,
        baselineMmHg: event.tissuePressureMmHg,
        plateauMmHg: event.plateauMmHg,
        floodVolumeMl: Math.max(1e-6, event.plateauMmHg * event.siteComplianceMlPerMmHg),
        volumeMl: 0,
        nextPointMs: t,
        points: [],
      };
      channel.#infiltration = infiltration;
      channel.#endAfter(t, event.durationMs, () => {
        if (channel.#infiltration === infiltration) channel.#endInfiltration('site-check');
      });
    },
    occlusion: (channel, event, t) => {
      const occlusion: Occlusion = {
        label: channel.#openLabel('occlusion', {
          cause: event.cause,
          severity: event.cause === 'clot' ? 'full' : event.severity,
          resistanceMmHgPerMlH: event.severity === 'partial' && event.cause !== 'clot' ? event.resistanceMmHgPerMlH : null,
          clotGrowthMin: event.cause === 'clot' ? round(event.growthMs / 60_000, 1) : null,
          rateMlPerH: channel.#rateMlPerH,
          complianceUlPerMmHg: channel.spec.complianceUlPerMmHg,
          occlusionLimitMmHg: channel.spec.occlusionLimitMmHg,
        }),
        severity: event.severity,
        resistanceMmHgPerMlH: event.resistanceMmHgPerMlH,
        clotStartMs: event.cause === 'clot' ? t : -1,
        clotGrowthMs: event.growthMs,
      };
      channel.#occlusions.push(occlusion);
      channel.#endAfter(t, event.durationMs, () => channel.#endOcclusion(occlusion, 'schedule'));
    },
    'recurrent-occlusion': (channel, event, t, index) => {
      const window = channel.#openLabel('recurrent-occlusion', { severity: event.severity, meanIntervalMin: round(event.meanIntervalMs / 60_000, 1) });
      const endMs = t + event.durationMs;
      const episodes = new Rng(deriveSeed(channel.#ctx.channelSeed, 'recurrent', index, t));
      let episodeStart = t + episodes.uniform(0, Math.min(event.meanIntervalMs, event.durationMs / 2));
      while (episodeStart < endMs) {
        const episodeMs = episodes.uniform(event.episodeMinMs, event.episodeMaxMs);
        const startAt = episodeStart;
        channel.#schedule(startAt, () => {
          const occlusion: Occlusion = {
            label: channel.#openLabel('positional-occlusion', { severity: event.severity, partOf: window.id, rateMlPerH: channel.#rateMlPerH }),
            severity: event.severity,
            resistanceMmHgPerMlH: event.resistanceMmHgPerMlH,
            clotStartMs: -1,
            clotGrowthMs: 0,
          };
          channel.#occlusions.push(occlusion);
          channel.#schedule(startAt + episodeMs, () => channel.#endOcclusion(occlusion, 'cleared-itself'));
        });
        episodeStart += episodeMs + episodes.exponential(event.meanIntervalMs);
      }
      channel.#schedule(endMs, () => channel.#closeLabel(window, channel.#tMs));
    },
    'upstream-occlusion': (channel, event, t) => {
      if (channel.spec.pumpType !== 'volumetric' || channel.#upstream !== undefined) return;
      const upstream = { label: channel.#openLabel('upstream-occlusion', { rateMlPerH: channel.#rateMlPerH }), startMs: t };
      channel.#upstream = upstream;
      channel.#endAfter(t, event.durationMs, () => channel.#endUpstream(upstream, 'schedule'));
    },
    disconnection: (channel, event, t) => {
      if (channel.#disconnection !== undefined) return;
      const disconnection = { label: channel.#openLabel('disconnection', { endHeightCm: event.endHeightCm, rateMlPerH: channel.#rateMlPerH }), endHeightCm: event.endHeightCm };
      channel.#disconnection = disconnection;
      channel.#endAfter(t, event.durationMs, () => {
        if (channel.#disconnection !== disconnection) return;
        channel.#disconnection = undefined;
        channel.#closeLabel(disconnection.label, channel.#tMs, 'reconnected');
      });
    },
    'height-change': (channel, event, t) => {
      channel.#changeHeight(event.deltaCm);
      channel.#endAfter(t, event.durationMs, () => channel.#changeHeight(-event.deltaCm));
    },
    'syringe-change': (channel, event) => channel.#changeSyringe(event.pauseMs, event.bolusUl, event.primed, event.slackMl, event.settleMl, 'scheduled'),
    flush: (channel, event, t) => {
      const label = channel.#openLabel('flush', { volumeMl: event.volumeMl, durationS: round(event.durationMs / 1000, 1) });
      channel.#flushRateMlPerH = (event.volumeMl * MS_PER_H) / Math.max(STEP_MS, event.durationMs);
      channel.#schedule(t + event.durationMs, () => {
        channel.#flushRateMlPerH = 0;
        channel.#closeLabel(label, channel.#tMs);
      });
    },
    bolus: (channel, event) => {
      if (channel.#mode !== 'infusing') return;
      channel.#mode = 'bolus';
      channel.#bolusRateMlPerH = event.rateMlPerH;
      channel.#bolusLeftMl = event.volumeMl;
      channel.#bolusLabel = channel.#openLabel('bolus', { volumeMl: event.volumeMl, rateMlPerH: event.rateMlPerH });
    },
    'rate-change': (channel, event) => {
      channel.#instantLabel('rate-change', { fromMlPerH: channel.#rateMlPerH, toMlPerH: event.rateMlPerH });
      channel.#rateMlPerH = event.rateMlPerH;
    },
    pause: (channel, event, t) => {
      if (channel.#mode !== 'infusing') return;
      channel.#mode = 'paused';
      const label = channel.#openLabel('pause', {});
      channel.#schedule(t + event.durationMs, () => {
        if (channel.#mode === 'paused') channel.#mode = 'infusing';
        channel.#closeLabel(label, channel.#tMs);
      });
    },
    'start-up': (channel, event) => {
      if (channel.#mode !== 'stopped') return;
      channel.#startInfusion(event.primed, event.slackMl, event.settleMl, 'start');
    },
    dropout: (channel, event, t) => channel.#startTelemetryFault(event, t),
    duplicates: (channel, event, t) => channel.#startTelemetryFault(event, t),
    reorder: (channel, event, t) => channel.#startTelemetryFault(event, t),
  };

  #startTelemetryFault(event: EventOf<'dropout' | 'duplicates' | 'reorder'>, t: number): void {
    const label = this.#openLabel(event.kind, event.kind === 'dropout' ? {} : { probability: event.probability });
    this.#setFault(event, +1);
    this.#schedule(t + event.durationMs, () => {
      this.#setFault(event, -1);
      this.#closeLabel(label, this.#tMs);
    });
  }

  #setFault(event: EventOf<'dropout' | 'duplicates' | 'reorder'>, direction: 1 | -1): void {
    if (event.kind === 'dropout') this.#dropping += direction;
    else if (event.kind === 'duplicates') this.#duplicateProbability = direction > 0 ? event.probability : 0;
    else this.#reorderProbability = direction > 0 ? event.probability : 0;
  }

  /**
   * Moving the pump changes the head on the syringe. Lowered, the pump must first refill the
   * compliance: no delivery for C·ΔP/Q [S16]. Raised, the compliance empties as a bolus within a
   * few R·C. The label lasts that long.
   */
  #changeHeight(deltaCm: number): void {
    this.#pumpHeightCm += deltaCm;
    const deltaMmHg = hydrostaticHeadMmHg(deltaCm);
    const noDeliveryS = deltaCm < 0 && this.#rateMlPerH > 0 ? refillTimeS(this.#complianceMl, -deltaMmHg, this.#rateMlPerH) : 0;
    const label = this.#openLabel('height-change', { deltaCm, pumpHeightCm: round(this.#pumpHeightCm, 1), noDeliveryS: Math.round(noDeliveryS), rateMlPerH: this.#rateMlPerH });
    this.#schedule(this.#tMs + Math.max(60_000, noDeliveryS * 1000), () => this.#closeLabel(label, this.#tMs));
  }

  #endOcclusion(occlusion: Occlusion, endedBy: string): void {
    const index = this.#occlusions.indexOf(occlusion);
    if (index < 0) return;
    this.#occlusions.splice(index, 1);
    this.#closeLabel(occlusion.label, this.#tMs, endedBy);
  }

  #endUpstream(upstream: { label: SimLabel }, endedBy: string): void {
    if (this.#upstream !== upstream) return;
    this.#upstream = undefined;
    this.#upstreamMmHg = hydrostaticHeadMmHg(this.spec.bagHeightCm);
    this.#closeLabel(upstream.label, this.#tMs, endedBy);
  }

  /** The infiltration is found (site check or an alarm): stop, place a new catheter, restart. */
  #endInfiltration(endedBy: string): void {
    const infiltration = this.#infiltration;
    if (infiltration === undefined) return;
    const t = this.#tMs;
    infiltration.points.push([Math.round((t - infiltration.startMs) / 1000), round(infiltration.volumeMl, 4)]);
    infiltration.label.infiltratedVolumeMl = infiltration.points;
    infiltration.label.detail.finalVolumeMl = round(infiltration.volumeMl, 4);
    this.#closeLabel(infiltration.label, t, endedBy);
    this.#infiltration = undefined;
    this.#clearAlarm();
    this.#endBolus();
    this.#mode = 'stopped';
    this.#schedule(t + this.spec.resiteMin * 60_000, () => {
      if (this.#mode === 'stopped') this.#startInfusion(true, 0, this.spec.pumpType === 'syringe' ? 0.05 : 0, 'resite');
    });
  }

  #changeSyringe(pauseMs: number, bolusUl: number, primed: boolean, slackMl: number, settleMl: number, reason: string): void {
    if (this.#mode === 'stopped' || this.#mode === 'priming') return;
    this.#clearAlarm();
    this.#endBolus();
    this.#mode = 'stopped';
    const label = this.#openLabel('syringe-change', { reason, pauseS: Math.round(pauseMs / 1000), bolusUl: round(bolusUl, 1), primed });
    this.#schedule(this.#tMs + pauseMs, () => {
      this.#closeLabel(label, this.#tMs);
      this.#containerLeftMl = this.spec.containerMl;
      // A fresh syringe starts unpressurised; [S18] measured the net bolus or backflow that follows.
      this.#pressureMmHg = this.#thevenin.peqMmHg + bolusUl / 1000 / this.#complianceMl;
      this.#stickDeltaMl = 0;
      this.#startInfusion(primed, slackMl, settleMl, 'syringe-change');
    });
  }

  /**
   * Starts (or restarts) delivery. Unprimed syringes first take up mechanical slack, then approach
   * steady delivery over `settleMl` [S14]; primed lines are purged first and start almost at once.
   */
  #startInfusion(primed: boolean, slackMl: number, settleMl: number, after: string): void {
    const label = this.#openLabel('start-up', { primed, slackMl: round(slackMl, 3), settleMl: round(settleMl, 3), after, rateMlPerH: this.#rateMlPerH });
    this.#startUpLabel = label;
    this.#slackLeftMl = this.spec.pumpType === 'syringe' ? slackMl : 0;
    this.#settleMl = this.spec.pumpType === 'syringe' ? settleMl : 0;
    this.#settleDoneMl = 0;
    if (primed) {
      this.#mode = 'priming';
      this.#primeLeftMl = PRIME_VOLUME_ML;
    } else {
      this.#mode = 'infusing';
    }
  }

  #endStartUp(): void {
    if (this.#startUpLabel === undefined) return;
    this.#closeLabel(this.#startUpLabel, this.#tMs);
    this.#startUpLabel = undefined;
  }

  #endBolus(): void {
    if (this.#bolusLabel === undefined) return;
    this.#closeLabel(this.#bolusLabel, this.#tMs);
    this.#bolusLabel = undefined;
    this.#bolusLeftMl = 0;
    if (this.#mode === 'bolus') this.#mode = 'infusing';
  }

  // ---- pump alarms and the nurse --------------------------------------------------------

  #raiseAlarm(code: string): void {
    const t = this.#tMs;
    this.#endBolus();
    this.#mode = 'alarm';
    this.#alarms = [code];
    this.#alarmLabel = this.#openLabel('pump-alarm', {
      code,
      pressureMmHg: round(this.#sensorReadingMmHg(), 1),
      occlusionLimitMmHg: this.spec.occlusionLimitMmHg,
      rateMlPerH: this.#rateMlPerH,
    });
    this.#noteAlarmOnActiveEvents(t);
    if (code === PUMP_ALARM_CODES.downstream && this.spec.pumpType === 'syringe') {
      // Post-occlusion bolus reduction: the plunger backs off and relieves most of the pressure [S34].
      const peqMmHg = this.#thevenin.peqMmHg;
      this.#pressureMmHg = peqMmHg + (this.#pressureMmHg - peqMmHg) * this.spec.backoffFraction;
      this.#stickDeltaMl = 0;
    }
    this.#schedule(t + this.spec.nurseResponseS * 1000, () => this.#nurseResponds(code));
  }

  #clearAlarm(): void {
    if (this.#alarmLabel !== undefined) this.#closeLabel(this.#alarmLabel, this.#tMs);
    this.#alarmLabel = undefined;
    this.#alarms = [];
    if (this.#mode === 'alarm') this.#mode = 'infusing';
  }

  /** The nurse finds the cause a pump alarm points at, fixes it and restarts the pump. */
  #nurseResponds(code: string): void {
    if (this.#mode !== 'alarm' || this.#alarms[0] !== code) return;
    if (code === PUMP_ALARM_CODES.syringeEmpty || code === PUMP_ALARM_CODES.bagEmpty) {
      // Defaults for an unplanned change: [S18] median bolus, mid-range slack and settling [S14].
      this.#changeSyringe(SYRINGE_CHANGE_DEFAULT_PAUSE_MS, 8, false, PARAMETERS.slackMl.default, PARAMETERS.settleMl.default, 'empty');
      return;
    }
    for (const occlusion of [...this.#occlusions]) this.#endOcclusion(occlusion, 'nurse');
    if (this.#upstream !== undefined) this.#endUpstream(this.#upstream, 'nurse');
    if (this.#infiltration !== undefined) {
      this.#endInfiltration('nurse');
      return;
    }
    this.#clearAlarm();
  }

  // ---- physics --------------------------------------------------------------------------

  #drawStickThreshold(): number {
    return (this.spec.stickVolumeUl / 1000) * this.#rng.uniform(0.5, 1.5);
  }

  /** Brings the line up to date with the channel and the patient, and solves it. */
  #solveLine(): Thevenin {
    const line = this.#line;
    const patient = this.#patient;
    const disconnection = this.#disconnection;
    line.openEndHeightCm = disconnection !== undefined ? disconnection.endHeightCm : this.#mode === 'priming' ? 0 : undefined;
    line.pumpHeightCm = this.#pumpHeightCm;
    line.limbHeightCm = patient.limbHeightCm;
    line.veinPressureMmHg = this.spec.venousPressureMmHg + patient.venousOffsetMmHg;
    line.tissueOffsetMmHg = patient.tissueOffsetMmHg;
    line.site = this.#infiltration;
    line.flushRateMlPerH = this.#flushRateMlPerH;
    return solveLine(line, this.#tMs, this.#thevenin);
  }

  #step(): void {
    const spec = this.spec;
    const t = this.#tMs;
    // 1. The pump mechanism: what the motor advances and what actually enters the compliance.
    let motorMl = 0;
    const mode = this.#mode;
    if (mode === 'infusing') motorMl = this.#rateMlPerH * STEP_H;
    else if (mode === 'bolus') motorMl = Math.min(this.#bolusRateMlPerH * STEP_H, this.#bolusLeftMl);
    else if (mode === 'priming') motorMl = PRIME_RATE_ML_PER_H * STEP_H;
    let injectMl = 0;
    if (motorMl > 0) {
      if (mode === 'priming') {
        injectMl = motorMl;
        this.#primeLeftMl -= motorMl;
      } else {
        this.#volumeInfusedMl += motorMl;
        this.#containerLeftMl -= motorMl;
        if (mode === 'bolus') this.#bolusLeftMl -= motorMl;
        injectMl = spec.pumpType === 'syringe' ? this.#plunger(motorMl) : this.#peristalsis(motorMl, t);
      }
    }

    // 2. The line: exact exponential relaxation of the node pressure over the step.
    const thevenin = this.#solveLine();
    const c = this.#complianceMl;
    const before = this.#pressureMmHg;
    this.#pressureMmHg = nodePressureAfterStepMmHg(before, injectMl, c, thevenin);
    const outflowMl = outflowOverStepMl(before, this.#pressureMmHg, injectMl, c, thevenin);
    const connected = this.#disconnection === undefined && mode !== 'priming';
    if (connected) this.#deliveredMl += outflowMl;
    const infiltration = this.#infiltration;
    if (infiltration !== undefined && connected) this.#fillTissue(infiltration, outflowMl, t, thevenin.catheterBlocked);

    // 3. Mode changes that follow from the step.
    if (mode === 'priming' && this.#primeLeftMl <= 0) this.#mode = 'infusing';
    if (mode === 'bolus' && this.#bolusLeftMl <= 1e-9) this.#endBolus();
    // Start-up ends at 95 % of steady delivery: slack taken up and three settling volumes advanced.
    if (this.#startUpLabel !== undefined && this.#mode !== 'priming' && this.#slackLeftMl <= 0 && this.#settleDoneMl >= 3 * this.#settleMl) {
      this.#settleMl = 0;
      this.#endStartUp();
    }
    if (mode === 'infusing' || mode === 'bolus') {
      if (this.#sensorReadingMmHg() >= spec.occlusionLimitMmHg) this.#raiseAlarm(PUMP_ALARM_CODES.downstream);
      else if (this.#upstream !== undefined && this.#upstreamMmHg <= spec.upstreamAlarmMmHg) this.#raiseAlarm(PUMP_ALARM_CODES.upstream);
      else if (spec.autoRefill && this.#containerLeftMl <= 0) this.#raiseAlarm(spec.pumpType === 'syringe' ? PUMP_ALARM_CODES.syringeEmpty : PUMP_ALARM_CODES.bagEmpty);
    }
  }

  /** Syringe: slack, then settling, then stick-slip: the stopper moves in jumps once the force breaks it free. */
  #plunger(motorMl: number): number {
    let advanceMl = motorMl;
    if (this.#slackLeftMl > 0) {
      const taken = Math.min(this.#slackLeftMl, advanceMl);
      this.#slackLeftMl -= taken;
      advanceMl -= taken;
    }
    if (this.#settleMl > 0 && advanceMl > 0) {
      this.#settleDoneMl += advanceMl;
      advanceMl *= 1 - Math.exp(-this.#settleDoneMl / this.#settleMl);
    }
    if (this.spec.stickSlipMmHg <= 0) return advanceMl;
    this.#stickDeltaMl += advanceMl;
    if (this.#stickDeltaMl < this.#stickThresholdMl) return 0;
    const released = this.#stickDeltaMl;
    this.#stickDeltaMl = 0;
    this.#stickThresholdMl = this.#drawStickThreshold();
    return released;
  }

  /** Volumetric: the flow ripples with the peristaltic cycle; a closed inlet starves the chamber. */
  #peristalsis(motorMl: number, t: number): number {
    const spec = this.spec;
    this.#ripplePhase += (2 * Math.PI * motorMl) / spec.strokeVolumeMl;
    if (this.#ripplePhase > 2 * Math.PI) this.#ripplePhase -= 2 * Math.PI;
    let delivered = motorMl * (1 + spec.rippleFraction * Math.sin(this.#ripplePhase));
    const upstream = this.#upstream;
    if (upstream !== undefined) {
      const left = closedInletFillFraction(t - upstream.startMs, spec.strokeVolumeMl, this.#rateMlPerH);
      delivered *= left;
      this.#upstreamMmHg = closedInletPressureMmHg(spec.bagHeightCm, left);
    }
    return delivered;
  }

  /** Grows the infiltrated volume and records it once a minute for the label. */
  #fillTissue(infiltration: Infiltration, outflowMl: number, t: number, catheterBlocked: boolean): void {
    infiltration.volumeMl = tissueVolumeAfterStepMl(this.#line, infiltration, outflowMl, t, catheterBlocked);
    if (t >= infiltration.nextPointMs) {
      infiltration.points.push([Math.round((t - infiltration.startMs) / 1000), round(infiltration.volumeMl, 4)]);
      infiltration.nextPointMs += VOLUME_POINT_MS;
    }
  }
}
