import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { AckOutcome, AlarmIdentity } from './manager.js';

export const ACK_VERSION = 1;
/** An ack is under 300 bytes; anything far bigger is not an ack. */
export const MAX_ACK_BYTES = 4096;
/** At most one log line per verdict per interval; every ack is still counted. */
const REJECT_LOG_INTERVAL_MS = 10_000;

export const printable = (maxLength: number) =>
  z
    .string()
    .min(1)
    .max(maxLength)
    .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters');

/**
 * What a station publishes on `<prefix>/ack` (QoS 1, not retained). `ward`, `site` and
 * `gatewayId` are optional, but when present they must name this gateway: a station configured
 * for another ward must not silence ours. Unknown extra fields are ignored.
 */
export const AlarmAckSchema = z
  .object({
    v: z.literal(ACK_VERSION).optional(),
    alarmId: printable(64).describe('the alarm being acknowledged'),
    by: printable(128).describe('who acknowledged: station and, where known, the user'),
    at: z.iso.datetime({ offset: true }).describe('when the station acknowledged'),
    site: z.string().optional(),
    ward: z.string().optional(),
    gatewayId: z.string().optional(),
  })
  .meta({ title: 'pumpwatch station acknowledgement v1' });

export type AlarmAck = z.infer<typeof AlarmAckSchema>;

/** A station message that names a site, ward or gateway other than ours: not ours to act on. */
export function namesAnotherGateway(identity: AlarmIdentity, named: { site?: string | undefined; ward?: string | undefined; gatewayId?: string | undefined }): boolean {
  return (named.ward !== undefined && named.ward !== identity.ward) || (named.site !== undefined && named.site !== identity.site) || (named.gatewayId !== undefined && named.gatewayId !== identity.gatewayId);
}

export const ACK_VERDICTS = ['accepted', 'malformed', 'unknown', 'replayed', 'cross-ward'] as const;
export type AckVerdict = (typeof ACK_VERDICTS)[number];

export interface AckHandlerOptions {
  identity: AlarmIdentity;
  /** The alarm manager's `acknowledge`. */
  acknowledge: (alarmId: string, by: string, ackAt: string) => AckOutcome;
  logger: Logger;
  clock: Clock;
}

/**
 * Validates station acknowledgements and hands the good ones to the alarm manager, which answers
 * with an `acknowledged` event. Malformed, unknown, replayed (already acknowledged, or a retained
 * leftover) and cross-ward acks are ignored and counted; nothing a station sends can crash us.
 */
export class AckHandler {
  readonly #options: AckHandlerOptions;
  readonly #logger: Logger;
  readonly #counts: Record<AckVerdict, number> = { accepted: 0, malformed: 0, unknown: 0, replayed: 0, 'cross-ward': 0 };
  readonly #lastLoggedMs = new Map<AckVerdict, number>();

  constructor(options: AckHandlerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'acks' });
  }

  counts(): Readonly<Record<AckVerdict, number>> {
    return { ...this.#counts };
  }

  handle(payload: Buffer, retained: boolean): AckVerdict {
    const verdict = this.#judge(payload, retained);
    this.#counts[verdict.verdict]++;
    if (verdict.verdict === 'accepted') {
      this.#logger.info({ code: 'PW_ACK_ACCEPTED', alarmId: verdict.alarmId, by: verdict.by }, 'alarm acknowledged by a station');
    } else {
      this.#logRejected(verdict.verdict, verdict.detail);
    }
    return verdict.verdict;
  }

  #judge(payload: Buffer, retained: boolean): { verdict: AckVerdict; alarmId?: string; by?: string; detail: string } {
    if (payload.byteLength > MAX_ACK_BYTES) return { verdict: 'malformed', detail: `${payload.byteLength} bytes` };
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return { verdict: 'malformed', detail: 'not JSON' };
    }
    const parsed = AlarmAckSchema.safeParse(value);
    if (!parsed.success) return { verdict: 'malformed', detail: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') };
    const ack = parsed.data;
    const { identity } = this.#options;
    if (namesAnotherGateway(identity, ack)) {
      return { verdict: 'cross-ward', alarmId: ack.alarmId, detail: `for ${ack.site ?? '?'}/${ack.ward ?? '?'}/${ack.gatewayId ?? '?'}` };
    }
    // A retained ack was stored by the broker some time ago: acting on it would silence a new alarm.
    if (retained) return { verdict: 'replayed', alarmId: ack.alarmId, detail: 'retained message' };
    const outcome = this.#options.acknowledge(ack.alarmId, ack.by, ack.at);
    return { verdict: outcome, alarmId: ack.alarmId, by: ack.by, detail: outcome === 'unknown' ? 'no active alarm with this id' : 'already acknowledged' };
  }

  #logRejected(verdict: AckVerdict, detail: string): void {
    const now = this.#options.clock.now();
    if (now - (this.#lastLoggedMs.get(verdict) ?? Number.NEGATIVE_INFINITY) < REJECT_LOG_INTERVAL_MS) return;
    this.#lastLoggedMs.set(verdict, now);
    this.#logger.warn({ code: 'PW_ACK_IGNORED', verdict, detail, counts: this.#counts }, 'station ack ignored');
  }
}
