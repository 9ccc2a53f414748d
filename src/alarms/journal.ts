import type { Logger } from '../log.js';
import type { AlarmEvent } from './event.js';
import { JournalIndex } from './journal-index.js';
import { encodeRecord, eventRecord, type JournalEntry } from './journal-record.js';
import { JournalStore, type JournalFs, type JournalIntegrity, type JournalProblem } from './journal-store.js';
import type { AlarmSnapshot, RestoredAlarm } from './manager.js';

export { DEFAULT_CURSOR } from './journal-index.js';
export type { JournalEntry } from './journal-record.js';
export { JOURNAL_FILE, QUARANTINE_FILE, UNJOURNALED_FILE, type JournalFs, type JournalIntegrity, type JournalProblem } from './journal-store.js';

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

/**
 * The durable alarm outbox on local disk: every alarm event is appended and fsync'd before any
 * transport sends it, and stays pending on each transport's cursor until that transport's peer
 * commits it (or it is quarantined); what is pending is handed back after a restart. It is the one
 * owner of the latest event of each alarm and of what each transport has committed, which is what
 * a transport republishes after a reconnect.
 *
 * Three parts: the record format (journal-record.ts: one CRC-32-prefixed JSON line per record, so
 * a torn tail after a crash is detected and dropped, and a damaged record in the middle is skipped
 * and counted), the index in memory (journal-index.ts: latest event per alarm, pending and
 * committed per cursor), and the file store (journal-store.ts: append, group-commit fsync off the
 * event loop, compaction by rename, reload). This class decides when to write, sync and compact.
 *
 * Compaction rewrites the live set (the latest event of each active alarm plus everything
 * undelivered). When the disk fails (full, EIO, read-only) the journal keeps working from memory
 * and reports itself not durable; `restoreDurability` rewrites the live set, including what could
 * not be written, once the disk works again.
 */
export class AlarmJournal {
  readonly #maxBytes: number;
  readonly #logger: Logger;
  readonly #index: JournalIndex;
  readonly #store: JournalStore;
  #pendingDelivered = new Map<string, number[]>();
  #flushScheduled = false;
  /** Events released that the disk may not hold since it last held the whole live set; see UNJOURNALED_FILE. */
  #unjournaled = 0;
  #closed = false;

