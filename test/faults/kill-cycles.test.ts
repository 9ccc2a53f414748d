import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoMissingReason, startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { emptyFacts, spawnDaemon, writeDaemonConfig, type DaemonFacts } from './harness/daemon-process.js';
import { Judge, type Verdict } from './harness/judge.js';
import { countFromEnv, createRng, type Rng } from './harness/random.js';
import { baseDaemonSettings, faultPrefix, killCycle, percentile, report, scratchDirectory, timeLimitMs } from './harness/scenario.js';
import { TelemetryDriver } from './harness/telemetry-driver.js';

const CYCLES = countFromEnv('FAULT_KILL_CYCLES', 200);
/** Two gateways killed side by side: node's start-up is the slow part, and there are two cores. */
const LANES = 2;
const PUMPS_PER_LANE = 16;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LaneResult {
  verdict: Verdict;
  missing: number;
  facts: DaemonFacts;
  acks: number;
  cycleMs: number[];
}

async function runLane(lane: number, cycles: number, broker: OwnMosquitto, rng: Rng): Promise<LaneResult> {
  const scratch = await scratchDirectory(`kill-${lane}`);
  cleanups.push(() => scratch.remove());
  const prefix = faultPrefix(`kill${lane}`);
  const judge = await Judge.start({ url: broker.url, prefix, ackFraction: 0.3, rng });
  cleanups.push(() => judge.stop());
  const pumpIds = Array.from({ length: PUMPS_PER_LANE }, (_, i) => `K${lane}-${String(i + 1).padStart(2, '0')}`);
  const driver = new TelemetryDriver({ url: broker.url, topicRoot: `${prefix}-pumps`, pumpIds, intervalMs: 40, toggleProbability: 0.05, rng });
  driver.start();
  cleanups.push(() => driver.stop());
  const settings = baseDaemonSettings({ url: broker.url, prefix, journalDirectory: `${scratch.path}/journal` });
  const configPath = await writeDaemonConfig(scratch.path, { ...settings, gateway: { id: `gw-kill-${lane}`, site: 'fault-site', ward: 'fault-ward' } });

  const facts = emptyFacts();
  const cycleMs: number[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) cycleMs.push(await killCycle(configPath, facts, rng));
  driver.settle();
  const last = spawnDaemon(configPath, facts);
  await last.started;
  const missing = await judge.waitForAll(facts.intents.values(), 30_000);
  await last.kill('SIGTERM');
  return { verdict: judge.verdict(facts.intents.values()), missing: missing.length, facts, acks: judge.acksSent, cycleMs };
}

describe.skipIf(mosquittoMissingReason !== undefined)(`kill -9 of the daemon during an alarm burst ${mosquittoMissingReason ?? ''}`, () => {
  it(`loses no journaled alarm event across ${CYCLES} kill cycles, and duplicates only re-send the same eventId`, async () => {
    const rng = createRng();
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const startedAt = Date.now();
    const perLane = Math.ceil(CYCLES / LANES);
    const lanes = await Promise.all(Array.from({ length: LANES }, (_, lane) => runLane(lane, perLane, broker, rng)));

    const sum = (pick: (lane: LaneResult) => number) => lanes.reduce((total, lane) => total + pick(lane), 0);
    const figures = {
      cycles: perLane * LANES,
      journaled: sum((l) => l.verdict.expected),
      received: sum((l) => l.verdict.received),
      lost: sum((l) => l.verdict.lost.length),
      duplicates: sum((l) => l.verdict.duplicates),
      divergent: sum((l) => l.verdict.divergent.length),
      forks: sum((l) => l.verdict.forks.length),
      nonDurable: sum((l) => [...l.facts.intents.values()].filter((intent) => !intent.durable).length),
      acks: sum((l) => l.acks),
      acknowledgedEvents: sum((l) => [...l.facts.intents.values()].filter((i) => i.event === 'acknowledged').length),
      redrives: sum((l) => l.facts.redrives),
      tornTails: sum((l) => l.facts.tornTails),
      corruptRecords: sum((l) => l.facts.corruptRecords),
      cycleMsP50: percentile(lanes.flatMap((l) => l.cycleMs), 0.5),
      totalSeconds: (Date.now() - startedAt) / 1000,
    };
    report('kill-cycles', rng.seed, figures);
    for (const lane of lanes) {
      expect(lane.missing).toBe(0);
      expect(lane.verdict.lost).toEqual([]);
      expect(lane.verdict.divergent).toEqual([]);
      expect(lane.verdict.forks).toEqual([]);
      expect(lane.facts.corruptRecords).toBe(0);
    }
    // The run proves something only if alarms flowed, and some were left for a restart to re-drive.
    expect(figures.journaled).toBeGreaterThan(figures.cycles);
    expect(figures.redrives).toBeGreaterThan(0);
  }, timeLimitMs(CYCLES, 1_000));
});
