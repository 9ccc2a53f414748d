import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnDaemon, type DaemonFacts } from './daemon-process.js';
import type { Verdict } from './judge.js';
import type { Rng } from './random.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function scratchDirectory(label: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `pumpwatch-fault-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function faultPrefix(label: string): string {
  return `pwfault/${label}-${randomBytes(3).toString('hex')}`;
}

/** The daemons' MQTT keepalive in the fault tests: a blackholed link is noticed after 1.5 times this. */
export const FAULT_KEEPALIVE_SECONDS = 5;

/** The daemon settings every fault test starts from: fast reconnects, short timers, MQTT 5. */
export function baseDaemonSettings(options: { url: string; prefix: string; journalDirectory: string }): Record<string, unknown> {
  return {
    gateway: { id: 'gw-fault', site: 'fault-site', ward: 'fault-ward' },
    mqtt: { url: options.url, protocolVersion: 5, topicPrefix: options.prefix, keepaliveSeconds: FAULT_KEEPALIVE_SECONDS, reconnectSeconds: 0.1, sessionExpirySeconds: 300 },
    sources: { mqtt: { topics: [`${options.prefix}-pumps/+/telemetry`], qos: 0 } },
    detection: { telemetryLostAfterSeconds: 2 },
    alarms: { escalation: { afterSeconds: 1, maxSteps: 2 }, restoreGraceSeconds: 5 },
    journal: { directory: options.journalDirectory },
    delivery: { stalledAfterSeconds: 3 },
    logging: { level: 'info' },
  };
}

/** A test's time limit: the suite's 10 minutes, or more when the count was raised for a long run. */
export function timeLimitMs(count: number, perItemMs: number): number {
  return Math.max(600_000, count * perItemMs);
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** One line of figures per test, greppable in CI logs. */
export function report(test: string, seed: number, figures: Record<string, unknown>): void {
  const parts = Object.entries(figures).map(([key, value]) => `${key}=${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(1) : String(value)}`);
  console.log(`[fault] ${test} seed=${seed} ${parts.join(' ')}`);
}

export function verdictFigures(verdict: Verdict): Record<string, number> {
  return {
    journaled: verdict.expected,
    received: verdict.received,
    lost: verdict.lost.length,
    duplicates: verdict.duplicates,
    divergent: verdict.divergent.length,
    forks: verdict.forks.length,
  };
}

/** One kill -9 cycle: start the daemon, let it get somewhere, SIGKILL it. Resolves with its length in ms. */
export async function killCycle(configPath: string, facts: DaemonFacts, rng: Rng): Promise<number> {
  const begin = Date.now();
  const daemon = spawnDaemon(configPath, facts);
  if (rng.chance(0.15)) {
    // Now and then during start-up: the journal check, its torn-tail repair or a compaction.
    await Promise.race([daemon.journalChecked, sleep(rng.between(0, 600))]);
  } else {
    // Mostly after the journal check: restore, re-drive, reconnect and the live burst.
    await Promise.race([daemon.journalChecked, daemon.exited]);
    await sleep(rng.between(0, 600));
  }
  await daemon.kill('SIGKILL');
  return Date.now() - begin;
}
