import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { describeIssues } from '../validation/issues.js';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';
import { DEFAULT_BAG_ML, defaultChannelSpec, defaultInfiltration, defaultPatientSpec } from './defaults.js';
import { parseDuration } from './duration.js';
import { FAMILY_NAMES, familyPumps } from './families.js';
import { COMPLIANCE_BY_CONTAINER, complianceKey, PARAMETERS as P, SITE_CLASSES } from './parameters.js';
import { normaliseSeed } from './random.js';
import type { ChannelEventSpec, ChannelSpec, DrugSpec, PatientEventSpec, PumpSpec, WardSpec } from './spec.js';

/**
 * Scenario files: readable YAML (or JSON) in `scenarios/`. Every field but the structure is
 * optional and falls back to the documented default (parameters.ts), so a scenario states only
 * what makes it what it is. Durations are `30s`, `10m`, `2h`, `1h30m`, or bare seconds.
 */

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30s, 10m, 2h or 1h30m (a bare number is seconds)' });
    return z.NEVER;
  }
  return ms;
});
const at = duration;
const num = (min: number, max: number) => z.number().min(min).max(max);
const probability = num(0, 1);

const eventSchemas = [
  z.strictObject({
    kind: z.literal('infiltration'),
    at,
    site: z.enum(SITE_CLASSES).default('medium'),
    siteComplianceMlPerMmHg: num(0.005, 5).optional(),
    plateauMmHg: num(0, 200).optional(),
    tissueResistanceRu: num(1, 20_000).optional(),
    tissuePressureMmHg: num(-10, 10).optional(),
    tipOut: duration.optional(),
    fraction: num(0.05, 1).default(1),
    duration: duration.optional(),
  }),
  z.strictObject({
    kind: z.literal('occlusion'),
    at,
    cause: z.enum(['clamp', 'kink', 'clot']).default('clamp'),
    severity: z.enum(['full', 'partial']).default('full'),
    resistanceMmHgPerMlH: num(1, 100_000).default(P.partialOcclusionMmHgPerMlH.default),
    growth: duration.default(P.clotGrowthMin.default * 60),
    duration: duration.optional(),
  }),
  z.strictObject({
    kind: z.literal('recurrent-occlusion'),
    at,
    duration,
    meanInterval: duration.default(20 * 60),
    episode: z.tuple([duration, duration]).default([30, 300]),
    severity: z.enum(['full', 'partial']).default('full'),
    resistanceMmHgPerMlH: num(1, 100_000).default(P.partialOcclusionMmHgPerMlH.default),
  }),
  z.strictObject({ kind: z.literal('upstream-occlusion'), at, duration: duration.optional() }),
  z.strictObject({ kind: z.literal('disconnection'), at, duration: duration.optional(), endHeightCm: num(-200, 200).default(-10) }),
  z.strictObject({ kind: z.literal('height-change'), at, deltaCm: num(-200, 200).default(P.heightChangeCm.default), duration: duration.optional() }),
  z.strictObject({
    kind: z.literal('syringe-change'),
    at,
    pause: duration.default(120),
    bolusUl: num(-500, 500).default(P.syringeChangeBolusUl.default),
    primed: z.boolean().default(false),
    slackMl: num(0, 5).default(P.slackMl.default),
    settleMl: num(0, 5).default(P.settleMl.default),
  }),
  z.strictObject({ kind: z.literal('flush'), at, volumeMl: num(0.01, 20).default(P.flushVolumeMl.default), duration: duration.default(P.flushDurationS.default) }),
  z.strictObject({ kind: z.literal('bolus'), at, volumeMl: num(0.01, 50).default(P.bolusVolumeMl.default), rateMlPerH: num(0.1, 1200).default(P.bolusRateMlPerH.default) }),
  z.strictObject({ kind: z.literal('rate-change'), at, rateMlPerH: num(0, 1200) }),
  z.strictObject({ kind: z.literal('pause'), at, duration }),
  z.strictObject({
    kind: z.literal('start-up'),
    at,
    primed: z.boolean().default(false),
    slackMl: num(0, 5).default(P.slackMl.default),
    settleMl: num(0, 5).default(P.settleMl.default),
  }),
  z.strictObject({ kind: z.literal('dropout'), at, duration }),
  z.strictObject({ kind: z.literal('duplicates'), at, duration, probability: probability.default(0.1) }),
  z.strictObject({ kind: z.literal('reorder'), at, duration, probability: probability.default(0.1) }),
] as const;

