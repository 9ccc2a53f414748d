import { z } from 'zod';

/**
 * Settings of the pressure-trend detector (`LineWatch`). Every threshold lives here with its
 * default and the reason for it; the figures behind them and their sources are in
 * docs/simulator.md. The key physical fact: pressure plotted against *volume delivered*
 * rises at ≈ 1/C. For a vein that slope is ≈ 0; for tissue it is 1/site compliance (0.03–0.4 mL/mmHg
 * → 2.5–33 mmHg/mL); for a blocked line it is 1/system compliance (1–5 µL/mmHg → 200–1000 mmHg/mL).
 */

const positive = (max: number) => z.number().positive().max(max);
const fraction = z.number().min(0).max(1);

export const SegmentSettingsSchema = z
  .strictObject({
    maxGapSeconds: positive(3600)
      .default(300)
      .describe('a telemetry gap longer than this restarts learning, since the line may have changed meanwhile'),
    rateChangeFraction: fraction
      .default(0.02)
      .describe('a programmed-rate change larger than this fraction starts a new segment (baseline re-learned)'),
    resumeSettleSeconds: positive(3600)
      .default(120)
      .describe('learning waits this long after a resume, rate change, bolus or telemetry gap (transients settle in seconds to minutes)'),
    startupSettleSeconds: positive(14_400)
      .default(1200)
      .describe('learning waits this long after a new infusion or syringe: syringe-pump start-up takes 6–76 min, typically 20 [S14]'),
    settleVolumeMl: positive(10).default(0.01).describe('and at least this much volume delivered in the segment'),
    flatMmHg: positive(50)
      .default(3)
      .describe('three consecutive pressure blocks within this band (and not rising like an occlusion) count as settled'),
    trackVolumeMl: positive(100)
      .default(0.5)
      .describe('the baseline follows slow drift with this volume constant while the pressure stays near it'),
    noiseFloorMmHg: positive(50).default(0.5).describe('lower bound of the estimated noise, so that a perfectly quiet signal does not make thresholds vanish'),
  })
  .describe('how a channel is cut into segments of steady infusion and when its baseline is learned');

export const OcclusionSettingsSchema = z
  .strictObject({
    blockVolumeMl: positive(1)
      .default(0.004)
      .describe('pressure is averaged over blocks of at least this volume delivered (4 µL ≈ 30 s at 0.5 mL/h)'),
    blockSamples: z.number().int().min(1).max(100).default(3).describe('and of at least this many samples'),
    minSlopeMmHgPerMl: positive(100_000)
      .default(100)
      .describe('a rise steeper than this against volume is occlusion-like: 1/(10 µL/mmHg), softer than any system compliance (1–5 µL/mmHg), steeper than any tissue (≤ 33 mmHg/mL)'),
    riseMmHg: positive(1000).default(10).describe('minimum rise above the baseline before an occlusion is raised'),
    thresholdNats: positive(1000)
      .default(9)
      .describe(
        'decision threshold of the occlusion test once the baseline is learned: log-likelihood ratio (nats) of a ramp at system-compliance slope against a level, with the line\u2019s white noise, reporting steps and stick-slip at each end and its wander as a random walk over the span; higher is fewer false alarms and later detection. On the tuning-seed curve 9 nats keeps harsh physics within 0.2 false alarms per pump-day (8 nats: 0.21 in the stress family; 10 nats misses a partial occlusion)',
      ),
    slopeLowMmHgPerMl: positive(100_000)
      .default(200)
      .describe('low end of the occlusion slope range tested: 1/C_system for the softest system, 5 µL/mmHg [S13][S10]'),
    slopeHighMmHgPerMl: positive(100_000)
      .default(1000)
      .describe(
        'high end: 1/C_system for a stiff system of 1 µL/mmHg [S13]; steeper ramps are judged at this slope, and a rise between two samples steeper than this (beyond the noise and one reporting step) is a jump — crying, a lowered pump, a moved limb — taken off the rise judged',
      ),
    minBlocks: z.number().int().min(2).max(15).default(3).describe('the rise must span at least this many blocks (a step spans one or two)'),
    minRiseSeconds: z
      .number()
      .min(0)
      .max(3600)
      .default(60)
      .describe('the rise must have lasted this long: a movement or crying bout lifts the pressure in seconds and is over within minutes'),
    continuationFraction: fraction
      .default(0.25)
      .describe('at least this fraction of the rise must lie in the second half of the volume since onset: ramps keep growing, steps do not'),
    linearityFraction: fraction
      .default(0.15)
      .describe('the blocks since onset must lie this close to a straight line (RMS, as a fraction of the rise) ...'),
    linearityNoiseMultiple: positive(100)
      .default(3)
      .describe('... or within this many block-noise SDs: a filling compliance is smooth, crying and movement are jagged'),
    confirmBlocks: z.number().int().min(1).max(20).default(2).describe('consecutive blocks that must pass before raising ...'),
    immediateRiseMultiple: positive(100)
      .default(3)
      .describe('... unless, while the baseline is still being learned, the rise is already this many times the threshold (once it is learned, the likelihood test must pass on each block and keep growing)'),
    settleRiseMmHg: positive(1000)
      .default(20)
      .describe('rise over the segment minimum needed while a resumed or re-rated segment is still settling'),
    startupRiseMmHg: positive(1000)
      .default(50)
      .describe('rise over the segment minimum needed during start-up: engaging the plunger lifts the reading to venous + head + line pressure, up to ≈ 45 mmHg'),
    endRiseMmHg: positive(1000)
      .default(5)
      .describe('the occlusion ends when the pressure is back within this of the baseline (or half the raise threshold, if larger) ...'),
    endHoldSeconds: positive(3600).default(30).describe('... for this long'),
    holdOffSeconds: z.number().min(0).max(3600).default(60).describe('no new occlusion on the channel for this long after one ends'),
  })
  .describe('downstream occlusion: a sustained ramp at system-compliance slope');

