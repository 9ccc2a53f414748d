import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { CommandAudit } from './commands.js';
import type { AlarmEvent } from './event.js';
import type { AlarmSink, PauseEnded } from './manager.js';
import type { RosterAudit } from './roster.js';

export const AUDIT_FILE = 'audit.jsonl';

/** A channel taken out of watch: by silence after it stopped, or by a station's command. */
export interface ChannelRetirement {
  pumpId: string;
  channel: string;
  atMs: number;
  by: string;
  /** Alarms of the channel that ended with it. */
  endedAlarms: number;
  evidence: Record<string, string | number | boolean | null>;
}

/** A channel's pause began or ended (resumed by a station, expired, or retired with its channel). */
export interface PauseRecord {
  pumpId: string;
  channel: string;
  event: 'started' | 'resumed' | 'expired' | 'retired';
  /** Who paused it. */
  by: string;
  at: string;
  until: string;
}

/** One line of the audit trail; `t` is the gateway clock when it was written. */
export type AuditRecord =
  | { t: string; kind: 'event'; event: AlarmEvent }
  | { t: string; kind: 'command'; command: CommandAudit }
  | { t: string; kind: 'retire'; retirement: Omit<ChannelRetirement, 'atMs'> & { at: string } }
  | { t: string; kind: 'pause'; pause: PauseRecord }
  | { t: string; kind: 'roster'; roster: RosterAudit };

export interface AuditLogOptions {
  directory: string;
  /** Past this the file is rotated once (`audit.jsonl.1`), so the trail is bounded at twice this. */
  maxBytes: number;
  logger: Logger;
  clock: Clock;
}

/**
 * The incident-review trail beside the alarm journal: every alarm event (acknowledgements
 * included), every station command and every retired channel, append-only. The journal itself
 * is compacted to the live alarms, so it cannot answer "what happened last night"; this can,
 * for as far back as its size allows. Best effort and never on the alarm path: a write that
 * fails is logged and the alarm goes out regardless (the journal carries durability).
 */
export class AuditLog implements AlarmSink {
  readonly #options: AuditLogOptions;
  readonly #path: string;
  #fd: number | undefined;
  #size = 0;
  #failed = false;

  constructor(options: AuditLogOptions) {
    this.#options = options;
    this.#path = join(options.directory, AUDIT_FILE);
  }

  deliver(event: AlarmEvent): void {
    this.#append({ t: this.#now(), kind: 'event', event });
  }

  command(command: CommandAudit): void {
    this.#append({ t: this.#now(), kind: 'command', command });
  }

  retired({ atMs, ...retirement }: ChannelRetirement): void {
    this.#append({ t: this.#now(), kind: 'retire', retirement: { ...retirement, at: new Date(atMs).toISOString() } });
  }

  paused(pause: { pumpId: string; channel: string; by: string; untilMs: number }): void {
    const { pumpId, channel, by, untilMs } = pause;
    this.#append({ t: this.#now(), kind: 'pause', pause: { pumpId, channel, event: 'started', by, at: this.#now(), until: new Date(untilMs).toISOString() } });
  }

  pauseEnded({ pumpId, channel, by, untilMs, atMs, reason }: PauseEnded): void {
    this.#append({ t: this.#now(), kind: 'pause', pause: { pumpId, channel, event: reason, by, at: new Date(atMs).toISOString(), until: new Date(untilMs).toISOString() } });
  }

  roster(roster: RosterAudit): void {
    this.#append({ t: this.#now(), kind: 'roster', roster });
  }

  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  #now(): string {
    return new Date(this.#options.clock.now()).toISOString();
  }

  #append(record: AuditRecord): void {
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    try {
      if (this.#fd === undefined) this.#open();
      if (this.#size + line.byteLength > this.#options.maxBytes) this.#rotate();
      fs.writeSync(this.#fd!, line);
      this.#size += line.byteLength;
      this.#failed = false;
    } catch (error) {
      if (!this.#failed) this.#options.logger.warn({ code: 'PW_AUDIT_WRITE', path: this.#path, error: (error as Error).message }, 'audit trail not written');
      this.#failed = true;
      this.close();
    }
  }

  #open(): void {
    fs.mkdirSync(this.#options.directory, { recursive: true, mode: 0o700 });
    this.#fd = fs.openSync(this.#path, 'a', 0o600);
    this.#size = fs.fstatSync(this.#fd).size;
  }

  #rotate(): void {
    this.close();
    fs.renameSync(this.#path, `${this.#path}.1`);
    this.#open();
  }
}

/** Every record of the trail in a directory, oldest first; unreadable lines are skipped and counted. */
export function readAuditTrail(directory: string): { records: AuditRecord[]; unreadable: number } {
  const records: AuditRecord[] = [];
  let unreadable = 0;
  for (const name of [`${AUDIT_FILE}.1`, AUDIT_FILE]) {
    let text: string;
    try {
      text = fs.readFileSync(join(directory, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const record = JSON.parse(line) as AuditRecord;
        if (typeof record.t === 'string' && typeof record.kind === 'string') records.push(record);
        else unreadable++;
      } catch {
        unreadable++;
      }
    }
  }
  return { records, unreadable };
}
