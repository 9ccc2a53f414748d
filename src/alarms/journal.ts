import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { LogCode } from '../log-codes.js';
import type { Logger } from '../log.js';
import { AlarmEventSchema, type AlarmEvent } from './event.js';
import type { AlarmSnapshot, RestoredAlarm } from './manager.js';

/** The synchronous file calls the journal makes; tests wrap them to inject ENOSPC or EIO. */
export type JournalFs = Pick<
  typeof nodeFs,
  | 'mkdirSync'
  | 'openSync'
  | 'closeSync'
  | 'writeSync'
  | 'fdatasyncSync'
  | 'fdatasync'
  | 'fsyncSync'
  | 'ftruncateSync'
  | 'readFileSync'
  | 'renameSync'
  | 'unlinkSync'
  | 'existsSync'
  | 'statSync'
>;

export const JOURNAL_FILE = 'journal.jsonl';
export const QUARANTINE_FILE = 'quarantine.jsonl';
/**
 * How many events went out that the journal may not hold: the next open moves every restored
 * alarm's seq past them. A few bytes overwritten in place, so it can be written when the journal
 * cannot (maxBytes reached, a full disk has no room to grow a file).
 */
export const UNJOURNALED_FILE = 'unjournaled';
const UNJOURNALED_WIDTH = 16;
const COMPACT_FILE = 'journal.jsonl.compact';
const FORMAT_VERSION = 2;
/** The quarantine file is for engineers to read; past this it is rotated once. */
const MAX_QUARANTINE_BYTES = 1_048_576;

export interface JournalEntry {
  /** Journal sequence number: increases with every appended event, across restarts. */
  readonly n: number;
  readonly event: AlarmEvent;
  /** The alarm after this event; null once it has ended. */
  readonly snapshot: AlarmSnapshot | null;
}

export interface JournalIntegrity {
  records: number;
  /** Bytes of a half-written last record (a crash mid-append), dropped at open. */
  tornTailBytes: number;
  /** Records in the middle that failed their checksum or schema: skipped and counted. */
  corruptRecords: number;
  bytes: number;
}

export type JournalProblem = 'write' | 'fsync' | 'full' | 'open';

const JOURNAL_PROBLEM_CODES = { write: 'PW_JOURNAL_WRITE', fsync: 'PW_JOURNAL_FSYNC', full: 'PW_JOURNAL_FULL', open: 'PW_JOURNAL_OPEN' } as const satisfies Record<JournalProblem, LogCode>;

export interface AlarmJournalOptions {
  directory: string;
  maxBytes: number;
  logger: Logger;
  fs?: JournalFs;
  /**
   * One delivery cursor per alarm transport: every event is pending for each until that transport
   * commits or quarantines it. Records written before cursors had names belong to the first.
   */
  cursors?: readonly string[];
}

/** The cursor of a journal opened without `cursors`. */
export const DEFAULT_CURSOR = 'alarms';

interface AlarmRecord {
  latest: JournalEntry;
  /** Per cursor: the newest event of this alarm its transport committed (what a reconnect republishes). */
  committed: Map<string, JournalEntry>;
  /** Pending (cursor, entry) pairs of this alarm; the record goes once it has ended and none are left. */
  pending: number;
}

/** One transport's view of the journal: what it still has to deliver, and what it has committed. */
export interface JournalCursor {
  readonly name: string;
  readonly pendingCount: number;
  /** Everything this transport has not yet committed or quarantined, oldest first. */
  pending(): JournalEntry[];
  markDelivered(entry: JournalEntry): void;
  markQuarantined(entry: JournalEntry, reason: string): void;
  /** The newest committed event of each active alarm: the state a reconnect republishes. */
  committedStates(): AlarmEvent[];
}

/** What a transport reads to decide how to present an event: the journal owns the latest of each alarm. */
export interface AlarmStateView {
  /** True when `event` is the newest event of its alarm. */
  isLatestEvent(event: AlarmEvent): boolean;
  committedStates(cursor: string): AlarmEvent[];
}

