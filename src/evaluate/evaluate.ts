import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { monotonicClock, type MonotonicClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { createWard, Ward, type SimLabel } from '../simulate/index.js';
import { operatingCurves, type CurvePoint } from './curves.js';
import type { EvaluationPlan } from './plan.js';
import { runWard, TelemetryCollector, type AlarmRecord, type RunOutcome } from './runner.js';
import { scoreRuns, type EventScore, type Scores } from './score.js';
import { summarise, type Summary } from './summary.js';
import { DEFAULT_SWEEP, type SweepPoint } from './sweep.js';

const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Points per example trace: enough to see a ramp, small enough for a readable report. */
const EXAMPLE_POINTS = 900;

export interface ExampleTrace {
  title: string;
  run: string;
  pumpId: string;
  channel: string;
  startMs: number;
  endMs: number;
  /** `[epoch ms, mmHg]`. */
  points: [number, number][];
  /** True onset and end of the event shown (absent for a false alarm). */
  onsetMs: number | null;
  eventEndMs: number | null;
  /** Alarms raised on the channel within the window. */
  alarms: { condition: string; atMs: number; source: string }[];
  pumpAlarmMs: number[];
  note: string;
}

export interface EvaluationResult {
  plan: EvaluationPlan;
  runs: { name: string; family: string; seed: number | null; samples: number; rejected: number; channels: number; alarms: number; seconds: number }[];
  scores: Scores;
  summary: Summary;
  /** Operating curves: one point per swept threshold set (`sweep.ts`). */
  curves: CurvePoint[];
  examples: ExampleTrace[];
  seconds: number;
}

export interface EvaluateOptions {
  plan: EvaluationPlan;
  config: Config;
  /** Recorded runs instead of simulated ones: telemetry JSONL and labels JSONL (as `pumpwatch simulate` writes them). */
  files?: readonly { telemetry: string; labels: string }[];
  progress?: (message: string) => void;
  /** Times the runs for the report. */
  monotonic?: MonotonicClock;
  /** Threshold sets for the operating curves (default `DEFAULT_SWEEP`; empty: no curves). */
  sweep?: readonly SweepPoint[];
}

async function readLines(path: string, onLine: (line: string) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== '') onLine(line);
}

interface LabelFile {
  name: string;
  seed: number | null;
  startMs: number;
  endMs: number;
  labels: SimLabel[];
}

async function readLabels(path: string): Promise<LabelFile> {
  const labels: SimLabel[] = [];
  let run: Record<string, unknown> | undefined;
  await readLines(path, (line) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (value['record'] === 'run') run = value;
    else if (value['record'] === 'label') labels.push(value as unknown as SimLabel);
  });
  const startMs = run?.['startMs'];
  const endMs = run?.['endMs'];
  if (run === undefined || typeof startMs !== 'number' || typeof endMs !== 'number') {
    throw new Error(`PW_EVAL_LABELS: ${path} has no run record (its first line should be {"record":"run",...})`);
  }
  const name = run['name'];
  const seed = run['seed'];
  return { name: typeof name === 'string' ? name : path, seed: typeof seed === 'number' ? seed : null, startMs, endMs, labels };
}

async function runFile(files: { telemetry: string; labels: string }, config: Config, sweep: readonly SweepPoint[]): Promise<RunOutcome> {
  const labelFile = await readLabels(files.labels);
  const collector = new TelemetryCollector(config, sweep);
  await readLines(files.telemetry, (line) => collector.feedLine(line));
  return { name: files.telemetry, family: labelFile.name, seed: labelFile.seed, startMs: labelFile.startMs, endMs: labelFile.endMs, labels: labelFile.labels, spec: null, ...collector.finish() };
}

