import * as fs from 'node:fs';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { AlarmJournal, DEFAULT_CURSOR, JOURNAL_FILE, QUARANTINE_FILE, type JournalFs } from '../../src/alarms/journal.js';
import type { AlarmSnapshot } from '../../src/alarms/manager.js';
import { captureLog } from '../helpers/log-capture.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'pumpwatch-journal-'));
  directories.push(directory);
  return directory;
}

function event(alarmId: string, seq: number, type: AlarmEvent['event'] = seq === 1 ? 'raised' : 'updated'): AlarmEvent {
  return {
    v: 1,
    eventId: `${alarmId}-${seq}`,
    alarmId,
    event: type,
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
    evidence: { seq },
    seq,
  };
}

function snapshot(alarmId: string, seq: number): AlarmSnapshot {
  return {
    alarmId,
    condition: 'downstream-occlusion',
    pumpId: 'P1',
    channel: '1',
    seq,
    activatedAtMs: 1,
    present: true,
    latched: false,
    acknowledged: false,
    escalations: 0,
    notifiedAtMs: 1,
    endAtMs: null,
    latchable: false,
  };
}

function item(alarmId: string, seq: number, type?: AlarmEvent['event']) {
  const e = event(alarmId, seq, type);
  return { event: e, snapshot: e.event === 'ended' ? null : snapshot(alarmId, seq) };
}

function open(directory: string, maxBytes = 1_000_000, journalFs?: JournalFs) {
  const log = captureLog();
  const journal = AlarmJournal.open({ directory, maxBytes, logger: log.logger, ...(journalFs === undefined ? {} : { fs: journalFs }) });
  return { journal, log };
}

/** Real file calls, except the ones a test makes fail. */
function failingFs(fail: { write?: () => string | undefined; fsync?: () => string | undefined }): JournalFs {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  return {
    ...fs,
    writeSync: ((...args: Parameters<typeof fs.writeSync>) => {
      const code = fail.write?.();
      if (code !== undefined) throw errno(code);
      return (fs.writeSync as (...a: unknown[]) => number)(...args);
    }) as typeof fs.writeSync,
    fdatasyncSync: (fd: number) => {
      const code = fail.fsync?.();
      if (code !== undefined) throw errno(code);
      fs.fdatasyncSync(fd);
    },
    fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      const code = fail.fsync?.();
      if (code !== undefined) setImmediate(() => callback(errno(code)));
      else fs.fdatasync(fd, callback);
    }) as typeof fs.fdatasync,
  };
}