const ChannelEventSchema = z.discriminatedUnion('kind', eventSchemas);

const PatientEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('crying'), at, duration: duration.default(120), riseMmHg: num(0, 60).default(P.cryingRiseMmHg.default) }),
  z.strictObject({ kind: z.literal('movement'), at, duration: duration.default(30), amplitudeMmHg: num(0, 100).default(P.movementMmHg.default) }),
]);

const DrugSchema = z.strictObject({ name: z.string().min(1).max(128), concentration: z.string().min(1).max(64).optional(), code: z.string().min(1).max(64).optional() });

const ChannelSchema = z.strictObject({
  channel: z.string().regex(CHANNEL_PATTERN).optional(),
  pumpType: z.enum(['syringe', 'volumetric']).default('syringe'),
  drug: DrugSchema.optional(),
  rateMlPerH: num(0, 1200).default(P.rateMlPerH.default),
  syringeMl: num(1, 100).optional(),
  bagMl: num(10, 5000).optional(),
  fillMl: num(0, 5000).optional(),
  volumeInfusedMl: num(0, 100_000).default(0),
  complianceUlPerMmHg: num(0.05, 50).optional(),
  occlusionLimitMmHg: num(25, 1500).default(P.occlusionLimitMmHg.default),
  reportIntervalS: num(0.5, 300).default(P.reportIntervalS.default),
  reportsPressure: z.boolean().default(true),
  lineResistanceMmHgPerMlH: num(0, 100).default(P.lineResistanceMmHgPerMlH.default),
  catheterResistanceMmHgPerMlH: num(0, 100).default(P.catheterResistanceMmHgPerMlH.default),
  venousPressureMmHg: num(-10, 60).default(P.venousPressureMmHg.default),
  veinResistanceRu: num(1, 5000).default(P.veinResistanceRu.default),
  pumpHeightCm: num(-200, 200).default(P.pumpHeightCm.default),
  sensorNoiseMmHg: num(0, 20).default(P.sensorNoiseMmHg.default),
  quantisationMmHg: num(0.01, 25).default(P.quantisationMmHg.default),
  sensorOffsetMmHg: num(-50, 50).default(P.sensorOffsetMmHg.default),
  stickSlipMmHg: num(0, 50).optional(),
  stickVolumeUl: num(0.1, 50).default(P.stickVolumeUl.default),
  rippleFraction: num(0, 0.5).optional(),
  strokeVolumeMl: num(0.01, 2).default(P.strokeVolumeMl.default),
  rippleSensorMmHg: num(0, 20).optional(),
  bagHeightCm: num(0, 200).default(P.bagHeightCm.default),
  upstreamAlarmMmHg: num(-500, 0).default(P.upstreamAlarmMmHg.default),
  backoffFraction: num(0, 1).default(P.backoffFraction.default),
  nurseResponseS: num(1, 86_400).default(P.nurseResponseS.default),
  resiteMin: num(0, 1440).default(P.resiteMin.default),
  autoRefill: z.boolean().default(true),
  startMode: z.enum(['running', 'stopped']).optional(),
  events: z.array(ChannelEventSchema).default([]),
});

const PatientSchema = z.strictObject({
  limbHeightSdCm: num(0, 50).default(P.limbHeightSdCm.default),
  limbHeightTauMin: num(0.5, 1440).default(P.limbHeightTauMin.default),
  venousDriftSdMmHg: num(0, 20).default(P.venousDriftSdMmHg.default),
  venousDriftTauMin: num(0.5, 1440).default(P.venousDriftTauMin.default),
});