  private constructor(options: AlarmJournalOptions) {
    this.#maxBytes = options.maxBytes;
    this.#logger = options.logger.child({ component: 'journal' });
    this.#index = new JournalIndex(options.cursors);
    this.#store = new JournalStore({ directory: options.directory, logger: this.#logger, ...(options.fs === undefined ? {} : { fs: options.fs }) });
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

  get integrity(): JournalIntegrity {
    return this.#store.integrity;
  }

  get durable(): boolean {
    return this.#store.durable;
  }

  /** Why the journal is not durable, or undefined when it is. */
  get problem(): { kind: JournalProblem; detail: string } | undefined {
    return this.#store.problem;
  }

  get sizeBytes(): number {
    return this.#store.sizeBytes;
  }

  /** Entries some transport has yet to commit or quarantine. */
  get undeliveredCount(): number {
    return this.#index.undelivered().size;
  }

  get cursorNames(): readonly string[] {
    return this.#index.cursorNames;
  }

  /** The delivery cursor of one transport; throws for a name the journal was not opened with. */
  cursor(name: string): JournalCursor {
    const pending = this.#index.pendingOf(name);
    if (pending === undefined) throw new Error(`journal has no cursor ${name} (has ${this.#index.cursorNames.join(', ')})`);
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
    return this.#index.restoredAlarms();
  }

  /** The newest event of each active alarm the cursor's transport has committed: the state it republishes. */
  committedStates(cursor: string = this.#index.firstCursor): AlarmEvent[] {
    return this.#index.committedStates(cursor);
  }

  /** Everything some transport has not yet committed, oldest first. */
  undelivered(): JournalEntry[] {
    return [...this.#index.undelivered().values()].sort((a, b) => a.n - b.n);
  }

  /** True when `entry` is the newest event of its alarm. */
  isLatest(entry: JournalEntry): boolean {
    return this.#index.isLatest(entry);
  }

  isLatestEvent(event: AlarmEvent): boolean {
    return this.#index.isLatestEvent(event);
  }

  /**
   * Records events as pending for every cursor and writes them. `durable` settles once they are
   * fsync'd (true) or cannot be (false: they live in memory only and the journal is not durable).
   */
  append(items: readonly { event: AlarmEvent; snapshot: AlarmSnapshot | null }[]): { entries: JournalEntry[]; durable: Promise<boolean> } {
    const entries = this.#index.add(items);
    const store = this.#store;
    const notOnDisk = () => {
      this.#noteUnjournaled(entries.length);
      return { entries, durable: Promise.resolve(false) };
    };
    // Closed (a late event of a daemon being reloaded): the file now belongs to the next open.
    if (!store.durable || this.#closed) return notOnDisk();
    this.#flushDelivered();
    const data = Buffer.from(entries.map((entry) => encodeRecord(eventRecord(entry))).join(''));
    if (store.sizeBytes + data.byteLength > this.#maxBytes) {
      // Compaction writes and fsyncs the whole live set, these entries included.
      if (!this.#compact()) return notOnDisk();
      if (store.sizeBytes <= this.#maxBytes) return { entries, durable: Promise.resolve(true) };
      store.fail('full', `live alarms need ${store.sizeBytes} bytes, more than journal.maxBytes ${this.#maxBytes}`);
      return { entries, durable: Promise.resolve(false) };
    }
    if (!store.write(data)) return notOnDisk();
    const durable = store.whenSynced().then((onDisk) => {
      if (!onDisk) this.#noteUnjournaled(entries.length);
      return onDisk;
    });
    if (store.sizeBytes > Math.max(this.#maxBytes / 2, 2 * store.sizeAfterCompaction)) this.#compact();
    else store.startSync();
    return { entries, durable };
  }

  /** Committed by the cursor's transport. Written lazily without fsync: a lost mark only means a re-send. */
  markDelivered(entry: JournalEntry, cursor: string = this.#index.firstCursor): void {
    if (!this.#index.settle(entry, cursor, true)) return;
    if (!this.#store.durable) return;
    const marks = this.#pendingDelivered.get(cursor);
    if (marks === undefined) this.#pendingDelivered.set(cursor, [entry.n]);
    else marks.push(entry.n);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flushDelivered());
  }

  /** The cursor's transport gives up on an entry: it goes to the quarantine file and is never re-driven by it. */
  markQuarantined(entry: JournalEntry, reason: string, cursor: string = this.#index.firstCursor): void {
    if (!this.#index.settle(entry, cursor, false)) return;
    this.#store.appendQuarantine(`${JSON.stringify({ quarantinedFor: reason, transport: cursor, event: entry.event })}\n`, entry.event.eventId);
    if (this.#store.durable) this.#store.writeLazily(Buffer.from(encodeRecord(this.#index.cursorRecord({ k: 'q', n: entry.n }, cursor))));
  }

  /** Rewrites the whole live set from memory; on success the journal is durable again. */
  restoreDurability(): boolean {
    const store = this.#store;
    if (store.durable) return true;
    if (this.#closed) return false;
    if (!store.ensureDirectory()) return false;
    if (!this.#compact()) return false;
    if (store.sizeBytes > this.#maxBytes) {
      store.fail('full', `live alarms need ${store.sizeBytes} bytes, more than journal.maxBytes ${this.#maxBytes}`);
      return false;
    }
    store.markDurable();
    this.#logger.info({ code: 'PW_JOURNAL_DURABLE', bytes: store.sizeBytes, undelivered: this.undeliveredCount }, 'alarm journal is durable again');
    return true;
  }

  /** Resolves once no fsync is in flight or waiting: before close, so a clean stop loses nothing. */
  synced(): Promise<void> {
    return this.#store.synced();
  }

  close(): void {
    this.#flushDelivered();
    this.#closed = true;
    this.#store.close();
  }

  #open(): void {
    const store = this.#store;
    const opened = store.open((record) => this.#index.apply(record));
    this.#advanceRestoredSeqs();
    if (!opened) return;
    // A compaction writes the advanced seqs, after which the count starts again from nothing.
    if (store.integrity.corruptRecords > 0 || store.sizeBytes > this.#maxBytes / 2 || this.#unjournaled > 0) this.#compact();
    this.#logger.info(
      {
        code: 'PW_JOURNAL_OPENED',
        path: store.path,
        records: store.integrity.records,
        bytes: store.integrity.bytes,
        activeAlarms: this.restoredAlarms().length,
        undelivered: this.undeliveredCount,
      },
      'alarm journal checked',
    );
  }

  #flushDelivered(): void {
    this.#flushScheduled = false;
    if (this.#pendingDelivered.size === 0) return;
    const delivered = this.#pendingDelivered;
    this.#pendingDelivered = new Map();
    if (!this.#store.durable) return;
    const records = [...delivered].map(([cursor, n]) => encodeRecord(this.#index.cursorRecord({ k: 'd', n }, cursor)));
    this.#store.writeLazily(Buffer.from(records.join('')));
  }

  /** Writes the index's live set over the file; marks not yet written are in it already. */
  #compact(): boolean {
    if (!this.#store.compact(this.#index.liveRecords())) return false;
    this.#pendingDelivered = new Map();
    // The disk holds the whole live set again, every seq the alarms have reached included.
    if (this.#unjournaled > 0) this.#writeUnjournaled(0);
    this.#logger.debug({ code: 'PW_JOURNAL_COMPACTED', bytes: this.#store.sizeBytes, undelivered: this.undeliveredCount }, 'alarm journal compacted');
    return true;
  }

  /**
   * The previous run may have sent events the disk never got (non-durable while maxBytes was
   * reached or the disk failed) and then stopped. Their alarms are restored at the seq of an older
   * event; every restored alarm moves past all of them, so no seq a station already holds is
   * reissued under a new eventId.
   */
  #advanceRestoredSeqs(): void {
    const count = this.#store.readUnjournaled();
    if (count === 0) return;
    this.#unjournaled = count;
    this.#index.advanceSeqs(count);
    this.#logger.warn({ code: 'PW_JOURNAL_SEQ_ADVANCED', unjournaled: count, activeAlarms: this.restoredAlarms().length }, 'the last run sent alarm events its journal may lack: restored alarms continue past them');
  }

  /**
   * Events the writer released before their fsync returned (the disk was too slow): stations hold
   * them, and a power cut now could take them from the disk. Counted like events never written, so
   * the next start moves past their seqs; if the fsync does land, the cost is a gap in seq.
   */
  noteReleasedBeforeSync(count: number): void {
    this.#noteUnjournaled(count);
  }

  #noteUnjournaled(count: number): void {
    if (this.#closed) return;
    this.#writeUnjournaled(this.#unjournaled + count);
  }

  #writeUnjournaled(count: number): void {
    this.#unjournaled = count;
    this.#store.writeUnjournaled(count);
  }
}