describe('alarm journal', () => {
  it('gives back undelivered events and active alarms after a reopen', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    journal.append([item('a', 1), item('b', 1)]);
    journal.append([item('b', 2, 'ended')]);
    await journal.synced();
    journal.close();
    const { journal: reopened } = open(directory);
    expect(reopened.undelivered().map((entry) => entry.event.eventId)).toEqual(['a-1', 'b-1', 'b-2']);
    expect(reopened.restoredAlarms().map((alarm) => alarm.latest.eventId)).toEqual(['a-1']);
  });

  it('does not re-drive what was marked delivered', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    const { entries } = journal.append([item('a', 1), item('a', 2)]);
    journal.markDelivered(entries[0]!);
    await new Promise((resolve) => setImmediate(resolve));
    await journal.synced();
    journal.close();
    const { journal: reopened } = open(directory);
    expect(reopened.undelivered().map((entry) => entry.event.eventId)).toEqual(['a-2']);
  });

  it('keeps numbering after a reopen', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    journal.append([item('a', 1), item('a', 2)]);
    await journal.synced();
    journal.close();
    const { journal: reopened } = open(directory);
    expect(reopened.append([item('a', 3)]).entries[0]?.n).toBe(3);
  });

  it('knows which entry is the newest of its alarm', () => {
    const { journal } = open(tempDir());
    const { entries } = journal.append([item('a', 1), item('a', 2)]);
    expect(entries.map((entry) => journal.isLatest(entry))).toEqual([false, true]);
  });

  it('drops a torn last record left by a crash mid-append, and appends cleanly after it', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    journal.append([item('a', 1), item('b', 1)]);
    await journal.synced();
    journal.close();
    const path = join(directory, JOURNAL_FILE);
    truncateSync(path, statSync(path).size - 25);
    const { journal: reopened, log } = open(directory);
    expect(reopened.integrity.tornTailBytes).toBeGreaterThan(0);
    expect(reopened.integrity.corruptRecords).toBe(0);
    expect(reopened.undelivered().map((entry) => entry.event.eventId)).toEqual(['a-1']);
    expect(log.withCode('PW_JOURNAL_TORN_TAIL')).toHaveLength(1);
    reopened.append([item('c', 1)]);
    await reopened.synced();
    reopened.close();
    expect(open(directory).journal.undelivered().map((entry) => entry.event.eventId)).toEqual(['a-1', 'c-1']);
  });

  it('skips and counts a damaged record in the middle, keeps the rest and rewrites the file clean', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    journal.append([item('a', 1)]);
    journal.append([item('b', 1)]);
    journal.append([item('c', 1)]);
    await journal.synced();
    journal.close();
    const path = join(directory, JOURNAL_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"eventId":"b-1"', '"eventId":"b-X"'));
    const { journal: reopened, log } = open(directory);
    expect(reopened.integrity.corruptRecords).toBe(1);
    expect(reopened.undelivered().map((entry) => entry.event.eventId)).toEqual(['a-1', 'c-1']);
    expect(log.withCode('PW_JOURNAL_CORRUPT')).toHaveLength(1);
    await reopened.synced();
    reopened.close();
    expect(open(directory).journal.integrity.corruptRecords).toBe(0);
  });

  it('refuses a record whose checksum matches but whose event breaks the schema', () => {
    const directory = tempDir();
    open(directory).journal.close();
    const json = JSON.stringify({ k: 'e', n: 1, e: { v: 1, eventId: 'x' }, s: null });
    appendFileSync(join(directory, JOURNAL_FILE), `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`);
    expect(open(directory).journal.undelivered()).toEqual([]);
  });

  it('stays bounded by compacting away delivered history', async () => {
    const directory = tempDir();
    const { journal } = open(directory, 64_000);
    for (let alarm = 0; alarm < 400; alarm++) {
      const { entries } = journal.append([item(`a${alarm}`, 1), item(`a${alarm}`, 2, 'ended')]);
      for (const entry of entries) journal.markDelivered(entry);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(journal.durable).toBe(true);
    expect(statSync(join(directory, JOURNAL_FILE)).size).toBeLessThanOrEqual(64_000);
    await journal.synced();
    journal.close();
    const { journal: reopened } = open(directory, 64_000);
    expect(reopened.undelivered()).toEqual([]);
  });

  it('keeps the latest event of each active alarm through compaction', async () => {
    const directory = tempDir();
    const { journal } = open(directory, 20_000);
    const { entries } = journal.append([item('keep', 1)]);
    journal.markDelivered(entries[0]!);
    for (let alarm = 0; alarm < 100; alarm++) {
      for (const entry of journal.append([item(`x${alarm}`, 1), item(`x${alarm}`, 2, 'ended')]).entries) journal.markDelivered(entry);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await journal.synced();
    journal.close();
    expect(open(directory, 20_000).journal.restoredAlarms().map((alarm) => alarm.latest.eventId)).toEqual(['keep-1']);
  });

  it('keeps an ended alarm ended through compaction while an older event of it is still undelivered', async () => {
    // Re-drives go newest first, so an alarm's `ended` can be delivered before its `raised`.
    const directory = tempDir();
    const { journal } = open(directory);
    const [raised, ended] = journal.append([item('gone', 1), item('gone', 2, 'ended')]).entries;
    journal.markDelivered(ended!);
    await journal.synced();
    journal.close();
    const compacting = open(directory, 1024).journal;
    expect(compacting.undelivered().map((entry) => entry.event.eventId)).toEqual([raised!.event.eventId]);
    await compacting.synced();
    compacting.close();
    const reopened = open(directory).journal;
    expect(reopened.restoredAlarms()).toEqual([]);
    expect(reopened.undelivered().map((entry) => entry.event.eventId)).toEqual([raised!.event.eventId]);
  });

  it('goes non-durable, keeping events in memory, when live alarms outgrow maxBytes', async () => {
    const { journal, log } = open(tempDir(), 4096);
    let durable = true;
    for (let alarm = 0; alarm < 20 && durable; alarm++) durable = await journal.append([item(`a${alarm}`, 1)]).durable;
    expect(durable).toBe(false);
    expect(journal.problem?.kind).toBe('full');
    expect(journal.undelivered().length).toBeGreaterThan(5);
    expect(log.withCode('PW_JOURNAL_FULL')).toHaveLength(1);
  });

  it('goes non-durable on a full disk, truncates the half-written record, and recovers when space returns', async () => {
    const directory = tempDir();
    let diskFull = false;
    const { journal } = open(directory, 1_000_000, failingFs({ write: () => (diskFull ? 'ENOSPC' : undefined) }));
    expect(await journal.append([item('a', 1)]).durable).toBe(true);
    diskFull = true;
    expect(await journal.append([item('b', 1)]).durable).toBe(false);
    expect(journal.problem?.kind).toBe('full');
    expect(journal.restoreDurability()).toBe(false);
    diskFull = false;
    expect(journal.restoreDurability()).toBe(true);
    await journal.synced();
    journal.close();
    expect(open(directory).journal.undelivered().map((entry) => entry.event.eventId)).toEqual(['a-1', 'b-1']);
  });

  it('goes non-durable when fsync fails', async () => {
    let failFsync = false;
    const { journal } = open(tempDir(), 1_000_000, failingFs({ fsync: () => (failFsync ? 'EIO' : undefined) }));
    failFsync = true;
    expect(await journal.append([item('a', 1)]).durable).toBe(false);
    expect(journal.problem).toMatchObject({ kind: 'fsync' });
  });

  it('settles an append only when its fsync returns, and covers appends made meanwhile with one more fsync', async () => {
    const held: (() => void)[] = [];
    const holdingFs: JournalFs = {
      ...fs,
      fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
        held.push(() => fs.fdatasync(fd, callback));
      }) as typeof fs.fdatasync,
    };
    const { journal } = open(tempDir(), 1_000_000, holdingFs);
    const settled: boolean[] = [];
    const first = journal.append([item('a', 1)]).durable.then((durable) => settled.push(durable));
    const second = journal.append([item('b', 1)]).durable.then((durable) => settled.push(durable));
    const third = journal.append([item('c', 1)]).durable.then((durable) => settled.push(durable));
    await new Promise((resolve) => setImmediate(resolve));
    expect([held.length, settled]).toEqual([1, []]);
    held.shift()!();
    await first;
    expect(held).toHaveLength(1);
    held.shift()!();
    await Promise.all([second, third]);
    expect(settled).toEqual([true, true, true]);
  });

  it('runs from memory when its directory cannot be created', () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'not-a-dir'), '');
    const { journal, log } = open(join(parent, 'not-a-dir', 'journal'));
    expect(journal.durable).toBe(false);
    expect(journal.problem?.kind).toBe('open');
    expect(journal.append([item('a', 1)]).entries).toHaveLength(1);
    expect(log.withCode('PW_JOURNAL_OPEN')).toHaveLength(1);
  });

  it('moves a quarantined event to the quarantine file and never re-drives it', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    const { entries } = journal.append([item('a', 1)]);
    journal.markQuarantined(entries[0]!, 'PW_MQTT_PUBLISH_FAILED reason 135');
    await journal.synced();
    journal.close();
    expect(open(directory).journal.undelivered()).toEqual([]);
    expect(JSON.parse(readFileSync(join(directory, QUARANTINE_FILE), 'utf8'))).toMatchObject({ quarantinedFor: 'PW_MQTT_PUBLISH_FAILED reason 135', event: { eventId: 'a-1' } });
  });
});

