import type { FamilyName } from '../simulate/index.js';

/**
 * What `pumpwatch evaluate` runs. Thresholds were tuned on the tuning seeds only; the README's
 * figures come from the held-out seeds, which were not looked at while tuning.
 */
export const SEED_SETS = {
  tuning: [1, 2],
  'held-out': [101, 102, 103],
} as const;
export type SeedSetName = keyof typeof SEED_SETS;

export interface FamilyRun {
  family: FamilyName;
  pumps: number;
  hours: number;
}

/**
 * One day of each family per seed: the occlusion and infiltration families hold one true event per
 * channel; `mixed` is an everyday ward (artefacts at everyday rates, enriched true events), the
 * source of the false-alarm figures; `harsh` holds one true event per channel on harsh physics
 * (coarse steps, stick-slip, onset dips, large drift); `artefacts` triples every artefact class on
 * harsh physics (stress test).
 */
export const DEFAULT_FAMILIES: readonly FamilyRun[] = [
  { family: 'occlusion', pumps: 40, hours: 24 },
  { family: 'infiltration', pumps: 40, hours: 24 },
  { family: 'harsh', pumps: 40, hours: 24 },
  { family: 'mixed', pumps: 40, hours: 24 },
  { family: 'artefacts', pumps: 20, hours: 24 },
];

export interface EvaluationPlan {
  setName: SeedSetName | 'custom';
  seeds: readonly number[];
  families: readonly FamilyRun[];
}

export function defaultPlan(setName: SeedSetName): EvaluationPlan {
  return { setName, seeds: SEED_SETS[setName], families: DEFAULT_FAMILIES };
}
