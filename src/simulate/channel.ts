import type { InfusionState } from '../telemetry/sample.js';
import { LABEL_CATEGORY, type LabelDetailValue, type LabelKind, type SimLabel } from './labels.js';
import { HYDROSTATIC_MMHG_PER_CM, PARAMETERS } from './parameters.js';
import { PATIENT_TICK_MS, PatientProcess } from './patient.js';
import { deriveSeed, Rng } from './random.js';
import type { ChannelEventSpec, ChannelSpec, PatientSpec } from './spec.js';

/** Internal time step. Pressure is integrated exactly over a step, so 0.5 s is stable for any R·C. */
export const STEP_MS = 500;
const STEP_H = STEP_MS / 3_600_000;
const MS_PER_H = 3_600_000;
/** RU are mmHg per L/h; the model works in mmHg per mL/h. */
const MMHG_PER_MLH_PER_RU = 0.001;
const VOLUME_POINT_MS = 60_000;
/** Pressure a volumetric pump pulls on a closed inlet (assumption). */
const UPSTREAM_SUCTION_MMHG = -300;
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

interface Occlusion {
  label: SimLabel;
  severity: 'full' | 'partial';
  resistanceMmHgPerMlH: number;
  /** Clots only: when the lumen started closing and how long it takes to close. */
  clotStartMs: number;
  clotGrowthMs: number;
}

interface Infiltration {
  label: SimLabel;
  startMs: number;
  tipOutMs: number;
  fraction: number;
  tissueResistanceMmHgPerMlH: number;
  baselineMmHg: number;
  /**
   * IFP = baseline + plateau·V/(V + Vs), Vs = plateau·C0: the site starts with compliance C0, which
   * grows as C0·(1 + V/Vs)² while the tissue floods, so the pressure levels off at the plateau.
   */
  plateauMmHg: number;
  floodVolumeMl: number;
  volumeMl: number;
  nextPointMs: number;
  points: [number, number][];
}

