import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent, AlarmPriority } from '../../src/alarms/event.js';
import { AlarmJournal } from '../../src/alarms/journal.js';
import { JournalWriter } from '../../src/alarms/journal-writer.js';
import type { AlarmSnapshot, TechnicalReport } from '../../src/alarms/manager.js';
import { AlarmOutbox } from '../../src/alarms/outbox.js';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { TestAlertManager, type ReceivedReport } from '../../src/pcd04/alert-manager.js';
import { Pcd04AlertReporter, PCD04_TRANSPORT, PCD04_WINDOW } from '../../src/pcd04/reporter.js';
import { captureLog } from '../helpers/log-capture.js';
import { countFromEnv, createRng } from './harness/random.js';
import { report, scratchDirectory, sleep } from './harness/scenario.js';

const EVENTS = countFromEnv('FAULT_PCD04_EVENTS', 400);
const FAULTS = ['refuse', 'hang', 'drop', 'half', 'kill'] as const;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function snapshotOf(event: AlarmEvent): AlarmSnapshot | undefined {
  if (event.event === 'ended') return undefined;
  return { alarmId: event.alarmId, condition: event.condition, pumpId: event.pumpId, channel: event.channel, seq: event.seq ?? 1, activatedAtMs: 0, present: true, latched: false, acknowledged: false, escalations: 0, notifiedAtMs: 0, endAtMs: null, latchable: false };
}

describe('PCD-04 to a faulty Alert Manager', () => {
  it(`commits every one of ${EVENTS} alarm events, each control id with one content, through refusals, kills, silence and half-written frames`, async () => {
    const rng = createRng();
    const scratch = await scratchDirectory('pcd04');
    cleanups.push(() => scratch.remove());
    // Everything every Alert Manager instance received, by control id, across kills.
    const received = new Map<string, ReceivedReport[]>();
    const onReport = (r: ReceivedReport) => received.set(r.controlId, [...(received.get(r.controlId) ?? []), r]);
    let manager = new TestAlertManager({ port: 0, onReport, seed: rng.seed });
    await manager.start();
    const port = manager.port;
    cleanups.push(() => manager.stop());

    const config = ConfigSchema.parse({ pcd04: { enabled: true, port, ackTimeoutSeconds: 0.5, reconnectMinSeconds: 0.05, reconnectMaxSeconds: 0.5 } });
    const log = captureLog('warn');
    const reports: TechnicalReport[] = [];
    const journal = AlarmJournal.open({ directory: `${scratch.path}/journal`, maxBytes: 8_000_000, logger: log.logger, cursors: [PCD04_TRANSPORT] });
    cleanups.push(() => journal.close());
    const writer = new JournalWriter({ journal, logger: log.logger, clock: systemClock, report: (r) => reports.push(r) });
    const reporter = new Pcd04AlertReporter({ settings: { pcd04: config.pcd04, gateway: config.gateway }, logger: log.logger, clock: systemClock, report: (r) => reports.push(r) });
    const outbox = new AlarmOutbox({ journal, writer, transport: reporter, logger: log.logger, clock: systemClock, report: (r) => reports.push(r), maxInFlight: PCD04_WINDOW, maxAttempts: config.pcd04.maxAttempts, stalledAfterMs: 60_000, blameDrops: false });
    outbox.start();
    reporter.start();
    cleanups.push(() => {
      outbox.stop();
      writer.stop();
      reporter.stop();
    });

    const sent: AlarmEvent[] = [];
    const faults: Record<(typeof FAULTS)[number], number> = { refuse: 0, hang: 0, drop: 0, half: 0, kill: 0 };
    const startedAt = Date.now();
    const priorities: AlarmPriority[] = ['high', 'medium', 'low'];
    for (let i = 0; i < EVENTS; i++) {
      const alarm = Math.floor(i / 4);
      const step = i % 4;
      const event: AlarmEvent = {
        v: 1,
        eventId: `ev-${rng.seed}-${i}`,
        alarmId: `al-${rng.seed}-${alarm}`,
        event: (['raised', 'updated', 'escalated', 'ended'] as const)[step]!,
        condition: 'downstream-occlusion',
        priority: priorities[alarm % 3]!,
        kind: 'technical',
        pumpId: `P${alarm % 17}`,
        channel: '1',
        site: 'site',
        ward: 'ward',
        gatewayId: 'gw-1',
        at: new Date().toISOString(),
        emittedAt: new Date().toISOString(),
        message: 'Possible downstream occlusion: check the line & the IV site',
        evidence: {},
        seq: step + 1,
      };
      sent.push(event);
      writer.deliver(event, snapshotOf(event));
      if (i % 40 === 20) {
        const fault = FAULTS[Math.floor(rng.between(0, FAULTS.length))]!;
        faults[fault]++;
        if (fault === 'kill') {
          await manager.stop();
          await sleep(rng.between(50, 400));
          manager = new TestAlertManager({ port, onReport, seed: rng.seed + i });
          await manager.start();
        } else if (fault === 'refuse') {
          manager.refuseRate = 0.3;
          manager.refuseCode = (['CE', 'CR', 'AE', 'AR'] as const)[Math.floor(rng.between(0, 4))]!;
        } else {
          manager.mode = fault;
          await sleep(rng.between(100, 700));
          manager.mode = 'ack';
        }
      }
      if (i % 40 === 35) manager.refuseRate = 0;
      await sleep(rng.between(0, 10));
    }
    manager.mode = 'ack';
    manager.refuseRate = 0;
    const deadline = Date.now() + 120_000;
    while (outbox.stats().pending > 0 && Date.now() < deadline) await sleep(100);

    const committedIds = new Set([...received].filter(([, copies]) => copies.some((copy) => copy.answered === 'CA')).map(([id]) => id));
    const lost = sent.filter((event) => !committedIds.has(event.eventId)).map((event) => event.eventId);
    const copies = [...received.values()].reduce((total, list) => total + list.length, 0);
    const divergent = [...received.values()].filter((list) => list.some((copy) => !copy.sameContent) || new Set(list.map((copy) => copy.message.split('\r').slice(1).join('\r'))).size > 1).length;
    const committedTwice = [...received.values()].filter((list) => list.filter((copy) => copy.answered === 'CA').length > 1).length;
    const figures = {
      events: EVENTS,
      committed: committedIds.size,
      lost: lost.length,
      messagesReceived: copies,
      resends: copies - received.size,
      committedTwice,
      divergent,
      quarantined: outbox.stats().quarantined,
      refusals: reporter.counters.refused,
      ackTimeouts: reporter.counters.ackTimeouts,
      connectionsLost: reporter.counters.connectionsLost,
      connects: reporter.counters.connects,
      ...Object.fromEntries(Object.entries(faults).map(([fault, count]) => [`fault_${fault}`, count])),
      seconds: (Date.now() - startedAt) / 1000,
    };
    report('pcd04-alert-manager', rng.seed, figures);
    expect(lost).toEqual([]);
    expect(divergent).toBe(0);
    expect(outbox.stats()).toMatchObject({ pending: 0, quarantined: 0 });
    expect(journal.cursor(PCD04_TRANSPORT).pendingCount).toBe(0);
    // The run proves something only if faults happened and made the reporter send again.
    expect(figures.resends).toBeGreaterThan(0);
    expect(figures.refusals + figures.ackTimeouts + figures.connectionsLost).toBeGreaterThan(0);
  });
});
