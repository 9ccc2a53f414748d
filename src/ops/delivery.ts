import type { AlarmJournal } from '../alarms/journal.js';
import type { AlarmOutbox, AlarmTransport } from '../alarms/outbox.js';
import type { Clock } from '../clock.js';
import { MqttError } from '../mqtt/errors.js';
import type { JournalStatus } from './metrics.js';

export interface DeliveryObserver {
  /** The broker acknowledged an event `latencyMs` after it was emitted. */
  acknowledged(latencyMs: number): void;
  failed(code: string): void;
}

/**
 * The outbox's transport with every send timed: from the event's `emittedAt` to the broker's
 * PUBACK, so time spent waiting in the journal while the broker was away counts too.
 */
export function observeDeliveries(transport: AlarmTransport, observer: DeliveryObserver, clock: Clock): AlarmTransport {
  return {
    get connected() {
      return transport.connected;
    },
    checkEvent: (event) => transport.checkEvent(event),
    setRetainedState: (event) => transport.setRetainedState(event),
    onConnected: (listener) => transport.onConnected(listener),
    async sendEvent(event, options) {
      try {
        const result = await transport.sendEvent(event, options);
        observer.acknowledged(clock.now() - Date.parse(event.emittedAt));
        return result;
      } catch (error) {
        observer.failed(error instanceof MqttError ? error.code : 'PW_DELIVERY_FAILED');
        throw error;
      }
    },
  };
}

/** Backlog of the journal for metrics: what waits, and since when it was emitted. */
export function journalStatus(outbox: Pick<AlarmOutbox, 'stats'>, journal: Pick<AlarmJournal, 'undelivered'>, clock: Clock): JournalStatus {
  const oldest = journal.undelivered()[0];
  return {
    depth: outbox.stats().pending,
    oldestUndeliveredAgeMs: oldest === undefined ? undefined : Math.max(0, clock.now() - Date.parse(oldest.event.emittedAt)),
  };
}
