import { MAX_UNKNOWN_MODES, type FramerStats, type HostSessionStats, type ProtocolObservations, type SendBytes } from './protocol.js';

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

/** A session's observations; survives reconnects, since it describes the pump, not the link. */
export class Observations implements ProtocolObservations {
  readonly unknownModes = new Map<string, number>();
  readonly variables = new Map<string, { requested: string; reported: string }>();

  /** Counts a mode word with no mapping; true the first time it is seen, so the caller logs it once. */
  unknownMode(word: string): boolean {
    const seen = this.unknownModes.get(word);
    if (seen !== undefined) {
      this.unknownModes.set(word, seen + 1);
      return false;
    }
    if (this.unknownModes.size >= MAX_UNKNOWN_MODES) return false;
    this.unknownModes.set(word, 1);
    return true;
  }

  /** Records what a module reported; true when that changed, so the caller logs it. */
  reported(module: string, requested: string, reported: string): boolean {
    const before = this.variables.get(module);
    if (before?.requested === requested && before.reported === reported) return false;
    this.variables.set(module, { requested, reported });
    return true;
  }
}
