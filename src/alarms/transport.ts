import type { LogCode } from '../log-codes.js';
import type { AlarmEvent } from './event.js';

/**
 * Why a transport would not take an event. `invalid`: it can never be sent as it is (a topic or
 * a size the protocol forbids), so it is quarantined at once. `rejected`: the peer refused it
 * (an MQTT 5 PUBACK reason code, an HL7 `CE`/`CR`/`AE`/`AR`), so it is retried a few times.
 */
export type RefusalKind = 'invalid' | 'rejected';

export interface RefusalDetail {
  /** Stable `PW_*` code for logs, metrics and the quarantine record. */
  code: LogCode;
  message: string;
  /** The peer's own reason (MQTT 5 reason code, HL7 acknowledgement code), when it gave one. */
  reason?: number | string | undefined;
}

/**
 * What became of one delivery. `committed`: the peer took responsibility for the event (PUBACK,
 * HL7 commit accept). `connection-lost`: the link closed before the peer answered; whether it got
 * the event is unknown, so it is sent again. `stopped`: the transport is shutting down.
 */
export type DeliveryOutcome =
  | { readonly kind: 'committed' }
  | { readonly kind: 'refused'; readonly refusal: RefusalKind; readonly detail: RefusalDetail }
  | { readonly kind: 'connection-lost'; readonly detail: RefusalDetail }
  | { readonly kind: 'stopped' };

export const COMMITTED: DeliveryOutcome = { kind: 'committed' };
export const STOPPED: DeliveryOutcome = { kind: 'stopped' };

export function connectionLost(detail: RefusalDetail): DeliveryOutcome {
  return { kind: 'connection-lost', detail };
}

export function refused(refusal: RefusalKind, detail: RefusalDetail): DeliveryOutcome {
  return { kind: 'refused', refusal, detail };
}

/**
 * One way alarm events leave the gateway (MQTT, IHE PCD-04 over MLLP, …). The outbox sees only
 * this: the transport decides how an event looks on the wire and what it republishes after a
 * reconnect (reading the journal, which owns the latest event of each alarm); the outbox decides
 * what is sent, in which order, how many at once, and what is retried or set aside.
 */
export interface AlarmTransport {
  /** Names the transport's delivery cursor in the journal: stable across restarts. */
  readonly name: string;
  /** True while deliveries can be attempted. */
  readonly connected: boolean;
  /** Never rejects: every failure is an outcome. */
  deliver(event: AlarmEvent): Promise<DeliveryOutcome>;
  /** After every (re)connect, once the transport has restored its own state. */
  onConnected(listener: () => void): () => void;
}
