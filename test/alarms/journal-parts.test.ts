import * as nodeFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { DEFAULT_CURSOR, JournalIndex } from '../../src/alarms/journal-index.js';
import { decodeRecord, encodeRecord, eventRecord, headerRecord, type JournalEntry } from '../../src/alarms/journal-record.js';
import { type JournalFs, JournalStore, UNJOURNALED_FILE } from '../../src/alarms/journal-store.js';
import type { AlarmSnapshot } from '../../src/alarms/manager.js';
import { captureLog } from '../helpers/log-capture.js';

function event(alarmId: string, seq: number, type: AlarmEvent['event'] = seq === 1 ? 'raised' : 'updated'): AlarmEvent {
  return {
    v: 1, eventId: `${alarmId}-${seq}`, alarmId, event: type, condition: 'downstream-occlusion', priority: 'high', kind: 'technical',
    pumpId: 'P1', channel: '1', site: 'site', ward: 'ward', gatewayId: 'gw', at: '2026-01-05T08:00:00.000Z',
    emittedAt: '2026-01-05T08:00:00.000Z', message: 'check the line', evidence: { seq }, seq,
  };
}

function snapshot(alarmId: string, seq: number): AlarmSnapshot {
  return {
    alarmId, condition: 'downstream-occlusion', pumpId: 'P1', channel: '1', seq, activatedAtMs: 1, present: true, latched: false,
    acknowledged: false, escalations: 0, notifiedAtMs: 1, endAtMs: null, latchable: false,
  };
}

describe('journal record format', () => {
  it('reads back what it wrote, without the newline', () => {
    const entry: JournalEntry = { n: 7, event: event('a', 1), snapshot: snapshot('a', 1) };
    for (const record of [headerRecord(), eventRecord(entry), { k: 'd' as const, n: [1, 2], c: 'pcd04' }, { k: 'q' as const, n: 3 }]) {
      const line = encodeRecord(record);
      expect(line.endsWith('\n')).toBe(true);
      expect(decodeRecord(line.slice(0, -1))).toEqual(record);
    }
  });

  it('refuses a record whose checksum, shape or event does not hold', () => {
    const line = encodeRecord(eventRecord({ n: 1, event: event('a', 1), snapshot: null })).slice(0, -1);
    expect(decodeRecord(line.replace('"P1"', '"P2"'))).toBeUndefined();
    expect(decodeRecord(`0${line}`)).toBeUndefined();
    const badEvent = encodeRecord({ k: 'e', n: 1, e: { v: 1 }, s: null }).slice(0, -1);
    expect(decodeRecord(badEvent)).toBeUndefined();
    const badCursor = encodeRecord({ k: 'q', n: 1, c: 5 } as never).slice(0, -1);
    expect(decodeRecord(badCursor)).toBeUndefined();
  });
});

describe('journal index', () => {
  it('keeps an entry pending on every cursor until each has settled it, then forgets an ended alarm', () => {
    const index = new JournalIndex(['mqtt', 'pcd04']);
    const [raised, ended] = index.add([
      { event: event('a', 1), snapshot: snapshot('a', 1) },
      { event: event('a', 2, 'ended'), snapshot: null },
    ]);
    expect(index.undelivered().size).toBe(2);
    expect(index.settle(raised!, 'mqtt', true)).toBe(true);
    expect(index.settle(raised!, 'mqtt', true)).toBe(false);
    expect(index.committedStates('mqtt').map((e) => e.eventId)).toEqual(['a-1']);
    expect(index.isLatest(ended!)).toBe(true);
    for (const [entry, cursor] of [[ended, 'mqtt'], [raised, 'pcd04'], [ended, 'pcd04']] as const) index.settle(entry!, cursor, true);
    expect(index.undelivered().size).toBe(0);
    expect(index.restoredAlarms()).toEqual([]);
    expect(index.isLatest(ended!)).toBe(false);
  });

  it('rebuilds itself from its own live records, with unnamed settle records belonging to the first cursor', () => {
    const index = new JournalIndex(undefined);
    expect(index.cursorNames).toEqual([DEFAULT_CURSOR]);
    const [first, second] = index.add([
      { event: event('a', 1), snapshot: snapshot('a', 1) },
      { event: event('b', 1), snapshot: snapshot('b', 1) },
    ]);
    index.settle(first!, DEFAULT_CURSOR, true);
    const records = index.liveRecords();
    expect(records.filter((record) => record.k === 'd')).toEqual([{ k: 'd', n: [first!.n] }]);
    const rebuilt = new JournalIndex(undefined);
    for (const record of records) rebuilt.apply(record);
    expect([...rebuilt.undelivered().keys()]).toEqual([second!.n]);
    expect(rebuilt.committedStates(DEFAULT_CURSOR).map((e) => e.eventId)).toEqual(['a-1']);
    expect(rebuilt.add([{ event: event('c', 1), snapshot: snapshot('c', 1) }])[0]!.n).toBe(3);
  });
});

describe('journal store: count of events the journal lacks', () => {
  it('overwrites the count in place and syncs it to disk off the event loop, so a power cut keeps it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'pw-unjournaled-'));
    try {
      const synced: number[] = [];
      const closedAfterSync: number[] = [];
      const recordingFs: JournalFs = {
        ...nodeFs,
        fdatasync: ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
          synced.push(fd);
          nodeFs.fdatasync(fd, callback);
        }) as typeof nodeFs.fdatasync,
        closeSync: (fd: number) => {
          if (synced.includes(fd)) closedAfterSync.push(fd);
          nodeFs.closeSync(fd);
        },
      };
      const store = new JournalStore({ directory, logger: captureLog().logger, fs: recordingFs });
      store.writeUnjournaled(12);
      store.writeUnjournaled(3);
      await vi.waitFor(() => expect(closedAfterSync).toHaveLength(2));
      expect(synced).toHaveLength(2);
      expect(nodeFs.statSync(join(directory, UNJOURNALED_FILE)).size).toBe(16);
      expect(store.readUnjournaled()).toBe(3);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
