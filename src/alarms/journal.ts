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
const COMPACT_FILE = 'journal.jsonl.compact';
const FORMAT_VERSION = 1;
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
}

interface AlarmRecord {
  latest: JournalEntry;
  /** Undelivered entries of this alarm; the record goes once it has ended and all are delivered. */
  undelivered: number;
}

type JournalRecord =
  | { k: 'h'; v: number }
  | { k: 'e'; n: number; e: unknown; s: AlarmSnapshot | null }
  | { k: 'd'; n: number[] }
  | { k: 'q'; n: number };

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
  const record = value as { k?: unknown; n?: unknown; e?: unknown };
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
 * The durable alarm outbox on local disk: every alarm event is appended and fsync'd before it is
 * published, marked delivered on PUBACK, and what is not delivered is handed back after a restart.
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
  readonly #undelivered = new Map<number, JournalEntry>();
  #pendingDelivered: number[] = [];
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

  private constructor(options: AlarmJournalOptions) {
    this.#directory = options.directory;
    this.#path = join(options.directory, JOURNAL_FILE);
    this.#maxBytes = options.maxBytes;
    this.#logger = options.logger.child({ component: 'journal' });
    this.#fs = options.fs ?? nodeFs;
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

  get undeliveredCount(): number {
    return this.#undelivered.size;
  }

  /** Active alarms as the previous run left them, for the alarm manager. */
  restoredAlarms(): RestoredAlarm[] {
    const restored: RestoredAlarm[] = [];
    for (const { latest } of this.#alarms.values()) {
      if (latest.snapshot !== null) restored.push({ snapshot: latest.snapshot, latest: latest.event });
    }
    return restored;
  }

  /** The newest event of each active alarm, where the broker has taken it: the retained state to restore. */
  deliveredStates(): AlarmEvent[] {
    const events: AlarmEvent[] = [];
    for (const { latest } of this.#alarms.values()) {
      if (latest.snapshot !== null && !this.#undelivered.has(latest.n)) events.push(latest.event);
    }
    return events;
  }

  /** Everything not yet delivered, oldest first. */
  undelivered(): JournalEntry[] {
    return [...this.#undelivered.values()];
  }

  /** True when `entry` is the newest event of its alarm: only that one may set the retained state. */
  isLatest(entry: JournalEntry): boolean {
    return this.#alarms.get(entry.event.alarmId)?.latest.n === entry.n;
  }

  /**
   * Records events as undelivered and writes them. `durable` settles once they are fsync'd (true)
   * or cannot be (false: they live in memory only and the journal is not durable).
   */
  append(items: readonly { event: AlarmEvent; snapshot: AlarmSnapshot | null }[]): { entries: JournalEntry[]; durable: Promise<boolean> } {
    const entries = items.map(({ event, snapshot }) => ({ n: this.#nextN++, event, snapshot }));
    for (const entry of entries) this.#remember(entry);
    if (!this.#durable) return { entries, durable: Promise.resolve(false) };
    this.#flushDelivered();
    const data = Buffer.from(entries.map((entry) => render({ k: 'e', n: entry.n, e: entry.event, s: entry.snapshot })).join(''));
    if (this.#size + data.byteLength > this.#maxBytes) {
      // Compaction writes and fsyncs the whole live set, these entries included.
      if (!this.#compact()) return { entries, durable: Promise.resolve(false) };
      if (this.#size <= this.#maxBytes) return { entries, durable: Promise.resolve(true) };
      this.#fail('full', `live alarms need ${this.#size} bytes, more than journal.maxBytes ${this.#maxBytes}`);
      return { entries, durable: Promise.resolve(false) };
    }
    if (!this.#write(data)) return { entries, durable: Promise.resolve(false) };
    const durable = new Promise<boolean>((resolve) => this.#waitingForSync.push(resolve));
    if (this.#size > Math.max(this.#maxBytes / 2, 2 * this.#sizeAfterCompaction)) this.#compact();
    else this.#startSync();
    return { entries, durable };
  }

  /** PUBACK'd: no longer re-driven. Written lazily without fsync: a lost mark only means a re-send. */
  markDelivered(entry: JournalEntry): void {
    if (!this.#undelivered.delete(entry.n)) return;
    this.#settle(entry);
    if (!this.#durable) return;
    this.#pendingDelivered.push(entry.n);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flushDelivered());
  }

  /** Gives up on an entry: it moves to the quarantine file for engineers and is never re-driven. */
  markQuarantined(entry: JournalEntry, reason: string): void {
    if (!this.#undelivered.delete(entry.n)) return;
    this.#settle(entry);
    this.#appendQuarantine(entry, reason);
    if (this.#durable) this.#writeLazily(Buffer.from(render({ k: 'q', n: entry.n })));
  }

  /** Rewrites the whole live set from memory; on success the journal is durable again. */
  restoreDurability(): boolean {
    if (this.#durable) return true;
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
    this.#logger.info({ code: 'PW_JOURNAL_DURABLE', bytes: this.#size, undelivered: this.#undelivered.size }, 'alarm journal is durable again');
    return true;
  }

  /** Resolves once no fsync is in flight or waiting: before close, so a clean stop loses nothing. */
  synced(): Promise<void> {
    if (this.#syncing === undefined && this.#waitingForSync.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): void {
    this.#flushDelivered();
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
    if (this.integrity.corruptRecords > 0 || this.#size > this.#maxBytes / 2) this.#compact();
    this.#logger.info(
      {
        code: 'PW_JOURNAL_OPENED',
        path: this.#path,
        records: this.integrity.records,
        bytes: this.integrity.bytes,
        activeAlarms: this.restoredAlarms().length,
        undelivered: this.#undelivered.size,
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
        for (const n of record.n) {
          const entry = this.#undelivered.get(n);
          if (entry !== undefined && this.#undelivered.delete(n)) this.#settle(entry);
        }
        break;
      case 'q': {
        const entry = this.#undelivered.get(record.n);
        if (entry !== undefined && this.#undelivered.delete(record.n)) this.#settle(entry);
        break;
      }
      case 'h':
        break;
    }
  }

  #remember(entry: JournalEntry): void {
    if (this.#undelivered.has(entry.n)) return;
    this.#undelivered.set(entry.n, entry);
    const alarm = this.#alarms.get(entry.event.alarmId);
    if (alarm === undefined) this.#alarms.set(entry.event.alarmId, { latest: entry, undelivered: 1 });
    else {
      if (entry.n > alarm.latest.n) alarm.latest = entry;
      alarm.undelivered++;
    }
  }

  /** An entry left the undelivered set; an ended alarm with nothing left to send is forgotten. */
  #settle(entry: JournalEntry): void {
    const alarm = this.#alarms.get(entry.event.alarmId);
    if (alarm === undefined) return;
    alarm.undelivered--;
    if (alarm.undelivered <= 0 && alarm.latest.snapshot === null) this.#alarms.delete(entry.event.alarmId);
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
    if (this.#pendingDelivered.length === 0) return;
    const delivered = this.#pendingDelivered;
    this.#pendingDelivered = [];
    if (this.#durable) this.#writeLazily(Buffer.from(render({ k: 'd', n: delivered })));
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
    const delivered: number[] = [];
    for (const { latest } of this.#alarms.values()) {
      if (latest.snapshot === null || this.#undelivered.has(latest.n)) continue;
      lines.push(render({ k: 'e', n: latest.n, e: latest.event, s: latest.snapshot }));
      delivered.push(latest.n);
    }
    if (delivered.length > 0) lines.push(render({ k: 'd', n: delivered }));
    for (const entry of this.#undelivered.values()) lines.push(render({ k: 'e', n: entry.n, e: entry.event, s: entry.snapshot }));
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
    this.#pendingDelivered = [];
    this.#size = data.byteLength;
    this.#sizeAfterCompaction = data.byteLength;
    this.#logger.debug({ code: 'PW_JOURNAL_COMPACTED', bytes: data.byteLength, undelivered: this.#undelivered.size }, 'alarm journal compacted');
    return true;
  }

  #syncDirectory(): void {
    const fd = this.#fs.openSync(this.#directory, 'r');
    try {
      this.#fs.fsyncSync(fd);
    } finally {
      this.#fs.closeSync(fd);
    }
  }

  #appendQuarantine(entry: JournalEntry, reason: string): void {
    const path = join(this.#directory, QUARANTINE_FILE);
    try {
      if (this.#fs.existsSync(path) && this.#fs.statSync(path).size > MAX_QUARANTINE_BYTES) this.#fs.renameSync(path, `${path}.1`);
      const fd = this.#fs.openSync(path, 'a', 0o600);
      try {
        this.#writeAll(fd, Buffer.from(`${JSON.stringify({ quarantinedFor: reason, event: entry.event })}\n`));
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