const PumpSchema = z.strictObject({
  id: z.string().regex(PUMP_ID_PATTERN, 'must be 1–64 of A-Z a-z 0-9 . _ : -'),
  careArea: z.string().min(1).max(32).optional(),
  patient: PatientSchema.prefault({}),
  patientEvents: z.array(PatientEventSchema).default([]),
  channels: z.array(ChannelSchema).min(1),
});

export const ScenarioSchema = z
  .strictObject({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    seed: z.union([z.number().int(), z.string().min(1)]).default(1),
    start: z.iso.datetime({ offset: true }).default('2026-01-01T08:00:00Z'),
    duration: duration.default(24 * 3600),
    careArea: z.string().min(1).max(32).optional(),
    pumps: z.array(PumpSchema).default([]),
    random: z
      .strictObject({
        family: z.enum(FAMILY_NAMES),
        pumps: z.number().int().min(1).max(500),
        channelsPerPump: z.number().int().min(1).max(8).optional(),
        idPrefix: z.string().regex(/^[A-Za-z0-9._:-]{1,32}$/).default('R'),
      })
      .optional(),
  })
  .refine((scenario) => scenario.pumps.length > 0 || scenario.random !== undefined, 'needs pumps, random pumps, or both')
  .meta({ title: 'pumpwatch simulator scenario' });

export type Scenario = z.output<typeof ScenarioSchema>;
type ChannelInput = z.output<typeof ChannelSchema>;
type ChannelEventInput = z.output<typeof ChannelEventSchema>;

export interface ScenarioOverrides {
  seed?: number | string;
  startMs?: number;
  durationMs?: number;
}

/** Compiles a scenario to the fully resolved spec the model runs. */
export function scenarioToWardSpec(scenario: Scenario, overrides: ScenarioOverrides = {}): WardSpec {
  const seed = normaliseSeed(overrides.seed ?? scenario.seed);
  const durationMs = overrides.durationMs ?? scenario.duration;
  const pumps: PumpSpec[] = scenario.pumps.map((pump) => ({
    pumpId: pump.id,
    ...(pump.careArea ?? scenario.careArea ? { careArea: (pump.careArea ?? scenario.careArea)! } : {}),
    patient: defaultPatientSpec({ ...pump.patient, events: pump.patientEvents.map(toPatientEvent) }),
    channels: pump.channels.map((channel, index) => toChannelSpec(channel, index)),
  }));
  if (scenario.random !== undefined) {
    pumps.push(
      ...familyPumps({
        family: scenario.random.family,
        seed,
        pumps: scenario.random.pumps,
        ...(scenario.random.channelsPerPump === undefined ? {} : { channelsPerPump: scenario.random.channelsPerPump }),
        durationMs,
        ...(scenario.careArea === undefined ? {} : { careArea: scenario.careArea }),
        idPrefix: scenario.random.idPrefix,
      }),
    );
  }
  return { name: scenario.name, seed, startMs: overrides.startMs ?? Date.parse(scenario.start), durationMs, pumps };
}

function toPatientEvent(event: z.output<typeof PatientEventSchema>): PatientEventSpec {
  return event.kind === 'crying'
    ? { kind: 'crying', atMs: event.at, durationMs: event.duration, riseMmHg: event.riseMmHg }
    : { kind: 'movement', atMs: event.at, durationMs: event.duration, amplitudeMmHg: event.amplitudeMmHg };
}

