import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';
import { MAX_ACK_BYTES, namesAnotherGateway, printable } from './ack.js';
import type { AlarmIdentity } from './manager.js';

export const COMMAND_VERSION = 1;
const REJECT_LOG_INTERVAL_MS = 10_000;

/** A station's pause is bounded (IEC 60601-1-8 ALARM PAUSED is temporary): default and longest. */
export const PAUSE_DEFAULT_MINUTES = 5;
export const PAUSE_MAX_MINUTES = 15;

const pumpChannel = {
  pumpId: z.string().regex(PUMP_ID_PATTERN),
  channel: z.string().regex(CHANNEL_PATTERN).default('1'),
};
const COMMAND_NAMES = ['retire', 'pause', 'resume'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/**
 * What a station publishes on `<prefix>/cmd` (QoS 1, not retained): exactly one of `retire` (a
 * pump channel was taken away), `pause` (pause a channel's alarm signals, e.g. for a line change)
 * and `resume` (end that pause early). Authorised like an ack: `site`, `ward` and `gatewayId`,
 * when present, must name this gateway, and a retained command is never acted on.
 */
export const StationCommandSchema = z
  .object({
    v: z.literal(COMMAND_VERSION).optional(),
    retire: z
      .object(pumpChannel)
      .optional()
      .describe('take this pump channel out of watch: its alarms end and it raises nothing until heard from again'),
    pause: z
      .object({
        ...pumpChannel,
        minutes: z
          .number()
          .positive()
          .max(PAUSE_MAX_MINUTES, `a pause lasts at most ${PAUSE_MAX_MINUTES} minutes; send pause again when it ends if the work takes longer`)
          .default(PAUSE_DEFAULT_MINUTES),
      })
      .optional()
      .describe(`pause this channel's alarm signals for minutes (default ${PAUSE_DEFAULT_MINUTES}, at most ${PAUSE_MAX_MINUTES}): its alarms are still detected and sent, marked state.paused, and not escalated; it ends by itself`),
    resume: z.object(pumpChannel).optional().describe("end this channel's pause now"),
    by: printable(128).describe('who: station and, where known, the user'),
    at: z.iso.datetime({ offset: true }).describe('when the station sent it'),
    site: z.string().optional(),
    ward: z.string().optional(),
    gatewayId: z.string().optional(),
  })
  .superRefine((command, context) => {
    const named = COMMAND_NAMES.filter((name) => command[name] !== undefined);
    if (named.length !== 1) context.addIssue({ code: 'custom', path: [], message: `must hold exactly one of retire, pause, resume (found ${named.length === 0 ? 'none' : named.join(', ')})` });
  })
  .meta({ title: 'pumpwatch station command v1', description: 'exactly one of retire, pause, resume' });

export type StationCommand = z.infer<typeof StationCommandSchema>;

export const COMMAND_VERDICTS = ['accepted', 'malformed', 'unknown', 'retained', 'cross-ward'] as const;
export type CommandVerdict = (typeof COMMAND_VERDICTS)[number];

/** One command as the audit trail keeps it, whatever became of it. */
export interface CommandAudit {
  /** `?` when the payload was not a JSON object naming a command. */
  command: CommandName | '?';
  verdict: CommandVerdict;
  pumpId?: string;
  channel?: string;
  by?: string;
  at?: string;
  /** A pause's end (gateway clock). */
  until?: string;
  detail: string;
}

export interface CommandHandlerOptions {
  identity: AlarmIdentity;
  /** The pipeline's `retire`: false when the channel was not known. */
  retire: (pumpId: string, channel: string, by: string) => boolean;
  /** The pipeline's `pause`: undefined when the channel is not known. */
  pause: (pumpId: string, channel: string, minutes: number, by: string) => { untilMs: number } | undefined;
  /** The pipeline's `resume`: false when the channel was not paused. */
  resume: (pumpId: string, channel: string) => boolean;
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
      const fields = { pumpId: entry.pumpId, channel: entry.channel, by: entry.by };
      if (entry.command === 'retire') this.#logger.info({ code: 'PW_CHANNEL_RETIRED', ...fields }, 'channel retired by a station');
      else if (entry.command === 'pause') this.#logger.info({ code: 'PW_CHANNEL_PAUSED', ...fields, until: entry.until }, "channel's alarm signals paused by a station");
      // A resume is logged where every end of a pause is (the alarm manager's onPauseEnded).
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
    if (payload.byteLength > MAX_ACK_BYTES) return { command: '?', verdict: 'malformed', detail: `${payload.byteLength} bytes` };
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return { command: '?', verdict: 'malformed', detail: 'not JSON' };
    }
    const command = commandNameOf(value);
    const parsed = StationCommandSchema.safeParse(value);
    if (!parsed.success) {
      return { command, verdict: 'malformed', detail: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') };
    }
    const { by, at, site, ward, gatewayId } = parsed.data;
    const target = (parsed.data.retire ?? parsed.data.pause ?? parsed.data.resume)!;
    const who = { command, pumpId: target.pumpId, channel: target.channel, by, at };
    if (namesAnotherGateway(this.#options.identity, { site, ward, gatewayId })) {
      return { ...who, verdict: 'cross-ward', detail: `for ${site ?? '?'}/${ward ?? '?'}/${gatewayId ?? '?'}` };
    }
    // A retained command was stored by the broker some time ago: acting on it would retire a pump put back since.
    if (retained) return { ...who, verdict: 'retained', detail: 'retained message' };
    if (parsed.data.pause !== undefined) {
      const paused = this.#options.pause(target.pumpId, target.channel, parsed.data.pause.minutes, by);
      if (paused === undefined) return { ...who, verdict: 'unknown', detail: 'no such channel is watched' };
      const until = new Date(paused.untilMs).toISOString();
      return { ...who, verdict: 'accepted', until, detail: `paused for ${parsed.data.pause.minutes} min` };
    }
    if (parsed.data.resume !== undefined) {
      const resumed = this.#options.resume(target.pumpId, target.channel);
      return { ...who, verdict: resumed ? 'accepted' : 'unknown', detail: resumed ? 'resumed' : 'the channel is not paused' };
    }
    const known = this.#options.retire(target.pumpId, target.channel, by);
    return { ...who, verdict: known ? 'accepted' : 'unknown', detail: known ? 'retired' : 'no such channel is watched' };
  }
}

/** Which command a payload meant, for the audit trail, even when it is malformed. */
function commandNameOf(value: unknown): CommandName | '?' {
  if (typeof value !== 'object' || value === null) return '?';
  return COMMAND_NAMES.find((name) => Object.hasOwn(value, name)) ?? '?';
}