describe('alarm journal with one delivery cursor per transport', () => {
  function openWith(directory: string, cursors: string[], maxBytes = 1_000_000) {
    return AlarmJournal.open({ directory, maxBytes, logger: captureLog().logger, cursors });
  }

  it('keeps an event pending for each transport until that transport commits it, across a restart', async () => {
    const directory = tempDir();
    const journal = openWith(directory, ['mqtt', 'pcd04']);
    const { entries, durable } = journal.append([item('a', 1), item('b', 1)]);
    await durable;
    journal.cursor('mqtt').markDelivered(entries[0]!);
    journal.cursor('mqtt').markDelivered(entries[1]!);
    journal.cursor('pcd04').markDelivered(entries[1]!);
    await new Promise((resolve) => setImmediate(resolve));
    await journal.synced();
    journal.close();
    const reopened = openWith(directory, ['mqtt', 'pcd04']);
    expect(reopened.cursor('mqtt').pending()).toEqual([]);
    expect(reopened.cursor('pcd04').pending().map((entry) => entry.event.eventId)).toEqual(['a-1']);
    expect(reopened.cursor('mqtt').committedStates().map((e) => e.eventId)).toEqual(['a-1', 'b-1']);
    expect(reopened.cursor('pcd04').committedStates().map((e) => e.eventId)).toEqual(['b-1']);
  });

  it('hands what the first transport already committed to a transport added later, as pending', async () => {
    const directory = tempDir();
    const { journal } = open(directory);
    const { entries } = journal.append([item('a', 1)]);
    journal.markDelivered(entries[0]!);
    await new Promise((resolve) => setImmediate(resolve));
    await journal.synced();
    journal.close();
    const reopened = openWith(directory, [DEFAULT_CURSOR, 'pcd04']);
    expect(reopened.cursor(DEFAULT_CURSOR).pending()).toEqual([]);
    expect(reopened.cursor('pcd04').pending().map((entry) => entry.event.eventId)).toEqual(['a-1']);
  });

  it('keeps each transport\'s committed state and its quarantines through compaction', async () => {
    const directory = tempDir();
    const journal = openWith(directory, ['mqtt', 'pcd04'], 6_000);
    const { entries } = journal.append([item('keep', 1), item('keep', 2)]);
    journal.cursor('mqtt').markDelivered(entries[0]!);
    journal.cursor('mqtt').markDelivered(entries[1]!);
    journal.cursor('pcd04').markDelivered(entries[0]!);
    journal.cursor('pcd04').markQuarantined(entries[1]!, 'PW_PCD04_REFUSED reason CR: test');
    for (let alarm = 0; alarm < 30; alarm++) {
      for (const entry of journal.append([item(`x${alarm}`, 1), item(`x${alarm}`, 2, 'ended')]).entries) {
        journal.cursor('mqtt').markDelivered(entry);
        journal.cursor('pcd04').markDelivered(entry);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    await journal.synced();
    journal.close();
    expect(statSync(join(directory, JOURNAL_FILE)).size).toBeLessThan(6_000);
    const reopened = openWith(directory, ['mqtt', 'pcd04']);
    expect(reopened.undelivered()).toEqual([]);
    expect(reopened.cursor('mqtt').committedStates().map((e) => e.eventId)).toEqual(['keep-2']);
    expect(reopened.cursor('pcd04').committedStates().map((e) => e.eventId)).toEqual(['keep-1']);
  });

  it('refuses a cursor it was not opened with', () => {
    expect(() => openWith(tempDir(), ['mqtt']).cursor('pcd04')).toThrow(/no cursor pcd04/);
  });
});
