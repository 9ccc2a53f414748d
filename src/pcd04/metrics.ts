import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutboxStats } from '../alarms/outbox.js';
import type { Pcd04Counters } from './reporter.js';

export interface Pcd04MetricsSource {
  readonly counters: Pcd04Counters;
  readonly connected: boolean;
  stats(): OutboxStats;
}

/** The PCD-04 side's metrics, read at scrape time from the reporter's counters and its outbox. */
export function registerPcd04Metrics(registry: Registry, source: Pcd04MetricsSource): void {
  const registers = [registry];
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter('pumpwatch_pcd04_events_delivered_total', 'Alarm events the Alert Manager committed (MSA-1 CA or AA).', () => source.stats().delivered);
  counter('pumpwatch_pcd04_refusals_total', 'PCD-04 messages the Alert Manager refused (CE, CR, AE, AR); each is retried.', () => source.counters.refused);
  counter('pumpwatch_pcd04_events_quarantined_total', 'Alarm events set aside after pcd04.maxAttempts refusals.', () => source.stats().quarantined);
  counter('pumpwatch_pcd04_ack_timeouts_total', 'PCD-04 messages with no ACK within pcd04.ackTimeoutSeconds (the connection is dropped and the message re-sent).', () => source.counters.ackTimeouts);
  counter('pumpwatch_pcd04_connections_lost_total', 'Connections to the Alert Manager that closed.', () => source.counters.connectionsLost);
  counter('pumpwatch_pcd04_keepalives_missed_total', 'TF-2 Appendix L keep-alives the Alert Manager did not acknowledge.', () => source.counters.keepAlivesMissed);
  new Gauge({
    name: 'pumpwatch_pcd04_events_pending',
    help: 'Alarm events journaled and not yet committed by the Alert Manager.',
    registers,
    collect() {
      this.set(source.stats().pending);
    },
  });
  new Gauge({
    name: 'pumpwatch_pcd04_connected',
    help: '1 while connected to the Alert Manager.',
    registers,
    collect() {
      this.set(source.connected ? 1 : 0);
    },
  });
}
