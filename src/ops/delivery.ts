import type { AlarmJournal } from '../alarms/journal.js';
import type { AlarmOutbox } from '../alarms/outbox.js';
import type { AlarmTransport } from '../alarms/transport.js';
import type { Clock } from '../clock.js';
import type { JournalStatus } from './metrics.js';

export interface DeliveryObserver {
  /** The peer committed an event `latencyMs` after it was emitted. */
  acknowledged(latencyMs: number): void;
  failed(code: string): void;
}

/**
 * A transport with every delivery timed: from the event's `emittedAt` to the peer's commit
 * (PUBACK, HL7 commit accept), so time spent waiting in the journal while the peer was away
 * counts too. Refusals and lost connections are counted by the code the transport gave.
 */
export function observeDeliveries(transport: AlarmTransport, observer: DeliveryObserver, clock: Clock): AlarmTransport {
  return {
    name: transport.name,
    get connected() {
      return transport.connected;
    },
    onConnected: (listener) => transport.onConnected(listener),
    async deliver(event) {
      const outcome = await transport.deliver(event);
      if (outcome.kind === 'committed') observer.acknowledged(clock.now() - Date.parse(event.emittedAt));
      else if (outcome.kind !== 'stopped') observer.failed(outcome.detail.code);
      return outcome;
    },
  };
}

/** Backlog of the journal for metrics: what waits, and since when it was emitted. */
export function journalStatus(outbox: Pick<AlarmOutbox, 'stats'>, journal: Pick<AlarmJournal, 'undelivered'>, clock: Clock): JournalStatus {
  const oldest = journal.undelivered()[0];
  const stats = outbox.stats();
  return {
    depth: stats.pending,
    oldestUndeliveredAgeMs: oldest === undefined ? undefined : Math.max(0, clock.now() - Date.parse(oldest.event.emittedAt)),
    nonDurableEvents: stats.nonDurable,
    slowFsyncs: stats.slowFsyncs,
  };
}
