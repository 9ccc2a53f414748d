import fc from 'fast-check';
import { encodeAlarisAlarm, encodeAlarisStatus } from '../../src/emulate/alaris-device.js';
import { createAlarisHostSession } from '../../src/protocols/alaris.js';
import { encodeFreseniusReport } from '../../src/emulate/fresenius-device.js';
import { createFreseniusHostSession } from '../../src/protocols/fresenius.js';
import { createJsonLinesHostSession, encodeJsonLine } from '../../src/protocols/json-lines.js';
import { FRESENIUS_ALARM_BITS } from '../../src/protocols/mapping.js';
import type { HostSession, HostSessionDeps, PumpReading } from '../../src/protocols/protocol.js';
import { INFUSION_STATES, type TelemetrySample } from '../../src/telemetry/sample.js';

/**
 * Each codec described the same way, so the property tests and the fuzz run treat all three
 * alike: how to build a host session, how a pump encodes a reading, what the host should read
 * back, and where (if anywhere) the frame keeps its checksum.
 */
export interface CodecUnderTest {
  name: 'alaris' | 'fresenius' | 'json-lines';
  maxFrameBytes: number;
  createHost(deps: HostSessionDeps): HostSession;
  encode(reading: PumpReading): Uint8Array;
  /** Bytes that end whatever a garbage prefix left open, so the next frame is read cleanly. */
  resync: Uint8Array;
  /** The checksum's byte range inside an encoded frame, or undefined for a codec without one. */
  checksumRange?(frame: Uint8Array): [start: number, end: number];
  /** The body's byte range, whose bytes a single corruption may hit. */
  bodyRange?(frame: Uint8Array): [start: number, end: number];
  /** Bytes that would change a frame's structure rather than its content. */
  delimiters: ReadonlySet<number>;
  /** What the host should read back from `reading`, at the codec's precision. */
  expected(reading: PumpReading): Partial<TelemetrySample>;
}

export const PUMP_ID = 'FUZZ-1';
const round = (value: number, step: number) => Math.round(value / step) * step;

const ALARIS_CODES = ['OCCLUSION_DOWNSTREAM', 'OCCLUSION_UPSTREAM', 'AIR_IN_LINE', 'END_OF_INFUSION', 'LOW_BATTERY', 'DOOR_OPEN'];