/** Re-simulates one pump of a run (each pump draws from its own seeded stream, so this is exact). */
function pressureTrace(run: RunOutcome, pumpId: string, channel: string, fromMs: number, toMs: number): [number, number][] {
  if (run.spec === null) return [];
  const pump = run.spec.pumps.find((candidate) => candidate.pumpId === pumpId);
  if (pump === undefined) return [];
  const ward = new Ward({ ...run.spec, pumps: [pump], durationMs: Math.min(run.spec.durationMs, toMs - run.spec.startMs) });
  const points: [number, number][] = [];
  for (let emission = ward.next(); emission !== undefined; emission = ward.next()) {
    const { sample } = emission;
    const ts = Date.parse(sample.ts);
    if (sample.channel !== channel || ts < fromMs || ts > toMs || sample.downstreamPressureMmHg === undefined) continue;
    points.push([ts, sample.downstreamPressureMmHg]);
  }
  points.sort((a, b) => a[0] - b[0]);
  if (points.length <= EXAMPLE_POINTS) return points;
  // Keep each bucket's extremes so ramps and spikes both survive thinning.
  const bucket = Math.ceil(points.length / (EXAMPLE_POINTS / 2));
  const thinned: [number, number][] = [];
  for (let start = 0; start < points.length; start += bucket) {
    const slice = points.slice(start, start + bucket);
    const low = slice.reduce((a, b) => (b[1] < a[1] ? b : a));
    const high = slice.reduce((a, b) => (b[1] > a[1] ? b : a));
    thinned.push(...(low[0] <= high[0] ? [low, high] : [high, low]));
  }
  return thinned;
}

function exampleFor(run: RunOutcome, event: EventScore | null, alarm: AlarmRecord | null, title: string, note: string): ExampleTrace {
  const pumpId = event?.pumpId ?? alarm!.pumpId;
  const channel = event?.channel ?? alarm!.channel;
  const centre = event?.onsetMs ?? alarm!.atMs;
  const eventEnd = event?.endMs ?? null;
  const startMs = Math.max(run.startMs, centre - 45 * MIN_MS);
  const endMs = Math.min(run.endMs, Math.max(centre + 75 * MIN_MS, (eventEnd ?? centre) + 15 * MIN_MS, (event?.detectedMs ?? 0) + 15 * MIN_MS));
  const log = run.channels.find((candidate) => candidate.pumpId === pumpId && candidate.channel === channel);
  return {
    title,
    run: run.name,
    pumpId,
    channel,
    startMs,
    endMs,
    points: pressureTrace(run, pumpId, channel, startMs, endMs),
    onsetMs: event?.onsetMs ?? null,
    eventEndMs: eventEnd,
    alarms: run.alarms
      .filter((candidate) => candidate.pumpId === pumpId && candidate.channel === channel && candidate.atMs >= startMs && candidate.atMs <= endMs)
      .map((candidate) => ({ condition: candidate.condition, atMs: candidate.atMs, source: candidate.source })),
    pumpAlarmMs: log?.pumpOcclusionMs.filter((ts) => ts >= startMs && ts <= endMs) ?? [],
    note,
  };
}

