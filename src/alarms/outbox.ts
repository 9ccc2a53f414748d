import { systemTimers, type Clock, type Timers } from '../clock.js';
import type { Logger } from '../log.js';
import type { AlarmEvent, AlarmPriority } from './event.js';
import type { AlarmJournal, JournalCursor, JournalEntry } from './journal.js';
import { JournalWriter } from './journal-writer.js';
import type { AlarmSink, AlarmSnapshot, TechnicalReport } from './manager.js';
import type { AlarmTransport, DeliveryOutcome, RefusalDetail } from './transport.js';

export { FSYNC_TIMEOUT_MS } from './journal-writer.js';

/** The technical alarms of one transport's outbox: `part` becomes their channel. */
export interface OutboxLabels {
  linkPart: string;
  quarantinePart: string;
  /** Says where alarms are waiting to go, for the delivery-failure alarm. */
  stalledMessage: string;
}

const DEFAULT_LABELS: OutboxLabels = {
  linkPart: 'link',
  quarantinePart: 'quarantine',
  stalledMessage: 'Alarms from this gateway are waiting to be delivered to the broker: check the gateway network and the broker.',
};

export interface AlarmOutboxOptions {
  journal: AlarmJournal;
  /**
   * Journals events for every transport; an outbox without one makes its own. Several outboxes
   * (one per transport) share one, so each event is written once and each transport sends it.
   */
  writer?: JournalWriter;
  transport: AlarmTransport;
  logger: Logger;
  clock: Clock;
  /** Gateway-level technical alarms go back into the alarm manager through this. */
  report: (report: TechnicalReport) => void;
  /** Events awaiting the peer's commit at once: the one flow-control window of this transport. */
  maxInFlight: number;
  /** Refusals, or connection drops right after sending, before a message is quarantined. */
  maxAttempts: number;
  /** An event undelivered this long raises delivery-failure. */
  stalledAfterMs: number;
  timers?: Timers;
  labels?: OutboxLabels;
  /**
   * Count a connection that drops right after a send against that event (default true): an MQTT
   * broker drops the connection on a packet it rejects. False for a peer that drops for its own
   * reasons, so a flaky peer never gets an event set aside: it is re-sent until committed.
   */
  blameDrops?: boolean;
}

export interface OutboxStats {
  pending: number;
  inFlight: number;
  delivered: number;
  quarantined: number;
  /** Events sent before they were on disk, from the writer this outbox shares. */
  nonDurable: number;
  /** Fsyncs the writer stopped waiting for (storage too slow). */
  slowFsyncs: number;
}

interface Delivery {
  entry: JournalEntry;
  attempts: number;
  enqueuedAtMs: number;
  sentAtMs: number;
}

/**
 * A connection that drops this soon after a message went out may have been dropped because of
 * it (brokers disconnect on a packet they reject); drops later than this are the link's fault.
 */
export const POISON_WINDOW_MS = 1000;
const TICK_MS = 1000;
const RETRY_BACKOFF_MS = 500;
const PRIORITY_INDEX: Record<AlarmPriority, number> = { high: 0, medium: 1, low: 2 };

function describeOutcome(outcome: DeliveryOutcome): RefusalDetail {
  switch (outcome.kind) {
    case 'refused':
    case 'connection-lost':
      return outcome.detail;
    case 'stopped':
      return { code: 'PW_DELIVERY_STOPPED', message: 'the transport stopped' };
    case 'committed':
      return { code: 'PW_DELIVERY_COMMITTED', message: 'committed' };
  }
}

/**
 * The no-loss delivery path of one transport. Every alarm event is journaled (appended and
 * fsync'd, several per fsync when they come together, by the shared `JournalWriter`) before it is
 * handed to the transport, marked delivered on this transport's journal cursor once the peer
 * commits it, and re-driven after a restart or a reconnect, newest high priority first, so a new
 * alarm never waits behind a backlog. Each transport has its own outbox over the same journal.
 *
 * A message that is refused or that keeps dropping the connection right after it is sent is
 * quarantined after `maxAttempts`, with a `delivery-failure` technical alarm, and never holds up
 * the others: suspects are sent one at a time, after everything else.
 */
