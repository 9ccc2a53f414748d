/**
 * The simulator's public API. Typical use:
 *
 *   const loaded = await loadScenario('demo');
 *   const ward = createWard({ scenario: loaded.scenario, seed: 7 });
 *   for (const { atMs, sample } of ward) …            // flat out
 *   await paceWard(ward, { speed: 60, clock: systemPaceClock, signal }, emit);   // paced
 *   const labels = ward.takeLabels();                  // ground truth, as events end
 */
import { FAMILY_NAMES, familyPumps, type FamilyName } from './families.js';
import { normaliseSeed } from './random.js';
import { scenarioToWardSpec, type Scenario } from './scenario.js';
import type { WardSpec } from './spec.js';
import { Ward } from './ward.js';

export { FAMILY_DESCRIPTIONS, FAMILY_NAMES, type FamilyName } from './families.js';
export { compareLabels, labelLine, LABEL_KINDS, type LabelCategory, type LabelKind, type RunRecord, type SimLabel } from './labels.js';
export { paceWard, systemPaceClock, type PaceClock, type PaceOptions, type PaceResult } from './pace.js';
export { listScenarios, loadScenario, parseScenarioText, ScenarioSchema, type Scenario, type ScenarioLoad } from './scenario.js';
export type { SimEmission, SimSample } from './channel.js';
export type { WardSpec } from './spec.js';
export { Ward } from './ward.js';

/** Default start of a family run (any fixed instant: runs must not depend on when they were made). */
export const DEFAULT_START_MS = Date.UTC(2026, 0, 1);
export const DEFAULT_DURATION_MS = 24 * 3_600_000;
export const DEFAULT_PUMPS = 20;
export const DEFAULT_CARE_AREA = 'NICU';

export interface CreateWardOptions {
  /** Same seed, same samples and labels, byte for byte. Default: the scenario's seed, or 1. */
  seed?: number | string;
  /** A loaded scenario (see `loadScenario`); otherwise a random `family` ward. */
  scenario?: Scenario;
  family?: FamilyName;
  /** Family wards: number of pumps (default 20) and channels per pump (default 1–3 at random). */
  pumps?: number;
  channelsPerPump?: number;
  /** Simulated start (epoch ms) and length; default the scenario's, or 2026-01-01T00:00Z and 24 h. */
  startMs?: number;
  durationMs?: number;
  careArea?: string;
}

/** Resolves options to the complete spec of a run (useful to inspect or store what will be simulated). */
export function buildWardSpec(options: CreateWardOptions): WardSpec {
  if (options.scenario !== undefined) {
    return scenarioToWardSpec(options.scenario, {
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.startMs === undefined ? {} : { startMs: options.startMs }),
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
    });
  }
  const family = options.family ?? 'mixed';
  if (!FAMILY_NAMES.includes(family)) throw new RangeError(`unknown family "${String(family)}" (known: ${FAMILY_NAMES.join(', ')})`);
  const seed = normaliseSeed(options.seed ?? 1);
  const durationMs = options.durationMs ?? DEFAULT_DURATION_MS;
  return {
    name: family,
    seed,
    startMs: options.startMs ?? DEFAULT_START_MS,
    durationMs,
    pumps: familyPumps({
      family,
      seed,
      pumps: options.pumps ?? DEFAULT_PUMPS,
      ...(options.channelsPerPump === undefined ? {} : { channelsPerPump: options.channelsPerPump }),
      durationMs,
      careArea: options.careArea ?? DEFAULT_CARE_AREA,
    }),
  };
}

/** A ward ready to stream: `next()`, iteration, `peekAtMs()`, `takeLabels()`, `runRecord()`. */
export function createWard(options: CreateWardOptions): Ward {
  return new Ward(buildWardSpec(options));
}
