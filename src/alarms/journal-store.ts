import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { LogCode } from '../log-codes.js';
import type { Logger } from '../log.js';
import { decodeRecord, encodeRecord, headerRecord, type JournalRecord } from './journal-record.js';

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
/** The quarantine file is for engineers to read; past this it is rotated once. */
const MAX_QUARANTINE_BYTES = 1_048_576;

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

export interface JournalStoreOptions {
  directory: string;
  logger: Logger;
  fs?: JournalFs;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * The journal's file on local disk: one JSON-lines file of checksummed records. It appends, fsyncs
 * off the event loop with group commit, rewrites itself from a given set of records (compaction,
 * by write-fsync-rename so a crash leaves one file or the other whole), and reads itself back
 * dropping a torn tail. It knows records, not what they mean; when the disk fails it says so and
 * stays not durable until `markDurable`.
 */
export class JournalStore {
  readonly integrity: JournalIntegrity = { records: 0, tornTailBytes: 0, corruptRecords: 0, bytes: 0 };
  readonly directory: string;
  readonly path: string;
  readonly #logger: Logger;
  readonly #fs: JournalFs;
  #fd: number | undefined;
  #size = 0;
  #sizeAfterCompaction = 0;
  #durable = false;
  #problem: JournalProblem | undefined;
  #problemDetail = '';
  /** Appends covered by the fsync in flight, and those written since it began. */
  #syncing: ((durable: boolean) => void)[] | undefined;
  #waitingForSync: ((durable: boolean) => void)[] = [];
  /** A file descriptor replaced by compaction while an fsync on it was in flight; closed after it. */
  #retiredFd: number | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(options: JournalStoreOptions) {
    this.directory = options.directory;
    this.path = join(options.directory, JOURNAL_FILE);
    this.#logger = options.logger;
    this.#fs = options.fs ?? nodeFs;
  }

  get durable(): boolean {
    return this.#durable;
  }

  get problem(): { kind: JournalProblem; detail: string } | undefined {
    return this.#problem === undefined ? undefined : { kind: this.#problem, detail: this.#problemDetail };
  }

  get sizeBytes(): number {
    return this.#size;
  }

  get sizeAfterCompaction(): number {
    return this.#sizeAfterCompaction;
  }

  /**
   * Opens (or creates) the file, handing every good record to `apply` in order. False when it
   * cannot be opened: the store is then not durable. Never throws.
   */
  open(apply: (record: JournalRecord) => void): boolean {
    try {
      this.#fs.mkdirSync(this.directory, { recursive: true, mode: 0o700 });
      if (this.#fs.existsSync(join(this.directory, COMPACT_FILE))) this.#fs.unlinkSync(join(this.directory, COMPACT_FILE));
      const existed = this.#fs.existsSync(this.path);
      if (existed) this.#load(apply);
      this.#fd = this.#fs.openSync(this.path, 'a', 0o600);
      this.#size = this.#fs.statSync(this.path).size;
      this.#sizeAfterCompaction = this.#size;
      this.#durable = true;
      if (!existed || this.#size === 0) {
        if (!this.write(Buffer.from(encodeRecord(headerRecord())))) return false;
        this.#fs.fdatasyncSync(this.#fd);
        this.#syncDirectory();
      }
    } catch (error) {
      this.fail('open', `${this.path}: ${errnoOf(error)}`);
      return false;
    }
    return true;
  }

  /** Creates the directory again (after it vanished); false, with the reason kept, when it cannot. */
  ensureDirectory(): boolean {
    try {
      this.#fs.mkdirSync(this.directory, { recursive: true, mode: 0o700 });
      return true;
    } catch (error) {
      this.#problemDetail = `cannot create ${this.directory}: ${errnoOf(error)}`;
      return false;
    }
  }

  markDurable(): void {
    this.#durable = true;
    this.#problem = undefined;
    this.#problemDetail = '';
  }

  /** Writes records now, without waiting for an fsync; false (and not durable) when the write fails. */
  write(data: Buffer): boolean {
    if (this.#fd === undefined) return false;
    try {
      this.#writeAll(this.#fd, data);
    } catch (error) {
      this.#rollBack();
      this.fail(errnoOf(error) === 'ENOSPC' ? 'full' : 'write', `${this.path}: ${errnoOf(error)}`);
      return false;
    }
    this.#size += data.byteLength;
    return true;
  }

  /** Settles true once an fsync covering everything written so far has returned, false if it failed. */
  whenSynced(): Promise<boolean> {
    return new Promise<boolean>((resolve) => this.#waitingForSync.push(resolve));
  }

  /** One fsync at a time, covering everything written before it began. */
  startSync(): void {
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
          this.fail('fsync', `${this.path}: ${errnoOf(error)}`);
          this.#settleWaiters(batch, false);
          this.#settleWaiters(this.#waitingForSync.splice(0), false);
        } else {
          this.#settleWaiters(batch, true);
        }
      }
      this.startSync();
      if (this.#syncing === undefined) for (const idle of this.#idleWaiters.splice(0)) idle();
    });
  }