/** A few traces per condition: detected and missed events, and false alarms, picked deterministically. */
function pickExamples(runs: readonly RunOutcome[], scores: Scores): ExampleTrace[] {
  const byName = new Map(runs.map((run) => [run.name, run]));
  const examples: ExampleTrace[] = [];
  const pick = (filter: (event: EventScore) => boolean, title: string, count: number) => {
    const chosen = scores.events.filter((event) => event.reportsPressure && filter(event)).slice(0, count);
    for (const event of chosen) {
      const run = byName.get(event.run);
      if (run === undefined) continue;
      const outcome =
        event.detectedMs === null
          ? 'not raised'
          : `raised after ${((event.detectedMs - event.onsetMs) / MIN_MS).toFixed(1)} min by ${event.detectedBy}${event.infiltratedMlAtDetection === null ? '' : `, ${event.infiltratedMlAtDetection.toFixed(2)} mL infiltrated`}`;
      const pump = event.pumpMs === null ? 'pump did not alarm' : `pump alarmed after ${((event.pumpMs - event.onsetMs) / MIN_MS).toFixed(1)} min`;
      examples.push(exampleFor(run, event, null, `${title}: ${event.pumpId}/${event.channel} at ${event.rateMlPerH} mL/h`, `${outcome}; ${pump}`));
    }
  };
  pick((event) => event.kind === 'occlusion' && event.group === 'full' && event.detectedMs !== null && event.rateMlPerH <= 1.5, 'Full occlusion, detected', 2);
  pick((event) => event.kind === 'occlusion' && event.detectedMs === null && (event.durationMin ?? 60) >= 10, 'Occlusion, missed', 1);
  pick((event) => event.kind === 'infiltration' && event.group === 'tight' && event.detectedMs !== null, 'Tight-site infiltration, detected', 2);
  pick((event) => event.kind === 'infiltration' && event.group === 'tight' && event.detectedMs === null, 'Tight-site infiltration, missed', 1);
  pick((event) => event.kind === 'infiltration' && event.group === 'compliant', 'Compliant-site infiltration', 1);
  for (const alarm of scores.falseAlarmList.filter((candidate) => candidate.source === 'pressure-trend').slice(0, 2)) {
    const run = byName.get(alarm.run);
    if (run !== undefined) examples.push(exampleFor(run, null, alarm, `False ${alarm.condition}: ${alarm.pumpId}/${alarm.channel}`, 'no true event on this channel at the time'));
  }
  return examples;
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluationResult> {
  const monotonic = options.monotonic ?? monotonicClock;
  const now = () => monotonic.elapsedMs();
  const progress = options.progress ?? (() => undefined);
  const sweep = options.sweep ?? DEFAULT_SWEEP;
  const started = now();
  const runs: RunOutcome[] = [];
  const runInfo: EvaluationResult['runs'] = [];
  const record = (run: RunOutcome, seconds: number) => {
    runs.push(run);
    runInfo.push({ name: run.name, family: run.family, seed: run.seed, samples: run.samples, rejected: run.rejected, channels: run.channels.length, alarms: run.alarms.length, seconds });
  };
  if (options.files !== undefined && options.files.length > 0) {
    for (const [index, files] of options.files.entries()) {
      progress(`[${index + 1}/${options.files.length}] ${files.telemetry}`);
      const runStarted = now();
      record(await runFile(files, options.config, sweep), (now() - runStarted) / 1000);
    }
  } else {
    const jobs = options.plan.seeds.flatMap((seed) => options.plan.families.map((family) => ({ seed, ...family })));
    for (const [index, job] of jobs.entries()) {
      const name = `${job.family} seed ${job.seed}`;
      const prefix = `[${index + 1}/${jobs.length}] ${name} (${job.pumps} pumps, ${job.hours} h)`;
      const runStarted = now();
      let lastDecile = -1;
      const ward = createWard({ family: job.family, seed: job.seed, pumps: job.pumps, durationMs: job.hours * HOUR_MS });
      const run = runWard(ward, {
        config: options.config,
        name,
        family: job.family,
        seed: job.seed,
        sweep,
        onProgress: (fraction) => {
          const decile = Math.floor(fraction * 10);
          if (decile > lastDecile && decile < 10) {
            lastDecile = decile;
            progress(`${prefix}: ${decile * 10} %`);
          }
        },
      });
      const seconds = (now() - runStarted) / 1000;
      progress(`${prefix}: done, ${run.samples} samples, ${run.alarms.length} alarms, ${seconds.toFixed(1)} s`);
      record(run, seconds);
    }
  }
  const scores = scoreRuns(runs);
  const summary = summarise(scores);
  progress('scoring the operating curves');
  const curves = operatingCurves(runs, sweep);
  progress('drawing example traces');
  const examples = pickExamples(runs, scores);
  return { plan: options.plan, runs: runInfo, scores, summary, curves, examples, seconds: (now() - started) / 1000 };
}
