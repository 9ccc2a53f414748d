import type { Rejection } from '../telemetry/decode.js';
import { FrameBuffer } from './frame-buffer.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Where complete frames and refused frames go. */
export interface FrameTarget {
  frame(text: string): void;
  reject(rejection: Rejection): void;
}

export interface LineFramerStats {
  /** Bytes of the current, not yet complete frame. Never more than `maxFrameBytes`. */
  readonly bufferedBytes: number;
  /** The most ever buffered at once: the bound tests and metrics can check. */
  readonly peakBufferedBytes: number;
  /** Bytes thrown away inside overlong frames while waiting for the next newline. */
  readonly discardedBytes: number;
}

/**
 * Splits a byte stream into `\n`-terminated frames (a trailing `\r` is dropped) with a hard size
 * cap. serialport's delimiter parser has no cap and re-concatenates its buffer on every chunk, so a
 * device babbling without newlines grows memory without bound at O(n²) cost. Here every byte is
 * copied at most once into one buffer of `maxFrameBytes`, allocated up front.
 *
 * `maxFrameBytes` counts every byte before the `\n`, including a `\r`. A longer frame is reported
 * once as `frame-too-long` when it crosses the cap, then discarded up to the next newline (resync).
 * Empty lines are skipped.
 *
 * Frames must be UTF-8 (JSON text is, by RFC 8259). Invalid sequences are refused as `invalid-json`
 * here rather than decoded leniently: a lenient decoder turns a corrupted byte inside a string field
 * (a drug name) into U+FFFD, which would then pass validation silently.
 */
export class LineFramer implements LineFramerStats {
  readonly maxFrameBytes: number;
  readonly #target: FrameTarget;
  readonly #frame: FrameBuffer;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  #discarding = false;

  constructor(maxFrameBytes: number, target: FrameTarget) {
    this.#frame = new FrameBuffer(maxFrameBytes);
    this.maxFrameBytes = maxFrameBytes;
    this.#target = target;
  }

  get bufferedBytes(): number {
    return this.#frame.length;
  }

  get peakBufferedBytes(): number {
    return this.#frame.peakBufferedBytes;
  }

  get discardedBytes(): number {
    return this.#frame.discardedBytes;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const newlineAt = chunk.indexOf(NEWLINE, start);
      const end = newlineAt === -1 ? chunk.length : newlineAt;
      this.#take(chunk, start, end);
      if (newlineAt === -1) return;
      this.#endOfLine(chunk, start, end);
      start = newlineAt + 1;
    }
  }

  /** Drops a partial frame, e.g. when the port reopens, so it is never glued to bytes from the new link. Returns the bytes dropped. */
  reset(): number {
    this.#discarding = false;
    return this.#frame.clear();
  }

  /** Buffers `chunk[start, end)`, which holds no newline, unless the frame is or becomes overlong. */
  #take(chunk: Uint8Array, start: number, end: number): void {
    const pieceBytes = end - start;
    if (this.#discarding) {
      this.#frame.countDiscarded(pieceBytes);
      return;
    }
    if (this.#frame.length + pieceBytes > this.maxFrameBytes) {
      this.#frame.discard(pieceBytes);
      this.#discarding = true;
      this.#target.reject({
        reason: 'frame-too-long',
        detail: `frame exceeds ${this.maxFrameBytes} bytes without a newline; discarding up to the next newline`,
      });
      return;
    }
    // A frame that starts and ends inside this chunk is decoded in place in #endOfLine, not copied.
    if (this.#frame.length === 0 && end < chunk.length) return;
    this.#frame.append(chunk, start, end);
  }

  /** Called at a newline that ends `chunk[start, end)`. */
  #endOfLine(chunk: Uint8Array, start: number, end: number): void {
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    let bytes: Uint8Array;
    if (this.#frame.length === 0) {
      bytes = chunk.subarray(start, end);
    } else {
      bytes = this.#frame.view();
      this.#frame.clear();
    }
    let frameBytes = bytes.length;
    if (frameBytes > 0 && bytes[frameBytes - 1] === CARRIAGE_RETURN) frameBytes--;
    if (frameBytes === 0) return;
    let text: string;
    try {
      text = this.#decoder.decode(bytes.subarray(0, frameBytes));
    } catch {
      this.#target.reject({ reason: 'invalid-json', detail: `frame of ${frameBytes} bytes is not valid UTF-8` });
      return;
    }
    this.#target.frame(text);
  }
}