  /** Resolves once no fsync is in flight or waiting. */
  synced(): Promise<void> {
    if (this.#syncing === undefined && this.#waitingForSync.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Writes without an fsync, for records whose loss only means a re-send. */
  writeLazily(data: Buffer): void {
    if (this.#fd === undefined) return;
    try {
      this.#writeAll(this.#fd, data);
      this.#size += data.byteLength;
    } catch (error) {
      this.#rollBack();
      this.fail(errnoOf(error) === 'ENOSPC' ? 'full' : 'write', `${this.path}: ${errnoOf(error)}`);
    }
  }

  /**
   * Replaces the file with a header and `records`, fsync'd and renamed into place. Every append
   * still waiting for its fsync is settled durable by it. False when the disk refused.
   */
  compact(records: readonly JournalRecord[]): boolean {
    const compactPath = join(this.directory, COMPACT_FILE);
    const data = Buffer.from([headerRecord(), ...records].map(encodeRecord).join(''));
    let fd: number | undefined;
    try {
      fd = this.#fs.openSync(compactPath, 'w', 0o600);
      this.#writeAll(fd, data);
      this.#fs.fdatasyncSync(fd);
      this.#fs.closeSync(fd);
      fd = undefined;
      this.#fs.renameSync(compactPath, this.path);
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
      this.fail(errnoOf(error) === 'ENOSPC' ? 'full' : 'write', `compaction: ${errnoOf(error)}`);
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
      this.#fd = this.#fs.openSync(this.path, 'a', 0o600);
    } catch (error) {
      this.fail('open', `${this.path}: ${errnoOf(error)}`);
      return false;
    }
    this.#size = data.byteLength;
    this.#sizeAfterCompaction = data.byteLength;
    return true;
  }

  /** The count in UNJOURNALED_FILE, 0 when there is none. */
  readUnjournaled(): number {
    let text: string;
    try {
      text = this.#fs.readFileSync(join(this.directory, UNJOURNALED_FILE), 'utf8');
    } catch {
      return 0;
    }
    const count = Number.parseInt(text.trim(), 10);
    return Number.isSafeInteger(count) && count > 0 ? count : 0;
  }

  /**
   * Overwrites the count in place: the file never grows, so a full disk still takes it. The count
   * must survive a power cut as well as a crash, but it is written when the disk is already slow
   * or failing, so it is synced off the event loop.
   */
  writeUnjournaled(count: number): void {
    const path = join(this.directory, UNJOURNALED_FILE);
    let fd: number | undefined;
    try {
      const created = !this.#fs.existsSync(path);
      fd = this.#fs.openSync(path, created ? 'w' : 'r+', 0o600);
      this.#writeAll(fd, Buffer.from(`${String(count).padStart(UNJOURNALED_WIDTH - 1, ' ')}\n`));
      if (created) this.#syncDirectory();
    } catch (error) {
      this.#logger.warn({ code: 'PW_JOURNAL_SEQ_WRITE', error: errnoOf(error), unjournaled: count }, 'could not record how many alarm events the journal lacks');
      if (fd !== undefined) this.#closeQuietly(fd);
      return;
    }
    const written = fd;
    this.#fs.fdatasync(written, (error) => {
      this.#closeQuietly(written);
      if (error !== null) this.#logger.warn({ code: 'PW_JOURNAL_SEQ_WRITE', error: errnoOf(error), unjournaled: count }, 'could not record how many alarm events the journal lacks');
    });
  }

  /** Appends one line to the quarantine file (rotated once past its cap) for engineers to read. */
  appendQuarantine(line: string, eventId: string): void {
    const path = join(this.directory, QUARANTINE_FILE);
    try {
      if (this.#fs.existsSync(path) && this.#fs.statSync(path).size > MAX_QUARANTINE_BYTES) this.#fs.renameSync(path, `${path}.1`);
      const fd = this.#fs.openSync(path, 'a', 0o600);
      try {
        this.#writeAll(fd, Buffer.from(line));
      } finally {
        this.#fs.closeSync(fd);
      }
    } catch (error) {
      this.#logger.warn({ code: 'PW_JOURNAL_QUARANTINE_WRITE', error: errnoOf(error), eventId }, 'quarantined event not written to the quarantine file');
    }
  }

  close(): void {
    if (this.#fd !== undefined && this.#syncing === undefined) this.#closeQuietly(this.#fd);
    else if (this.#fd !== undefined) this.#retiredFd = this.#fd;
    this.#fd = undefined;
    this.#settleWaiters(this.#waitingForSync.splice(0), false);
  }

  fail(kind: JournalProblem, detail: string): void {
    const wasDurable = this.#durable;
    this.#durable = false;
    this.#problem = kind;
    this.#problemDetail = detail;
    if (wasDurable || kind === 'open') {
      this.#logger.error({ code: JOURNAL_PROBLEM_CODES[kind], detail }, 'alarm journal not durable: alarms go out from memory only');
    }
  }

  #load(apply: (record: JournalRecord) => void): void {
    const data = this.#fs.readFileSync(this.path);
    this.integrity.bytes = data.byteLength;
    let offset = 0;
    let goodEnd = 0;
    let badSinceGood = 0;
    while (offset < data.byteLength) {
      const newline = data.indexOf(0x0a, offset);
      if (newline === -1) break;
      const record = decodeRecord(data.toString('utf8', offset, newline));
      offset = newline + 1;
      if (record === undefined) {
        badSinceGood++;
        continue;
      }
      this.integrity.corruptRecords += badSinceGood;
      badSinceGood = 0;
      goodEnd = offset;
      this.integrity.records++;
      apply(record);
    }
    // Damage after the last good record is a torn tail from a crash mid-append, not corruption.
    this.integrity.tornTailBytes = data.byteLength - goodEnd;
    if (this.integrity.tornTailBytes > 0) {
      const fd = this.#fs.openSync(this.path, 'r+');
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

  #syncDirectory(): void {
    const fd = this.#fs.openSync(this.directory, 'r');
    try {
      this.#fs.fsyncSync(fd);
    } finally {
      this.#fs.closeSync(fd);
    }
  }
}
