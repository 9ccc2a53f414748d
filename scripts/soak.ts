/**
 * `npm run soak -- [--budget 60m] [--days 7] [--pumps 24] [--kill-cycles 1000] [--kill-lanes 2] [--outages 100]
 *   [--link-faults 100] [--disk-full 10] [--reloads 30] [--out soak-report] [--seed N]`
 *
 * A compressed ward week against the real daemon and Mosquitto while fault injectors run on a
 * schedule (test/soak/ward-week.soak.ts). The run takes the budget plus up to a few minutes to drain
 * and write soak.json, soak.md and soak.svg to --out. Needs mosquitto; root for the disk-full tmpfs.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SOAK_DEFAULTS, soakEnvName } from '../test/soak/options.js';

const ROOT = join(import.meta.dirname, '..');

/** `90s`, `45m`, `2h` or plain minutes. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (match === null) throw new Error(`--budget must look like 90s, 45m or 2h (got ${text})`);
  const scale = { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h' | undefined ?? 'm'];
  return Number(match[1]) * scale;
}

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: `${SOAK_DEFAULTS.budgetMs / 60_000}m` },
    days: { type: 'string' },
    pumps: { type: 'string' },
    'kill-cycles': { type: 'string' },
    'kill-lanes': { type: 'string' },
    outages: { type: 'string' },
    'link-faults': { type: 'string' },
    'disk-full': { type: 'string' },
    reloads: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
  },
});

const env: NodeJS.ProcessEnv = { ...process.env, [soakEnvName('budgetMs')]: String(parseDurationMs(values.budget)) };
const numeric = { days: 'days', pumps: 'pumps', 'kill-cycles': 'killCycles', 'kill-lanes': 'killLanes', outages: 'outages', 'link-faults': 'linkFaults', 'disk-full': 'diskFull', reloads: 'reloads' } as const;
for (const [flag, key] of Object.entries(numeric) as [keyof typeof numeric, (typeof numeric)[keyof typeof numeric]][]) {
  const value = values[flag];
  if (value !== undefined) env[soakEnvName(key)] = value;
}
if (values.out !== undefined) env.SOAK_OUT = values.out;
if (values.seed !== undefined) env.FAULT_SEED = values.seed;

const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const result = spawnSync(process.execPath, [vitest, 'run', '-c', 'vitest.soak.config.ts'], { cwd: ROOT, env, stdio: 'inherit' });
process.exitCode = result.status ?? 1;
