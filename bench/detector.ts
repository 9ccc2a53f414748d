import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Finding } from '../src/alarms/finding.js';
import { LineWatch } from '../src/detect/line-watch.js';
import { detectorSettings } from '../src/detect/settings.js';
import type { TelemetrySample } from '../src/telemetry/sample.js';

/**
 * Detector core benchmark: samples per second through `LineWatch.onSample` on one core (the
 * detector runs on the main thread), and heap bytes of detector state per channel.
 */

export interface DetectorBenchOptions {
  /** Channels fed round-robin, as a ward gateway sees them. */
  channels: number;
  /** Samples per channel per pass (10 s telemetry: 8640 = one day). */
  samplesPerChannel: number;
  passes: number;
  /** Channels created for the memory measurement. */
  memoryChannels: number;
}

export interface DetectorBenchResult {
  node: string;
  cpu: string;
  channels: number;
  samplesPerPass: number;
  passSamplesPerSecond: number[];
  medianSamplesPerSecond: number;
  findings: number;
  memoryChannels: number;
  stateBytesPerChannel: number;
  targetSamplesPerSecond: number;
  targetBytesPerChannel: number;
}

export const DEFAULT_DETECTOR_BENCH: DetectorBenchOptions = { channels: 120, samplesPerChannel: 8640, passes: 5, memoryChannels: 10_000 };

const INTERVAL_MS = 10_000;
const START_MS = Date.UTC(2026, 0, 1);

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

/**
 * One day of pressure per channel: a vein with noise and 1 mmHg quantisation; every tenth channel
 * gets a clamp and every tenth (offset) a filling site, so the finding paths run too.
 */
function pressureTraces(channels: number, samples: number): Float64Array[] {
  const random = seeded(42);
  const traces: Float64Array[] = [];
  for (let channel = 0; channel < channels; channel++) {
    const trace = new Float64Array(samples);
    const onset = Math.floor(samples / 2);
    for (let index = 0; index < samples; index++) {
      const volumeSinceOnset = Math.max(0, index - onset) * (INTERVAL_MS / 3_600_000);
      let pressure = 8 + (random() + random() + random() - 1.5) * 2;
      if (channel % 10 === 0) pressure += Math.min(300, volumeSinceOnset * 500);
      if (channel % 10 === 5) pressure += volumeSinceOnset * 25;
      trace[index] = Math.round(pressure);
    }
    traces.push(trace);
  }
  return traces;
}

function templateSample(channel: number): TelemetrySample {
  return {
    pumpId: `P-${String(Math.floor(channel / 2)).padStart(4, '0')}`,
    channel: String((channel % 2) + 1),
    ts: START_MS,
    state: 'infusing',
    rateMlPerH: 1,
    volumeInfusedMl: 0,
    downstreamPressureMmHg: 8,
    drug: { name: channel % 3 === 0 ? 'Calcium gluconate 10%' : 'Dextrose 10%' },
    careArea: 'NICU',
  };
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function measureThroughput(options: DetectorBenchOptions): { perPass: number[]; findings: number } {
  const traces = pressureTraces(options.channels, options.samplesPerChannel);
  const samples = Array.from({ length: options.channels }, (_, channel) => templateSample(channel));
  let findings = 0;
  const detector = new LineWatch({
    settings: detectorSettings(),
    occlusionAlarmCodes: ['OCCLUSION_DOWNSTREAM'],
    emit: (_finding: Finding) => {
      findings++;
    },
  });
  const perPass: number[] = [];
  // One extra pass first, untimed, so the optimising compiler has seen the hot path.
  for (let pass = -1; pass < options.passes; pass++) {
    const passOffsetMs = (pass + 1) * options.samplesPerChannel * INTERVAL_MS;
    const started = process.hrtime.bigint();
    for (let index = 0; index < options.samplesPerChannel; index++) {
      const ts = START_MS + passOffsetMs + index * INTERVAL_MS;
      const volume = (ts - START_MS) / 3_600_000;
      for (let channel = 0; channel < options.channels; channel++) {
        const sample = samples[channel]!;
        sample.ts = ts;
        sample.volumeInfusedMl = volume;
        sample.downstreamPressureMmHg = traces[channel]![index]!;
        detector.onSample(sample);
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (pass >= 0) perPass.push((options.samplesPerChannel * options.channels) / seconds);
  }
  return { perPass, findings };
}

function measureMemory(channels: number): number {
  const gc = exposeGc();
  const samples = Array.from({ length: channels }, (_, channel) => templateSample(channel));
  const detector = new LineWatch({ settings: detectorSettings(), occlusionAlarmCodes: [], emit: () => undefined });
  gc();
  gc();
  // Typed-array backing stores live outside the V8 heap: count them too.
  const used = () => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  const before = used();
  for (let step = 0; step < 50; step++) {
    for (const sample of samples) {
      sample.ts = START_MS + step * INTERVAL_MS;
      detector.onSample(sample);
    }
  }
  gc();
  gc();
  const after = used();
  if (detector.channelCount !== channels) throw new Error(`PW_BENCH_CHANNELS: expected ${channels} channels, saw ${detector.channelCount}`);
  return (after - before) / channels;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function runDetectorBench(options: DetectorBenchOptions = DEFAULT_DETECTOR_BENCH): DetectorBenchResult {
  const stateBytesPerChannel = measureMemory(options.memoryChannels);
  const { perPass, findings } = measureThroughput(options);
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    channels: options.channels,
    samplesPerPass: options.channels * options.samplesPerChannel,
    passSamplesPerSecond: perPass.map((rate) => Math.round(rate)),
    medianSamplesPerSecond: Math.round(median(perPass)),
    findings,
    memoryChannels: options.memoryChannels,
    stateBytesPerChannel: Math.round(stateBytesPerChannel),
    targetSamplesPerSecond: 1_000_000,
    targetBytesPerChannel: 2048,
  };
}

export function formatDetectorBench(result: DetectorBenchResult): string {
  const rows: [string, string, string][] = [
    ['detector samples/s (one core, median)', result.medianSamplesPerSecond.toLocaleString('en-US'), `≥ ${result.targetSamplesPerSecond.toLocaleString('en-US')}`],
    ['state bytes per channel (heap + buffers)', String(result.stateBytesPerChannel), `≤ ${result.targetBytesPerChannel}`],
  ];
  const width = Math.max(...rows.map((row) => row[0].length));
  const lines = [
    `detector: ${result.channels} channels round-robin, ${result.samplesPerPass.toLocaleString('en-US')} samples per pass, ${result.passSamplesPerSecond.length} passes; ${result.memoryChannels.toLocaleString('en-US')} channels for memory`,
    `${'measure'.padEnd(width)}  ${'result'.padStart(12)}  target`,
    ...rows.map(([name, value, target]) => `${name.padEnd(width)}  ${value.padStart(12)}  ${target}`),
    `(${result.cpu}, node ${result.node}; passes: ${result.passSamplesPerSecond.map((rate) => rate.toLocaleString('en-US')).join(', ')})`,
  ];
  return lines.join('\n');
}