export const InfiltrationSettingsSchema = z
  .strictObject({
    slabVolumeMl: positive(10).default(0.02).describe('pressure is averaged over slabs of at least this volume delivered'),
    slabSamples: z.number().int().min(1).max(1000).default(3).describe('and of at least this many samples'),
    thresholdNats: positive(1000)
      .default(9)
      .describe(
        'ward-wide decision threshold of the sequential tissue-slope test (CUSUM log-likelihood ratio, nats); higher is fewer false advisories and later detection. 9 nats keeps the ward, vesicant lines included, within 0.05 false advisories per pump-day on the tuning-seed curve (7 nats on every line: 0.18)',
      ),
    slopeLowMmHgPerMl: positive(10_000)
      .default(10)
      .describe('low end of the tissue slope range tested: 1/C_site for a site of 0.1 mL/mmHg (medium); flatter sites are not claimed'),
    slopeHighMmHgPerMl: positive(10_000)
      .default(33)
      .describe('high end: 1/C_site for a tight site of 0.03 mL/mmHg'),
    ceilingMmHgPerMl: positive(100_000)
      .default(100)
      .describe('a step steeper than this is occlusion-like or the refill of a lowered line, not tissue: it moves the reference and adds no evidence'),
    clipSd: positive(20).default(2.5).describe("each step's standardised deviation is clipped at this many SDs, so one step (height change, knock) adds a bounded amount"),
    stepCapNats: positive(100)
      .default(2.5)
      .describe('and no step adds more than this much evidence: a decision always rests on several slabs, never on one jump'),
    driftPriorMmHg2PerHour: positive(10_000)
      .default(18)
      .describe(
        'slow venous and limb drift assumed before the line has shown its own, as a random-walk variance rate: limb wander of 2.5 cm SD with τ ≈ 25 min gives ≈ 16, venous drift of 1 mmHg SD with τ ≈ 60 min ≈ 2 (2σ²/τ)',
      ),
    driftWeight: fraction.default(1 / 16).describe('weight of one quiet step in the drift rate learned on the line'),
    riseMmHg: positive(1000).default(3).describe("minimum rise since the run of evidence began (and at least one step of the pump's reporting resolution)"),
    holdOffMinutes: z.number().min(0).max(1440).default(30).describe('no new advisory on the channel for this long after one ends'),
    priorityVesicant: z.enum(['medium', 'low']).default('medium').describe('priority on a vesicant line (never high: this is an advisory)'),
    priorityOther: z.enum(['medium', 'low']).default('low').describe('priority on any other line'),
  })
  .describe('possible infiltration: a sequential test for a rise against volume at tissue-compliance slope, with slow drift as a random walk');