/** `c` names the cursor; absent in records of format 1, which had one transport: the first cursor. */
type JournalRecord =
  | { k: 'h'; v: number }
  | { k: 'e'; n: number; e: unknown; s: AlarmSnapshot | null }
  | { k: 'd'; n: number[]; c?: string }
  | { k: 'q'; n: number; c?: string };

function render(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The record on one line, or undefined when its checksum or shape is wrong. */
function parseLine(line: string): JournalRecord | undefined {
  const space = line.indexOf(' ');
  if (space !== 8) return undefined;
  const json = line.slice(9);
  if (Number.parseInt(line.slice(0, 8), 16) !== crc32(json)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as { k?: unknown; n?: unknown; e?: unknown; c?: unknown };
  if (record.c !== undefined && typeof record.c !== 'string') return undefined;
  switch (record.k) {
    case 'h':
      return value as JournalRecord;
    case 'e':
      return Number.isSafeInteger(record.n) && AlarmEventSchema.safeParse(record.e).success ? (value as JournalRecord) : undefined;
    case 'd':
      return Array.isArray(record.n) && record.n.every((n) => Number.isSafeInteger(n)) ? (value as JournalRecord) : undefined;
    case 'q':
      return Number.isSafeInteger(record.n) ? (value as JournalRecord) : undefined;
    default:
      return undefined;
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * The durable alarm outbox on local disk: every alarm event is appended and fsync'd before any
 * transport sends it, and stays pending on each transport's cursor until that transport's peer
 * commits it (or it is quarantined); what is pending is handed back after a restart. It is the one
 * owner of the latest event of each alarm and of what each transport has committed, which is what
 * a transport republishes after a reconnect.
 *
 * One JSON-lines file, each record prefixed by its CRC-32, so a torn tail after a crash is detected
 * and dropped, and a damaged record in the middle is skipped and counted. Compaction rewrites the
 * live set (the latest event of each active alarm plus everything undelivered) to a new file and
 * renames it over the old one, so a crash during compaction leaves one or the other whole.
 *
 * Appends are written at once and fsync'd off the event loop, several per fsync when they come
 * together (group commit): a slow disk delays the alarms waiting for it, not the heartbeat, the
 * PUBACKs or the telemetry.
 *
 * Memory holds the same live set. When the disk fails (full, EIO, read-only) the journal keeps
 * working from memory and reports itself not durable; `restoreDurability` rewrites the live set,
 * including what could not be written, once the disk works again.
 */
export class AlarmJournal {
  readonly integrity: JournalIntegrity = { records: 0, tornTailBytes: 0, corruptRecords: 0, bytes: 0 };
  readonly #directory: string;
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #logger: Logger;
  readonly #fs: JournalFs;
  readonly #alarms = new Map<string, AlarmRecord>();
  readonly #cursorNames: readonly string[];
  /** Cursor → journal number → entry not yet committed or quarantined by that cursor's transport. */
  readonly #pending = new Map<string, Map<number, JournalEntry>>();
  #pendingDelivered = new Map<string, number[]>();
  #flushScheduled = false;
  #fd: number | undefined;
  #size = 0;
  #sizeAfterCompaction = 0;
  #nextN = 1;
  #durable = false;
  #problem: JournalProblem | undefined;
  #problemDetail = '';
  /** Appends covered by the fsync in flight, and those written since it began. */
  #syncing: ((durable: boolean) => void)[] | undefined;
  #waitingForSync: ((durable: boolean) => void)[] = [];
  /** A file descriptor replaced by compaction while an fsync on it was in flight; closed after it. */
  #retiredFd: number | undefined;
  #idleWaiters: (() => void)[] = [];
  /** Events released that the disk may not hold since it last held the whole live set; see UNJOURNALED_FILE. */
  #unjournaled = 0;
  #closed = false;

  private constructor(options: AlarmJournalOptions) {
    this.#directory = options.directory;
    this.#path = join(options.directory, JOURNAL_FILE);
    this.#maxBytes = options.maxBytes;
    this.#logger = options.logger.child({ component: 'journal' });
    this.#fs = options.fs ?? nodeFs;
    this.#cursorNames = options.cursors === undefined || options.cursors.length === 0 ? [DEFAULT_CURSOR] : [...new Set(options.cursors)];
    for (const name of this.#cursorNames) this.#pending.set(name, new Map());
  }

  /**
   * Opens (or creates) the journal and checks every record. Never throws: a journal that cannot be
   * opened runs from memory, not durable, until `restoreDurability` succeeds.
   */
  static open(options: AlarmJournalOptions): AlarmJournal {
    const journal = new AlarmJournal(options);
    journal.#open();
    return journal;
  }

  get durable(): boolean {
    return this.#durable;
  }

  /** Why the journal is not durable, or undefined when it is. */
  get problem(): { kind: JournalProblem; detail: string } | undefined {
    return this.#problem === undefined ? undefined : { kind: this.#problem, detail: this.#problemDetail };
  }

  get sizeBytes(): number {
    return this.#size;
  }

  /** Entries some transport has yet to commit or quarantine. */
  get undeliveredCount(): number {
    return this.#liveUndelivered().size;
  }

  get cursorNames(): readonly string[] {
    return this.#cursorNames;
  }

  /** The delivery cursor of one transport; throws for a name the journal was not opened with. */
  cursor(name: string): JournalCursor {
    const pending = this.#pending.get(name);
    if (pending === undefined) throw new Error(`journal has no cursor ${name} (has ${this.#cursorNames.join(', ')})`);
    return {
      name,
      get pendingCount() {
        return pending.size;
      },
      pending: () => [...pending.values()],
      markDelivered: (entry) => this.markDelivered(entry, name),
      markQuarantined: (entry, reason) => this.markQuarantined(entry, reason, name),
      committedStates: () => this.committedStates(name),
    };
  }

  /** Active alarms as the previous run left them, for the alarm manager. */
  restoredAlarms(): RestoredAlarm[] {
    const restored: RestoredAlarm[] = [];
    for (const { latest } of this.#alarms.values()) {
      if (latest.snapshot !== null) restored.push({ snapshot: latest.snapshot, latest: latest.event });
    }
    return restored;
  }

  /** The newest event of each active alarm the cursor's transport has committed: the state it republishes. */
  committedStates(cursor: string = this.#cursorNames[0]!): AlarmEvent[] {
    const events: AlarmEvent[] = [];
    for (const alarm of this.#alarms.values()) {
      const committed = alarm.committed.get(cursor);
      if (committed !== undefined && committed.snapshot !== null) events.push(committed.event);
    }
    return events;
  }

  /** Everything some transport has not yet committed, oldest first. */
  undelivered(): JournalEntry[] {
    return [...this.#liveUndelivered().values()].sort((a, b) => a.n - b.n);
  }

  /** True when `entry` is the newest event of its alarm. */
  isLatest(entry: JournalEntry): boolean {
    return this.#alarms.get(entry.event.alarmId)?.latest.n === entry.n;
  }

  isLatestEvent(event: AlarmEvent): boolean {
    return this.#alarms.get(event.alarmId)?.latest.event.eventId === event.eventId;
  }

  /**
   * Records events as pending for every cursor and writes them. `durable` settles once they are
   * fsync'd (true) or cannot be (false: they live in memory only and the journal is not durable).
   */
  append(items: readonly { event: AlarmEvent; snapshot: AlarmSnapshot | null }[]): { entries: JournalEntry[]; durable: Promise<boolean> } {
    const entries = items.map(({ event, snapshot }) => ({ n: this.#nextN++, event, snapshot }));
    for (const entry of entries) this.#remember(entry);
    const notOnDisk = () => {
      this.#noteUnjournaled(entries.length);
      return { entries, durable: Promise.resolve(false) };
    };
    // Closed (a late event of a daemon being reloaded): the file now belongs to the next open.
    if (!this.#durable || this.#closed) return notOnDisk();
    this.#flushDelivered();
    const data = Buffer.from(entries.map((entry) => render({ k: 'e', n: entry.n, e: entry.event, s: entry.snapshot })).join(''));
    if (this.#size + data.byteLength > this.#maxBytes) {
      // Compaction writes and fsyncs the whole live set, these entries included.
      if (!this.#compact()) return notOnDisk();
      if (this.#size <= this.#maxBytes) return { entries, durable: Promise.resolve(true) };
      this.#fail('full', `live alarms need ${this.#size} bytes, more than journal.maxBytes ${this.#maxBytes}`);
      return { entries, durable: Promise.resolve(false) };
    }
    if (!this.#write(data)) return notOnDisk();
    const durable = new Promise<boolean>((resolve) =>
      this.#waitingForSync.push((onDisk) => {
        if (!onDisk) this.#noteUnjournaled(entries.length);
        resolve(onDisk);
      }),
    );
    if (this.#size > Math.max(this.#maxBytes / 2, 2 * this.#sizeAfterCompaction)) this.#compact();
    else this.#startSync();
    return { entries, durable };
  }

  /** Committed by the cursor's transport. Written lazily without fsync: a lost mark only means a re-send. */
  markDelivered(entry: JournalEntry, cursor: string = this.#cursorNames[0]!): void {
    if (!this.#settle(entry, cursor, true)) return;
    if (!this.#durable) return;
    const marks = this.#pendingDelivered.get(cursor);
    if (marks === undefined) this.#pendingDelivered.set(cursor, [entry.n]);
    else marks.push(entry.n);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flushDelivered());
  }

  /** The cursor's transport gives up on an entry: it goes to the quarantine file and is never re-driven by it. */
  markQuarantined(entry: JournalEntry, reason: string, cursor: string = this.#cursorNames[0]!): void {
    if (!this.#settle(entry, cursor, false)) return;
    this.#appendQuarantine(entry, reason, cursor);
    if (this.#durable) this.#writeLazily(Buffer.from(render(this.#cursorRecord({ k: 'q', n: entry.n }, cursor))));
  }

  /** Rewrites the whole live set from memory; on success the journal is durable again. */
  restoreDurability(): boolean {
    if (this.#durable) return true;
    if (this.#closed) return false;
    try {
      this.#fs.mkdirSync(this.#directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      this.#problemDetail = `cannot create ${this.#directory}: ${errnoOf(error)}`;
      return false;
    }
    if (!this.#compact()) return false;
    if (this.#size > this.#maxBytes) {
      this.#fail('full', `live alarms need ${this.#size} bytes, more than journal.maxBytes ${this.#maxBytes}`);
      return false;
    }
    this.#durable = true;
    this.#problem = undefined;
    this.#problemDetail = '';
    this.#logger.info({ code: 'PW_JOURNAL_DURABLE', bytes: this.#size, undelivered: this.undeliveredCount }, 'alarm journal is durable again');
    return true;
  }

  /** Resolves once no fsync is in flight or waiting: before close, so a clean stop loses nothing. */
  synced(): Promise<void> {
    if (this.#syncing === undefined && this.#waitingForSync.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): void {
    this.#flushDelivered();
    this.#closed = true;
    if (this.#fd !== undefined && this.#syncing === undefined) this.#closeQuietly(this.#fd);
    else if (this.#fd !== undefined) this.#retiredFd = this.#fd;
    this.#fd = undefined;
    this.#settleWaiters(this.#waitingForSync.splice(0), false);
  }

  #open(): void {
    try {
      this.#fs.mkdirSync(this.#directory, { recursive: true, mode: 0o700 });
      if (this.#fs.existsSync(join(this.#directory, COMPACT_FILE))) this.#fs.unlinkSync(join(this.#directory, COMPACT_FILE));
      const existed = this.#fs.existsSync(this.#path);
      if (existed) this.#load();
      this.#advanceRestoredSeqs();
      this.#fd = this.#fs.openSync(this.#path, 'a', 0o600);
      this.#size = this.#fs.statSync(this.#path).size;
      this.#sizeAfterCompaction = this.#size;
      this.#durable = true;
      if (!existed || this.#size === 0) {
        if (!this.#write(Buffer.from(render({ k: 'h', v: FORMAT_VERSION })))) return;
        this.#fs.fdatasyncSync(this.#fd);
        this.#syncDirectory();
      }
    } catch (error) {
      this.#fail('open', `${this.#path}: ${errnoOf(error)}`);
      return;
    }
    // A compaction writes the advanced seqs, after which the count starts again from nothing.
    if (this.integrity.corruptRecords > 0 || this.#size > this.#maxBytes / 2 || this.#unjournaled > 0) this.#compact();
    this.#logger.info(
      {
        code: 'PW_JOURNAL_OPENED',
        path: this.#path,
        records: this.integrity.records,
        bytes: this.integrity.bytes,
        activeAlarms: this.restoredAlarms().length,
        undelivered: this.undeliveredCount,
      },
      'alarm journal checked',
    );
  }

  #load(): void {
    const data = this.#fs.readFileSync(this.#path);
    this.integrity.bytes = data.byteLength;
    let offset = 0;
    let goodEnd = 0;
    let badSinceGood = 0;
    while (offset < data.byteLength) {
      const newline = data.indexOf(0x0a, offset);
      if (newline === -1) break;
      const record = parseLine(data.toString('utf8', offset, newline));
      offset = newline + 1;
      if (record === undefined) {
        badSinceGood++;
        continue;
      }
      this.integrity.corruptRecords += badSinceGood;
      badSinceGood = 0;
      goodEnd = offset;
      this.integrity.records++;
      this.#apply(record);
    }
    // Damage after the last good record is a torn tail from a crash mid-append, not corruption.
    this.integrity.tornTailBytes = data.byteLength - goodEnd;
    if (this.integrity.tornTailBytes > 0) {
      const fd = this.#fs.openSync(this.#path, 'r+');
      try {
        this.#fs.ftruncateSync(fd, goodEnd);
        this.#fs.fsyncSync(fd);
      } finally {
        this.#fs.closeSync(fd);
      }
      this.#logger.warn({ code: 'PW_JOURNAL_TORN_TAIL', droppedBytes: this.integrity.tornTailBytes }, 'dropped a half-written record at the end of the alarm journal');
    }
    if (this.integrity.corruptRecords > 0) {
      this.#logger.error({ code: 'PW_JOURNAL_CORRUPT', corruptRecords: this.integrity.corruptRecords }, 'skipped damaged records in the alarm journal');
    }
  }

  #apply(record: JournalRecord): void {
    switch (record.k) {
      case 'e': {
        const entry: JournalEntry = { n: record.n, event: record.e as AlarmEvent, snapshot: record.s };
        this.#nextN = Math.max(this.#nextN, entry.n + 1);
        this.#remember(entry);
        break;
      }
      case 'd':
        for (const n of record.n) this.#settleNumber(n, record.c ?? this.#cursorNames[0]!, true);
        break;
      case 'q':
        this.#settleNumber(record.n, record.c ?? this.#cursorNames[0]!, false);
        break;
      case 'h':
        break;
    }
  }

  #settleNumber(n: number, cursor: string, committed: boolean): void {
    const entry = this.#pending.get(cursor)?.get(n);
    if (entry !== undefined) this.#settle(entry, cursor, committed);
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

  /**
   * An entry left one cursor's pending set (committed or quarantined); false when it was not in it.
   * An ended alarm nobody has left to send is forgotten.
   */
  #settle(entry: JournalEntry, cursor: string, committed: boolean): boolean {
    if (this.#pending.get(cursor)?.delete(entry.n) !== true) return false;
    const alarm = this.#alarms.get(entry.event.alarmId);
    if (alarm === undefined) return true;
    if (committed && (alarm.committed.get(cursor)?.n ?? 0) < entry.n) alarm.committed.set(cursor, entry);
    alarm.pending--;
    if (alarm.pending <= 0 && alarm.latest.snapshot === null) this.#alarms.delete(entry.event.alarmId);
    return true;
  }

  /** Entries pending for any cursor. */
  #liveUndelivered(): Map<number, JournalEntry> {
    if (this.#pending.size === 1) return this.#pending.values().next().value!;
    const union = new Map<number, JournalEntry>();
    for (const pending of this.#pending.values()) for (const [n, entry] of pending) union.set(n, entry);
    return union;
  }

  /** The first cursor's records carry no name, so a journal with one transport reads as format 1 did. */
  #cursorRecord<R extends { k: 'd' | 'q' }>(record: R, cursor: string): R & { c?: string } {
    return cursor === this.#cursorNames[0] ? record : { ...record, c: cursor };
  }

  #write(data: Buffer): boolean {
    if (this.#fd === undefined) return false;
    try {
      this.#writeAll(this.#fd, data);
    } catch (error) {
      this.#rollBack();
      this.#fail(errnoOf(error) === 'ENOSPC' ? 'full' : 'write', `${this.#path}: ${errnoOf(error)}`);
      return false;
    }
    this.#size += data.byteLength;
    return true;
  }

  /** One fsync at a time, covering everything written before it began. */
  #startSync(): void {
    if (this.#syncing !== undefined || this.#waitingForSync.length === 0 || this.#fd === undefined) return;
    const batch = this.#waitingForSync.splice(0);
    const fd = this.#fd;
    this.#syncing = batch;
    this.#fs.fdatasync(fd, (error) => {
      this.#syncing = undefined;
      if (this.#retiredFd === fd) {
        this.#closeQuietly(fd);
        this.#retiredFd = undefined;
      }
      // Compaction settled this batch already, on a file of its own; after close the result still counts.
      if (batch.length > 0 && (fd === this.#fd || this.#fd === undefined)) {
        if (error !== null) {
          // After a failed fsync nothing written since the last good one can be trusted to be on disk.
          this.#fail('fsync', `${this.#path}: ${errnoOf(error)}`);
          this.#settleWaiters(batch, false);
          this.#settleWaiters(this.#waitingForSync.splice(0), false);
        } else {
          this.#settleWaiters(batch, true);
        }
      }
      this.#startSync();
      if (this.#syncing === undefined) for (const idle of this.#idleWaiters.splice(0)) idle();
    });
  }

  #settleWaiters(waiters: ((durable: boolean) => void)[], durable: boolean): void {
    for (const settle of waiters) settle(durable);
    waiters.length = 0;
  }

  #closeQuietly(fd: number): void {
    try {
      this.#fs.closeSync(fd);
    } catch {
      // Closing is best effort: every record that mattered was fsync'd, or reported as not.
    }
  }

  #writeLazily(data: Buffer): void {
    if (this.#fd === undefined) return;
    try {
      this.#writeAll(this.#fd, data);
      this.#size += data.byteLength;
    } catch (error) {
      this.#rollBack();
      this.#fail(errnoOf(error) === 'ENOSPC' ? 'full' : 'write', `${this.#path}: ${errnoOf(error)}`);
    }
  }

  #flushDelivered(): void {
    this.#flushScheduled = false;
    if (this.#pendingDelivered.size === 0) return;
    const delivered = this.#pendingDelivered;
    this.#pendingDelivered = new Map();
    if (!this.#durable) return;
    const records = [...delivered].map(([cursor, n]) => render(this.#cursorRecord({ k: 'd', n }, cursor)));
    this.#writeLazily(Buffer.from(records.join('')));
  }

  #writeAll(fd: number, data: Buffer): void {
    let written = 0;
    while (written < data.byteLength) written += this.#fs.writeSync(fd, data, written, data.byteLength - written);
  }

  /** A partial write must not leave half a record in front of the next one. */
  #rollBack(): void {
    if (this.#fd === undefined) return;
    try {
      this.#fs.ftruncateSync(this.#fd, this.#size);
    } catch {
      // The open-time check drops a torn record anyway; the journal is already marked not durable.
    }
  }

  #compact(): boolean {
    const compactPath = join(this.#directory, COMPACT_FILE);
    const lines: string[] = [render({ k: 'h', v: FORMAT_VERSION })];
    // The live set: the latest event of each alarm still known, what each cursor republishes, and
    // everything pending. An ended alarm is still known while an older event of it is pending
    // (re-drives go newest first); without its `ended` the next open would restore it at that
    // older event's seq, and the manager would reissue seqs stations already hold.
    const live = new Map<number, JournalEntry>();
    for (const alarm of this.#alarms.values()) {
      live.set(alarm.latest.n, alarm.latest);
      if (alarm.latest.snapshot === null) continue;
      for (const committed of alarm.committed.values()) if (committed.snapshot !== null) live.set(committed.n, committed);
    }
    for (const [n, entry] of this.#liveUndelivered()) live.set(n, entry);
    const ordered = [...live.values()].sort((a, b) => a.n - b.n);
    for (const entry of ordered) lines.push(render({ k: 'e', n: entry.n, e: entry.event, s: entry.snapshot }));
    for (const [cursor, pending] of this.#pending) {
      const committed: number[] = [];
      for (const entry of ordered) {
        if (pending.has(entry.n)) continue;
        // Settled but not this cursor's committed state: quarantined, or superseded by a newer commit.
        if (this.#alarms.get(entry.event.alarmId)?.committed.get(cursor) === entry) committed.push(entry.n);
        else lines.push(render(this.#cursorRecord({ k: 'q', n: entry.n }, cursor)));
      }
      if (committed.length > 0) lines.push(render(this.#cursorRecord({ k: 'd', n: committed }, cursor)));
    }
    const data = Buffer.from(lines.join(''));
    let fd: number | undefined;
    try {
      fd = this.#fs.openSync(compactPath, 'w', 0o600);
      this.#writeAll(fd, data);
      this.#fs.fdatasyncSync(fd);
      this.#fs.closeSync(fd);
      fd = undefined;
      this.#fs.renameSync(compactPath, this.#path);
      this.#syncDirectory();
    } catch (error) {
      if (fd !== undefined) {
        try {
          this.#fs.closeSync(fd);
        } catch {
          // already failing; the unlink below is what matters
        }
      }
      try {
        this.#fs.unlinkSync(compactPath);
      } catch {
        // nothing to remove, or the disk refuses even that
      }
      this.#fail(errnoOf(error) === 'ENOSPC' ? 'full' : 'write', `compaction: ${errnoOf(error)}`);
      this.#settleWaiters(this.#waitingForSync, false);
      return false;
    }
    // An fsync in flight on the old file still needs its descriptor; it is closed when it returns.
    if (this.#fd !== undefined && this.#syncing !== undefined) this.#retiredFd = this.#fd;
    else if (this.#fd !== undefined) this.#closeQuietly(this.#fd);
    this.#fd = undefined;
    // The new file holds and has fsync'd every entry, including those still waiting for an fsync.
    if (this.#syncing !== undefined) this.#settleWaiters(this.#syncing, true);
    this.#settleWaiters(this.#waitingForSync, true);
    try {
      this.#fd = this.#fs.openSync(this.#path, 'a', 0o600);
    } catch (error) {
      this.#fail('open', `${this.#path}: ${errnoOf(error)}`);
      return false;
    }
    this.#pendingDelivered = new Map();
    this.#size = data.byteLength;
    this.#sizeAfterCompaction = data.byteLength;
    // The disk holds the whole live set again, every seq the alarms have reached included.
    if (this.#unjournaled > 0) this.#writeUnjournaled(0);
    this.#logger.debug({ code: 'PW_JOURNAL_COMPACTED', bytes: data.byteLength, undelivered: this.undeliveredCount }, 'alarm journal compacted');
    return true;
  }

  /**
   * The previous run may have sent events the disk never got (non-durable while maxBytes was
   * reached or the disk failed) and then stopped. Their alarms are restored at the seq of an older
   * event; every restored alarm moves past all of them, so no seq a station already holds is
   * reissued under a new eventId.
   */
  #advanceRestoredSeqs(): void {
    let text: string;
    try {
      text = this.#fs.readFileSync(join(this.#directory, UNJOURNALED_FILE), 'utf8');
    } catch {
      return;
    }
    const count = Number.parseInt(text.trim(), 10);
    if (!Number.isSafeInteger(count) || count <= 0) return;
    this.#unjournaled = count;
    for (const { latest } of this.#alarms.values()) if (latest.snapshot !== null) latest.snapshot.seq += count;
    this.#logger.warn({ code: 'PW_JOURNAL_SEQ_ADVANCED', unjournaled: count, activeAlarms: this.restoredAlarms().length }, 'the last run sent alarm events its journal may lack: restored alarms continue past them');
  }

  #noteUnjournaled(count: number): void {
    if (this.#closed) return;
    this.#writeUnjournaled(this.#unjournaled + count);
  }

  /** Overwrites the count in place: the file never grows, so a full disk still takes it. */
  #writeUnjournaled(count: number): void {
    this.#unjournaled = count;
    let fd: number | undefined;
    try {
      fd = this.#fs.openSync(join(this.#directory, UNJOURNALED_FILE), this.#fs.existsSync(join(this.#directory, UNJOURNALED_FILE)) ? 'r+' : 'w', 0o600);
      this.#writeAll(fd, Buffer.from(`${String(count).padStart(UNJOURNALED_WIDTH - 1, ' ')}\n`));
    } catch (error) {
      this.#logger.warn({ code: 'PW_JOURNAL_SEQ_WRITE', error: errnoOf(error), unjournaled: count }, 'could not record how many alarm events the journal lacks');
    } finally {
      if (fd !== undefined) this.#closeQuietly(fd);
    }
  }

  #syncDirectory(): void {
    const fd = this.#fs.openSync(this.#directory, 'r');
    try {
      this.#fs.fsyncSync(fd);
    } finally {
      this.#fs.closeSync(fd);
    }
  }

  #appendQuarantine(entry: JournalEntry, reason: string, cursor: string): void {
    const path = join(this.#directory, QUARANTINE_FILE);
    try {
      if (this.#fs.existsSync(path) && this.#fs.statSync(path).size > MAX_QUARANTINE_BYTES) this.#fs.renameSync(path, `${path}.1`);
      const fd = this.#fs.openSync(path, 'a', 0o600);
      try {
        this.#writeAll(fd, Buffer.from(`${JSON.stringify({ quarantinedFor: reason, transport: cursor, event: entry.event })}\n`));
      } finally {
        this.#fs.closeSync(fd);
      }
    } catch (error) {
      this.#logger.warn({ code: 'PW_JOURNAL_QUARANTINE_WRITE', error: errnoOf(error), eventId: entry.event.eventId }, 'quarantined event not written to the quarantine file');
    }
  }

  #fail(kind: JournalProblem, detail: string): void {
    const wasDurable = this.#durable;
    this.#durable = false;
    this.#problem = kind;
    this.#problemDetail = detail;
    if (wasDurable || kind === 'open') {
      this.#logger.error({ code: JOURNAL_PROBLEM_CODES[kind], detail }, 'alarm journal not durable: alarms go out from memory only');
    }
  }
}