interface Outgoing {
  atMs: number;
  sample: SimSample;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/**
 * One pump channel: the pump mechanism, the hydraulic line to the patient, the patient's
 * disturbances, the nurse who answers alarms, and the telemetry it reports. It runs lazily:
 * `peekAtMs()` simulates just far enough to know the next sample.
 *
 * Hydraulics (units: mmHg, mL, mL/h): the pump pushes into the system compliance C; the node
 * pressure P drains through line, catheter and outlet. The outlet is the vein (Pv, Rv), the
 * tissue (IFP, Rt) or a mix while the tip leaves the vein. Seen from the node, the network is a
 * Thevenin source (Peq, Rtot), so P relaxes to Peq + Q·Rtot with τ = Rtot·C, integrated exactly.
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
  /** Thevenin view of the line, refreshed every step (fields, not a returned object: this is the hot loop). */
  #peqMmHg = 0;
  #rtotMmHgPerMlH = 1;
  #lineBlocked = false;
  #catheterBlocked = false;
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
    this.#upstreamMmHg = spec.bagHeightCm * HYDROSTATIC_MMHG_PER_CM;
    this.#mode = spec.startMode === 'running' ? 'infusing' : 'stopped';
    this.#patient.tick(ctx.startMs);
    this.#nextPatientTickMs += PATIENT_TICK_MS;
    // Start at steady state: the infusion has been running long before the run begins.
    this.#thevenin();
    this.#pressureMmHg = this.#peqMmHg + (this.#mode === 'infusing' ? spec.rateMlPerH * this.#rtotMmHgPerMlH : 0);
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
    const t = this.#tMs;
    const endAt = (durationMs: number | undefined, end: () => void) => {
      if (durationMs !== undefined) this.#schedule(t + durationMs, end);
    };
    switch (event.kind) {
      case 'infiltration': {
        if (this.#infiltration !== undefined || this.#disconnection !== undefined) return;
        const label = this.#openLabel('infiltration', {
          site: event.site,
          siteComplianceMlPerMmHg: round(event.siteComplianceMlPerMmHg, 4),
          plateauMmHg: round(event.plateauMmHg, 1),
          tissueResistanceRu: Math.round(event.tissueResistanceRu),
          fraction: round(event.fraction, 3),
          rateMlPerH: this.#rateMlPerH,
          drug: this.spec.drug?.name ?? null,
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
        this.#infiltration = infiltration;
        endAt(event.durationMs, () => {
          if (this.#infiltration === infiltration) this.#endInfiltration('site-check');
        });
        return;
      }
      case 'occlusion': {
        const occlusion: Occlusion = {
          label: this.#openLabel('occlusion', {
            cause: event.cause,
            severity: event.cause === 'clot' ? 'full' : event.severity,
            resistanceMmHgPerMlH: event.severity === 'partial' && event.cause !== 'clot' ? event.resistanceMmHgPerMlH : null,
            clotGrowthMin: event.cause === 'clot' ? round(event.growthMs / 60_000, 1) : null,
            rateMlPerH: this.#rateMlPerH,
            complianceUlPerMmHg: this.spec.complianceUlPerMmHg,
            occlusionLimitMmHg: this.spec.occlusionLimitMmHg,
          }),
          severity: event.severity,
          resistanceMmHgPerMlH: event.resistanceMmHgPerMlH,
          clotStartMs: event.cause === 'clot' ? t : -1,
          clotGrowthMs: event.growthMs,
        };
        this.#occlusions.push(occlusion);
        endAt(event.durationMs, () => this.#endOcclusion(occlusion, 'schedule'));
        return;
      }
      case 'recurrent-occlusion': {
        const window = this.#openLabel('recurrent-occlusion', { severity: event.severity, meanIntervalMin: round(event.meanIntervalMs / 60_000, 1) });
        const endMs = t + event.durationMs;
        const episodes = new Rng(deriveSeed(this.#ctx.channelSeed, 'recurrent', index, t));
        let episodeStart = t + episodes.uniform(0, Math.min(event.meanIntervalMs, event.durationMs / 2));
        while (episodeStart < endMs) {
          const episodeMs = episodes.uniform(event.episodeMinMs, event.episodeMaxMs);
          const startAt = episodeStart;
          this.#schedule(startAt, () => {
            const occlusion: Occlusion = {
              label: this.#openLabel('positional-occlusion', { severity: event.severity, partOf: window.id, rateMlPerH: this.#rateMlPerH }),
              severity: event.severity,
              resistanceMmHgPerMlH: event.resistanceMmHgPerMlH,
              clotStartMs: -1,
              clotGrowthMs: 0,
            };
            this.#occlusions.push(occlusion);
            this.#schedule(startAt + episodeMs, () => this.#endOcclusion(occlusion, 'cleared-itself'));
          });
          episodeStart += episodeMs + episodes.exponential(event.meanIntervalMs);
        }
        this.#schedule(endMs, () => this.#closeLabel(window, this.#tMs));
        return;
      }
      case 'upstream-occlusion': {
        if (this.spec.pumpType !== 'volumetric' || this.#upstream !== undefined) return;
        const upstream = { label: this.#openLabel('upstream-occlusion', { rateMlPerH: this.#rateMlPerH }), startMs: t };
        this.#upstream = upstream;
        endAt(event.durationMs, () => this.#endUpstream(upstream, 'schedule'));
        return;
      }
      case 'disconnection': {
        if (this.#disconnection !== undefined) return;
        const disconnection = { label: this.#openLabel('disconnection', { endHeightCm: event.endHeightCm, rateMlPerH: this.#rateMlPerH }), endHeightCm: event.endHeightCm };
        this.#disconnection = disconnection;
        endAt(event.durationMs, () => {
          if (this.#disconnection !== disconnection) return;
          this.#disconnection = undefined;
          this.#closeLabel(disconnection.label, this.#tMs, 'reconnected');
        });
        return;
      }
      case 'height-change': {
        this.#changeHeight(event.deltaCm);
        endAt(event.durationMs, () => this.#changeHeight(-event.deltaCm));
        return;
      }
      case 'syringe-change':
        this.#changeSyringe(event.pauseMs, event.bolusUl, event.primed, event.slackMl, event.settleMl, 'scheduled');
        return;
      case 'flush': {
        const label = this.#openLabel('flush', { volumeMl: event.volumeMl, durationS: round(event.durationMs / 1000, 1) });
        this.#flushRateMlPerH = (event.volumeMl * MS_PER_H) / Math.max(STEP_MS, event.durationMs);
        this.#schedule(t + event.durationMs, () => {
          this.#flushRateMlPerH = 0;
          this.#closeLabel(label, this.#tMs);
        });
        return;
      }
      case 'bolus': {
        if (this.#mode !== 'infusing') return;
        this.#mode = 'bolus';
        this.#bolusRateMlPerH = event.rateMlPerH;
        this.#bolusLeftMl = event.volumeMl;
        this.#bolusLabel = this.#openLabel('bolus', { volumeMl: event.volumeMl, rateMlPerH: event.rateMlPerH });
        return;
      }
      case 'rate-change': {
        this.#instantLabel('rate-change', { fromMlPerH: this.#rateMlPerH, toMlPerH: event.rateMlPerH });
        this.#rateMlPerH = event.rateMlPerH;
        return;
      }
      case 'pause': {
        if (this.#mode !== 'infusing') return;
        this.#mode = 'paused';
        const label = this.#openLabel('pause', {});
        this.#schedule(t + event.durationMs, () => {
          if (this.#mode === 'paused') this.#mode = 'infusing';
          this.#closeLabel(label, this.#tMs);
        });
        return;
      }
      case 'start-up': {
        if (this.#mode !== 'stopped') return;
        this.#startInfusion(event.primed, event.slackMl, event.settleMl, 'start');
        return;
      }
      case 'dropout':
      case 'duplicates':
      case 'reorder': {
        const label = this.#openLabel(event.kind, event.kind === 'dropout' ? {} : { probability: event.probability });
        this.#setFault(event, +1);
        this.#schedule(t + event.durationMs, () => {
          this.#setFault(event, -1);
          this.#closeLabel(label, this.#tMs);
        });
        return;
      }
    }
  }

  #setFault(event: Extract<ChannelEventSpec, { kind: 'dropout' | 'duplicates' | 'reorder' }>, direction: 1 | -1): void {
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
    const deltaMmHg = deltaCm * HYDROSTATIC_MMHG_PER_CM;
    const noDeliveryS = deltaCm < 0 && this.#rateMlPerH > 0 ? (this.#complianceMl * -deltaMmHg * 3600) / this.#rateMlPerH : 0;
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
    this.#upstreamMmHg = this.spec.bagHeightCm * HYDROSTATIC_MMHG_PER_CM;
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
      this.#pressureMmHg = this.#peqMmHg + bolusUl / 1000 / this.#complianceMl;
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
      this.#pressureMmHg = this.#peqMmHg + (this.#pressureMmHg - this.#peqMmHg) * this.spec.backoffFraction;
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

  /** The line seen from the pump's compliance: P relaxes towards peq + Q·rtot. */
  #thevenin(): void {
    const spec = this.spec;
    const patient = this.#patient;
    const t = this.#tMs;
    let lineResistance = spec.lineResistanceMmHgPerMlH;
    let catheterResistance = spec.catheterResistanceMmHgPerMlH;
    let lineBlocked = false;
    let catheterBlocked = false;
    for (const occlusion of this.#occlusions) {
      if (occlusion.clotStartMs >= 0) {
        // A clot in the catheter: the lumen radius shrinks linearly, resistance grows as 1/r⁴.
        const closed = (t - occlusion.clotStartMs) / occlusion.clotGrowthMs;
        if (closed >= 1) catheterBlocked = true;
        else catheterResistance /= (1 - closed) ** 4;
      } else if (occlusion.severity === 'full') lineBlocked = true;
      else lineResistance += occlusion.resistanceMmHgPerMlH;
    }
    this.#lineBlocked = lineBlocked;
    this.#catheterBlocked = catheterBlocked;
    if (this.#disconnection !== undefined || this.#mode === 'priming') {
      // The line ends open to air at the hub (or, while priming, before it is connected).
      const endHeightCm = this.#disconnection?.endHeightCm ?? 0;
      this.#peqMmHg = -HYDROSTATIC_MMHG_PER_CM * (this.#pumpHeightCm - endHeightCm);
      this.#rtotMmHgPerMlH = lineResistance;
      this.#catheterBlocked = false;
      return;
    }
    const headMmHg = HYDROSTATIC_MMHG_PER_CM * (this.#pumpHeightCm - patient.limbHeightCm);
    const veinPressure = spec.venousPressureMmHg + patient.venousOffsetMmHg;
    const veinResistance = spec.veinResistanceRu * MMHG_PER_MLH_PER_RU;
    let outletPressure = veinPressure;
    let outletResistance = veinResistance;
    const infiltration = this.#infiltration;
    if (infiltration !== undefined) {
      const out = this.#tipOut(infiltration, t);
      const tissuePressure = this.#tissuePressure(infiltration);
      const gVein = (1 - out) / veinResistance;
      const gTissue = out / infiltration.tissueResistanceMmHgPerMlH;
      const g = gVein + gTissue;
      outletPressure = (gVein * veinPressure + gTissue * tissuePressure) / g;
      outletResistance = 1 / g;
    }
    const beyondPort = catheterResistance + outletResistance;
    // A flush pushed in at the port raises the pressure the pump works against (unless the catheter is shut).
    const flush = catheterBlocked ? 0 : this.#flushRateMlPerH;
    this.#peqMmHg = outletPressure - headMmHg + flush * beyondPort;
    this.#rtotMmHgPerMlH = lineResistance + beyondPort;
  }

  /** How far the tip is out of the vein: 0 in the vein, `fraction` once out. */
  #tipOut(infiltration: Infiltration, t: number): number {
    return infiltration.fraction * Math.min(1, (t - infiltration.startMs) / infiltration.tipOutMs);
  }

  #tissuePressure(infiltration: Infiltration): number {
    return (
      infiltration.baselineMmHg +
      this.#patient.tissueOffsetMmHg +
      (infiltration.plateauMmHg * infiltration.volumeMl) / (infiltration.volumeMl + infiltration.floodVolumeMl)
    );
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
    this.#thevenin();
    const c = this.#complianceMl;
    const before = this.#pressureMmHg;
    let outflowMl = 0;
    if (this.#lineBlocked || this.#catheterBlocked) {
      this.#pressureMmHg = before + injectMl / c;
    } else {
      const rtot = this.#rtotMmHgPerMlH;
      const steady = this.#peqMmHg + (injectMl / STEP_H) * rtot;
      const decay = Math.exp(-STEP_MS / (rtot * c * MS_PER_H));
      this.#pressureMmHg = steady + (before - steady) * decay;
      outflowMl = injectMl - c * (this.#pressureMmHg - before);
    }
    const connected = this.#disconnection === undefined && mode !== 'priming';
    if (connected) this.#deliveredMl += outflowMl;
    const infiltration = this.#infiltration;
    if (infiltration !== undefined && connected) this.#fillTissue(infiltration, outflowMl, t);

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
      // Each stroke pulls on a closed inlet: suction builds and filling fails within a few strokes.
      const strokeMs = Math.max(2000, (spec.strokeVolumeMl / Math.max(this.#rateMlPerH, 0.01)) * MS_PER_H);
      const left = Math.exp(-(t - upstream.startMs) / strokeMs);
      delivered *= left;
      this.#upstreamMmHg = spec.bagHeightCm * HYDROSTATIC_MMHG_PER_CM * left + UPSTREAM_SUCTION_MMHG * (1 - left);
    }
    return delivered;
  }

  /** Splits the flow at the tip between vein and tissue and grows the infiltrated volume. */
  #fillTissue(infiltration: Infiltration, outflowMl: number, t: number): void {
    const out = this.#tipOut(infiltration, t);
    if (out > 0 && !this.#catheterBlocked) {
      const veinResistance = this.spec.veinResistanceRu * MMHG_PER_MLH_PER_RU;
      const veinPressure = this.spec.venousPressureMmHg + this.#patient.venousOffsetMmHg;
      const tissuePressure = this.#tissuePressure(infiltration);
      const gVein = (1 - out) / veinResistance;
      const gTissue = out / infiltration.tissueResistanceMmHgPerMlH;
      const g = gVein + gTissue;
      const tipFlow = outflowMl / STEP_H + this.#flushRateMlPerH;
      const tipPressure = (gVein * veinPressure + gTissue * tissuePressure) / g + tipFlow / g;
      infiltration.volumeMl = Math.max(0, infiltration.volumeMl + gTissue * (tipPressure - tissuePressure) * STEP_H);
    }
    if (t >= infiltration.nextPointMs) {
      infiltration.points.push([Math.round((t - infiltration.startMs) / 1000), round(infiltration.volumeMl, 4)]);
      infiltration.nextPointMs += VOLUME_POINT_MS;
    }
  }
}
