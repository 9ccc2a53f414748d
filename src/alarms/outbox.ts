import { systemTimers, type Clock, type Timers } from '../clock.js';
import type { LogCode } from '../log-codes.js';
import type { Logger } from '../log.js';
import { MqttError } from '../mqtt/errors.js';
import type { AlarmEvent, AlarmPriority } from './event.js';
import type { AlarmJournal, JournalEntry } from './journal.js';
import type { AlarmSink, AlarmSnapshot, TechnicalReport } from './manager.js';

/** What the outbox needs from the MQTT edge; `MqttAlarmPublisher` is the real one. */
export interface AlarmTransport {
  readonly connected: boolean;
  /** Throws for an event that could never be published (bad topic, too large). */
  checkEvent(event: AlarmEvent): void;
  /** What a reconnect republishes for the event's alarm: set only once the broker has taken it. */
  setRetainedState(event: AlarmEvent): void;
  sendEvent(event: AlarmEvent, options: { retained: boolean }): Promise<{ streamed: boolean }>;
  onConnected(listener: () => void): () => void;
}

export interface AlarmOutboxOptions {
  journal: AlarmJournal;
  transport: AlarmTransport;
  logger: Logger;
  clock: Clock;
  /** Gateway-level technical alarms go back into the alarm manager through this. */
  report: (report: TechnicalReport) => void;
  /** Events awaiting PUBACK at once. */
  maxInFlight: number;
  /** Refusals, or connection drops right after sending, before a message is quarantined. */
  maxAttempts: number;
  /** An event undelivered this long raises delivery-failure. */
  stalledAfterMs: number;
  timers?: Timers;
}

export interface OutboxStats {
  pending: number;
  inFlight: number;
  delivered: number;
  quarantined: number;
  expired: number;
  nonDurable: number;
}

interface Delivery {
  entry: JournalEntry;
  /** Sent to the retained alarm topic too (it was the newest event of its alarm). */
  retained: boolean;
  attempts: number;
  enqueuedAtMs: number;
  sentAtMs: number;
}

/**
 * A connection that drops this soon after a message went out may have been dropped because of
 * it (brokers disconnect on a packet they reject); drops later than this are the link's fault.
 */
export const POISON_WINDOW_MS = 1000;
/**
 * A healthy fsync takes milliseconds (tens on eMMC). One that takes longer than this must not
 * hold an alarm back: the alarm goes out flagged non-durable, with a storage-failure alarm.
 */
export const FSYNC_TIMEOUT_MS = 1000;
const TICK_MS = 1000;
const RETRY_BACKOFF_MS = 500;
const DURABILITY_RETRY_MS = 5000;
const PRIORITY_INDEX: Record<AlarmPriority, number> = { high: 0, medium: 1, low: 2 };

function describeError(error: unknown): { code: LogCode; reasonCode: number | undefined; message: string } {
  if (error instanceof MqttError) return { code: error.code, reasonCode: error.reasonCode, message: error.message };
  return { code: 'PW_DELIVERY_FAILED', reasonCode: undefined, message: error instanceof Error ? error.message : String(error) };
}

/**
 * The no-loss delivery path. Every alarm event is journaled (appended and fsync'd, several per
 * fsync when they come together) before it is handed to the transport, marked delivered on
 * PUBACK, and re-driven after a restart or a reconnect, newest high priority first, so a new alarm
 * never waits behind a backlog.
 *
 * A message that is refused (MQTT 5 reason code) or that keeps dropping the connection right after
 * it is sent is quarantined after `maxAttempts`, with a `delivery-failure` technical alarm, and
 * never holds up the others: suspects are sent one at a time, after everything else. When the
 * journal cannot write, events still go out flagged `durable: false`, with a `storage-failure`
 * technical alarm, until a rewrite of the journal succeeds.
 */