export const CODECS: readonly CodecUnderTest[] = [
  {
    name: 'alaris',
    maxFrameBytes: 256,
    createHost: (deps) => createAlarisHostSession({ pumpId: PUMP_ID, channel: '1', pumpType: 'syringe', pollIntervalMs: 1000, maxFrameBytes: 256, startup: [] }, deps),
    // A flagged status reply is followed by the pump's answer to the ALARM query it triggers.
    encode: (reading) => ((reading.pumpAlarms?.length ?? 0) === 0 ? encodeAlarisStatus(reading) : Buffer.concat([encodeAlarisStatus(reading), encodeAlarisAlarm(reading)])),
    resync: Uint8Array.of(),
    checksumRange: (frame) => [frame.indexOf(0x0d) - 4, frame.indexOf(0x0d)],
    bodyRange: (frame) => [1, frame.indexOf(0x0d) - 5],
    delimiters: new Set([0x21, 0x7c, 0x5e, 0x0d, 0x0a, 0x1b, 0x2c]),
    expected: (reading) => ({
      pumpId: PUMP_ID,
      channel: '1',
      pumpType: 'syringe',
      // The public record has two mode words: SET while the pump delivers, HLD otherwise.
      state: ['infusing', 'bolus', 'kvo'].includes(reading.state) ? 'infusing' : 'paused',
      ...(reading.rateMlPerH === undefined ? {} : { rateMlPerH: Number(reading.rateMlPerH.toFixed(2)) }),
      ...(reading.volumeInfusedMl === undefined ? {} : { volumeInfusedMl: Number(reading.volumeInfusedMl.toFixed(3)) }),
      ...(reading.downstreamPressureMmHg === undefined ? {} : { downstreamPressureMmHg: Number(reading.downstreamPressureMmHg.toFixed(2)) }),
      // One ALARM reply names one alarm: the first.
      pumpAlarms: (reading.pumpAlarms ?? []).slice(0, 1),
    }),
  },
  {
    name: 'fresenius',
    maxFrameBytes: 128,
    createHost: (deps) => createFreseniusHostSession({ modules: [{ module: 1, pumpId: PUMP_ID, channel: '1' }], pollIntervalMs: 1000, maxFrameBytes: 128 }, deps),
    encode: (reading) => encodeFreseniusReport(1, 'E', reading),
    resync: Uint8Array.of(),
    checksumRange: (frame) => [frame.length - 3, frame.length - 1],
    bodyRange: (frame) => [1, frame.length - 3],
    delimiters: new Set([0x02, 0x03, 0x05, 0x06, 0x14, 0x15, 0x3b]),
    expected: (reading) => ({
      pumpId: PUMP_ID,
      channel: '1',
      state: reading.state,
      ...(reading.rateMlPerH === undefined ? {} : { rateMlPerH: round(reading.rateMlPerH, 0.1) }),
      ...(reading.volumeInfusedMl === undefined ? {} : { volumeInfusedMl: round(reading.volumeInfusedMl, 0.001) }),
      ...(reading.downstreamPressureMmHg === undefined ? {} : { downstreamPressureMmHg: Math.max(0, Math.round(reading.downstreamPressureMmHg)) }),
      pumpAlarms: FRESENIUS_ALARM_BITS.filter(({ code }) => reading.pumpAlarms?.includes(code) === true).map(({ code }) => code),
    }),
  },
  {
    name: 'json-lines',
    maxFrameBytes: 1024,
    createHost: (deps) => createJsonLinesHostSession({ pumpId: PUMP_ID, channel: '1', maxFrameBytes: 1024, maxSamplesPerFrame: 10 }, deps),
    encode: (reading) => encodeJsonLine({ ...reading, ts: 1_700_000_000_000 } as PumpReading),
    resync: Uint8Array.of(0x0a),
    delimiters: new Set([0x0a]),
    expected: (reading) => ({
      pumpId: PUMP_ID,
      channel: '1',
      state: reading.state,
      ...(reading.rateMlPerH === undefined ? {} : { rateMlPerH: reading.rateMlPerH }),
      ...(reading.volumeInfusedMl === undefined ? {} : { volumeInfusedMl: reading.volumeInfusedMl }),
      ...(reading.downstreamPressureMmHg === undefined ? {} : { downstreamPressureMmHg: reading.downstreamPressureMmHg }),
      ...(reading.pumpAlarms === undefined ? {} : { pumpAlarms: [...reading.pumpAlarms] }),
    }),
  },
];

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

/** Readings inside the telemetry schema's ranges, with values on and off each codec's grid. */
export const readingArbitrary: fc.Arbitrary<PumpReading> = fc
  .record({
    // `unknown` is what a host reads from a word it cannot map; no pump reports it.
    state: fc.constantFrom(...INFUSION_STATES.filter((state) => state !== 'unknown')),
    rateMlPerH: optional(fc.double({ min: 0, max: 1999, noNaN: true })),
    volumeInfusedMl: optional(fc.double({ min: 0, max: 99_999, noNaN: true })),
    downstreamPressureMmHg: optional(fc.double({ min: -400, max: 2900, noNaN: true })),
    pumpAlarms: optional(fc.uniqueArray(fc.constantFrom(...ALARIS_CODES), { maxLength: 3 })),
  })
  .map(({ state, rateMlPerH, volumeInfusedMl, downstreamPressureMmHg, pumpAlarms }) => {
    const reading: PumpReading = { pumpId: PUMP_ID, channel: '1', state };
    if (rateMlPerH !== undefined) reading.rateMlPerH = rateMlPerH;
    if (volumeInfusedMl !== undefined) reading.volumeInfusedMl = volumeInfusedMl;
    if (downstreamPressureMmHg !== undefined) reading.downstreamPressureMmHg = downstreamPressureMmHg;
    if (pumpAlarms !== undefined) reading.pumpAlarms = pumpAlarms;
    return reading;
  });

/** Compares at a precision below every codec's grid, so float noise from scaling does not count. */
export function closeTo(actual: TelemetrySample, expected: Partial<TelemetrySample>): boolean {
  for (const [key, value] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown>)[key];
    if (typeof value === 'number') {
      if (typeof got !== 'number' || Math.abs(got - value) > 1e-6 * Math.max(1, Math.abs(value))) return false;
    } else if (JSON.stringify(got) !== JSON.stringify(value)) return false;
  }
  return true;
}
