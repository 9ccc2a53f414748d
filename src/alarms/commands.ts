import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';
import { MAX_ACK_BYTES, namesAnotherGateway, printable } from './ack.js';
import type { AlarmIdentity } from './manager.js';

export const COMMAND_VERSION = 1;
const REJECT_LOG_INTERVAL_MS = 10_000;

/**
 * What a station publishes on `<prefix>/cmd` (QoS 1, not retained): today one command, `retire`,
 * saying a pump channel was taken away. Authorised like an ack: `site`, `ward` and `gatewayId`,
 * when present, must name this gateway, and a retained command is never acted on.
 */
export const StationCommandSchema = z
  .object({
    v: z.literal(COMMAND_VERSION).optional(),
    retire: z
      .object({
        pumpId: z.string().regex(PUMP_ID_PATTERN),
        channel: z.string().regex(CHANNEL_PATTERN).default('1'),
      })
      .describe('take this pump channel out of watch: its alarms end and it raises nothing until heard from again'),
    by: printable(128).describe('who: station and, where known, the user'),
    at: z.iso.datetime({ offset: true }).describe('when the station sent it'),
    site: z.string().optional(),
    ward: z.string().optional(),
    gatewayId: z.string().optional(),
  })
  .meta({ title: 'pumpwatch station command v1' });

export type StationCommand = z.infer<typeof StationCommandSchema>;

export const COMMAND_VERDICTS = ['accepted', 'malformed', 'unknown', 'retained', 'cross-ward'] as const;
export type CommandVerdict = (typeof COMMAND_VERDICTS)[number];

/** One command as the audit trail keeps it, whatever became of it. */
export interface CommandAudit {
  command: 'retire';
  verdict: CommandVerdict;
  pumpId?: string;
  channel?: string;
  by?: string;
  at?: string;
  detail: string;
}

export interface CommandHandlerOptions {
  identity: AlarmIdentity;
  /** The pipeline's `retire`: false when the channel was not known. */
  retire: (pumpId: string, channel: string, by: string) => boolean;
  audit: (entry: CommandAudit) => void;
  logger: Logger;
  clock: Clock;
}

/** Validates, authorises, acts on and audits station commands; counts every verdict. */
export class CommandHandler {
  readonly #options: CommandHandlerOptions;
  readonly #logger: Logger;
  readonly #counts: Record<CommandVerdict, number> = { accepted: 0, malformed: 0, unknown: 0, retained: 0, 'cross-ward': 0 };
  readonly #lastLoggedMs = new Map<CommandVerdict, number>();

  constructor(options: CommandHandlerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'commands' });
  }

  counts(): Readonly<Record<CommandVerdict, number>> {
    return { ...this.#counts };
  }

  handle(payload: Buffer, retained: boolean): CommandVerdict {
    const entry = this.#judge(payload, retained);
    this.#counts[entry.verdict]++;
    this.#options.audit(entry);
    if (entry.verdict === 'accepted') {
      this.#logger.info({ code: 'PW_CHANNEL_RETIRED', pumpId: entry.pumpId, channel: entry.channel, by: entry.by }, 'channel retired by a station');
    } else {
      const now = this.#options.clock.now();
      if (now - (this.#lastLoggedMs.get(entry.verdict) ?? Number.NEGATIVE_INFINITY) >= REJECT_LOG_INTERVAL_MS) {
        this.#lastLoggedMs.set(entry.verdict, now);
        this.#logger.warn({ code: 'PW_COMMAND_IGNORED', verdict: entry.verdict, detail: entry.detail, counts: this.#counts }, 'station command ignored');
      }
    }
    return entry.verdict;
  }

  #judge(payload: Buffer, retained: boolean): CommandAudit {
    if (payload.byteLength > MAX_ACK_BYTES) return { command: 'retire', verdict: 'malformed', detail: `${payload.byteLength} bytes` };
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return { command: 'retire', verdict: 'malformed', detail: 'not JSON' };
    }
    const parsed = StationCommandSchema.safeParse(value);
    if (!parsed.success) {
      return { command: 'retire', verdict: 'malformed', detail: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') };
    }
    const { retire, by, at, site, ward, gatewayId } = parsed.data;
    const who = { pumpId: retire.pumpId, channel: retire.channel, by, at };
    if (namesAnotherGateway(this.#options.identity, { site, ward, gatewayId })) {
      return { command: 'retire', verdict: 'cross-ward', ...who, detail: `for ${site ?? '?'}/${ward ?? '?'}/${gatewayId ?? '?'}` };
    }
    // A retained command was stored by the broker some time ago: acting on it would retire a pump put back since.
    if (retained) return { command: 'retire', verdict: 'retained', ...who, detail: 'retained message' };
    const known = this.#options.retire(retire.pumpId, retire.channel, by);
    return { command: 'retire', verdict: known ? 'accepted' : 'unknown', ...who, detail: known ? 'retired' : 'no such channel is watched' };
  }
}
