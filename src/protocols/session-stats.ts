import type { FramerStats, HostSessionStats, SendBytes } from './protocol.js';

/** Counters of a host session, reading the framer's figures through. */
export class HostCounters implements HostSessionStats {
  framesAccepted = 0;
  bytesSent = 0;
  sendsDropped = 0;
  readonly #framer: FramerStats;

  constructor(framer: FramerStats) {
    this.#framer = framer;
  }

  get bufferedBytes(): number {
    return this.#framer.bufferedBytes;
  }

  get peakBufferedBytes(): number {
    return this.#framer.peakBufferedBytes;
  }

  get discardedBytes(): number {
    return this.#framer.discardedBytes;
  }

  /** Sends and counts; a refused send is counted and lost, never queued. */
  send(send: SendBytes, bytes: Uint8Array): boolean {
    if (send(bytes)) {
      this.bytesSent += bytes.length;
      return true;
    }
    this.sendsDropped++;
    return false;
  }
}

/** At most `maxChars` of a frame body for a rejection detail, so a rejection never carries a whole frame. */
export function showBody(body: string, maxChars = 60): string {
  return JSON.stringify(body.length > maxChars ? `${body.slice(0, maxChars)}…` : body);
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** A strict decimal: digits with an optional sign and point, nothing else (no exponents, no spaces). */
export function parseDecimal(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}
