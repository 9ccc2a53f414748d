import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent, AlarmPriority } from '../../src/alarms/event.js';
import { AlarmJournal, DEFAULT_CURSOR, JOURNAL_FILE, type JournalFs } from '../../src/alarms/journal.js';
import type { AlarmSnapshot, TechnicalReport } from '../../src/alarms/manager.js';
import { JournalWriter } from '../../src/alarms/journal-writer.js';
import { AlarmOutbox, FSYNC_TIMEOUT_MS, POISON_WINDOW_MS } from '../../src/alarms/outbox.js';
import { COMMITTED, type AlarmTransport, type DeliveryOutcome } from '../../src/alarms/transport.js';
import { createSettableClock, type SettableClock, type Timers } from '../../src/clock.js';
import { MqttError } from '../../src/mqtt/errors.js';
import { outcomeOf } from '../../src/sinks/mqtt-alarms.js';
import { captureLog } from '../helpers/log-capture.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'pumpwatch-outbox-'));
  directories.push(directory);
  return directory;
}

let counter = 0;
function event(overrides: Partial<AlarmEvent> = {}): AlarmEvent {
  counter++;
  return {
    v: 1,
    eventId: `ev-${counter}`,
    alarmId: `alarm-${counter}`,
    event: 'raised',
    condition: 'downstream-occlusion',
    priority: 'high',
    kind: 'technical',
    pumpId: 'P1',
    channel: '1',
    site: 'site',
    ward: 'ward',
    gatewayId: 'gw',
    at: '2026-01-05T08:00:00.000Z',
    emittedAt: '2026-01-05T08:00:00.000Z',
    message: 'check the line',
    evidence: {},
    seq: 1,
    ...overrides,
  };
}

function snapshotFor(e: AlarmEvent): AlarmSnapshot | undefined {
  if (e.event === 'ended') return undefined;
  return {
    alarmId: e.alarmId,
    condition: e.condition,
    pumpId: e.pumpId,
    channel: e.channel,
    seq: e.seq ?? 1,
    activatedAtMs: 0,
    present: true,
    latched: false,
    acknowledged: false,
    escalations: 0,
    notifiedAtMs: 0,
    endAtMs: null,
    latchable: false,
  };
}

interface Sent {
  event: AlarmEvent;
  retained: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
  settled: boolean;
}

