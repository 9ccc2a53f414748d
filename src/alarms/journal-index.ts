import type { AlarmEvent } from './event.js';
import { entryOfRecord, eventRecord, type JournalEntry, type JournalRecord } from './journal-record.js';
import type { AlarmSnapshot, RestoredAlarm } from './manager.js';

/** The cursor of a journal opened without `cursors`. */
export const DEFAULT_CURSOR = 'alarms';

interface AlarmRecord {
  latest: JournalEntry;
  /** Per cursor: the newest event of this alarm its transport committed (what a reconnect republishes). */
  committed: Map<string, JournalEntry>;
  /** Pending (cursor, entry) pairs of this alarm; the record goes once it has ended and none are left. */
  pending: number;
}

/**
 * What the journal knows, held in memory and touched by no IO: the latest event of each alarm, and
 * per transport cursor what it still has to deliver and the newest event of each alarm it
 * committed. The file store replays records into it at open and writes what it says is live.
 */
export class JournalIndex {
  readonly cursorNames: readonly string[];
  readonly #alarms = new Map<string, AlarmRecord>();
  /** Cursor → journal number → entry not yet committed or quarantined by that cursor's transport. */
  readonly #pending = new Map<string, Map<number, JournalEntry>>();
  #nextN = 1;

  constructor(cursors: readonly string[] | undefined) {
    this.cursorNames = cursors === undefined || cursors.length === 0 ? [DEFAULT_CURSOR] : [...new Set(cursors)];
    for (const name of this.cursorNames) this.#pending.set(name, new Map());
  }

  get firstCursor(): string {
    return this.cursorNames[0]!;
  }

  /** The entries one cursor has yet to settle, or undefined for a name the index does not have. */
  pendingOf(cursor: string): ReadonlyMap<number, JournalEntry> | undefined {
    return this.#pending.get(cursor);
  }

