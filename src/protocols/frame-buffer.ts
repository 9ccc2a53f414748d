/**
 * The bounded buffer and byte accounting every framer shares: one `Buffer` of `maxFrameBytes`
 * allocated up front, the length of the frame being received, the peak ever held and the bytes
 * thrown away. Framers own their state machines and call in here; nothing here allocates, so the
 * per-byte path stays allocation-free.
 */
export class FrameBuffer {
  readonly maxFrameBytes: number;
  /** The backing store; only `[0, length)` holds the current frame. */
  readonly bytes: Buffer;
  #length = 0;
  #peakBufferedBytes = 0;
  #discardedBytes = 0;

  /**
   * `aboveBytes` is the least a frame can need besides its body (a trailer, a checksum), so a cap
   * at or under it could never hold a valid frame.
   */
  constructor(maxFrameBytes: number, aboveBytes = 0) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes <= aboveBytes) {
      const expected = aboveBytes === 0 ? 'a positive integer' : `an integer above ${aboveBytes}`;
      throw new RangeError(`PW_FRAMER_MAX: maxFrameBytes must be ${expected} (got ${maxFrameBytes})`);
    }
    this.maxFrameBytes = maxFrameBytes;
    this.bytes = Buffer.allocUnsafe(maxFrameBytes);
  }

  /** Bytes of the current frame. */
  get length(): number {
    return this.#length;
  }

  get full(): boolean {
    return this.#length === this.maxFrameBytes;
  }

  get peakBufferedBytes(): number {
    return this.#peakBufferedBytes;
  }

  get discardedBytes(): number {
    return this.#discardedBytes;
  }

  /** Appends one byte; the caller has checked `full`. */
  push(byte: number): void {
    this.bytes[this.#length++] = byte;
    if (this.#length > this.#peakBufferedBytes) this.#peakBufferedBytes = this.#length;
  }

  /** Appends `chunk[start, end)`; the caller has checked it fits. */
  append(chunk: Uint8Array, start: number, end: number): void {
    this.bytes.set(chunk.subarray(start, end), this.#length);
    this.#length += end - start;
    if (this.#length > this.#peakBufferedBytes) this.#peakBufferedBytes = this.#length;
  }

  /** The current frame's bytes, sharing memory with the buffer: valid until the next append. */
  view(): Buffer {
    return this.bytes.subarray(0, this.#length);
  }

  /** Counts bytes thrown away that never entered the buffer (or are still in it, see `clear`). */
  countDiscarded(bytes: number): void {
    this.#discardedBytes += bytes;
  }

  /** Throws the current frame away plus `extraBytes` that never entered the buffer. */
  discard(extraBytes: number): void {
    this.#discardedBytes += this.#length + extraBytes;
    this.#length = 0;
  }

  /** Empties the buffer without counting its bytes as discarded. Returns the bytes dropped. */
  clear(): number {
    const dropped = this.#length;
    this.#length = 0;
    return dropped;
  }
}
