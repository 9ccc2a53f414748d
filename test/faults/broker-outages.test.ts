import { afterEach, describe, expect, it } from 'vitest';
import { AlarmJournal } from '../../src/alarms/journal.js';
import { captureLog } from '../helpers/log-capture.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { emptyFacts, spawnDaemon, writeDaemonConfig } from './harness/daemon-process.js';
import { Judge, watchBrokerDrops } from './harness/judge.js';
import { countFromEnv, createRng } from './harness/random.js';
import { baseDaemonSettings, faultPrefix, percentile, report, scratchDirectory, sleep, timeLimitMs, verdictFigures } from './harness/scenario.js';
import { TelemetryDriver } from './harness/telemetry-driver.js';

const OUTAGES = countFromEnv('FAULT_OUTAGES', 22);
const PUMPS = 30;
/** A hospital WAN, not loopback: each chunk waits this long each way, so a backlog takes real time. */
const LINK_LATENCY_MS = 10;
const NEW_ALARM_BUDGET_MS = 2_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(mosquittoMissingReason !== undefined)(`Mosquitto stopped and restarted during alarms ${mosquittoMissingReason ?? ''}`, () => {
  it(`loses no journaled alarm over ${OUTAGES} outages, and a new alarm overtakes the backlog after each`, async () => {
    const rng = createRng();
    // Persistence on, so the judge's own queued messages survive the restarts: only the daemon is on trial.
    const broker = await startMosquitto({ persistence: true, extraConfig: 'sys_interval 1' });
    cleanups.push(() => broker.stop());
    const brokerDrops = watchBrokerDrops(broker.url);
    cleanups.push(() => brokerDrops.stop());
    const link = await startFaultProxy(broker.port);
    link.setLatency(LINK_LATENCY_MS);
    cleanups.push(() => link.stop());
    const scratch = await scratchDirectory('outage');
    cleanups.push(() => scratch.remove());
    const prefix = faultPrefix('outage');
    const judge = await Judge.start({ url: broker.url, prefix, ackFraction: 0.2, rng });
    cleanups.push(() => judge.stop());
    const pumpIds = Array.from({ length: PUMPS }, (_, i) => `B-${String(i + 1).padStart(2, '0')}`);
    const driver = new TelemetryDriver({ url: broker.url, topicRoot: `${prefix}-pumps`, pumpIds, intervalMs: 100, toggleProbability: 0.02, rng });
    driver.start();
    cleanups.push(() => driver.stop());
    const settings = baseDaemonSettings({ url: link.url, prefix, journalDirectory: `${scratch.path}/journal` });
    // Telemetry comes through the same broker: every outage silences every pump, a real backlog.
    const configPath = await writeDaemonConfig(scratch.path, { ...settings, detection: { telemetryLostAfterSeconds: 1 } });
    const facts = emptyFacts();
    const daemon = spawnDaemon(configPath, facts);
    cleanups.push(() => daemon.kill('SIGKILL'));
    await daemon.started;
    await sleep(2_000);

    const kinds = Array.from({ length: OUTAGES }, (_, i) => (i % 4 === 3 ? 'long' : 'short'));
    const newAlarmMs: number[] = [];
    const backlogs: number[] = [];
    for (const [index, kind] of kinds.entries()) {
      const durationMs = kind === 'long' ? rng.between(3_000, 4_000) : rng.between(200, 1_000);
      const journaledBefore = facts.intents.size;
      await broker.outage(durationMs);
      const returnedAt = Date.now();
      backlogs.push(facts.intents.size - journaledBefore);
      const pumpId = `NEW-${index}`;
      driver.addOccludedPump(pumpId);
      const first = await judge.waitForEvent((event) => event.pumpId === pumpId && event.event === 'raised', 15_000, `the new alarm on ${pumpId}`).catch((error: unknown) => {
        console.log(`[fault] broker-outages: no new alarm after outage ${index} (${kind}, ${Math.round(durationMs)} ms)\n${daemon.diagnostics()}`);
        throw error;
      });
      newAlarmMs.push(first.firstAtMs - returnedAt);
      await sleep(rng.between(800, 1_500));
    }
    driver.settle();
    const missing = await judge.waitForAll(facts.intents.values(), 30_000);
    const verdict = judge.verdict(facts.intents.values());
    // Missing at the judge but still undelivered in the journal is late, not lost: say which.
    await daemon.kill('SIGTERM');
    const journal = AlarmJournal.open({ directory: `${scratch.path}/journal`, maxBytes: 8_388_608, logger: captureLog('warn').logger });
    const stillJournaled = new Set(journal.undelivered().map((entry) => entry.event.eventId));
    journal.close();
    report('broker-outages', rng.seed, {
      outages: OUTAGES,
      long: kinds.filter((kind) => kind === 'long').length,
      ...verdictFigures(verdict),
      nonDurable: [...facts.intents.values()].filter((intent) => !intent.durable).length,
      backlogMax: Math.max(...backlogs),
      backlogP50: percentile(backlogs, 0.5),
      newAlarmMsP50: percentile(newAlarmMs, 0.5),
      newAlarmMsMax: Math.max(...newAlarmMs),
      republished: facts.codes.get('PW_MQTT_STATE_REPUBLISHED') ?? 0,
      onlineStatuses: judge.statuses.filter((status) => status.state === 'online').length,
      // Messages Mosquitto dropped at its queue limits (a judge too slow to keep up), not the daemon's losses.
      brokerDropped: brokerDrops.dropped(),
      missingStillJournaled: missing.filter((intent) => stillJournaled.has(intent.eventId)).length,
    });
    expect(missing).toEqual([]);
    expect(verdict.lost).toEqual([]);
    expect(verdict.divergent).toEqual([]);
    expect(verdict.forks).toEqual([]);
    expect(Math.max(...newAlarmMs)).toBeLessThanOrEqual(NEW_ALARM_BUDGET_MS);
    // Status and retained state went out again after every return of the broker.
    expect(facts.codes.get('PW_MQTT_STATE_REPUBLISHED') ?? 0).toBeGreaterThan(OUTAGES);
    expect(Math.max(...backlogs)).toBeGreaterThan(PUMPS);
  }, timeLimitMs(OUTAGES, 12_000));
});
