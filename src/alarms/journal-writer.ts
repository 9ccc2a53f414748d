import { systemTimers, type Clock, type Timers } from '../clock.js';
import type { Logger } from '../log.js';
import type { AlarmEvent } from './event.js';
import type { AlarmJournal, JournalEntry } from './journal.js';
import type { AlarmSink, AlarmSnapshot, TechnicalReport } from './manager.js';

/**
 * A healthy fsync takes milliseconds (tens on eMMC). One that takes longer than this must not
 * hold an alarm back: the alarm goes out flagged non-durable, with a storage-failure alarm.
 */
export const FSYNC_TIMEOUT_MS = 1000;
const TICK_MS = 1000;
const DURABILITY_RETRY_MS = 5000;

export interface JournalWriterOptions {
  journal: AlarmJournal;
  logger: Logger;
  clock: Clock;
  /** Gateway-level technical alarms (storage-failure) go back into the alarm manager through this. */
  report: (report: TechnicalReport) => void;
  timers?: Timers;
}

/**
 * Writes every alarm event to the journal once, before any transport may send it, and hands the
 * journaled entries to each transport's outbox. Events arriving together share one fsync. When
 * the journal cannot write, or an fsync takes too long, events are released flagged
 * `durable: false`, with a `storage-failure` technical alarm, until a rewrite of the journal
 * succeeds.
 */
export class JournalWriter implements AlarmSink {
  readonly #options: JournalWriterOptions;
  readonly #logger: Logger;
  readonly #timers: Timers;
  readonly #listeners = new Set<(entries: readonly JournalEntry[]) => void>();
  #batch: { event: AlarmEvent; snapshot: AlarmSnapshot | null }[] = [];
  #tick: unknown;
  #started = false;
  #storageReported: boolean | undefined;
  /** The last fsync took longer than FSYNC_TIMEOUT_MS: storage is failing even if it has not refused. */
  #fsyncSlow = false;
  #lastDurabilityAttemptMs = Number.NEGATIVE_INFINITY;
  #nonDurable = 0;
  #slowFsyncs = 0;

  constructor(options: JournalWriterOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'outbox' });
    this.#timers = options.timers ?? systemTimers;
  }

  get nonDurableCount(): number {
    return this.#nonDurable;
  }

  /** Journal fsyncs that outlasted FSYNC_TIMEOUT_MS, so their events went out before reaching disk. */
  get slowFsyncCount(): number {
    return this.#slowFsyncs;
  }

  /** Called with entries once they are journaled (or given up waiting for the disk). */
  onReleased(listener: (entries: readonly JournalEntry[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#tick = this.#timers.setInterval(() => this.#onTick(), TICK_MS);
    this.#checkStorage();
  }

  stop(): void {
    this.#commit();
    this.#timers.clearInterval(this.#tick);
  }

  /** Events arriving together are journaled with one fsync, before anything is sent. */
  deliver(event: AlarmEvent, snapshot?: AlarmSnapshot): void {
    this.#batch.push({ event, snapshot: snapshot ?? null });
    if (this.#batch.length === 1) queueMicrotask(() => this.#commit());
  }

  #commit(): void {
    if (this.#batch.length === 0) return;
    const items = this.#batch;
    this.#batch = [];
    const { entries, durable } = this.#options.journal.append(items);
    let released = false;
    const timer = this.#timers.setTimeout(() => {
      if (released) return;
      released = true;
      this.#fsyncSlow = true;
      this.#slowFsyncs++;
      this.#options.journal.noteReleasedBeforeSync(entries.length);
      this.#logger.warn({ code: 'PW_JOURNAL_FSYNC_SLOW', waitedMs: FSYNC_TIMEOUT_MS, events: entries.length }, 'fsync is too slow: sending alarms not yet on disk');
      this.#release(entries, false);
    }, FSYNC_TIMEOUT_MS);
    void durable.then((onDisk) => {
      if (onDisk) this.#fsyncSlow = false;
      if (released) {
        this.#checkStorage();
        return;
      }
      released = true;
      this.#timers.clearTimeout(timer);
      this.#release(entries, onDisk);
    });
  }

  #release(entries: readonly JournalEntry[], durable: boolean): void {
    for (const { event } of entries) {
      // Stations must know this alarm would not survive a gateway restart.
      if (!durable) {
        event.durable = false;
        this.#nonDurable++;
      }
      this.#logger.info(
        {
          code: 'PW_ALARM_EVENT',
          eventId: event.eventId,
          alarmId: event.alarmId,
          seq: event.seq,
          event: event.event,
          condition: event.condition,
          priority: event.priority,
          pumpId: event.pumpId,
          channel: event.channel,
          durable,
        },
        `alarm ${event.event}: ${event.condition} on ${event.pumpId}/${event.channel}`,
      );
    }
    this.#checkStorage();
    for (const listener of this.#listeners) listener(entries);
  }

  #onTick(): void {
    const { journal, clock } = this.#options;
    const now = clock.now();
    if (!journal.durable && now - this.#lastDurabilityAttemptMs >= DURABILITY_RETRY_MS) {
      this.#lastDurabilityAttemptMs = now;
      journal.restoreDurability();
      this.#checkStorage();
    }
  }

  #checkStorage(): void {
    const { journal } = this.#options;
    const failing = !journal.durable || this.#fsyncSlow;
    if (failing === this.#storageReported) return;
    this.#storageReported = failing;
    const problem = journal.problem;
    this.#options.report({
      condition: 'storage-failure',
      part: 'journal',
      active: failing,
      evidence: {
        problem: problem?.kind ?? (this.#fsyncSlow ? 'slow-fsync' : null),
        detail: problem?.detail ?? (this.#fsyncSlow ? `fsync took longer than ${FSYNC_TIMEOUT_MS} ms` : null),
        journalBytes: journal.sizeBytes,
      },
    });
  }
}