export const SensitiveContextSchema = z
  .strictObject({
    careAreas: z
      .array(z.string().min(1))
      .default(['NICU'])
      .describe('care areas (case-insensitive) where a vesicant line gets the vesicant-line operating point'),
    thresholdNats: positive(1000)
      .default(7)
      .describe(
        'decision threshold of the tissue-slope test on a vesicant line in those care areas: the vesicant-line operating point, with its own false-advisory budget per vesicant-line-day (≤ 0.2). 7 nats is the most sensitive point of the tuning-seed curve within that budget (0.13 per vesicant-line-day; 6 nats gave 0.26)',
      ),
  })
  .describe('a more sensitive operating point where harm is likeliest: vesicant drugs in sensitive care areas');

export const DrugEntrySchema = z.strictObject({
  name: z.string().min(1).describe('matched case-insensitively, ignoring punctuation, as a prefix of the pump\u2019s drug name'),
  aliases: z.array(z.string().min(1)).default([]),
  codes: z.array(z.string().min(1)).default([]).describe('drug codes matched exactly'),
  vesicant: z.boolean().default(false),
});

export const DEFAULT_DRUG_LIBRARY = [
  { name: 'calcium gluconate', aliases: ['ca gluconate', 'calcium gluc'], codes: [], vesicant: true },
  { name: 'calcium chloride', aliases: ['ca chloride', 'cacl2'], codes: [], vesicant: true },
];

export const DisturbanceSettingsSchema = z
  .strictObject({
    jaggednessMultiple: positive(100)
      .default(3)
      .describe("a block or slab whose samples scatter around their own line more than this many times the line's quiet scatter is disturbed (crying, movement, handling) and left out of the trend tests"),
    jaggednessFloorMmHg: positive(50).default(0.5).describe('quiet scatter assumed at least this large, so sensor quantisation does not mark every block disturbed'),
    resolutionFraction: fraction.default(0.6).describe("and at least this fraction of the pump's reporting resolution (learned as the smallest step between reported pressures)"),
  })
  .describe('patient and handling disturbances: fast, jagged pressure changes that delivered volume cannot cause');

export const RecurrentOcclusionSettingsSchema = z
  .strictObject({
    count: z.number().int().min(2).max(10).default(3).describe('this many occlusion episodes or auto-restarts ...'),
    windowMinutes: positive(1440).default(60).describe('... within this many minutes raise recurrent-occlusion; it ends after a quiet window'),
    autoRestartCodes: z
      .array(z.string().min(1))
      .default(['AUTO_RESTART', 'OCCLUSION_AUTO_RESTART'])
      .describe("the pump's codes for an automatic restart after an occlusion check"),
  })
  .describe('recurrent occlusions or auto-restarts on one line');

export const DetectorSettingsSchema = z.strictObject({
  segments: SegmentSettingsSchema.prefault({}),
  occlusion: OcclusionSettingsSchema.prefault({}),
  infiltration: InfiltrationSettingsSchema.prefault({}),
  sensitiveContext: SensitiveContextSchema.prefault({}),
  disturbance: DisturbanceSettingsSchema.prefault({}),
  recurrentOcclusion: RecurrentOcclusionSettingsSchema.prefault({}),
  drugLibrary: z
    .array(DrugEntrySchema)
    .default(DEFAULT_DRUG_LIBRARY)
    .describe('drugs the detector knows; calcium gluconate and calcium chloride are vesicants'),
});

export type DetectorSettings = z.output<typeof DetectorSettingsSchema>;
export type DetectorSettingsInput = z.input<typeof DetectorSettingsSchema>;
export type DrugEntry = z.output<typeof DrugEntrySchema>;

/** Defaults with optional overrides, for tests, the evaluator and the benchmark. */
export function detectorSettings(overrides: DetectorSettingsInput = {}): DetectorSettings {
  return DetectorSettingsSchema.parse(overrides);
}