  /** Numbers new events and records them as pending for every cursor. */
  add(items: readonly { event: AlarmEvent; snapshot: AlarmSnapshot | null }[]): JournalEntry[] {
    const entries = items.map(({ event, snapshot }) => ({ n: this.#nextN++, event, snapshot }));
    for (const entry of entries) this.#remember(entry);
    return entries;
  }

  /** Replays one record read back from the file. */
  apply(record: JournalRecord): void {
    switch (record.k) {
      case 'e': {
        const entry = entryOfRecord(record);
        this.#nextN = Math.max(this.#nextN, entry.n + 1);
        this.#remember(entry);
        break;
      }
      case 'd':
        for (const n of record.n) this.#settleNumber(n, record.c ?? this.firstCursor, true);
        break;
      case 'q':
        this.#settleNumber(record.n, record.c ?? this.firstCursor, false);
        break;
      case 'h':
        break;
    }
  }

  /**
   * An entry left one cursor's pending set (committed or quarantined); false when it was not in it.
   * An ended alarm nobody has left to send is forgotten.
   */
  settle(entry: JournalEntry, cursor: string, committed: boolean): boolean {
    if (this.#pending.get(cursor)?.delete(entry.n) !== true) return false;
    const alarm = this.#alarms.get(entry.event.alarmId);
    if (alarm === undefined) return true;
    if (committed && (alarm.committed.get(cursor)?.n ?? 0) < entry.n) alarm.committed.set(cursor, entry);
    alarm.pending--;
    if (alarm.pending <= 0 && alarm.latest.snapshot === null) this.#alarms.delete(entry.event.alarmId);
    return true;
  }

  /** Entries pending for any cursor. */
  undelivered(): ReadonlyMap<number, JournalEntry> {
    if (this.#pending.size === 1) return this.#pending.values().next().value!;
    const union = new Map<number, JournalEntry>();
    for (const pending of this.#pending.values()) for (const [n, entry] of pending) union.set(n, entry);
    return union;
  }

  /** Active alarms as the previous run left them, for the alarm manager. */
  /** Moves every active alarm's seq on by `count`, past events sent that the journal may lack. */
  advanceSeqs(count: number): void {
    for (const { latest } of this.#alarms.values()) if (latest.snapshot !== null) latest.snapshot.seq += count;
  }

  restoredAlarms(): RestoredAlarm[] {
    const restored: RestoredAlarm[] = [];
    for (const { latest } of this.#alarms.values()) {
      if (latest.snapshot !== null) restored.push({ snapshot: latest.snapshot, latest: latest.event });
    }
    return restored;
  }

  /** The newest event of each active alarm the cursor's transport has committed: the state it republishes. */
  committedStates(cursor: string): AlarmEvent[] {
    const events: AlarmEvent[] = [];
    for (const alarm of this.#alarms.values()) {
      const committed = alarm.committed.get(cursor);
      if (committed !== undefined && committed.snapshot !== null) events.push(committed.event);
    }
    return events;
  }

  isLatest(entry: JournalEntry): boolean {
    return this.#alarms.get(entry.event.alarmId)?.latest.n === entry.n;
  }

  isLatestEvent(event: AlarmEvent): boolean {
    return this.#alarms.get(event.alarmId)?.latest.event.eventId === event.eventId;
  }

  /** The first cursor's records carry no name, so a journal with one transport reads as format 1 did. */
  cursorRecord<R extends { k: 'd' | 'q' }>(record: R, cursor: string): R & { c?: string } {
    return cursor === this.firstCursor ? record : { ...record, c: cursor };
  }

  /**
   * The records that rebuild this index: the latest event of each active alarm, what each cursor
   * republishes and everything pending, then per cursor what it settled of those.
   */
  liveRecords(): JournalRecord[] {
    const records: JournalRecord[] = [];
    const live = new Map<number, JournalEntry>();
    // The latest event of each alarm still known, `ended` included: an ended alarm is still known
    // while an older event of it is pending (re-drives go newest first); without its `ended` the
    // next open would restore it at that older event's seq, and the manager would reissue seqs
    // stations already hold.
    for (const alarm of this.#alarms.values()) {
      live.set(alarm.latest.n, alarm.latest);
      if (alarm.latest.snapshot === null) continue;
      for (const committed of alarm.committed.values()) if (committed.snapshot !== null) live.set(committed.n, committed);
    }
    for (const [n, entry] of this.undelivered()) live.set(n, entry);
    const ordered = [...live.values()].sort((a, b) => a.n - b.n);
    for (const entry of ordered) records.push(eventRecord(entry));
    for (const [cursor, pending] of this.#pending) {
      const committed: number[] = [];
      for (const entry of ordered) {
        if (pending.has(entry.n)) continue;
        // Settled but not this cursor's committed state: quarantined, or superseded by a newer commit.
        if (this.#alarms.get(entry.event.alarmId)?.committed.get(cursor) === entry) committed.push(entry.n);
        else records.push(this.cursorRecord({ k: 'q', n: entry.n }, cursor));
      }
      if (committed.length > 0) records.push(this.cursorRecord({ k: 'd', n: committed }, cursor));
    }
    return records;
  }

  #settleNumber(n: number, cursor: string, committed: boolean): void {
    const entry = this.#pending.get(cursor)?.get(n);
    if (entry !== undefined) this.settle(entry, cursor, committed);
  }

  /** A new entry is pending for every cursor. */
  #remember(entry: JournalEntry): void {
    const alarm = this.#alarms.get(entry.event.alarmId);
    if (alarm !== undefined && alarm.latest.n === entry.n) return;
    for (const pending of this.#pending.values()) pending.set(entry.n, entry);
    const count = this.#pending.size;
    if (alarm === undefined) this.#alarms.set(entry.event.alarmId, { latest: entry, committed: new Map(), pending: count });
    else {
      if (entry.n > alarm.latest.n) alarm.latest = entry;
      alarm.pending += count;
    }
  }
}