function toChannelSpec(input: ChannelInput, index: number): ChannelSpec {
  const containerMl = input.pumpType === 'syringe' ? (input.syringeMl ?? P.syringeMl.default) : (input.bagMl ?? DEFAULT_BAG_ML);
  const volumetric = input.pumpType === 'volumetric';
  const events = input.events.map(toEventSpec);
  return defaultChannelSpec({
    channel: input.channel ?? String(index + 1),
    pumpType: input.pumpType,
    ...(input.drug === undefined ? {} : { drug: toDrug(input.drug) }),
    rateMlPerH: input.rateMlPerH,
    containerMl,
    initialFillMl: input.fillMl ?? containerMl,
    initialVolumeMl: input.volumeInfusedMl,
    complianceUlPerMmHg: input.complianceUlPerMmHg ?? COMPLIANCE_BY_CONTAINER[complianceKey(input.pumpType, containerMl)].default,
    occlusionLimitMmHg: input.occlusionLimitMmHg,
    reportIntervalS: input.reportIntervalS,
    reportsPressure: input.reportsPressure,
    lineResistanceMmHgPerMlH: input.lineResistanceMmHgPerMlH,
    catheterResistanceMmHgPerMlH: input.catheterResistanceMmHgPerMlH,
    venousPressureMmHg: input.venousPressureMmHg,
    veinResistanceRu: input.veinResistanceRu,
    pumpHeightCm: input.pumpHeightCm,
    sensorNoiseMmHg: input.sensorNoiseMmHg,
    quantisationMmHg: input.quantisationMmHg,
    sensorOffsetMmHg: input.sensorOffsetMmHg,
    stickSlipMmHg: input.stickSlipMmHg ?? (volumetric ? 0 : P.stickSlipMmHg.default),
    stickVolumeUl: input.stickVolumeUl,
    rippleFraction: input.rippleFraction ?? (volumetric ? P.rippleFraction.default : 0),
    strokeVolumeMl: input.strokeVolumeMl,
    rippleSensorMmHg: input.rippleSensorMmHg ?? (volumetric ? P.rippleSensorMmHg.default : 0),
    bagHeightCm: input.bagHeightCm,
    upstreamAlarmMmHg: input.upstreamAlarmMmHg,
    backoffFraction: input.backoffFraction,
    nurseResponseS: input.nurseResponseS,
    resiteMin: input.resiteMin,
    autoRefill: input.autoRefill,
    // A channel with a start-up event waits for it unless told otherwise.
    startMode: input.startMode ?? (events.some((event) => event.kind === 'start-up') ? 'stopped' : 'running'),
    events,
  });
}

function toDrug(drug: z.output<typeof DrugSchema>): DrugSpec {
  return {
    name: drug.name,
    ...(drug.concentration === undefined ? {} : { concentration: drug.concentration }),
    ...(drug.code === undefined ? {} : { code: drug.code }),
  };
}

function optionalDuration(durationMs: number | undefined): { durationMs: number } | Record<string, never> {
  return durationMs === undefined ? {} : { durationMs };
}

