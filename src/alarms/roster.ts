import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';
import { namesAnotherGateway, printable } from './ack.js';
import type { AlarmIdentity } from './manager.js';

export const ROSTER_VERSION = 1;
/** A ward of 64 beds with several channels each fits in a few kB; anything far bigger is not a roster. */
export const MAX_ROSTER_BYTES = 262_144;
export const MAX_ROSTER_ENTRIES = 1024;
const REJECT_LOG_INTERVAL_MS = 10_000;

/** Where a pump channel is: its bed and, if the site wants, an opaque patient reference. */
export interface Placement {
  bed: string;
  patientRef?: string;
}

export const RosterEntrySchema = z.strictObject({
  pumpId: z.string().regex(PUMP_ID_PATTERN),
  channel: z.string().regex(CHANNEL_PATTERN).optional().describe('only this channel; without it, every channel of the pump'),
  bed: printable(32).describe('the bed (or place) the pump serves, as the ward names it; PV1-3.3 in PCD-04'),
  patientRef: printable(64)
    .optional()
    .describe('opaque patient reference the site chooses (never a name); PID-3 in PCD-04. Leave out where patient data must not leave the ward'),
});
export type RosterEntry = z.infer<typeof RosterEntrySchema>;

const entryKey = (entry: Pick<RosterEntry, 'pumpId' | 'channel'>): string => `${entry.pumpId}/${entry.channel ?? '*'}`;

/** A list of entries where no pump channel (or whole pump) appears twice. */
export const rosterEntries = z
  .array(RosterEntrySchema)
  .max(MAX_ROSTER_ENTRIES)
  .superRefine((entries, context) => {
    const seen = new Map<string, number>();
    entries.forEach((entry, index) => {
      const key = entryKey(entry);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else context.addIssue({ code: 'custom', path: [index], message: `${key} is already placed by entry ${first}` });
    });
  });

/**
 * What a station publishes, retained, on `<prefix>/roster`: the whole station roster, which
 * replaces the previous one. An empty payload clears it (back to the configured roster).
 */
export const RosterUpdateSchema = z
  .object({
    v: z.literal(ROSTER_VERSION).optional(),
    entries: rosterEntries.describe('the station roster; it overrides the configured roster pump by pump'),
    by: printable(128).describe('who: station and, where known, the user'),
    at: z.iso.datetime({ offset: true }).describe('when the station sent it'),
    site: z.string().optional(),
    ward: z.string().optional(),
    gatewayId: z.string().optional(),
  })
  .meta({ title: 'pumpwatch ward roster v1' });
export type RosterUpdate = z.infer<typeof RosterUpdateSchema>;

class RosterLayer {
  readonly #byKey = new Map<string, Placement>();
  readonly #pumps = new Set<string>();

  constructor(entries: readonly RosterEntry[]) {
    for (const { pumpId, channel, bed, patientRef } of entries) {
      this.#byKey.set(entryKey({ pumpId, channel }), patientRef === undefined ? { bed } : { bed, patientRef });
      this.#pumps.add(pumpId);
    }
  }

  get size(): number {
    return this.#byKey.size;
  }

  hasPump(pumpId: string): boolean {
    return this.#pumps.has(pumpId);
  }

  find(pumpId: string, channel: string): Placement | undefined {
    return this.#byKey.get(`${pumpId}/${channel}`) ?? this.#byKey.get(`${pumpId}/*`);
  }
}

/**
 * The ward roster: which bed (and patient reference) each pump channel serves. Two layers: the
 * configured roster and the station's (`<prefix>/roster`). A pump the station roster names is
 * placed by the station roster alone; any other pump by the configured one. Pumps on neither
 * are simply not placed. Looked up when an alarm event is made, never per sample.
 */
export class Roster {
  readonly #configured: RosterLayer;
  #station = new RosterLayer([]);
  readonly #listeners = new Set<() => void>();

  constructor(configured: readonly RosterEntry[] = []) {
    this.#configured = new RosterLayer(configured);
  }

