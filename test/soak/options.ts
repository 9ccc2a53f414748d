/** What a soak run does; `scripts/soak.ts` turns its flags into these SOAK_* variables. */
export interface SoakOptions {
  /** Wall time for the ward and the injectors; draining and the report come after. */
  budgetMs: number;
  /** Simulated ward time squeezed into the budget. */
  days: number;
  pumps: number;
  killCycles: number;
  /** Crash gateways killed side by side. */
  killLanes: number;
  outages: number;
  linkFaults: number;
  diskFull: number;
  reloads: number;
  outDirectory: string;
}

export const SOAK_DEFAULTS: SoakOptions = {
  budgetMs: 60 * 60_000,
  days: 7,
  pumps: 24,
  killCycles: 1_000,
  killLanes: 2,
  outages: 100,
  linkFaults: 100,
  diskFull: 10,
  reloads: 30,
  outDirectory: 'soak-report',
};

const ENV: Record<Exclude<keyof SoakOptions, 'outDirectory'>, string> = {
  budgetMs: 'SOAK_BUDGET_MS',
  days: 'SOAK_DAYS',
  pumps: 'SOAK_PUMPS',
  killCycles: 'SOAK_KILL_CYCLES',
  killLanes: 'SOAK_KILL_LANES',
  outages: 'SOAK_OUTAGES',
  linkFaults: 'SOAK_LINK_FAULTS',
  diskFull: 'SOAK_DISK_FULL',
  reloads: 'SOAK_RELOADS',
};

export function soakEnvName(key: Exclude<keyof SoakOptions, 'outDirectory'>): string {
  return ENV[key];
}

export function soakOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SoakOptions {
  const options = { ...SOAK_DEFAULTS };
  for (const [key, name] of Object.entries(ENV) as [Exclude<keyof SoakOptions, 'outDirectory'>, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number ≥ 0 (got ${raw})`);
    options[key] = value;
  }
  if (env.SOAK_OUT !== undefined && env.SOAK_OUT !== '') options.outDirectory = env.SOAK_OUT;
  return options;
}