/** A transport the test drives: it records sends and settles them when told to, as the MQTT publisher would. */
class FakeTransport implements AlarmTransport {
  readonly name: string;
  connected = true;
  autoAck = false;
  readonly sent: Sent[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #journal: AlarmJournal;
  onSend: ((event: AlarmEvent) => void) | undefined;

  constructor(journal: AlarmJournal, name = DEFAULT_CURSOR) {
    this.#journal = journal;
    this.name = name;
  }

  /** What a reconnect would republish: the journal's committed state of each active alarm. */
  get retained(): Map<string, AlarmEvent> {
    return new Map(this.#journal.committedStates(this.name).map((e) => [e.alarmId, e]));
  }

  deliver(e: AlarmEvent): Promise<DeliveryOutcome> {
    if (e.pumpId.includes('+')) return Promise.resolve(outcomeOf(new MqttError('PW_MQTT_TOPIC_INVALID', `pumpId ${e.pumpId}`)));
    this.onSend?.(e);
    return new Promise((resolve) => {
      const sent: Sent = {
        event: e,
        retained: this.#journal.isLatestEvent(e),
        settled: false,
        resolve: () => {
          sent.settled = true;
          resolve(COMMITTED);
        },
        reject: (error) => {
          sent.settled = true;
          resolve(outcomeOf(error));
        },
      };
      this.sent.push(sent);
      if (this.autoAck) sent.resolve();
    });
  }

  onConnected(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  inFlight(): Sent[] {
    return this.sent.filter((s) => !s.settled);
  }

  ackAll(): void {
    for (const s of this.inFlight()) s.resolve();
  }

  drop(): void {
    this.connected = false;
    for (const s of this.inFlight()) s.reject(new MqttError('PW_MQTT_CONNECTION_LOST', 'closed'));
  }

  reconnect(): void {
    this.connected = true;
    for (const listener of this.#listeners) listener();
  }
}

/** Timers that run only when the test advances them. */
function manualTimers(clock: SettableClock) {
  let nextId = 1;
  const timers = new Map<number, { at: number; every: number | undefined; callback: () => void }>();
  const api: Timers = {
    setInterval: (callback, ms) => {
      const id = nextId++;
      timers.set(id, { at: clock.now() + ms, every: ms, callback });
      return id;
    },
    clearInterval: (id) => timers.delete(id as number),
    setTimeout: (callback, ms) => {
      const id = nextId++;
      timers.set(id, { at: clock.now() + ms, every: undefined, callback });
      return id;
    },
    clearTimeout: (id) => timers.delete(id as number),
  };
  const advance = (ms: number) => {
    const until = clock.now() + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      const [id, timer] = due;
      clock.set(timer.at);
      if (timer.every === undefined) timers.delete(id);
      else timer.at += timer.every;
      timer.callback();
    }
    clock.set(until);
  };
  return { api, advance };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(options: { directory?: string; maxInFlight?: number; maxAttempts?: number; journalFs?: JournalFs; maxBytes?: number; start?: boolean; autoAck?: boolean } = {}) {
  const directory = options.directory ?? tempDir();
  const clock = createSettableClock(1_767_600_000_000);
  const log = captureLog();
  const journal = AlarmJournal.open({ directory, maxBytes: options.maxBytes ?? 1_000_000, logger: log.logger, ...(options.journalFs === undefined ? {} : { fs: options.journalFs }) });
  const transport = new FakeTransport(journal);
  transport.autoAck = options.autoAck ?? false;
  const reports: TechnicalReport[] = [];
  const timers = manualTimers(clock);
  const outbox = new AlarmOutbox({
    journal,
    transport,
    logger: log.logger,
    clock,
    report: (report) => reports.push(report),
    maxInFlight: options.maxInFlight ?? 10,
    maxAttempts: options.maxAttempts ?? 3,
    stalledAfterMs: 30_000,
    timers: timers.api,
  });
  if (options.start !== false) outbox.start();
  const deliver = async (...events: AlarmEvent[]) => {
    for (const e of events) outbox.deliver(e, snapshotFor(e));
    await flush();
    await journal.synced();
    await flush();
  };
  return { directory, journal, transport, outbox, reports, timers, clock, log, deliver };
}

describe('alarm outbox', () => {
  it('journals an event, fsynced, before handing it to the transport', async () => {
    const s = setup();
    const onDisk: boolean[] = [];
    s.transport.onSend = (e) => onDisk.push(readFileSync(join(s.directory, JOURNAL_FILE), 'utf8').includes(e.eventId));
    await s.deliver(event());
    expect(onDisk).toEqual([true]);
  });

  it('logs each journaled event for the audit trail', async () => {
    const s = setup();
    const e = event();
    await s.deliver(e);
    expect(s.log.withCode('PW_ALARM_EVENT')[0]).toMatchObject({ eventId: e.eventId, alarmId: e.alarmId, durable: true });
  });

  it('marks an event delivered on PUBACK so a restart does not send it again', async () => {
    const s = setup();
    await s.deliver(event());
    s.transport.ackAll();
    await flush();
    await flush();
    s.outbox.stop();
    s.journal.close();
    const again = setup({ directory: s.directory });
    expect(again.transport.sent).toEqual([]);
  });

  it('re-drives what a previous run left undelivered, newest high priority first', async () => {
    const s = setup({ start: false });
    const low1 = event({ priority: 'low' });
    const high1 = event({ priority: 'high' });
    const medium = event({ priority: 'medium' });
    const high2 = event({ priority: 'high' });
    await s.deliver(low1, high1, medium, high2);
    s.journal.close();
    const again = setup({ directory: s.directory, maxInFlight: 1, autoAck: true });
    for (let i = 0; i < 6; i++) await flush();
    expect(again.transport.sent.map((x) => x.event.eventId)).toEqual([high2.eventId, high1.eventId, medium.eventId, low1.eventId]);
  });

  it('sends a new high-priority alarm ahead of a waiting backlog', async () => {
    const s = setup({ maxInFlight: 1 });
    s.transport.connected = false;
    const backlog = Array.from({ length: 5 }, () => event({ priority: 'low' }));
    await s.deliver(...backlog);
    const urgent = event({ priority: 'high' });
    s.transport.reconnect();
    await s.deliver(urgent);
    expect(s.transport.sent[0]?.event.priority).toBe('low');
    s.transport.ackAll();
    await flush();
    expect(s.transport.sent[1]?.event.eventId).toBe(urgent.eventId);
  });

  it('keeps at most maxInFlight events awaiting PUBACK', async () => {
    const s = setup({ maxInFlight: 3 });
    await s.deliver(...Array.from({ length: 10 }, () => event()));
    expect(s.transport.inFlight()).toHaveLength(3);
    s.transport.inFlight()[0]!.resolve();
    await flush();
    expect(s.transport.inFlight()).toHaveLength(3);
    expect(s.transport.sent).toHaveLength(4);
  });

  it('sends nothing while disconnected and everything after the reconnect', async () => {
    const s = setup();
    s.transport.connected = false;
    await s.deliver(event(), event());
    expect(s.transport.sent).toEqual([]);
    s.transport.reconnect();
    expect(s.transport.sent).toHaveLength(2);
  });

  it('sends only the newest event of an alarm to its retained topic', async () => {
    const s = setup({ start: false });
    const raised = event({ alarmId: 'A', seq: 1 });
    const updated = event({ alarmId: 'A', seq: 2, event: 'updated' });
    await s.deliver(raised, updated);
    s.journal.close();
    const again = setup({ directory: s.directory });
    const byId = new Map(again.transport.sent.map((x) => [x.event.eventId, x.retained]));
    expect([byId.get(raised.eventId), byId.get(updated.eventId)]).toEqual([false, true]);
  });

  it('keeps as retained state to restore only what the broker took', async () => {
    const s = setup();
    const raised = event({ alarmId: 'A', seq: 1 });
    await s.deliver(raised);
    expect(s.transport.retained.has('A')).toBe(false);
    s.transport.ackAll();
    await flush();
    expect(s.transport.retained.get('A')?.eventId).toBe(raised.eventId);
    s.outbox.stop();
    s.journal.close();
    const again = setup({ directory: s.directory });
    expect(again.transport.retained.get('A')?.eventId).toBe(raised.eventId);
  });

  it('never keeps a quarantined event as retained state to restore', async () => {
    const s = setup();
    await s.deliver(event({ alarmId: 'P', pumpId: 'P+1' }));
    expect(s.transport.retained.has('P')).toBe(false);
  });

  it('quarantines an event that could never be published, raises delivery-failure, and sends the others', async () => {
    const s = setup();
    const poison = event({ pumpId: 'P+1' });
    const good = event();
    await s.deliver(poison, good);
    expect(s.transport.sent.map((x) => x.event.eventId)).toEqual([good.eventId]);
    expect(s.reports).toContainEqual(
      expect.objectContaining({ condition: 'delivery-failure', part: 'quarantine', oneShot: true, evidence: expect.objectContaining({ eventId: poison.eventId, errorCode: 'PW_MQTT_TOPIC_INVALID' }) }),
    );
    expect(s.outbox.stats()).toMatchObject({ quarantined: 1, pending: 1 });
  });

  it('retries a refused event and quarantines it after maxAttempts with the reason code, while others flow', async () => {
    const s = setup({ maxAttempts: 3 });
    const refused = event({ pumpId: 'DENIED' });
    await s.deliver(refused);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const sending = s.transport.inFlight().find((x) => x.event.eventId === refused.eventId);
      expect(sending, `attempt ${attempt}`).toBeDefined();
      sending!.reject(new MqttError('PW_MQTT_PUBLISH_FAILED', 'Not authorized', { reasonCode: 0x87 }));
      await flush();
      const other = event();
      await s.deliver(other);
      expect(s.transport.sent.at(-1)?.event.eventId).toBe(other.eventId);
      s.transport.inFlight().find((x) => x.event.eventId === other.eventId)?.resolve();
      await flush();
      s.timers.advance(5_000);
      await flush();
    }
    expect(s.reports.filter((r) => r.part === 'quarantine')).toEqual([expect.objectContaining({ evidence: expect.objectContaining({ reasonCode: 0x87, eventId: refused.eventId }) })]);
    expect(s.outbox.stats().pending).toBe(0);
  });

  it('quarantines a message that drops the connection each time it is sent, sending it alone so innocent ones survive', async () => {
    const s = setup({ maxAttempts: 3 });
    const poison = event({ priority: 'high' });
    const innocent = event({ priority: 'high' });
    // The broker drops the connection as soon as the poison arrives, before acking anything after it.
    s.transport.onSend = (e) => {
      if (e.eventId === poison.eventId) queueMicrotask(() => s.transport.drop());
    };
    await s.deliver(innocent, poison);
    for (let round = 0; round < 10 && s.outbox.stats().quarantined === 0; round++) {
      await flush();
      for (const sent of s.transport.inFlight()) if (sent.event.eventId !== poison.eventId) sent.resolve();
      await flush();
      s.timers.advance(POISON_WINDOW_MS + 1);
      await flush();
      if (!s.transport.connected) s.transport.reconnect();
    }
    expect(s.outbox.stats()).toMatchObject({ quarantined: 1, delivered: 1, pending: 0 });
    expect(s.reports.find((r) => r.part === 'quarantine')?.evidence.eventId).toBe(poison.eventId);
  });

  it('re-sends without blame what was in flight when the link died long after sending', async () => {
    const s = setup({ maxAttempts: 1 });
    const e = event();
    await s.deliver(e);
    s.clock.set(s.clock.now() + 20_000);
    s.transport.drop();
    await flush();
    s.transport.reconnect();
    expect(s.transport.sent.map((x) => x.event.eventId)).toEqual([e.eventId, e.eventId]);
    expect(s.outbox.stats().quarantined).toBe(0);
  });

  it('sends alarms flagged non-durable with a storage-failure alarm when the journal cannot write, and clears it when it can', async () => {
    let diskFull = true;
    const failing: JournalFs = {
      ...fs,
      writeSync: ((...args: Parameters<typeof fs.writeSync>) => {
        if (diskFull) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
        return (fs.writeSync as (...a: unknown[]) => number)(...args);
      }) as typeof fs.writeSync,
    };
    diskFull = false;
    const s = setup({ journalFs: failing });
    diskFull = true;
    const e = event();
    await s.deliver(e);
    expect(s.transport.sent[0]?.event).toMatchObject({ eventId: e.eventId, durable: false });
    expect(s.log.withCode('PW_ALARM_EVENT')[0]).toMatchObject({ durable: false });
    expect(s.reports.filter((r) => r.condition === 'storage-failure').map((r) => r.active)).toEqual([false, true]);
    diskFull = false;
    s.timers.advance(6_000);
    expect(s.journal.durable).toBe(true);
    expect(s.reports.filter((r) => r.condition === 'storage-failure').map((r) => r.active)).toEqual([false, true, false]);
  });

  it('sends an alarm flagged non-durable, with a storage-failure alarm, when its fsync takes too long', async () => {
    const held: (() => void)[] = [];
    let holdFsync = false;
    const slowFs: JournalFs = {
      ...fs,
      fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
        if (holdFsync) held.push(() => fs.fdatasync(fd, callback));
        else fs.fdatasync(fd, callback);
      }) as typeof fs.fdatasync,
    };
    const s = setup({ journalFs: slowFs });
    holdFsync = true;
    const e = event();
    s.outbox.deliver(e, snapshotFor(e));
    await flush();
    expect(s.transport.sent).toEqual([]);
    s.timers.advance(FSYNC_TIMEOUT_MS);
    await flush();
    expect(s.transport.sent[0]?.event).toMatchObject({ eventId: e.eventId, durable: false });
    expect(s.outbox.stats()).toMatchObject({ nonDurable: 1, slowFsyncs: 1 });
    expect(s.reports.filter((r) => r.condition === 'storage-failure').map((r) => [r.active, r.evidence.problem])).toEqual([
      [false, null],
      [true, 'slow-fsync'],
    ]);
    holdFsync = false;
    held.shift()!();
    await s.journal.synced();
    await flush();
    expect(s.reports.filter((r) => r.condition === 'storage-failure').map((r) => r.active)).toEqual([false, true, false]);
  });

  it('raises delivery-failure while alarms wait too long for the broker, and ends it once they are through', async () => {
    const s = setup();
    s.timers.advance(1_000);
    s.transport.connected = false;
    await s.deliver(event());
    s.timers.advance(31_000);
    expect(s.reports.filter((r) => r.part === 'link').map((r) => [r.active, r.evidence.undelivered])).toEqual([
      [false, 0],
      [true, 1],
    ]);
    s.transport.autoAck = true;
    s.transport.reconnect();
    await flush();
    s.timers.advance(1_000);
    expect(s.reports.filter((r) => r.part === 'link').map((r) => r.active)).toEqual([false, true, false]);
  });
});

describe('alarm outbox priorities', () => {
  it.each<[AlarmPriority[], AlarmPriority[]]>([
    [['low', 'high'], ['high', 'low']],
    [['medium', 'low', 'high', 'medium'], ['high', 'medium', 'medium', 'low']],
  ])('orders a re-drive of %j as %j', async (priorities, expected) => {
    const s = setup({ start: false });
    await s.deliver(...priorities.map((priority) => event({ priority })));
    s.journal.close();
    const again = setup({ directory: s.directory, maxInFlight: 1, autoAck: true });
    for (let i = 0; i < priorities.length + 2; i++) await flush();
    expect(again.transport.sent.map((x) => x.event.priority)).toEqual(expected);
  });
});

describe('alarm outboxes of two transports over one journal', () => {
  it('journals each event once and delivers it through each transport until each commits it', async () => {
    const directory = tempDir();
    const clock = createSettableClock(1_767_600_000_000);
    const log = captureLog();
    const reports: TechnicalReport[] = [];
    const timers = manualTimers(clock);
    const journal = AlarmJournal.open({ directory, maxBytes: 1_000_000, logger: log.logger, cursors: ['mqtt', 'pcd04'] });
    const writer = new JournalWriter({ journal, logger: log.logger, clock, report: (r) => reports.push(r), timers: timers.api });
    const mqtt = new FakeTransport(journal, 'mqtt');
    const pcd04 = new FakeTransport(journal, 'pcd04');
    const common = { journal, writer, logger: log.logger, clock, report: (r: TechnicalReport) => reports.push(r), maxAttempts: 3, stalledAfterMs: 30_000, timers: timers.api };
    const outboxes = [new AlarmOutbox({ ...common, transport: mqtt, maxInFlight: 10 }), new AlarmOutbox({ ...common, transport: pcd04, maxInFlight: 1 })];
    for (const outbox of outboxes) outbox.start();
    pcd04.connected = false;
    const events = [event(), event()];
    for (const e of events) writer.deliver(e, snapshotFor(e));
    await flush();
    await journal.synced();
    await flush();
    expect(readFileSync(join(directory, JOURNAL_FILE), 'utf8').split(events[0]!.eventId)).toHaveLength(2);
    mqtt.ackAll();
    await flush();
    expect(mqtt.sent.map((x) => x.event.eventId)).toEqual(events.map((e) => e.eventId).reverse());
    expect(journal.cursor('pcd04').pendingCount).toBe(2);
    pcd04.autoAck = true;
    pcd04.reconnect();
    for (let i = 0; i < 4; i++) await flush();
    expect(pcd04.sent.map((x) => x.event.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(outboxes.map((outbox) => outbox.stats().delivered)).toEqual([2, 2]);
    expect(journal.undelivered()).toEqual([]);
  });
});
