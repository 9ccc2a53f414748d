import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWard, paceWard, systemPaceClock, type SimEmission } from '../../src/simulate/index.js';
import { connectMqtt, createMqttOutput } from '../../src/simulate/outputs.js';
import { fillUp, mountTmpfs, unmountLazily } from '../faults/harness/disk.js';
import { emptyFacts, spawnDaemon, writeDaemonConfig, type DaemonFacts } from '../faults/harness/daemon-process.js';
import { Judge } from '../faults/harness/judge.js';
import { injectLinkFault, LINK_FAULTS } from '../faults/harness/link-faults.js';
import { createRng, type Rng } from '../faults/harness/random.js';
import { baseDaemonSettings, FAULT_KEEPALIVE_SECONDS, faultPrefix, killCycle, percentile, report, scratchDirectory, sleep, verdictFigures } from '../faults/harness/scenario.js';
import { TelemetryDriver } from '../faults/harness/telemetry-driver.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { freeLoopbackPort, mosquittoMissingReason, startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { soakOptionsFromEnv } from './options.js';
import { dayRows, dayTallies, markdownTable, renderSvg, RESOURCES, trend, trendRows, type Resource, type ResourceSample, type Trend } from './report.js';

const DAY_MS = 86_400_000;
const options = soakOptionsFromEnv();
/** After the budget: time for every journaled event to reach the judges. */
const DRAIN_MS = 90_000;
const NEW_ALARM_BUDGET_MS = 2_000;
/**
 * The production default (8 MiB). A live set is the latest event of each active alarm, the copy
 * its transport committed and what is still undelivered, about 1.3 KiB a record: 45 channels with
 * even 6 alarms each at 2 records is about 0.7 MiB, which leaves some 6 MiB for an outage's backlog.
 * The tmpfs holds the journal and its compacted copy at once (2 × maxBytes) plus headroom; the
 * disk-full episodes fill whatever is left.
 */
const STEADY_JOURNAL_MAX_BYTES = 8 * 1024 * 1024;
const STEADY_TMPFS_BYTES = 3 * STEADY_JOURNAL_MAX_BYTES;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type SteadyFault = 'outage' | 'link' | 'disk-full' | 'reload';

interface Scheduled {
  atMs: number;
  kind: SteadyFault;
  index: number;
}

/** `count` of a kind spread evenly over the window, each at a random point of its own slot. */
function spread(kind: SteadyFault, count: number, fromMs: number, toMs: number, rng: Rng): Scheduled[] {
  const slot = (toMs - fromMs) / Math.max(1, count);
  return Array.from({ length: count }, (_, index) => ({ atMs: fromMs + (index + rng.next()) * slot, kind, index }));
}

