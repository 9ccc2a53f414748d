import * as nodeFs from 'node:fs';
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AlarmEvent, AlarmPriority } from '../../src/alarms/event.js';
import { AlarmJournal, JOURNAL_FILE, type JournalFs } from '../../src/alarms/journal.js';
import { JournalStore } from '../../src/alarms/journal-store.js';
import { JournalWriter } from '../../src/alarms/journal-writer.js';
import { AlarmManager } from '../../src/alarms/manager.js';
import { createSettableClock, type SettableClock, type Timers } from '../../src/clock.js';
import { captureLog } from '../helpers/log-capture.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** Timers that never fire: the journal's 5 s durability retry stays out of these lives. */
const stillTimers: Timers = { setInterval: () => 0, clearInterval: () => undefined, setTimeout: () => 0, clearTimeout: () => undefined };
const flush = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One life of the gateway's alarm side, as the daemon composes it (manager → journal writer), with
 * what it releases recorded as a station would receive it (a JSON copy each).
 */
function life(directory: string, clock: SettableClock, maxBytes: number, published: AlarmEvent[], io: { fs?: JournalFs; timers?: Timers } = {}) {
  const log = captureLog();
  const journal = AlarmJournal.open({ directory, maxBytes, logger: log.logger, ...(io.fs === undefined ? {} : { fs: io.fs }) });
  const manager = new AlarmManager({ identity: { gatewayId: 'gw', site: 'site', ward: 'ward' }, clock, sinks: [], priorities: {} });
  manager.restore(journal.restoredAlarms());
  const writer = new JournalWriter({ journal, logger: log.logger, clock, report: (report) => manager.reportTechnical(report), timers: io.timers ?? stillTimers });
  manager.addSink(writer);
  writer.onReleased((entries) => {
    for (const { event } of entries) published.push(JSON.parse(JSON.stringify(event)) as AlarmEvent);
  });
  writer.start();
  return {
    journal,
    finding(pumpId: string, priority: AlarmPriority) {
      clock.set(clock.now() + 1000);
      manager.onFinding({ condition: 'downstream-occlusion', pumpId, channel: '1', active: true, atMs: clock.now(), priority, evidence: { pressureMmHg: 300, note: 'x'.repeat(200) } });
    },
    /** A SIGHUP reload: the daemon stops cleanly and opens its journal again. */
    async stop() {
      writer.stop();
      await flush();
      await journal.synced();
      journal.close();
    },
  };
}

/** (alarmId, seq) pairs a station received under more than one eventId. */
function forks(events: readonly AlarmEvent[], options: { skipNonDurable: boolean }): string[] {
  const bySeq = new Map<string, Set<string>>();
  for (const event of events) {
    if (options.skipNonDurable && event.durable === false) continue;
    const key = `${event.alarmId}#${event.seq}`;
    bySeq.set(key, (bySeq.get(key) ?? new Set()).add(event.eventId));
  }
  return [...bySeq].filter(([, ids]) => ids.size > 1).map(([key]) => key);
}

describe('alarm sequence numbers across a journal that outgrew maxBytes', () => {
  it('never publishes one (alarmId, seq) under two eventIds after a reload that lost non-durable events', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'pumpwatch-seq-'));
    directories.push(directory);
    const clock = createSettableClock(1_767_600_000_000);
    const published: AlarmEvent[] = [];
    const first = life(directory, clock, 8192, published);
    for (let pump = 1; pump <= 12; pump++) first.finding(`P${pump}`, 'medium');
    await flush();
    expect(first.journal.durable).toBe(false);
    // P1 changes priority while nothing reaches the disk: these events go out non-durable.
    first.finding('P1', 'high');
    first.finding('P1', 'medium');
    await flush();
    await first.stop();

    const second = life(directory, clock, 8192, published);
    second.finding('P1', 'high');
    await flush();
    await second.stop();

    const p1 = published.filter((event) => event.pumpId === 'P1');
    expect(p1.map((event) => event.event)).toEqual(['raised', 'escalated', 'updated', 'escalated']);
    expect(forks(published, { skipNonDurable: false })).toEqual([]);
    const seqs = p1.map((event) => event.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('continues seq one by one after a reload when everything went to disk', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'pumpwatch-seq-'));
    directories.push(directory);
    const clock = createSettableClock(1_767_600_000_000);
    const published: AlarmEvent[] = [];
    const first = life(directory, clock, 1_000_000, published);
    first.finding('P1', 'medium');
    await flush();
    first.finding('P1', 'high');
    await first.stop();
    const second = life(directory, clock, 1_000_000, published);
    second.finding('P1', 'medium');
    await flush();
    await second.stop();
    expect(published.map((event) => [event.event, event.seq, event.durable])).toEqual([
      ['raised', 1, undefined],
      ['escalated', 2, undefined],
      ['updated', 3, undefined],
    ]);
  });

  it('moves past the seq of an event sent before its slow fsync returned, when a power cut then took it from the disk', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'pumpwatch-seq-'));
    directories.push(directory);
    const clock = createSettableClock(1_767_600_000_000);
    const published: AlarmEvent[] = [];
    const journalFds = new Set<number>();
    const heldSyncs: (() => void)[] = [];
    let holdJournalSync = false;
    const slowDisk: JournalFs = {
      ...nodeFs,
      openSync: ((path: string, flags: string, mode?: number) => {
        const fd = nodeFs.openSync(path, flags, mode);
        if (path.endsWith(JOURNAL_FILE)) journalFds.add(fd);
        return fd;
      }) as typeof nodeFs.openSync,
      fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
        if (holdJournalSync && journalFds.has(fd)) heldSyncs.push(() => nodeFs.fdatasync(fd, callback));
        else nodeFs.fdatasync(fd, callback);
      }) as typeof nodeFs.fdatasync,
    };
    const fsyncWaits: (() => void)[] = [];
    const timers: Timers = { ...stillTimers, setTimeout: (callback) => fsyncWaits.push(callback) };
    const first = life(directory, clock, 1_000_000, published, { fs: slowDisk, timers });
    first.finding('P1', 'medium');
    await flush();
    await first.journal.synced();
    const bytesOnDisk = statSync(join(directory, JOURNAL_FILE)).size;

    holdJournalSync = true;
    first.finding('P1', 'high');
    await flush();
    // The writer stops waiting for the fsync and sends the escalation before it is on disk.
    for (const fire of fsyncWaits.splice(0)) fire();
    expect(published.map((event) => [event.event, event.seq, event.durable])).toEqual([
      ['raised', 1, undefined],
      ['escalated', 2, false],
    ]);
    await vi.waitFor(() => expect(new JournalStore({ directory, logger: captureLog().logger }).readUnjournaled()).toBe(1));

    // Power cut: what the held fsync covered never reached the disk.
    truncateSync(join(directory, JOURNAL_FILE), bytesOnDisk);
    const second = life(directory, clock, 1_000_000, published);
    second.finding('P1', 'high');
    await flush();
    await second.stop();
    for (const release of heldSyncs.splice(0)) release();

    expect(forks(published, { skipNonDurable: false })).toEqual([]);
    expect(published.at(-1)).toMatchObject({ event: 'escalated', seq: 3 });
  });
});