  placement(pumpId: string, channel: string): Placement | undefined {
    if (this.#station.hasPump(pumpId)) return this.#station.find(pumpId, channel);
    return this.#configured.find(pumpId, channel);
  }

  /** Replaces the station layer; an empty list clears it. */
  setStation(entries: readonly RosterEntry[]): void {
    this.#station = new RosterLayer(entries);
    for (const listener of this.#listeners) listener();
  }

  get sizes(): { configured: number; station: number } {
    return { configured: this.#configured.size, station: this.#station.size };
  }

  /** Told after every change of the station layer. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }
}

export const ROSTER_VERDICTS = ['accepted', 'cleared', 'malformed', 'cross-ward'] as const;
export type RosterVerdict = (typeof ROSTER_VERDICTS)[number];

/** One roster update as the audit trail keeps it, whatever became of it. */
export interface RosterAudit {
  verdict: RosterVerdict;
  by?: string;
  at?: string;
  entries?: number;
  retained: boolean;
  detail: string;
}

export interface RosterHandlerOptions {
  identity: AlarmIdentity;
  roster: Roster;
  audit: (entry: RosterAudit) => void;
  logger: Logger;
  clock: Clock;
}

/**
 * Validates, authorises, applies and audits station roster updates; counts every verdict. Unlike
 * an ack or a command, a roster is state, so a retained one is the current roster and is applied.
 * A refused update leaves the roster as it was.
 */
export class RosterHandler {
  readonly #options: RosterHandlerOptions;
  readonly #logger: Logger;
  readonly #counts: Record<RosterVerdict, number> = { accepted: 0, cleared: 0, malformed: 0, 'cross-ward': 0 };
  readonly #lastLoggedMs = new Map<RosterVerdict, number>();

  constructor(options: RosterHandlerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'roster' });
  }

  counts(): Readonly<Record<RosterVerdict, number>> {
    return { ...this.#counts };
  }

  handle(payload: Buffer, retained: boolean): RosterVerdict {
    const { entry, apply } = this.#judge(payload, retained);
    this.#counts[entry.verdict]++;
    if (apply !== undefined) this.#options.roster.setStation(apply);
    this.#options.audit(entry);
    if (entry.verdict === 'accepted' || entry.verdict === 'cleared') {
      this.#logger.info({ code: 'PW_ROSTER_UPDATED', verdict: entry.verdict, entries: entry.entries ?? 0, by: entry.by, retained }, 'ward roster updated by a station');
    } else {
      const now = this.#options.clock.now();
      if (now - (this.#lastLoggedMs.get(entry.verdict) ?? Number.NEGATIVE_INFINITY) >= REJECT_LOG_INTERVAL_MS) {
        this.#lastLoggedMs.set(entry.verdict, now);
        this.#logger.warn({ code: 'PW_ROSTER_IGNORED', verdict: entry.verdict, detail: entry.detail, counts: this.#counts }, 'station roster update ignored; the roster is unchanged');
      }
    }
    return entry.verdict;
  }

  #judge(payload: Buffer, retained: boolean): { entry: RosterAudit; apply?: readonly RosterEntry[] } {
    // The retained copy was deleted: the station roster is gone, the configured one stands.
    if (payload.byteLength === 0) return { entry: { verdict: 'cleared', retained, entries: 0, detail: 'empty payload: station roster cleared' }, apply: [] };
    if (payload.byteLength > MAX_ROSTER_BYTES) return { entry: { verdict: 'malformed', retained, detail: `${payload.byteLength} bytes (at most ${MAX_ROSTER_BYTES})` } };
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return { entry: { verdict: 'malformed', retained, detail: 'not JSON' } };
    }
    const parsed = RosterUpdateSchema.safeParse(value);
    if (!parsed.success) {
      return {
        entry: {
          verdict: 'malformed',
          retained,
          detail: parsed.error.issues
            .slice(0, 5)
            .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
            .join('; '),
        },
      };
    }
    const { entries, by, at, site, ward, gatewayId } = parsed.data;
    if (namesAnotherGateway(this.#options.identity, { site, ward, gatewayId })) {
      return { entry: { verdict: 'cross-ward', retained, by, at, entries: entries.length, detail: `for ${site ?? '?'}/${ward ?? '?'}/${gatewayId ?? '?'}` } };
    }
    return { entry: { verdict: 'accepted', retained, by, at, entries: entries.length, detail: `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}` }, apply: entries };
  }
}
