import * as fs from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';

export const RETIRED_CHANNELS_FILE = 'retired-channels.json';

/** Retired channels, so a restart does not watch again a pump that was taken away. */
export interface RetiredChannelStore {
  /** How many channels are retired; 0 lets the hot path skip the lookup. */
  readonly size: number;
  has(pumpId: string, channel: string): boolean;
  add(pumpId: string, channel: string, atMs: number): void;
  /** The channel was heard from again. */
  delete(pumpId: string, channel: string): void;
}

const FileSchema = z.object({
  v: z.literal(1),
  channels: z.array(z.object({ pumpId: z.string().regex(PUMP_ID_PATTERN), channel: z.string().regex(CHANNEL_PATTERN), at: z.string() })),
});

/**
 * The retired channels kept in `retired-channels.json` beside the journal, rewritten (temporary
 * file, fsync, rename) on each change, which is rare: a pump taken away or coming back. Held in
 * memory as pump → channel → time, so `has` builds no key string. An unreadable file is logged
 * and treated as empty: the worst outcome is a pump watched again, which raises telemetry-lost,
 * never a silenced one.
 */
export class FileRetiredChannels implements RetiredChannelStore {
  readonly #directory: string;
  readonly #path: string;
  readonly #logger: Logger;
  readonly #byPump = new Map<string, Map<string, number>>();
  #size = 0;

  constructor(options: { directory: string; logger: Logger }) {
    this.#directory = options.directory;
    this.#path = join(options.directory, RETIRED_CHANNELS_FILE);
    this.#logger = options.logger;
    this.#load();
  }

  get size(): number {
    return this.#size;
  }

  has(pumpId: string, channel: string): boolean {
    return this.#byPump.get(pumpId)?.has(channel) === true;
  }

  add(pumpId: string, channel: string, atMs: number): void {
    let channels = this.#byPump.get(pumpId);
    if (channels === undefined) {
      channels = new Map();
      this.#byPump.set(pumpId, channels);
    }
    if (!channels.has(channel)) this.#size++;
    channels.set(channel, atMs);
    this.#save();
  }

  delete(pumpId: string, channel: string): void {
    const channels = this.#byPump.get(pumpId);
    if (channels === undefined || !channels.delete(channel)) return;
    if (channels.size === 0) this.#byPump.delete(pumpId);
    this.#size--;
    this.#save();
  }

  #load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#warn(error);
      return;
    }
    let parsed;
    try {
      parsed = FileSchema.safeParse(JSON.parse(text));
    } catch (error) {
      this.#warn(error);
      return;
    }
    if (!parsed.success) {
      this.#warn(new Error(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')));
      return;
    }
    for (const { pumpId, channel, at } of parsed.data.channels) {
      let channels = this.#byPump.get(pumpId);
      if (channels === undefined) {
        channels = new Map();
        this.#byPump.set(pumpId, channels);
      }
      if (!channels.has(channel)) this.#size++;
      channels.set(channel, Date.parse(at));
    }
  }

  #save(): void {
    const channels = [];
    for (const [pumpId, byChannel] of this.#byPump) for (const [channel, atMs] of byChannel) channels.push({ pumpId, channel, at: new Date(atMs).toISOString() });
    const temporary = `${this.#path}.tmp`;
    try {
      fs.mkdirSync(this.#directory, { recursive: true, mode: 0o700 });
      const fd = fs.openSync(temporary, 'w', 0o600);
      try {
        fs.writeSync(fd, `${JSON.stringify({ v: 1, channels })}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temporary, this.#path);
    } catch (error) {
      this.#warn(error);
    }
  }

  #warn(error: unknown): void {
    this.#logger.warn({ code: 'PW_RETIRED_CHANNELS_FILE', path: this.#path, error: (error as Error).message }, 'retired channels not read or written; a restart may watch a retired pump again');
  }
}
