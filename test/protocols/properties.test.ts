import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHostHarness } from '../helpers/protocol-link.js';
import { closeTo, CODECS, readingArbitrary } from './codecs.js';

/** Splits `bytes` at the given cut points, as a serial port may deliver them. */
function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);
const garbage = fc.uint8Array({ maxLength: 600 });
const cuts = fc.array(fc.nat(), { maxLength: 8 });

describe.each(CODECS)('$name codec properties', (codec) => {
  it('never throws and never buffers more than maxFrameBytes, whatever bytes arrive in whatever chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), cuts, (bytes, cutPoints) => {
        const { host } = createHostHarness((deps) => codec.createHost(deps));
        host.opened();
        for (const chunk of chunked(bytes, cutPoints)) {
          host.receive(chunk);
          if (host.stats.bufferedBytes > codec.maxFrameBytes) return false;
        }
        host.poll();
        host.closed();
        return host.stats.peakBufferedBytes <= codec.maxFrameBytes;
      }),
      { numRuns: 300 },
    );
  });

  it('reads a valid frame after any garbage prefix', () => {
    fc.assert(
      fc.property(garbage, readingArbitrary, cuts, (prefix, reading, cutPoints) => {
        const { host, recorder } = createHostHarness((deps) => codec.createHost(deps));
        for (const chunk of chunked(concat(prefix, codec.resync, codec.encode(reading)), cutPoints)) host.receive(chunk);
        const last = recorder.samples.at(-1);
        return last !== undefined && closeTo(last, codec.expected(reading));
      }),
      { numRuns: 300 },
    );
  });

  it('reads back what the pump encoded (round trip)', () => {
    fc.assert(
      fc.property(readingArbitrary, (reading) => {
        const { host, recorder } = createHostHarness((deps) => codec.createHost(deps));
        host.receive(codec.encode(reading));
        expect(recorder.rejections).toEqual([]);
        expect(recorder.samples).toHaveLength(1);
        const expected = codec.expected(reading);
        if (!closeTo(recorder.samples[0]!, expected)) expect(recorder.samples[0]).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it.skipIf(codec.checksumRange === undefined)('rejects and counts a frame with a wrong checksum digit, then reads the next frame', () => {
    fc.assert(
      fc.property(readingArbitrary, fc.nat(), fc.nat(15), (reading, position, replacement) => {
        const frame = Buffer.from(codec.encode(reading));
        const [start, end] = codec.checksumRange!(frame);
        const at = start + (position % (end - start));
        const digit = '0123456789ABCDEF'.charCodeAt(replacement);
        fc.pre(frame[at] !== digit);
        frame[at] = digit;
        const { host, recorder } = createHostHarness((deps) => codec.createHost(deps));
        host.receive(concat(frame, codec.encode(reading)));
        return recorder.count('checksum') === 1 && recorder.rejections.length === 1 && recorder.samples.length === 1;
      }),
      { numRuns: 300 },
    );
  });

  it.skipIf(codec.bodyRange === undefined)('rejects a frame with any one body byte changed as checksum', () => {
    fc.assert(
      fc.property(readingArbitrary, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (reading, position, replacement) => {
        const frame = Buffer.from(codec.encode(reading));
        const [start, end] = codec.bodyRange!(frame);
        const at = start + (position % (end - start));
        fc.pre(frame[at] !== replacement && !codec.delimiters.has(replacement) && !codec.delimiters.has(frame[at]!));
        frame[at] = replacement;
        const { host, recorder } = createHostHarness((deps) => codec.createHost(deps));
        host.receive(frame);
        return recorder.samples.length === 0 && recorder.count('checksum') === 1;
      }),
      { numRuns: 300 },
    );
  });
});
