import { SimChannel, type SimSample } from '../../src/simulate/channel.js';
import { defaultChannelSpec, defaultPatientSpec } from '../../src/simulate/defaults.js';
import type { SimLabel } from '../../src/simulate/labels.js';
import type { ChannelSpec, PatientSpec } from '../../src/simulate/spec.js';

export const START_MS = Date.UTC(2026, 0, 1, 8);
export const MIN = 60_000;
export const H = 3_600_000;

/** A quiet patient: no wandering, so a test sees only what it put in. */
export const STILL_PATIENT: Partial<PatientSpec> = { limbHeightSdCm: 0, venousDriftSdMmHg: 0 };

export interface ChannelRun {
  samples: (SimSample & { tMs: number })[];
  labels: SimLabel[];
  channel: SimChannel;
}

/** Builds one channel; `spec` overrides the documented defaults. */
export function makeChannel(spec: Partial<ChannelSpec>, options: { durationMs: number; patient?: Partial<PatientSpec>; seed?: number }): SimChannel {
  const seed = options.seed ?? 1;
  return new SimChannel(defaultChannelSpec(spec), {
    pumpId: 'T-01',
    careArea: 'NICU',
    patient: defaultPatientSpec(options.patient ?? STILL_PATIENT),
    channelSeed: seed,
    patientSeed: seed + 1000,
    startMs: START_MS,
    endMs: START_MS + options.durationMs,
  });
}

/** Runs one channel to the end and collects its samples (in arrival order) and labels. */
export function runChannel(spec: Partial<ChannelSpec>, options: { durationMs: number; patient?: Partial<PatientSpec>; seed?: number }): ChannelRun {
  const channel = makeChannel(spec, options);
  const samples: ChannelRun['samples'] = [];
  for (let emission = channel.take(); emission !== undefined; emission = channel.take()) {
    samples.push({ ...emission.sample, tMs: Date.parse(emission.sample.ts) - START_MS });
  }
  const labels: SimLabel[] = [];
  channel.drainLabels(labels);
  return { samples, labels, channel };
}

export function pressures(samples: readonly SimSample[]): number[] {
  return samples.map((sample) => sample.downstreamPressureMmHg ?? Number.NaN);
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Mean reported pressure over [fromMs, toMs) of run time. */
export function meanPressure(run: ChannelRun, fromMs: number, toMs: number): number {
  return mean(pressures(run.samples.filter((sample) => sample.tMs >= fromMs && sample.tMs < toMs)));
}

/** Least-squares slope of y on x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  xs.forEach((x, index) => {
    num += (x - mx) * (ys[index]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}