async function metricValue(port: number, names: readonly string[]): Promise<Record<string, number>> {
  const values: Record<string, number> = {};
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    for (const line of text.split('\n')) {
      for (const name of names) {
        if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) values[name] = (values[name] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
  } catch {
    // During a reload the endpoint is briefly down; the reading is skipped.
  }
  return values;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

function fileKiB(path: string): number {
  try {
    return statSync(path).size / 1024;
  } catch {
    return 0;
  }
}

/** The crash gateway: killed with SIGKILL `cycles` times, evenly over the budget, as the kill-cycles fault test does. */
async function killLane(configPath: string, facts: DaemonFacts, cycles: number, endAtMs: number, rng: Rng): Promise<{ ran: number; cycleMs: number[] }> {
  const startedAt = Date.now();
  const periodMs = (endAtMs - startedAt) / Math.max(1, cycles);
  const cycleMs: number[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    const due = startedAt + cycle * periodMs;
    if (Date.now() >= endAtMs) break;
    if (due > Date.now()) await sleep(due - Date.now());
    cycleMs.push(await killCycle(configPath, facts, rng));
  }
  return { ran: cycleMs.length, cycleMs };
}

interface SteadyFigures {
  ran: Record<SteadyFault, number>;
  newAlarmMs: number[];
  newAlarmMissed: number;
  storageAlarmMs: number[];
  durableAgainMs: number[];
  reloadMs: number[];
}

describe.skipIf(mosquittoMissingReason !== undefined)(`soak: a ward week through Mosquitto under scheduled faults ${mosquittoMissingReason ?? ''}`, () => {
  it(`${options.days} simulated days of a ${options.pumps}-pump ward in ${Math.round(options.budgetMs / 60_000)} min: nothing lost, resources flat`, async () => {
    const rng = createRng();
    const runStartedAt = Date.now();
    const endAtMs = runStartedAt + options.budgetMs;
    const scratch = await scratchDirectory('soak');
    cleanups.push(() => scratch.remove());
    const mountPoint = join(scratch.path, 'state');
    mkdirSync(mountPoint);
    const tmpfsRefused = mountTmpfs(mountPoint, STEADY_TMPFS_BYTES);
    if (tmpfsRefused === undefined) cleanups.push(() => unmountLazily(mountPoint));
    else console.log(`[soak] disk-full episodes skipped: ${tmpfsRefused}`);

    // The judges stand for stations and must not be what loses messages: Mosquitto's default cap of
    // 1000 queued messages per client drops silently behind a judge the busy test process slows down.
    const broker: OwnMosquitto = await startMosquitto({ persistence: true, extraConfig: 'max_queued_messages 0' });
    cleanups.push(() => broker.stop());
    const link = await startFaultProxy(broker.port);
    cleanups.push(() => link.stop());

    // The steady gateway: never killed, its resources watched. Ward telemetry and alarms cross the faulty link.
    const steadyPrefix = faultPrefix('soak');
    const steadyJudge = await Judge.start({ url: broker.url, prefix: steadyPrefix, ackFraction: 0.3, rng });
    cleanups.push(() => steadyJudge.stop());
    const probe = new TelemetryDriver({ url: broker.url, topicRoot: `${steadyPrefix}-probe`, pumpIds: [], intervalMs: 100, toggleProbability: 0, rng });
    probe.start();
    cleanups.push(() => probe.stop());
    const httpPort = await freeLoopbackPort();
    const journalDirectory = join(mountPoint, 'journal');
    const base = baseDaemonSettings({ url: link.url, prefix: steadyPrefix, journalDirectory });
    const steadySettings = {
      ...base,
      gateway: { id: 'gw-soak', site: 'soak-site', ward: 'soak-ward' },
      sources: { mqtt: { topics: [`${steadyPrefix}-ward/+/telemetry`, `${steadyPrefix}-probe/+/telemetry`], qos: 0 } },
      journal: { directory: journalDirectory, maxBytes: STEADY_JOURNAL_MAX_BYTES },
      ops: { http: { port: httpPort } },
    };
    const steadyConfig = await writeDaemonConfig(scratch.path, steadySettings);
    const steadyFacts = emptyFacts();
    const steady = spawnDaemon(steadyConfig, steadyFacts);
    cleanups.push(() => steady.kill('SIGKILL'));
    await steady.started;
    const steadyPid = steady.child.pid!;

    // The crash gateways: each its own ward of switching occlusions, its journal on the ordinary disk.
    // Side by side, because node's start-up is most of a kill cycle.
    const crashLanes = await Promise.all(
      Array.from({ length: options.killLanes }, async (_, lane) => {
        const directory = join(scratch.path, `crash-${lane}`);
        mkdirSync(directory);
        const prefix = faultPrefix(`soakkill${lane}`);
        const judge = await Judge.start({ url: broker.url, prefix, ackFraction: 0.3, rng });
        cleanups.push(() => judge.stop());
        const pumpIds = Array.from({ length: 16 }, (_, i) => `K${lane}-${String(i + 1).padStart(2, '0')}`);
        const driver = new TelemetryDriver({ url: broker.url, topicRoot: `${prefix}-pumps`, pumpIds, intervalMs: 100, toggleProbability: 0.02, rng });
        driver.start();
        cleanups.push(() => driver.stop());
        const configPath = await writeDaemonConfig(directory, {
          ...baseDaemonSettings({ url: broker.url, prefix, journalDirectory: join(directory, 'journal') }),
          gateway: { id: `gw-soak-crash-${lane}`, site: 'soak-site', ward: 'soak-ward' },
          ops: { http: { enabled: false } },
        });
        return { judge, driver, configPath, facts: emptyFacts() };
      }),
    );

    // The simulated ward, paced so `days` fit the budget, published per pump as the simulator does.
    const speed = (options.days * DAY_MS) / options.budgetMs;
    const ward = createWard({ family: 'mixed', pumps: options.pumps, seed: rng.seed, startMs: Date.now(), durationMs: options.days * DAY_MS });
    const output = await createMqttOutput(broker.url, `${steadyPrefix}-ward`, connectMqtt, `pwsoak-ward-${steadyPrefix.slice(-6)}`);
    cleanups.push(() => output.close());
    const stopWard = new AbortController();
    cleanups.push(() => stopWard.abort());
    const simDays = () => ((ward.peekAtMs() ?? ward.endMs) - ward.startMs) / DAY_MS;
    // Publishes are not awaited: in the first week-long run one caught by a broker outage never
    // settled, and waiting on it silenced the whole ward for the rest of the run (samples sent while
    // the broker is away are counted as dropped). A pacer running behind never waits either, so it
    // yields now and then to let the judges, drivers and proxy run.
    let emitted = 0;
    const emit = (emission: SimEmission): Promise<void> | undefined => {
      void output.write(emission, JSON.stringify(emission.sample));
      return ++emitted % 64 === 0 ? new Promise((resolve) => setImmediate(resolve)) : undefined;
    };
    const paced = paceWard(ward, { speed, clock: systemPaceClock, signal: stopWard.signal }, emit);

    // Resources of the steady gateway, sampled against simulated time.
    const samples: ResourceSample[] = [];
    const sampleEveryMs = Math.min(15_000, Math.max(2_000, options.budgetMs / 600));
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const metrics = await metricValue(httpPort, ['nodejs_heap_size_used_bytes', 'pumpwatch_event_loop_lag_seconds']);
        if (metrics.nodejs_heap_size_used_bytes !== undefined) {
          samples.push({
            wallSeconds: (Date.now() - runStartedAt) / 1000,
            simDays: simDays(),
            rssMiB: rssMiB(steadyPid),
            heapMiB: metrics.nodejs_heap_size_used_bytes / 1_048_576,
            journalKiB: fileKiB(join(journalDirectory, 'journal.jsonl')),
            openFds: readdirSync(`/proc/${steadyPid}/fd`).length,
            lagMs: (metrics.pumpwatch_event_loop_lag_seconds ?? 0) * 1000,
            load1: loadavg()[0]!,
          });
        }
        await sleep(sampleEveryMs);
      }
    })();

    const perLane = Math.ceil(options.killCycles / Math.max(1, crashLanes.length));
    const killing = Promise.all(crashLanes.map((lane) => killLane(lane.configPath, lane.facts, perLane, endAtMs, rng)));

    // The steady gateway's faults, one at a time, spread over the budget after a warm-up.
    const windowFrom = runStartedAt + Math.min(60_000, options.budgetMs * 0.05);
    const windowTo = endAtMs - Math.min(30_000, options.budgetMs * 0.03);
    const schedule = [
      ...spread('outage', options.outages, windowFrom, windowTo, rng),
      ...spread('link', options.linkFaults, windowFrom, windowTo, rng),
      ...spread('disk-full', tmpfsRefused === undefined ? options.diskFull : 0, windowFrom, windowTo, rng),
      ...spread('reload', options.reloads, windowFrom, windowTo, rng),
    ].sort((a, b) => a.atMs - b.atMs);
    const steadyFigures: SteadyFigures = { ran: { outage: 0, link: 0, 'disk-full': 0, reload: 0 }, newAlarmMs: [], newAlarmMissed: 0, storageAlarmMs: [], durableAgainMs: [], reloadMs: [] };
    let lastProbePump: string | undefined;
    for (const item of schedule) {
      if (Date.now() >= endAtMs) break;
      if (item.atMs > Date.now()) await sleep(item.atMs - Date.now());
      steadyFigures.ran[item.kind]++;
      switch (item.kind) {
        case 'outage': {
          if (lastProbePump !== undefined) probe.clearPump(lastProbePump);
          await broker.outage(item.index % 4 === 3 ? rng.between(3_000, 4_000) : rng.between(200, 1_000));
          const returnedAt = Date.now();
          lastProbePump = `NEW-${item.index}`;
          const pumpId = lastProbePump;
          probe.addOccludedPump(pumpId);
          try {
            const first = await steadyJudge.waitForEvent((event) => event.pumpId === pumpId && event.event === 'raised', 15_000, `the new alarm on ${pumpId}`);
            steadyFigures.newAlarmMs.push(first.firstAtMs - returnedAt);
          } catch {
            steadyFigures.newAlarmMissed++;
          }
          break;
        }
        case 'link':
          await injectLinkFault(LINK_FAULTS[item.index % LINK_FAULTS.length]!, link, rng, FAULT_KEEPALIVE_SECONDS);
          break;
        case 'disk-full': {
          const known = new Set([...steadyJudge.received.values()].filter((r) => r.event.condition === 'storage-failure').map((r) => r.event.eventId));
          const fresh = (kind: string) => (event: { condition: string; event: string; eventId: string }) => event.condition === 'storage-failure' && event.event === kind && !known.has(event.eventId);
          const filler = fillUp(mountPoint);
          const fullAt = Date.now();
          const raised = await steadyJudge.waitForEvent(fresh('raised'), 20_000, 'storage-failure raised').catch(() => undefined);
          if (raised !== undefined) steadyFigures.storageAlarmMs.push(raised.firstAtMs - fullAt);
          await sleep(rng.between(2_000, 5_000));
          unlinkSync(filler);
          const freedAt = Date.now();
          const ended = await steadyJudge.waitForEvent(fresh('ended'), 20_000, 'storage-failure ended').catch(() => undefined);
          if (ended !== undefined) steadyFigures.durableAgainMs.push(ended.firstAtMs - freedAt);
          break;
        }
        case 'reload': {
          const startsBefore = steadyFacts.starts;
          const begin = Date.now();
          steady.child.kill('SIGHUP');
          while (steadyFacts.starts === startsBefore && Date.now() - begin < 20_000) await sleep(50);
          steadyFigures.reloadMs.push(Date.now() - begin);
          break;
        }
      }
    }
    if (Date.now() < endAtMs) await sleep(endAtMs - Date.now());
    stopWard.abort();
    const wardResult = await paced;
    const laneRuns = await killing;
    const killed = { ran: laneRuns.reduce((sum, run) => sum + run.ran, 0), cycleMs: laneRuns.flatMap((run) => run.cycleMs) };
    const reachedDays = simDays();

    // Drain: no more switching, the crash gateway up for good, every journaled event must arrive.
    if (lastProbePump !== undefined) probe.clearPump(lastProbePump);
    for (const lane of crashLanes) {
      lane.driver.settle();
      const final = spawnDaemon(lane.configPath, lane.facts);
      cleanups.push(() => final.kill('SIGKILL'));
    }
    const [steadyMissing, ...crashMissingByLane] = await Promise.all([
      steadyJudge.waitForAll(steadyFacts.intents.values(), DRAIN_MS),
      ...crashLanes.map((lane) => lane.judge.waitForAll(lane.facts.intents.values(), DRAIN_MS)),
    ]);
    sampling = false;
    await sampler;
    const steadyVerdict = steadyJudge.verdict(steadyFacts.intents.values());
    const crashVerdicts = crashLanes.map((lane) => lane.judge.verdict(lane.facts.intents.values()));
    const crashVerdict = {
      expected: crashVerdicts.reduce((sum, v) => sum + v.expected, 0),
      received: crashVerdicts.reduce((sum, v) => sum + v.received, 0),
      lost: crashVerdicts.flatMap((v) => v.lost),
      duplicates: crashVerdicts.reduce((sum, v) => sum + v.duplicates, 0),
      divergent: crashVerdicts.flatMap((v) => v.divergent),
      forks: crashVerdicts.flatMap((v) => v.forks),
    };
    const crashFacts = { redrives: 0, tornTails: 0, corruptRecords: 0 };
    for (const lane of crashLanes) {
      crashFacts.redrives += lane.facts.redrives;
      crashFacts.tornTails += lane.facts.tornTails;
      crashFacts.corruptRecords += lane.facts.corruptRecords;
    }
    const crashMissing = crashMissingByLane.flat();

    const warmUpDays = Math.min(1, reachedDays / 7);
    const trends = Object.fromEntries(RESOURCES.map((resource) => [resource, trend(samples, resource, warmUpDays)])) as Record<Resource, Trend>;
    const wallMinutes = (Date.now() - runStartedAt) / 60_000;
    const days = dayTallies(steadyJudge.received.values(), (wallMs) => ((wallMs - runStartedAt) * speed) / DAY_MS, samples);
    const summary = {
      seed: rng.seed,
      options,
      wallMinutes,
      simulatedDays: reachedDays,
      speed,
      ward: { pumps: options.pumps, channels: ward.channels.length, samplesPublished: wardResult.emitted, samplesDroppedWhileBrokerDown: output.dropped },
      faults: { killCycles: killed.ran, outages: steadyFigures.ran.outage, linkFaults: steadyFigures.ran.link, diskFull: steadyFigures.ran['disk-full'], reloads: steadyFigures.ran.reload },
      steady: { ...verdictFigures(steadyVerdict), missing: steadyMissing.length, nonDurable: [...steadyFacts.intents.values()].filter((i) => !i.durable).length, starts: steadyFacts.starts, tornTails: steadyFacts.tornTails, corruptRecords: steadyFacts.corruptRecords },
      crash: { lanes: crashLanes.length, ...verdictFigures(crashVerdict), missing: crashMissing.length, redrives: crashFacts.redrives, tornTails: crashFacts.tornTails, corruptRecords: crashFacts.corruptRecords, cycleMsP50: percentile(killed.cycleMs, 0.5) },
      newAlarmAfterOutage: { budgetMs: NEW_ALARM_BUDGET_MS, p50Ms: percentile(steadyFigures.newAlarmMs, 0.5), maxMs: Math.max(...steadyFigures.newAlarmMs), overBudget: steadyFigures.newAlarmMs.filter((ms) => ms > NEW_ALARM_BUDGET_MS).length, missed: steadyFigures.newAlarmMissed },
      diskFull: { storageAlarmMsMax: Math.max(...steadyFigures.storageAlarmMs), durableAgainMsMax: Math.max(...steadyFigures.durableAgainMs), episodesSeen: steadyFigures.storageAlarmMs.length },
      reloadMsMax: Math.max(...steadyFigures.reloadMs),
      resources: { warmUpDays, samples: samples.length, trends },
      days,
    };
    const rows: [string, string][] = [
      ['wall time / simulated time', `${wallMinutes.toFixed(1)} min / ${reachedDays.toFixed(2)} days (${speed.toFixed(0)}× real time)`],
      ['machine load (1-min load average on 2 cores)', `median ${percentile(samples.map((s) => s.load1), 0.5).toFixed(1)}, max ${Math.max(...samples.map((s) => s.load1)).toFixed(1)}`],
      ['ward', `${options.pumps} pumps, ${ward.channels.length} channels, ${wardResult.emitted} samples (${output.dropped} dropped while the broker was down)`],
      ['faults injected', `${killed.ran} kill -9 cycles, ${summary.faults.outages} broker outages, ${summary.faults.linkFaults} link faults, ${summary.faults.diskFull} disk-full episodes, ${summary.faults.reloads} SIGHUP reloads`],
      ['steady gateway: journaled / received / lost', `${steadyVerdict.expected} / ${steadyVerdict.received} / **${steadyVerdict.lost.length}**`],
      ['steady gateway: duplicates / divergent / forks', `${steadyVerdict.duplicates} (re-sends of the same eventId) / ${steadyVerdict.divergent.length} / ${steadyVerdict.forks.length}`],
      [`crash gateways (${crashLanes.length}): journaled / received / lost`, `${crashVerdict.expected} / ${crashVerdict.received} / **${crashVerdict.lost.length}**`],
      ['crash gateways: duplicates / divergent / forks', `${crashVerdict.duplicates} / ${crashVerdict.divergent.length} / ${crashVerdict.forks.length}; corrupt records ${crashFacts.corruptRecords}`],
      ['first new alarm after an outage', `p50 ${summary.newAlarmAfterOutage.p50Ms} ms, max ${summary.newAlarmAfterOutage.maxMs} ms; ${summary.newAlarmAfterOutage.overBudget} over the ${NEW_ALARM_BUDGET_MS} ms budget, ${steadyFigures.newAlarmMissed} missed`],
      ['disk full', `storage-failure within ${summary.diskFull.storageAlarmMsMax} ms (max), durable again within ${summary.diskFull.durableAgainMsMax} ms (max), ${summary.diskFull.episodesSeen} episodes seen`],
      ['SIGHUP reload to started', `max ${summary.reloadMsMax} ms`],
      ...trendRows(trends),
      ...dayRows(days),
    ];
    const outDirectory = resolve(options.outDirectory);
    mkdirSync(outDirectory, { recursive: true });
    writeFileSync(join(outDirectory, 'soak.json'), `${JSON.stringify({ ...summary, samples }, null, 2)}\n`);
    writeFileSync(join(outDirectory, 'soak.md'), `# pumpwatch soak (seed ${rng.seed})\n\n${markdownTable(['measure', 'result'], rows)}\n\n![resources](soak.svg)\n`);
    writeFileSync(join(outDirectory, 'soak.svg'), renderSvg(samples, warmUpDays));
    report('soak', rng.seed, { days: reachedDays, ...summary.faults, steadyLost: steadyVerdict.lost.length, crashLost: crashVerdict.lost.length, report: outDirectory });

    for (const verdict of [steadyVerdict, crashVerdict]) {
      expect(verdict.lost).toEqual([]);
      expect(verdict.divergent).toEqual([]);
      expect(verdict.forks).toEqual([]);
    }
    expect(crashFacts.corruptRecords).toBe(0);
    expect(steadyFigures.newAlarmMissed).toBe(0);
  }, options.budgetMs + DRAIN_MS + 300_000);
});