export class AlarmOutbox implements AlarmSink {
  readonly #options: AlarmOutboxOptions;
  readonly #logger: Logger;
  readonly #timers: Timers;
  readonly #writer: JournalWriter;
  readonly #ownsWriter: boolean;
  readonly #cursor: JournalCursor;
  readonly #labels: OutboxLabels;
  /** Ready to send, one stack per priority: the newest is on top. */
  readonly #ready: Delivery[][] = [[], [], []];
  /** Sent when a connection dropped right after: sent one at a time, after everything else. */
  readonly #suspects: Delivery[] = [];
  /** Everything not yet delivered or quarantined: queued, in flight or waiting to retry. */
  readonly #pending = new Map<number, Delivery>();
  readonly #inFlight = new Set<Delivery>();
  readonly #retryTimers = new Map<Delivery, unknown>();
  #tick: unknown;
  #soloTimer: unknown;
  #solo: Delivery | undefined;
  #started = false;
  #stopped = false;
  #stalledReported: boolean | undefined;
  #quarantineCount = 0;
  readonly #stats = { delivered: 0, quarantined: 0 };
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: AlarmOutboxOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'outbox', transport: options.transport.name });
    this.#timers = options.timers ?? systemTimers;
    this.#labels = options.labels ?? DEFAULT_LABELS;
    this.#cursor = options.journal.cursor(options.transport.name);
    this.#ownsWriter = options.writer === undefined;
    this.#writer =
      options.writer ??
      new JournalWriter({ journal: options.journal, logger: options.logger, clock: options.clock, report: options.report, ...(options.timers === undefined ? {} : { timers: options.timers }) });
    this.#unsubscribe.push(this.#writer.onReleased((entries) => this.#onReleased(entries)));
  }

  stats(): OutboxStats {
    return { ...this.#stats, nonDurable: this.#writer.nonDurableCount, slowFsyncs: this.#writer.slowFsyncCount, pending: this.#pending.size, inFlight: this.#inFlight.size };
  }

  /** Takes over what the journal left undelivered for this transport, then sends whenever it is connected. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { transport } = this.#options;
    const now = this.#options.clock.now();
    for (const entry of this.#cursor.pending()) this.#enqueue({ entry, attempts: 0, enqueuedAtMs: now, sentAtMs: 0 });
    if (this.#cursor.pendingCount > 0) {
      this.#logger.info({ code: 'PW_OUTBOX_REDRIVE', undelivered: this.#cursor.pendingCount }, 're-driving alarm events the last run did not deliver');
    }
    this.#unsubscribe.push(transport.onConnected(() => this.#onConnected()));
    this.#tick = this.#timers.setInterval(() => this.#checkStalled(), TICK_MS);
    this.#writer.start();
    this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#ownsWriter) this.#writer.stop();
    this.#timers.clearInterval(this.#tick);
    this.#timers.clearTimeout(this.#soloTimer);
    for (const timer of this.#retryTimers.values()) this.#timers.clearTimeout(timer);
    this.#retryTimers.clear();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  /** Journals the event (through the shared writer) for every transport. */
  deliver(event: AlarmEvent, snapshot?: AlarmSnapshot): void {
    this.#writer.deliver(event, snapshot);
  }

  /** Journaled, or given up waiting for the disk: now the events may go out. */
  #onReleased(entries: readonly JournalEntry[]): void {
    if (!this.#started) return;
    const now = this.#options.clock.now();
    for (const entry of entries) this.#enqueue({ entry, attempts: 0, enqueuedAtMs: now, sentAtMs: 0 });
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
    delivery.sentAtMs = this.#options.clock.now();
    this.#inFlight.add(delivery);
    void this.#options.transport.deliver(delivery.entry.event).then((outcome) => {
      this.#inFlight.delete(delivery);
      if (outcome.kind === 'committed') this.#onCommitted(delivery);
      else this.#onFailed(delivery, outcome);
    });
  }

  #onCommitted(delivery: Delivery): void {
    this.#pending.delete(delivery.entry.n);
    this.#cursor.markDelivered(delivery.entry);
    this.#stats.delivered++;
    this.#endSolo(delivery);
    this.#pump();
  }

  #onFailed(delivery: Delivery, outcome: Exclude<DeliveryOutcome, { kind: 'committed' }>): void {
    if (this.#stopped) return;
    const { maxAttempts } = this.#options;
    if (outcome.kind === 'refused' && outcome.refusal === 'invalid') {
      this.#quarantine(delivery, outcome.detail);
      this.#endSolo(delivery);
      return;
    }
    if (outcome.kind === 'connection-lost') {
      if (this.#options.blameDrops !== false && this.#options.clock.now() - delivery.sentAtMs <= POISON_WINDOW_MS) delivery.attempts++;
    } else if (outcome.kind === 'refused') {
      delivery.attempts++;
      const { code, reason, message } = outcome.detail;
      this.#logger.warn({ code, reasonCode: reason, eventId: delivery.entry.event.eventId, attempts: delivery.attempts, error: message }, 'alarm event refused');
    }
    if (delivery.attempts >= maxAttempts) {
      this.#quarantine(delivery, describeOutcome(outcome));
      this.#endSolo(delivery);
      return;
    }
    if (outcome.kind === 'refused') {
      // The peer refused it: give it a moment, and let everything else go first meanwhile.
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

  #quarantine(delivery: Delivery, detail: RefusalDetail): void {
    const { entry } = delivery;
    const { event } = entry;
    const { code, reason, message } = detail;
    this.#pending.delete(entry.n);
    this.#cursor.markQuarantined(entry, `${code}${reason === undefined ? '' : ` reason ${reason}`}: ${message}`);
    this.#stats.quarantined++;
    this.#quarantineCount++;
    this.#logger.error(
      { code: 'PW_ALARM_QUARANTINED', cause: code, reasonCode: reason, eventId: event.eventId, alarmId: event.alarmId, condition: event.condition, pumpId: event.pumpId, attempts: delivery.attempts, error: message },
      'alarm event quarantined: it cannot be delivered and no longer holds up the others',
    );
    // A delivery-failure alarm about itself would only be quarantined in turn.
    if (event.condition === 'delivery-failure') return;
    this.#options.report({
      condition: 'delivery-failure',
      part: this.#labels.quarantinePart,
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
        reasonCode: reason ?? null,
        attempts: delivery.attempts,
      },
    });
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
      part: this.#labels.linkPart,
      active: stalled,
      message: this.#labels.stalledMessage,
      evidence: { undelivered: this.#pending.size, oldestWaitingSeconds: stalled ? Math.round((now - oldestMs) / 1000) : 0, connected: this.#options.transport.connected },
    });
  }
}
