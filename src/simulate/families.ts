import { DEFAULT_BAG_ML, defaultChannelSpec } from './defaults.js';
import {
  COMPLIANCE_BY_CONTAINER,
  complianceKey,
  PARAMETERS,
  SCOTT_RESISTANCE,
  SITE_CLASSES,
  SITE_PARAMETERS,
  tissueResistanceAtQuantile,
  type SiteClass,
} from './parameters.js';
import { deriveSeed, Rng } from './random.js';
import type { ChannelEventSpec, ChannelSpec, DrugSpec, PatientEventSpec, PatientSpec, PumpSpec, PumpType } from './spec.js';

/**
 * Random families: wards drawn from the documented ranges with a seed. Each pump draws from its
 * own stream (seed, family, pump index), so a ward of 40 pumps starts with the same 20 pumps as
 * a ward of 20.
 */
export const FAMILY_NAMES = ['mixed', 'occlusion', 'infiltration', 'harsh', 'artefacts', 'telemetry', 'quiet'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

export const FAMILY_DESCRIPTIONS: Record<FamilyName, string> = {
  mixed: 'a realistic ward: artefacts at everyday rates, true occlusions and infiltrations (enriched), telemetry faults',
  occlusion: 'one true downstream occlusion per channel (clamp, kink, clot or recurrent positional), everyday artefacts',
  infiltration: 'one infiltration per channel (tight, medium or compliant site), everyday artefacts',
  harsh: 'one true occlusion or infiltration per channel, on harsh physics: coarse pressure steps, strong stick-slip, onset dips, large slow drift, patient events ×2',
  artefacts: 'no true events; artefacts at three times the everyday rate, on harsh physics (false-alert testing)',
  telemetry: 'quiet infusions with dropouts, duplicated and reordered samples at five times the everyday rate',
  quiet: 'steady infusions and patient noise only',
};

const DAY_MS = 86_400_000;
const MIN_MS = 60_000;
const H_MS = 3_600_000;

/**
 * Events per channel-day in the mixed family. True events are enriched well above clinical
 * incidence so that a day of a 40-pump ward holds enough of them to score a detector; the
 * clinical figures are given for comparison.
 */
export const EVENT_RATES_PER_CHANNEL_DAY = {
  occlusion: { rate: 0.5, source: '[S20] 1.2 occlusion alarms per patient-day; 36 % closed or clamped lines' },
  recurrentOcclusion: { rate: 0.15, source: '[S20] 8 % patient-related; assumption' },
  infiltration: { rate: 0.25, source: 'enriched; clinical 0.014 per PIVC-day [S49] (range 0.003–0.1)' },
  upstreamOcclusion: { rate: 0.3, source: 'assumption (volumetric pumps only)' },
  disconnection: { rate: 0.1, source: 'assumption' },
  heightChange: { rate: 2, source: 'assumption (±30 cm)' },
  flush: { rate: 2, source: 'assumption; [S20] 16 % of occlusion alarms follow a drug injection' },
  bolus: { rate: 0.3, source: 'assumption' },
  rateChange: { rate: 2, source: 'assumption' },
  pause: { rate: 1, source: 'assumption' },
  dropout: { rate: 1, source: 'assumption' },
  duplicates: { rate: 0.5, source: 'assumption' },
  reorder: { rate: 0.5, source: 'assumption' },
} as const;

/** Patient events per hour (shared by the pump's channels). */
export const PATIENT_RATES_PER_HOUR = {
  crying: { rate: 0.5, source: 'assumption (no source for crying frequency; §3.6)' },
  movement: { rate: 1.5, source: 'assumption' },
} as const;

interface DrugProfile {
  drug: DrugSpec;
  weight: number;
  rate: readonly [number, number];
  pumpTypes: readonly (readonly [PumpType, number])[];
  syringes: readonly (readonly [number, number])[];
}

/** Neonatal infusions: calcium gluconate neat (maintenance) and diluted per label [S53][S54], carriers [S73][S74]. */
export const DRUG_PROFILES: readonly DrugProfile[] = [
  { drug: { name: 'calcium gluconate', concentration: '10 %' }, weight: 0.15, rate: [0.1, 0.5], pumpTypes: [['syringe', 1]], syringes: [[10, 0.3], [20, 0.5], [50, 0.2]] },
  { drug: { name: 'calcium gluconate', concentration: '10 mg/mL' }, weight: 0.15, rate: [1, 6], pumpTypes: [['syringe', 1]], syringes: [[50, 1]] },
  { drug: { name: 'glucose', concentration: '10 %' }, weight: 0.25, rate: [2, 8], pumpTypes: [['syringe', 0.7], ['volumetric', 0.3]], syringes: [[50, 1]] },
  { drug: { name: 'parenteral nutrition' }, weight: 0.15, rate: [2, 8], pumpTypes: [['syringe', 0.6], ['volumetric', 0.4]], syringes: [[50, 1]] },
  { drug: { name: 'morphine', concentration: '10 microgram/mL' }, weight: 0.1, rate: [0.1, 1], pumpTypes: [['syringe', 1]], syringes: [[10, 0.2], [20, 0.3], [50, 0.5]] },
  { drug: { name: 'dopamine', concentration: '1.6 mg/mL' }, weight: 0.1, rate: [0.2, 2], pumpTypes: [['syringe', 1]], syringes: [[50, 1]] },
  { drug: { name: 'sodium chloride', concentration: '0.9 %' }, weight: 0.1, rate: [0.5, 2], pumpTypes: [['syringe', 1]], syringes: [[50, 1]] },
];

interface FamilyMix {
  trueEvents: 'rates' | 'one-occlusion' | 'one-infiltration' | 'one-either' | 'none';
  artefactScale: number;
  telemetryScale: number;
  patientScale: number;
  /** `harsh`: the physics that fools a detector, at the bad end of its range (see `harshen`). */
  physics: 'everyday' | 'harsh';
}

const MIXES: Record<FamilyName, FamilyMix> = {
  mixed: { trueEvents: 'rates', artefactScale: 1, telemetryScale: 1, patientScale: 1, physics: 'everyday' },
  occlusion: { trueEvents: 'one-occlusion', artefactScale: 1, telemetryScale: 0, patientScale: 1, physics: 'everyday' },
  infiltration: { trueEvents: 'one-infiltration', artefactScale: 1, telemetryScale: 0, patientScale: 1, physics: 'everyday' },
  harsh: { trueEvents: 'one-either', artefactScale: 1, telemetryScale: 0, patientScale: 2, physics: 'harsh' },
  artefacts: { trueEvents: 'none', artefactScale: 3, telemetryScale: 0, patientScale: 2, physics: 'harsh' },
  telemetry: { trueEvents: 'none', artefactScale: 0, telemetryScale: 5, patientScale: 0, physics: 'everyday' },
  quiet: { trueEvents: 'none', artefactScale: 0, telemetryScale: 0, patientScale: 0, physics: 'everyday' },
};

export interface FamilyOptions {
  family: FamilyName;
  seed: number;
  pumps: number;
  /** Fixed channels per pump; default 1–3 at random. */
  channelsPerPump?: number;
  durationMs: number;
  careArea?: string;
  /** Pump ids are `<prefix><nn>`. */
  idPrefix?: string;
}

export function familyPumps(options: FamilyOptions): PumpSpec[] {
  const mix = MIXES[options.family];
  const width = Math.max(2, String(options.pumps).length);
  const pumps: PumpSpec[] = [];
  for (let index = 0; index < options.pumps; index++) {
    const rng = new Rng(deriveSeed(options.seed, 'family', options.family, index));
    const pumpId = `${options.idPrefix ?? 'P'}${String(index + 1).padStart(width, '0')}`;
    const channelCount = options.channelsPerPump ?? rng.weighted([[1, 0.4], [2, 0.35], [3, 0.25]] as const);
    const channels: ChannelSpec[] = [];
    for (let channel = 1; channel <= channelCount; channel++) channels.push(drawChannel(rng, String(channel), options.durationMs, mix));
    const patient = drawPatient(rng, options.durationMs, mix.patientScale);
    // Drawn last, so the everyday families keep the pumps they always had.
    if (mix.physics === 'harsh') harshen(rng, patient, channels);
    pumps.push({
      pumpId,
      ...(options.careArea === undefined ? {} : { careArea: options.careArea }),
      patient,
      channels,
    });
  }
  return pumps;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Event times of a Poisson process with `perDay` events per day over the run. */
function poissonTimes(rng: Rng, perDay: number, durationMs: number): number[] {
  const times: number[] = [];
  if (perDay <= 0) return times;
  const meanGapMs = DAY_MS / perDay;
  for (let t = rng.exponential(meanGapMs); t < durationMs; t += rng.exponential(meanGapMs)) times.push(Math.round(t));
  return times;
}

function drawPatient(rng: Rng, durationMs: number, scale: number): PatientSpec {
  const P = PARAMETERS;
  const events: PatientEventSpec[] = [];
  for (const atMs of poissonTimes(rng, PATIENT_RATES_PER_HOUR.crying.rate * 24 * scale, durationMs)) {
    events.push({ kind: 'crying', atMs, durationMs: Math.round(rng.logUniform(30_000, 5 * MIN_MS)), riseMmHg: rng.uniform(P.cryingRiseMmHg.min, P.cryingRiseMmHg.max) });
  }
  for (const atMs of poissonTimes(rng, PATIENT_RATES_PER_HOUR.movement.rate * 24 * scale, durationMs)) {
    events.push({ kind: 'movement', atMs, durationMs: Math.round(rng.logUniform(5000, 2 * MIN_MS)), amplitudeMmHg: rng.logUniform(P.movementMmHg.min, P.movementMmHg.max) });
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return {
    limbHeightSdCm: scale > 0 ? rng.uniform(1, 4) : 0,
    limbHeightTauMin: rng.uniform(10, 40),
    venousDriftSdMmHg: scale > 0 ? rng.uniform(0.5, 2) : 0,
    venousDriftTauMin: rng.uniform(30, 120),
    events,
  };
}

function drawChannel(rng: Rng, channel: string, durationMs: number, mix: FamilyMix): ChannelSpec {
  const P = PARAMETERS;
  const profile = rng.weighted(DRUG_PROFILES.map((item) => [item, item.weight] as const));
  const pumpType = rng.weighted(profile.pumpTypes);
  const containerMl = pumpType === 'syringe' ? rng.weighted(profile.syringes) : DEFAULT_BAG_ML;
  const compliance = COMPLIANCE_BY_CONTAINER[complianceKey(pumpType, containerMl)];
  const rateMlPerH = round2(rng.logUniform(profile.rate[0], profile.rate[1]));
  const microbore = rng.chance(0.1);
  const veinRu = SCOTT_RESISTANCE.vein;
  const spec = defaultChannelSpec({
    channel,
    pumpType,
    drug: profile.drug,
    rateMlPerH,
    containerMl,
    initialFillMl: containerMl * rng.uniform(0.1, 1),
    initialVolumeMl: round2(rng.uniform(0, containerMl)),
    complianceUlPerMmHg: round2(rng.uniform(compliance.min, compliance.max)),
    occlusionLimitMmHg: rng.weighted([[100, 0.05], [200, 0.15], [300, 0.5], [400, 0.15], [500, 0.1], [900, 0.05]] as const),
    reportIntervalS: rng.weighted([[1, 0.05], [2, 0.1], [5, 0.2], [10, 0.45], [30, 0.2]] as const),
    reportsPressure: rng.chance(0.95),
    lineResistanceMmHgPerMlH: microbore ? rng.uniform(0.5, P.lineResistanceMmHgPerMlH.max) : rng.logUniform(P.lineResistanceMmHgPerMlH.min, 0.2),
    catheterResistanceMmHgPerMlH: rng.uniform(P.catheterResistanceMmHgPerMlH.min, 0.06),
    venousPressureMmHg: clamp(P.venousPressureMmHg.default + 2 * rng.normal(), P.venousPressureMmHg.min, P.venousPressureMmHg.max),
    veinResistanceRu: clamp(rng.logNormal(veinRu.medianRu, veinRu.logSd), veinRu.minRu, veinRu.maxRu),
    pumpHeightCm: rng.uniform(P.pumpHeightCm.min, P.pumpHeightCm.max),
    sensorNoiseMmHg: rng.uniform(0.2, 1),
    quantisationMmHg: rng.weighted([[1, 0.6], [0.1, 0.2], [5, 0.2]] as const),
    sensorOffsetMmHg: rng.uniform(P.sensorOffsetMmHg.min, P.sensorOffsetMmHg.max),
    stickSlipMmHg: pumpType === 'syringe' ? rng.uniform(0.5, 3) : 0,
    stickVolumeUl: rng.uniform(1, 4),
    rippleFraction: pumpType === 'volumetric' ? rng.uniform(P.rippleFraction.min, P.rippleFraction.max) : 0,
    strokeVolumeMl: rng.uniform(P.strokeVolumeMl.min, P.strokeVolumeMl.max),
    rippleSensorMmHg: pumpType === 'volumetric' ? rng.uniform(0.3, 2) : 0,
    bagHeightCm: rng.uniform(P.bagHeightCm.min, P.bagHeightCm.max),
    nurseResponseS: Math.round(rng.logUniform(P.nurseResponseS.min, P.nurseResponseS.max)),
    resiteMin: Math.round(rng.uniform(P.resiteMin.min, P.resiteMin.max)),
  });
  const events: ChannelEventSpec[] = [];
  if (rng.chance(0.15)) {
    spec.startMode = 'stopped';
    spec.initialVolumeMl = 0;
    events.push(drawStartUp(rng, Math.round(rng.uniform(0, 0.2) * durationMs)));
  }
  drawTrueEvents(rng, spec, durationMs, mix, events);
  drawArtefacts(rng, spec, durationMs, mix.artefactScale, profile, events);
  drawTelemetryFaults(rng, durationMs, mix.telemetryScale, events);
  events.sort((a, b) => a.atMs - b.atMs);
  spec.events = events;
  return spec;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function drawStartUp(rng: Rng, atMs: number): ChannelEventSpec {
  const P = PARAMETERS;
  return { kind: 'start-up', atMs, primed: rng.chance(0.5), slackMl: rng.uniform(P.slackMl.min, P.slackMl.max), settleMl: rng.uniform(P.settleMl.min, P.settleMl.max) };
}

function drawTrueEvents(rng: Rng, spec: ChannelSpec, durationMs: number, mix: FamilyMix, events: ChannelEventSpec[]): void {
  const R = EVENT_RATES_PER_CHANNEL_DAY;
  if (mix.trueEvents === 'rates') {
    for (const atMs of poissonTimes(rng, R.occlusion.rate, durationMs)) events.push(drawOcclusion(rng, atMs));
    for (const atMs of poissonTimes(rng, R.recurrentOcclusion.rate, durationMs)) events.push(drawRecurrent(rng, atMs));
    for (const atMs of poissonTimes(rng, R.infiltration.rate, durationMs)) events.push(drawInfiltration(rng, atMs));
    if (spec.pumpType === 'volumetric') for (const atMs of poissonTimes(rng, R.upstreamOcclusion.rate, durationMs)) events.push(drawUpstream(rng, atMs));
    for (const atMs of poissonTimes(rng, R.disconnection.rate, durationMs)) events.push(drawDisconnection(rng, atMs));
  } else if (mix.trueEvents === 'one-occlusion') {
    const atMs = Math.round(rng.uniform(0.1, 0.7) * durationMs);
    events.push(rng.chance(0.2) ? drawRecurrent(rng, atMs) : drawOcclusion(rng, atMs));
  } else if (mix.trueEvents === 'one-infiltration') {
    events.push(drawInfiltration(rng, Math.round(rng.uniform(0.1, 0.6) * durationMs)));
  } else if (mix.trueEvents === 'one-either') {
    const atMs = Math.round(rng.uniform(0.1, 0.6) * durationMs);
    events.push(rng.chance(0.5) ? drawInfiltration(rng, atMs) : drawOcclusion(rng, atMs));
  }
}

/**
 * Harsh physics (docs/simulator.md, "harsh physics"): everything that makes pressure hard to read,
 * at the bad end of its documented range, so a detector is not tuned to a gentle simulator.
 * - coarse pressure: half the pumps report whole 5 mmHg steps (issue 14; some pumps do);
 * - plunger stick-slip: 2–5 mmHg sawtooth over 2–5 µL, which at 0.1 mL/h is a 1–3 min ramp and drop;
 * - onset transient: the tip leaves the vein in 5–60 s from a vein at 6–10 mmHg, so the line first
 *   drops by the venous-to-interstitial difference (7–14 mmHg) before tissue pressure builds;
 * - slow drift of three sizes: venous drift SD 0.5, 1.5 or 3 mmHg (τ 10–240 min) and limb wander
 *   SD 1–8 cm (held, moving infants), a random walk over any detection window shorter than τ;
 * - crying and movement: twice the everyday rate (the family's patient scale), movement spikes to 30 mmHg.
 */
function harshen(rng: Rng, patient: PatientSpec, channels: ChannelSpec[]): void {
  const P = PARAMETERS;
  patient.venousDriftSdMmHg = rng.weighted([[0.5, 1 / 3], [1.5, 1 / 3], [3, 1 / 3]] as const);
  patient.venousDriftTauMin = rng.logUniform(P.venousDriftTauMin.min, P.venousDriftTauMin.max);
  patient.limbHeightSdCm = rng.uniform(1, P.limbHeightSdCm.max);
  for (const spec of channels) {
    spec.quantisationMmHg = rng.weighted([[5, 0.5], [1, 0.4], [0.1, 0.1]] as const);
    spec.venousPressureMmHg = rng.uniform(6, P.venousPressureMmHg.max);
    if (spec.pumpType === 'syringe') {
      spec.stickSlipMmHg = rng.uniform(2, P.stickSlipMmHg.max);
      spec.stickVolumeUl = rng.uniform(2, P.stickVolumeUl.max);
    }
    for (const event of spec.events) {
      if (event.kind === 'infiltration') event.tipOutMs = Math.round(rng.logUniform(5, 60) * 1000);
    }
  }
}

function drawOcclusion(rng: Rng, atMs: number): ChannelEventSpec {
  const P = PARAMETERS;
  const cause = rng.weighted([['clamp', 0.45], ['kink', 0.3], ['clot', 0.25]] as const);
  const severity = cause === 'clamp' || rng.chance(0.5) ? 'full' : 'partial';
  // A closed clamp is often noticed only when the pump alarms; some are opened again within minutes.
  const durationMs = cause === 'clamp' ? (rng.chance(0.3) ? rng.logUniform(MIN_MS, 20 * MIN_MS) : undefined) : cause === 'kink' ? rng.logUniform(5 * MIN_MS, 2 * H_MS) : undefined;
  return {
    kind: 'occlusion',
    atMs,
    cause,
    severity,
    resistanceMmHgPerMlH: rng.logUniform(P.partialOcclusionMmHgPerMlH.min, P.partialOcclusionMmHgPerMlH.max),
    growthMs: rng.logUniform(P.clotGrowthMin.min, P.clotGrowthMin.max) * MIN_MS,
    ...(durationMs === undefined ? {} : { durationMs: Math.round(durationMs) }),
  };
}

function drawRecurrent(rng: Rng, atMs: number): ChannelEventSpec {
  return {
    kind: 'recurrent-occlusion',
    atMs,
    durationMs: Math.round(rng.uniform(1, 4) * H_MS),
    meanIntervalMs: Math.round(rng.uniform(10, 40) * MIN_MS),
    episodeMinMs: 30_000,
    episodeMaxMs: 5 * MIN_MS,
    severity: rng.chance(0.5) ? 'full' : 'partial',
    resistanceMmHgPerMlH: rng.logUniform(50, PARAMETERS.partialOcclusionMmHgPerMlH.max),
  };
}

/** Site class first, then compliance, flooding and tissue resistance within the class's band. */
export function drawInfiltration(rng: Rng, atMs: number, options: { site?: SiteClass; regionScale?: number } = {}): Extract<ChannelEventSpec, { kind: 'infiltration' }> {
  const P = PARAMETERS;
  const siteClass = options.site ?? rng.weighted(SITE_CLASSES.map((name) => [name, SITE_PARAMETERS[name].share] as const));
  const bands = SITE_PARAMETERS[siteClass];
  const [low, high] = bands.resistanceQuantile;
  return {
    kind: 'infiltration',
    atMs,
    site: siteClass,
    // Compliance scales with the tissue region around the tip; the families are sized for a 1 kg neonate.
    siteComplianceMlPerMmHg: rng.logUniform(bands.siteComplianceMlPerMmHg.min, bands.siteComplianceMlPerMmHg.max) * (options.regionScale ?? 1),
    plateauMmHg: rng.logUniform(bands.plateauMmHg.min, bands.plateauMmHg.max),
    tissueResistanceRu: tissueResistanceAtQuantile(rng.uniform(low, high)),
    tissuePressureMmHg: rng.uniform(P.tissuePressureMmHg.min, P.tissuePressureMmHg.max),
    tipOutMs: Math.round(rng.logUniform(P.tipOutS.min, P.tipOutS.max) * 1000),
    fraction: rng.chance(0.8) ? 1 : rng.uniform(0.3, 0.9),
    // Found at a site check between 30 min and 8 h later (NICU detection ≈ 6 h after the optical sensor [S42]).
    durationMs: Math.round(rng.logUniform(0.5, 8) * H_MS),
  };
}

function drawUpstream(rng: Rng, atMs: number): ChannelEventSpec {
  return rng.chance(0.7) ? { kind: 'upstream-occlusion', atMs } : { kind: 'upstream-occlusion', atMs, durationMs: Math.round(rng.logUniform(30_000, 5 * MIN_MS)) };
}

function drawDisconnection(rng: Rng, atMs: number): ChannelEventSpec {
  return { kind: 'disconnection', atMs, durationMs: Math.round(rng.logUniform(5 * MIN_MS, H_MS)), endHeightCm: rng.uniform(-30, 0) };
}

function drawArtefacts(rng: Rng, spec: ChannelSpec, durationMs: number, scale: number, profile: DrugProfile, events: ChannelEventSpec[]): void {
  if (scale <= 0) return;
  const P = PARAMETERS;
  const R = EVENT_RATES_PER_CHANNEL_DAY;
  for (const atMs of poissonTimes(rng, R.heightChange.rate * scale, durationMs)) {
    const deltaCm = (rng.chance(0.5) ? -1 : 1) * rng.uniform(10, 30);
    events.push(rng.chance(0.5) ? { kind: 'height-change', atMs, deltaCm, durationMs: Math.round(rng.uniform(5, 60) * MIN_MS) } : { kind: 'height-change', atMs, deltaCm });
  }
  for (const atMs of poissonTimes(rng, R.flush.rate * scale, durationMs)) {
    events.push({ kind: 'flush', atMs, volumeMl: round2(rng.uniform(P.flushVolumeMl.min, P.flushVolumeMl.max)), durationMs: Math.round(rng.uniform(P.flushDurationS.min, P.flushDurationS.max) * 1000) });
  }
  for (const atMs of poissonTimes(rng, R.bolus.rate * scale, durationMs)) {
    events.push({ kind: 'bolus', atMs, volumeMl: round2(rng.uniform(P.bolusVolumeMl.min, 2)), rateMlPerH: Math.round(rng.logUniform(P.bolusRateMlPerH.min, 100)) });
  }
  for (const atMs of poissonTimes(rng, R.rateChange.rate * scale, durationMs)) {
    events.push({ kind: 'rate-change', atMs, rateMlPerH: round2(clamp(spec.rateMlPerH * rng.logUniform(0.5, 2), profile.rate[0], profile.rate[1])) });
  }
  for (const atMs of poissonTimes(rng, R.pause.rate * scale, durationMs)) {
    events.push({ kind: 'pause', atMs, durationMs: Math.round(rng.logUniform(1, 20) * MIN_MS) });
  }
}

function drawTelemetryFaults(rng: Rng, durationMs: number, scale: number, events: ChannelEventSpec[]): void {
  if (scale <= 0) return;
  const R = EVENT_RATES_PER_CHANNEL_DAY;
  for (const atMs of poissonTimes(rng, R.dropout.rate * scale, durationMs)) events.push({ kind: 'dropout', atMs, durationMs: Math.round(rng.logUniform(30_000, 10 * MIN_MS)) });
  for (const atMs of poissonTimes(rng, R.duplicates.rate * scale, durationMs)) {
    events.push({ kind: 'duplicates', atMs, durationMs: Math.round(rng.uniform(10, 60) * MIN_MS), probability: rng.uniform(0.02, 0.2) });
  }
  for (const atMs of poissonTimes(rng, R.reorder.rate * scale, durationMs)) {
    events.push({ kind: 'reorder', atMs, durationMs: Math.round(rng.uniform(10, 60) * MIN_MS), probability: rng.uniform(0.02, 0.2) });
  }
}