export class AlarmOutbox implements AlarmSink {
  readonly #options: AlarmOutboxOptions;
  readonly #logger: Logger;
  readonly #timers: Timers;
  /** Ready to send, one stack per priority: the newest is on top. */
  readonly #ready: Delivery[][] = [[], [], []];
  /** Sent when a connection dropped right after: sent one at a time, after everything else. */
  readonly #suspects: Delivery[] = [];
  /** Everything not yet delivered or quarantined: queued, in flight or waiting to retry. */
  readonly #pending = new Map<number, Delivery>();
  readonly #inFlight = new Set<Delivery>();
  readonly #retryTimers = new Map<Delivery, unknown>();
  #batch: { event: AlarmEvent; snapshot: AlarmSnapshot | null }[] = [];
  #tick: unknown;
  #soloTimer: unknown;
  #solo: Delivery | undefined;
  #started = false;
  #stopped = false;
  #stalledReported: boolean | undefined;
  #storageReported: boolean | undefined;
  /** The last fsync took longer than FSYNC_TIMEOUT_MS: storage is failing even if it has not refused. */
  #fsyncSlow = false;
  #lastDurabilityAttemptMs = Number.NEGATIVE_INFINITY;
  #quarantineCount = 0;
  readonly #stats: Omit<OutboxStats, 'pending' | 'inFlight'> = { delivered: 0, quarantined: 0, expired: 0, nonDurable: 0 };
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: AlarmOutboxOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'outbox' });
    this.#timers = options.timers ?? systemTimers;
  }

  stats(): OutboxStats {
    return { ...this.#stats, pending: this.#pending.size, inFlight: this.#inFlight.size };
  }

  /** Takes over what the journal left undelivered, then sends whenever the transport is connected. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { journal, transport } = this.#options;
    const now = this.#options.clock.now();
    // What the broker accepted before the restart is what a reconnect must show again.
    for (const event of journal.deliveredStates()) transport.setRetainedState(event);
    for (const entry of journal.undelivered()) this.#enqueue({ entry, retained: false, attempts: 0, enqueuedAtMs: now, sentAtMs: 0 });
    if (journal.undeliveredCount > 0) {
      this.#logger.info({ code: 'PW_OUTBOX_REDRIVE', undelivered: journal.undeliveredCount }, 're-driving alarm events the last run did not deliver');
    }
    this.#unsubscribe.push(transport.onConnected(() => this.#onConnected()));
    this.#tick = this.#timers.setInterval(() => this.#onTick(), TICK_MS);
    this.#checkStorage();
    this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    this.#commit();
    this.#timers.clearInterval(this.#tick);
    this.#timers.clearTimeout(this.#soloTimer);
    for (const timer of this.#retryTimers.values()) this.#timers.clearTimeout(timer);
    this.#retryTimers.clear();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
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

  /** Journaled, or given up waiting for the disk: now the events may go out. */
  #release(entries: readonly JournalEntry[], durable: boolean): void {
    const now = this.#options.clock.now();
    for (const entry of entries) {
      const { event } = entry;
      // Stations must know this alarm would not survive a gateway restart.
      if (!durable) {
        event.durable = false;
        this.#stats.nonDurable++;
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
      if (this.#started) this.#enqueue({ entry, retained: false, attempts: 0, enqueuedAtMs: now, sentAtMs: 0 });
    }
    this.#checkStorage();
    this.#pump();
  }

  #enqueue(delivery: Delivery): void {
    this.#pending.set(delivery.entry.n, delivery);
    if (delivery.attempts > 0) this.#suspects.push(delivery);
    else this.#ready[PRIORITY_INDEX[delivery.entry.event.priority]]!.push(delivery);
  }

  /** After a reconnect everything waiting is ordered afresh: by priority, newest on top. */
  #onConnected(): void {
    for (const stack of this.#ready) stack.sort((a, b) => a.entry.n - b.entry.n);
    this.#pump();
  }

  #pump(): void {
    const { transport, maxInFlight } = this.#options;
    while (!this.#stopped && this.#started && transport.connected && this.#solo === undefined && this.#inFlight.size < maxInFlight) {
      const next = this.#ready[0]!.pop() ?? this.#ready[1]!.pop() ?? this.#ready[2]!.pop();
      if (next !== undefined) {
        this.#send(next);
        continue;
      }
      if (this.#suspects.length > 0 && this.#inFlight.size === 0) {
        const suspect = this.#suspects.shift()!;
        this.#solo = suspect;
        // Alone on the link, a suspect shows whether it is what drops the connection.
        this.#soloTimer = this.#timers.setTimeout(() => this.#endSolo(suspect), POISON_WINDOW_MS);
        this.#send(suspect);
      }
      return;
    }
  }

  #endSolo(delivery: Delivery): void {
    if (this.#solo !== delivery) return;
    this.#solo = undefined;
    this.#timers.clearTimeout(this.#soloTimer);
    this.#pump();
  }

  #send(delivery: Delivery): void {
    const { transport, journal } = this.#options;
    const { entry } = delivery;
    try {
      transport.checkEvent(entry.event);
    } catch (error) {
      this.#quarantine(delivery, error);
      this.#endSolo(delivery);
      return;
    }
    delivery.sentAtMs = this.#options.clock.now();
    delivery.retained = journal.isLatest(entry);
    this.#inFlight.add(delivery);
    transport.sendEvent(entry.event, { retained: delivery.retained }).then(
      (result) => this.#onDelivered(delivery, result.streamed),
      (error: unknown) => this.#onFailed(delivery, error),
    );
  }

  #onDelivered(delivery: Delivery, streamed: boolean): void {
    const { journal, transport } = this.#options;
    this.#inFlight.delete(delivery);
    this.#pending.delete(delivery.entry.n);
    // Only state the broker took is republished on reconnect: a quarantined poison never is.
    if (delivery.retained && journal.isLatest(delivery.entry)) transport.setRetainedState(delivery.entry.event);
    journal.markDelivered(delivery.entry);
    this.#stats.delivered++;
    if (!streamed) {
      this.#stats.expired++;
      this.#logger.warn({ code: 'PW_ALARM_EVENT_EXPIRED', eventId: delivery.entry.event.eventId, emittedAt: delivery.entry.event.emittedAt }, 'alarm event too old for the event stream; only its retained state was sent');
    }
    this.#endSolo(delivery);
    this.#pump();
  }

  #onFailed(delivery: Delivery, error: unknown): void {
    this.#inFlight.delete(delivery);
    if (this.#stopped) return;
    const { code, reasonCode, message } = describeError(error);
    const { maxAttempts } = this.#options;
    const now = this.#options.clock.now();
    if (code === 'PW_MQTT_CONNECTION_LOST') {
      if (now - delivery.sentAtMs <= POISON_WINDOW_MS) delivery.attempts++;
    } else if (code !== 'PW_MQTT_STOPPED') {
      delivery.attempts++;
      this.#logger.warn({ code, reasonCode, eventId: delivery.entry.event.eventId, attempts: delivery.attempts, error: message }, 'alarm event refused');
    }
    if (delivery.attempts >= maxAttempts) {
      this.#quarantine(delivery, error);
      this.#endSolo(delivery);
      return;
    }
    if (code === 'PW_MQTT_PUBLISH_FAILED') {
      // The broker refused it: give it a moment, and let everything else go first meanwhile.
      const timer = this.#timers.setTimeout(() => {
        this.#retryTimers.delete(delivery);
        this.#enqueue(delivery);
        this.#pump();
      }, RETRY_BACKOFF_MS * delivery.attempts);
      this.#retryTimers.set(delivery, timer);
    } else {
      this.#enqueue(delivery);
    }
    this.#endSolo(delivery);
    this.#pump();
  }

  #quarantine(delivery: Delivery, error: unknown): void {
    const { entry } = delivery;
    const { event } = entry;
    const { code, reasonCode, message } = describeError(error);
    this.#pending.delete(entry.n);
    this.#options.journal.markQuarantined(entry, `${code}${reasonCode === undefined ? '' : ` reason ${reasonCode}`}: ${message}`);
    this.#stats.quarantined++;
    this.#quarantineCount++;
    this.#logger.error(
      { code: 'PW_ALARM_QUARANTINED', cause: code, reasonCode, eventId: event.eventId, alarmId: event.alarmId, condition: event.condition, pumpId: event.pumpId, attempts: delivery.attempts, error: message },
      'alarm event quarantined: it cannot be delivered and no longer holds up the others',
    );
    // A delivery-failure alarm about itself would only be quarantined in turn.
    if (event.condition === 'delivery-failure') return;
    this.#options.report({
      condition: 'delivery-failure',
      part: 'quarantine',
      active: true,
      oneShot: true,
      message: 'An alarm from this gateway could not be delivered and was set aside: check the gateway log and its quarantine file.',
      evidence: {
        quarantined: this.#quarantineCount,
        eventId: event.eventId,
        alarmId: event.alarmId,
        failedCondition: event.condition,
        failedPumpId: event.pumpId,
        failedChannel: event.channel,
        errorCode: code,
        reasonCode: reasonCode ?? null,
        attempts: delivery.attempts,
      },
    });
  }

  #onTick(): void {
    this.#checkStalled();
    const { journal, clock } = this.#options;
    const now = clock.now();
    if (!journal.durable && now - this.#lastDurabilityAttemptMs >= DURABILITY_RETRY_MS) {
      this.#lastDurabilityAttemptMs = now;
      journal.restoreDurability();
      this.#checkStorage();
    }
  }

  #checkStalled(): void {
    const now = this.#options.clock.now();
    let oldestMs = Number.POSITIVE_INFINITY;
    for (const delivery of this.#pending.values()) oldestMs = Math.min(oldestMs, delivery.enqueuedAtMs);
    const stalled = now - oldestMs > this.#options.stalledAfterMs;
    // The first check always reports, so an alarm restored from the last run is confirmed or ended.
    if (stalled === this.#stalledReported) return;
    this.#stalledReported = stalled;
    this.#options.report({
      condition: 'delivery-failure',
      part: 'link',
      active: stalled,
      message: 'Alarms from this gateway are waiting to be delivered to the broker: check the gateway network and the broker.',
      evidence: { undelivered: this.#pending.size, oldestWaitingSeconds: stalled ? Math.round((now - oldestMs) / 1000) : 0, connected: this.#options.transport.connected },
    });
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
