import type { InfusionState, TelemetrySample } from '../../src/telemetry/sample.js';

/** A small seeded generator (mulberry32) so hand-built traces are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SegmentContext {
  /** Seconds since the segment began. */
  seconds: number;
  /** Volume delivered since the segment began, mL. */
  volumeMl: number;
}

export interface TraceSegment {
  seconds: number;
  state?: InfusionState;
  rateMlPerH?: number;
  /** Noise-free pressure at the sensor. */
  pressure: (at: SegmentContext) => number;
  pumpAlarms?: string[];
}

export interface TraceOptions {
  pumpId?: string;
  channel?: string;
  startMs?: number;
  intervalSeconds?: number;
  rateMlPerH?: number;
  noiseMmHg?: number;
  quantumMmHg?: number;
  seed?: number;
  drug?: string;
  careArea?: string;
}

/** Gaussian noise by Box–Muller from the seeded generator. */
function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * Builds telemetry for one channel from segments, each with its own pressure law. Volume is
 * cumulative across segments and advances only while infusing.
 */
export function buildTrace(segments: readonly TraceSegment[], options: TraceOptions = {}): TelemetrySample[] {
  const random = seededRandom(options.seed ?? 1);
  const intervalMs = (options.intervalSeconds ?? 10) * 1000;
  const samples: TelemetrySample[] = [];
  let ts = options.startMs ?? Date.UTC(2026, 0, 1);
  let volumeMl = 0;
  for (const segment of segments) {
    const state = segment.state ?? 'infusing';
    const rate = segment.rateMlPerH ?? options.rateMlPerH ?? 1;
    const delivering = state === 'infusing' || state === 'kvo' || state === 'bolus';
    for (let elapsedMs = 0; elapsedMs < segment.seconds * 1000; elapsedMs += intervalMs) {
      const segmentVolume = delivering ? (rate * elapsedMs) / 3_600_000 : 0;
      let pressure = segment.pressure({ seconds: elapsedMs / 1000, volumeMl: segmentVolume });
      pressure += (options.noiseMmHg ?? 0) * gaussian(random);
      const quantum = options.quantumMmHg ?? 0;
      if (quantum > 0) pressure = Math.round(pressure / quantum) * quantum;
      const sample: TelemetrySample = {
        pumpId: options.pumpId ?? 'P-01',
        channel: options.channel ?? '1',
        ts: ts + elapsedMs,
        state,
        rateMlPerH: rate,
        volumeInfusedMl: volumeMl + segmentVolume,
        downstreamPressureMmHg: pressure,
      };
      if (options.drug !== undefined) sample.drug = { name: options.drug };
      if (options.careArea !== undefined) sample.careArea = options.careArea;
      if (segment.pumpAlarms !== undefined) sample.pumpAlarms = segment.pumpAlarms;
      samples.push(sample);
    }
    ts += segment.seconds * 1000;
    if (delivering) volumeMl += (rate * segment.seconds) / 3600;
  }
  return samples;
}

export const flat = (mmHg: number) => () => mmHg;
/** Pressure rising linearly with the volume delivered (dP/dV = slope). */
export const ramp = (fromMmHg: number, slopeMmHgPerMl: number) => (at: SegmentContext) => fromMmHg + slopeMmHgPerMl * at.volumeMl;
