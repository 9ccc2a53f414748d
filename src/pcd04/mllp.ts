/**
 * MLLP (HL7 Implementation Guide Appendix C, referenced by TF-2 Appendix I / ITI TF-2x C.2.1):
 * `<VT=0x0B> message <FS=0x1C><CR=0x0D>`, no length, no checksum.
 */
export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  const framed = Buffer.allocUnsafe(body.byteLength + 3);
  framed[0] = START_BLOCK;
  body.copy(framed, 1);
  framed[body.byteLength + 1] = END_BLOCK;
  framed[body.byteLength + 2] = CARRIAGE_RETURN;
  return framed;
}

export interface MllpReaderStats {
  frames: number;
  /** Bytes outside any frame (before a start block), dropped. */
  strayBytes: number;
  /** Frames longer than the cap: dropped whole, up to their end block. */
  oversizedFrames: number;
}

/**
 * Turns a byte stream into MLLP frames, never holding more than `maxFrameBytes` of one frame:
 * past that the frame is dropped and counted, and reading resumes at the next start block. Bytes
 * outside a frame are counted and dropped. A half-written frame waits for the rest, the close, or
 * a new start block (HL7 text never holds a VT), which abandons it.
 */
export class MllpReader {
  readonly stats: MllpReaderStats = { frames: 0, strayBytes: 0, oversizedFrames: 0 };
  readonly #maxFrameBytes: number;
  #parts: Buffer[] = [];
  #length = 0;
  #inFrame = false;
  #discarding = false;
  /** The previous chunk ended on an end block inside a frame: a CR at the start of the next one closes it. */
  #sawEnd = false;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes of a frame begun but not finished (a half-written frame). */
  get partialBytes(): number {
    return this.#inFrame ? this.#length : 0;
  }

  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (!this.#inFrame) {
        const start = chunk.indexOf(START_BLOCK, offset);
        if (start === -1) {
          this.stats.strayBytes += chunk.byteLength - offset;
          return frames;
        }
        this.stats.strayBytes += start - offset;
        this.#begin();
        offset = start + 1;
        continue;
      }
      if (this.#sawEnd) {
        this.#sawEnd = false;
        if (chunk[offset] === CARRIAGE_RETURN) {
          this.#finish(frames);
          offset++;
          continue;
        }
        // A lone FS inside the data: it belongs to the message.
        this.#append(Buffer.of(END_BLOCK));
      }
      const end = chunk.indexOf(END_BLOCK, offset);
      const restart = chunk.indexOf(START_BLOCK, offset);
      if (restart !== -1 && (end === -1 || restart < end)) {
        // HL7 text never holds a VT: a new start block abandons a half-written frame.
        this.stats.strayBytes += this.#length + (restart - offset) + 1;
        this.#inFrame = false;
        offset = restart;
        continue;
      }
      if (end === -1) {
        this.#append(chunk.subarray(offset));
        return frames;
      }
      this.#append(chunk.subarray(offset, end));
      if (end + 1 >= chunk.byteLength) {
        this.#sawEnd = true;
        return frames;
      }
      if (chunk[end + 1] === CARRIAGE_RETURN) {
        this.#finish(frames);
        offset = end + 2;
      } else {
        this.#append(chunk.subarray(end, end + 1));
        offset = end + 1;
      }
    }
    return frames;
  }

  #begin(): void {
    this.#inFrame = true;
    this.#discarding = false;
    this.#parts = [];
    this.#length = 0;
  }

  #append(part: Buffer): void {
    if (this.#discarding || part.byteLength === 0) return;
    if (this.#length + part.byteLength > this.#maxFrameBytes) {
      this.#discarding = true;
      this.#parts = [];
      this.#length = 0;
      return;
    }
    this.#parts.push(Buffer.from(part));
    this.#length += part.byteLength;
  }

  #finish(frames: Buffer[]): void {
    this.#inFrame = false;
    if (this.#discarding) {
      this.stats.oversizedFrames++;
      this.#discarding = false;
      return;
    }
    this.stats.frames++;
    frames.push(this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#length));
    this.#parts = [];
    this.#length = 0;
  }
}
