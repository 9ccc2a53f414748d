import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import type { SettableClock } from '../clock.js';
import { SerialPortSchema, type SerialPortConfig } from '../config/schema.js';
import type { DecodeTarget } from '../telemetry/decode.js';
import { PROTOCOL_IDS, type HostSession, type ProtocolId } from '../protocols/protocol.js';
import { createHostSession } from './serial-sessions.js';

/**
 * A raw pump session on disk: what `pumpwatch capture` records at a first site and `pumpwatch
 * replay --protocol` runs through the same host session offline. JSON lines: a header with the
 * port's configuration, then one event per line, in order: `open` and `poll` (when the session
 * was started and polled, so a replay drives it identically), `tx` and `rx` with the bytes in
 * hex, exactly as they crossed the wire, undecoded.
 */

export const CAPTURE_FORMAT = 1;

export const CaptureHeaderSchema = z.object({
  pumpwatchCapture: z.literal(CAPTURE_FORMAT),
  protocol: z.enum(PROTOCOL_IDS),
  startedAt: z.iso.datetime({ offset: true }),
  port: z.record(z.string(), z.unknown()),
});
export type CaptureHeader = z.infer<typeof CaptureHeaderSchema>;

const HEX = /^(?:[0-9a-f]{2})*$/;
export const CaptureEventSchema = z.discriminatedUnion('dir', [
  z.object({ t: z.number().int().min(0), dir: z.enum(['rx', 'tx']), hex: z.string().regex(HEX, 'must be lower-case hex byte pairs') }),
  z.object({ t: z.number().int().min(0), dir: z.enum(['open', 'poll']) }),
]);
export type CaptureEvent = z.infer<typeof CaptureEventSchema>;

/** Writes a capture, stopping at `maxBytes` of recorded wire bytes so a forgotten capture cannot fill the disk. */
export class CaptureWriter {
  readonly #out: Writable;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(out: Writable, header: CaptureHeader, maxBytes: number) {
    this.#out = out;
    this.#maxBytes = maxBytes;
    out.write(`${JSON.stringify(header)}\n`);
  }

  /** Wire bytes recorded so far (both directions). */
  get bytes(): number {
    return this.#bytes;
  }

  get full(): boolean {
    return this.#bytes >= this.#maxBytes;
  }

  event(t: number, dir: 'open' | 'poll'): void {
    if (!this.full) this.#out.write(`${JSON.stringify({ t, dir })}\n`);
  }

  bytesOf(t: number, dir: 'rx' | 'tx', bytes: Uint8Array): void {
    if (this.full) return;
    this.#bytes += bytes.length;
    this.#out.write(`${JSON.stringify({ t, dir, hex: Buffer.from(bytes).toString('hex') })}\n`);
  }
}

export interface CaptureReplay {
  header: CaptureHeader;
  port: SerialPortConfig;
  events: number;
  /** Lines that were not a capture event, with where and why (the first few). */
  badLines: number;
  badLineDetails: string[];
}

const MAX_BAD_LINE_DETAILS = 5;

export class CaptureError extends Error {}

/**
 * Runs a capture through a fresh host session for its port: `open` and `poll` call the session as
 * the gateway did, `rx` bytes go in at their recorded time (the clock follows the capture), what
 * the session sends is dropped (the pump is not there). Decoded samples and rejections go to
 * `into`. Throws CaptureError when the header is missing or names another protocol.
 */
export async function replayCapture(input: Readable, expectedProtocol: ProtocolId, clock: SettableClock, into: DecodeTarget): Promise<CaptureReplay> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let session: HostSession | undefined;
  let result: CaptureReplay | undefined;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (result === undefined) {
      const header = CaptureHeaderSchema.safeParse(value);
      if (!header.success) throw new CaptureError(`line ${lineNumber}: not a pumpwatch capture header (${z.prettifyError(header.error).replace(/\n/g, '; ')})`);
      if (header.data.protocol !== expectedProtocol) throw new CaptureError(`the capture was recorded with protocol ${header.data.protocol}, not ${expectedProtocol}`);
      const port = SerialPortSchema.safeParse(header.data.port);
      if (!port.success) throw new CaptureError(`line ${lineNumber}: the port configuration in the header is not valid (${z.prettifyError(port.error).replace(/\n/g, '; ')})`);
      result = { header: header.data, port: port.data, events: 0, badLines: 0, badLineDetails: [] };
      session = createHostSession(port.data, { into, send: () => true, clock }, 100);
      continue;
    }
    const event = CaptureEventSchema.safeParse(value);
    if (!event.success) {
      result.badLines++;
      if (result.badLineDetails.length < MAX_BAD_LINE_DETAILS) result.badLineDetails.push(`line ${lineNumber}: ${value === undefined ? 'not JSON' : z.prettifyError(event.error).replace(/\n/g, '; ')}`);
      continue;
    }
    result.events++;
    const { t } = event.data;
    if (t > clock.now()) clock.set(t);
    if (event.data.dir === 'open') session!.opened();
    else if (event.data.dir === 'poll') session!.poll();
    else if (event.data.dir === 'rx') session!.receive(Buffer.from(event.data.hex, 'hex'));
  }
  if (result === undefined) throw new CaptureError('the capture is empty: no header line');
  return result;
}