function toEventSpec(event: ChannelEventInput): ChannelEventSpec {
  switch (event.kind) {
    case 'infiltration':
      return defaultInfiltration(event.at, event.site, {
        fraction: event.fraction,
        ...(event.siteComplianceMlPerMmHg === undefined ? {} : { siteComplianceMlPerMmHg: event.siteComplianceMlPerMmHg }),
        ...(event.plateauMmHg === undefined ? {} : { plateauMmHg: event.plateauMmHg }),
        ...(event.tissueResistanceRu === undefined ? {} : { tissueResistanceRu: event.tissueResistanceRu }),
        ...(event.tissuePressureMmHg === undefined ? {} : { tissuePressureMmHg: event.tissuePressureMmHg }),
        ...(event.tipOut === undefined ? {} : { tipOutMs: event.tipOut }),
        ...optionalDuration(event.duration),
      });
    case 'occlusion':
      return { kind: 'occlusion', atMs: event.at, cause: event.cause, severity: event.severity, resistanceMmHgPerMlH: event.resistanceMmHgPerMlH, growthMs: event.growth, ...optionalDuration(event.duration) };
    case 'recurrent-occlusion':
      return {
        kind: 'recurrent-occlusion',
        atMs: event.at,
        durationMs: event.duration,
        meanIntervalMs: event.meanInterval,
        episodeMinMs: Math.min(...event.episode),
        episodeMaxMs: Math.max(...event.episode),
        severity: event.severity,
        resistanceMmHgPerMlH: event.resistanceMmHgPerMlH,
      };
    case 'upstream-occlusion':
      return { kind: 'upstream-occlusion', atMs: event.at, ...optionalDuration(event.duration) };
    case 'disconnection':
      return { kind: 'disconnection', atMs: event.at, endHeightCm: event.endHeightCm, ...optionalDuration(event.duration) };
    case 'height-change':
      return { kind: 'height-change', atMs: event.at, deltaCm: event.deltaCm, ...optionalDuration(event.duration) };
    case 'syringe-change':
      return { kind: 'syringe-change', atMs: event.at, pauseMs: event.pause, bolusUl: event.bolusUl, primed: event.primed, slackMl: event.slackMl, settleMl: event.settleMl };
    case 'flush':
      return { kind: 'flush', atMs: event.at, volumeMl: event.volumeMl, durationMs: event.duration };
    case 'bolus':
      return { kind: 'bolus', atMs: event.at, volumeMl: event.volumeMl, rateMlPerH: event.rateMlPerH };
    case 'rate-change':
      return { kind: 'rate-change', atMs: event.at, rateMlPerH: event.rateMlPerH };
    case 'pause':
      return { kind: 'pause', atMs: event.at, durationMs: event.duration };
    case 'start-up':
      return { kind: 'start-up', atMs: event.at, primed: event.primed, slackMl: event.slackMl, settleMl: event.settleMl };
    case 'dropout':
      return { kind: 'dropout', atMs: event.at, durationMs: event.duration };
    case 'duplicates':
    case 'reorder':
      return { kind: event.kind, atMs: event.at, durationMs: event.duration, probability: event.probability };
  }
}

// ---- loading --------------------------------------------------------------------------------

/** `scenarios/` at the package root: two levels up from both src/simulate and dist/simulate. */
export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');

export type ScenarioLoad =
  | { ok: true; scenario: Scenario; path: string }
  | { ok: false; reason: 'not-found' | 'unreadable' | 'invalid'; problems: string[] };

/** Parses scenario text (YAML or JSON) and validates it; problems are path-qualified. */
export function parseScenarioText(text: string, sourceName: string): ScenarioLoad {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, reason: 'invalid', problems: document.errors.map((error) => `${sourceName}: ${error.message.split('\n')[0]}`) };
  }
  const raw = document.toJS() as unknown;
  const parsed = ScenarioSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'invalid', problems: describeIssues(parsed.error.issues, raw).map((problem) => `${sourceName}: ${problem}`) };
  return { ok: true, scenario: parsed.data, path: sourceName };
}

/** A bare name (`demo`) is looked up in `scenarios/`; anything with a slash or an extension is a path. */
export async function loadScenario(nameOrPath: string, scenarioDir = SCENARIO_DIR): Promise<ScenarioLoad> {
  const isPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || extname(nameOrPath) !== '';
  const path = isPath ? nameOrPath : join(scenarioDir, `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !isPath) {
      const known = await listScenarios(scenarioDir);
      return { ok: false, reason: 'not-found', problems: [`no scenario named "${nameOrPath}" (known: ${known.join(', ') || 'none'})`] };
    }
    return { ok: false, reason: code === 'ENOENT' ? 'not-found' : 'unreadable', problems: [`cannot read ${path} (${code ?? String(error)})`] };
  }
  return parseScenarioText(text, path);
}

/** Names of the scenarios shipped in `scenarios/`. */
export async function listScenarios(scenarioDir = SCENARIO_DIR): Promise<string[]> {
  try {
    const entries = await readdir(scenarioDir);
    return entries.filter((entry) => entry.endsWith('.yaml')).map((entry) => basename(entry, '.yaml')).sort();
  } catch {
    return [];
  }
}
