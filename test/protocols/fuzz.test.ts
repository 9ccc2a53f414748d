import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAlarisFrame } from '../../src/protocols/alaris.js';
import { encodeFreseniusFrame } from '../../src/protocols/fresenius.js';
import { createHostHarness } from '../helpers/protocol-link.js';
import { closeTo, CODECS, readingArbitrary, type CodecUnderTest } from './codecs.js';

/**
 * Seeded mutation fuzzing over a corpus of valid frames: every input is a few corpus frames glued
 * together and then damaged (bit flips, stray delimiters, insertions, deletions, duplications,
 * splices, truncation), delivered in random chunks to one long-lived host session. After each
 * input a clean frame must still be read. The default run takes a few seconds; set
 * PW_FUZZ_ITERATIONS (and PW_FUZZ_SEED) for a longer one.
 */
const ITERATIONS = Number(process.env.PW_FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.PW_FUZZ_SEED ?? 20_260_101);

/** mulberry32: small, fast and seedable, so a failing run can be replayed from its seed. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (below: number) => Math.floor(next() * below);
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)]! };
}
type Random = ReturnType<typeof createRandom>;

/** Frames other than status reports that a real link carries: replies, errors, link bytes. */
function extraFrames(codec: CodecUnderTest): Uint8Array[] {
  switch (codec.name) {
    case 'alaris':
      return [encodeAlarisFrame('INF'), encodeAlarisFrame('INST_SERIALNO^12345678'), encodeAlarisFrame('INF^S^NONE^INFUSING'), Buffer.from('\u001b')];
    case 'fresenius':
      return [encodeFreseniusFrame('1C'), encodeFreseniusFrame('1I;1E'), encodeFreseniusFrame('0C;b3'), Uint8Array.of(0x05), Uint8Array.of(0x06), Uint8Array.of(0x15, 0x32)];
    case 'json-lines':
      return [Buffer.from('[]\n'), Buffer.from('{"pumpId":"x"}\n'), Buffer.from('\n')];
  }
}

function mutate(input: Buffer, codec: CodecUnderTest, corpus: readonly Uint8Array[], random: Random): Buffer {
  let bytes = input;
  const delimiters = [...codec.delimiters];
  const mutations = 1 + random.int(4);
  for (let m = 0; m < mutations; m++) {
    const at = random.int(bytes.length + 1);
    switch (random.int(8)) {
      case 0:
        if (at < bytes.length) bytes[at]! ^= 1 << random.int(8);
        break;
      case 1:
        if (at < bytes.length) bytes[at] = random.int(256);
        break;
      case 2:
        if (at < bytes.length) bytes[at] = random.pick(delimiters);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: 1 + random.int(16) }, () => random.int(256))), bytes.subarray(at)]);
        break;
      case 4:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + random.int(16)))]);
        break;
      case 5: {
        const end = Math.min(bytes.length, at + 1 + random.int(32));
        bytes = Buffer.concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]);
        break;
      }
      case 6: {
        const other = random.pick(corpus);
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(other.subarray(random.int(other.length + 1)))]);
        break;
      }
      default:
        bytes = bytes.subarray(0, at);
    }
  }
  return bytes;
}

describe.each(CODECS)('$name codec under seeded mutation fuzzing', (codec) => {
  it(`stays bounded, never throws and reads the next clean frame after each of ${ITERATIONS} damaged inputs`, () => {
    const readings = fc.sample(readingArbitrary, { seed: SEED, numRuns: 64 });
    const corpus = [...readings.map((reading) => codec.encode(reading)), ...extraFrames(codec)];
    const random = createRandom(SEED ^ codec.name.length);
    const { host, recorder, wire } = createHostHarness((deps) => codec.createHost(deps));
    host.opened();
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const glued = Buffer.concat(Array.from({ length: 1 + random.int(3) }, () => random.pick(corpus)));
      const input = mutate(Buffer.from(glued), codec, corpus, random);
      for (let start = 0; start < input.length; ) {
        const end = Math.min(input.length, start + 1 + random.int(64));
        host.receive(input.subarray(start, end));
        start = end;
      }
      expect(host.stats.bufferedBytes).toBeLessThanOrEqual(codec.maxFrameBytes);
      const probe = random.pick(readings);
      host.receive(codec.resync);
      const before = recorder.samples.length;
      host.receive(codec.encode(probe));
      const last = recorder.samples.at(-1);
      if (recorder.samples.length === before || last === undefined || !closeTo(last, codec.expected(probe))) {
        throw new Error(`iteration ${iteration} (seed ${SEED}): clean frame not read after ${JSON.stringify(input.toString('latin1'))}`);
      }
      wire.take();
      if (recorder.samples.length > 10_000) recorder.samples.length = 0;
      if (recorder.rejections.length > 10_000) recorder.rejections.length = 0;
    }
    expect(host.stats.peakBufferedBytes).toBeLessThanOrEqual(codec.maxFrameBytes);
  });
});
