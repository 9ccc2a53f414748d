import { performance } from 'node:perf_hooks';
import type { TechnicalReport } from '../alarms/manager.js';
import { backgroundTimers, monotonicClock, type MonotonicClock, type Timers } from '../clock.js';
import type { Logger } from '../log.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import { BacklogQueue, SHED_REASONS, type ShedReason } from './queue.js';
import { OverloadWatch, type OverloadSettings } from './overload.js';

/** `auto`: shed what the gateway cannot keep up with; `off`: never shed, let the broker queue. */
export type SheddingMode = 'auto' | 'off';

/** The `overload` section of the configuration. */
export interface OverloadConfig {
  shedding: SheddingMode;
  enterCpuShare: number;
  enterAfterSeconds: number;
  exitCpuShare: number;
  exitAfterSeconds: number;
  maxDelaySeconds: number;
  maxPendingSamples: number;
}

/** What metrics read, at scrape time. */
export interface IngestStatus {
  overloaded: boolean;
  /** Share of one core the gateway's own thread worked in the latest window, and demand (that + cost of what was shed). */
  cpuShare: number;
  demand: number;
  /** Wall-clock event-loop utilisation in the latest window (counts time spent waiting for a core). */
  utilization: number;
  /**
   * Samples taken in, and of those: through the detector, shed, still waiting (here or held by
   * the pipeline's time guard). The rest were refused for their time by the pipeline:
   * received = processed + shed + pending + refused for time.
   */
  received: number;
  processed: number;
  pending: number;
  shed: Readonly<Record<ShedReason, number>>;
  /** The longest a queued sample waited before it was processed or shed, in the latest window (ms). */
  maxWaitMs: number;
}

/** One window's readings of the process: its own CPU share and its event-loop utilisation. */
export interface LoadReading {
  cpuShare: number;
  utilization: number;
}

/** The timers and probes the guard needs; tests replace them to drive it by hand. */
export interface IngestGuardRuntime {
  /** The process's load since the previous call. */
  load: () => LoadReading;
  monotonic: MonotonicClock;
  schedule: (task: () => void) => void;
  /** The load window's timer. */
  timers: Pick<Timers, 'setInterval' | 'clearInterval'>;
}

/**
 * What became of the samples the guard passed on: the pipeline's time guard refuses some and
 * holds a few before the detector sees the rest.
 */
export interface Downstream {
  /** Samples that reached the detector. */
  detected: () => number;
  /** Samples held, neither judged nor refused yet. */
  held: () => number;
}

export interface IngestGuardOptions {
  settings: OverloadConfig;
  process: (sample: TelemetrySample) => void;
  /** Default: every sample passed on counts as reaching the detector. */
  downstream?: Downstream;
  report: (report: TechnicalReport) => void;
  logger: Logger;
  runtime?: IngestGuardRuntime;
}

/** Long enough to average over bursts of socket reads, short enough to react within a second or two. */
export const LOAD_WINDOW_MS = 500;
/** A slice of processing between socket reads and timers (the alarm connection's keepalive among them). */
export const SLICE_MS = 50;

/** Cumulative readings of the process at one instant. */
export interface LoadCounters {
  /** CPU time (user + system), µs: of the main thread when `threadOnly`, else of the whole process. */
  cpuMicros: number;
  wallMs: number;
  /** Event-loop active and idle time, ms (perf_hooks). */
  loopActiveMs: number;
  loopIdleMs: number;
  threadOnly: boolean;
}

/**
 * The gateway's load between two readings. Its CPU time as a share of one core is the signal.
 * When only the whole process's CPU time is known, the garbage collector's and libuv's helper
 * threads are in it, so it is capped by event-loop utilisation: the main thread cannot have
 * worked longer than its loop was busy, nor longer than the process had a CPU.
 */
export function loadBetween(previous: LoadCounters, current: LoadCounters): LoadReading {
  const wallMicros = (current.wallMs - previous.wallMs) * 1000;
  const active = current.loopActiveMs - previous.loopActiveMs;
  const idle = current.loopIdleMs - previous.loopIdleMs;
  const utilization = active + idle > 0 ? active / (active + idle) : 0;
  const share = wallMicros > 0 ? (current.cpuMicros - previous.cpuMicros) / wallMicros : 0;
  return { cpuShare: current.threadOnly ? share : Math.min(share, utilization), utilization };
}

type CpuUsage = () => NodeJS.CpuUsage;

/** Reads the main thread's CPU time where Node.js can (process.threadCpuUsage, ≥ 22.19/23.9), else the process's. */
export function readLoadCounters(): LoadCounters {
  const threadCpuUsage = (process as { threadCpuUsage?: CpuUsage }).threadCpuUsage;
  const cpu = threadCpuUsage === undefined ? process.cpuUsage() : threadCpuUsage.call(process);
  const loop = performance.eventLoopUtilization();
  return { cpuMicros: cpu.user + cpu.system, wallMs: performance.now(), loopActiveMs: loop.active, loopIdleMs: loop.idle, threadOnly: threadCpuUsage !== undefined };
}

function processLoad(): () => LoadReading {
  let previous = readLoadCounters();
  return () => {
    const current = readLoadCounters();
    const reading = loadBetween(previous, current);
    previous = current;
    return reading;
  };
}

export function systemIngestRuntime(): IngestGuardRuntime {
  return {
    load: processLoad(),
    monotonic: monotonicClock,
    schedule: (task) => setImmediate(task),
    // The window only measures: it must not keep a stopping daemon alive.
    timers: backgroundTimers,
  };
}

/**
 * Overload protection in front of the pipeline. Samples go straight through until the gateway's
 * own thread has been near a full core for a while; then the `overloaded` technical alarm is
 * raised and, with shedding `auto`, samples queue in arrival order and only those the gateway
 * cannot keep up with are shed (see BacklogQueue). With shedding `off` nothing is ever shed: the
 * backlog stays in the kernel and the broker. Alarms are never shed: they are made by the pipeline
 * and leave on the alarm connection of their own.
 */
export class IngestGuard {
  readonly #queue: BacklogQueue;
  readonly #watch: OverloadWatch;
  readonly #runtime: IngestGuardRuntime;
  readonly #shedding: SheddingMode;
  readonly #stopTimer: () => void;
  readonly #downstream: Downstream;
  #received = 0;
  #windowStartMs: number;
  #windowReceived = 0;
  #windowShed = 0;
  #windowDrained = { samples: 0, ms: 0 };
  #sampleCostMs = 0;
  #load: LoadReading = { cpuShare: 0, utilization: 0 };
  #maxWaitMs = 0;

  constructor(options: IngestGuardOptions) {
    const { settings, logger } = options;
    const runtime = options.runtime ?? systemIngestRuntime();
    this.#runtime = runtime;
    this.#shedding = settings.shedding;
    this.#downstream = options.downstream ?? { detected: () => this.#queue.processed, held: () => 0 };
    this.#queue = new BacklogQueue({
      process: options.process,
      maxPending: settings.maxPendingSamples,
      maxDelayMs: settings.maxDelaySeconds * 1000,
      sliceMs: SLICE_MS,
      monotonic: runtime.monotonic,
      schedule: runtime.schedule,
      onError: (error, sample) =>
        logger.error({ code: 'PW_INGEST_PROCESS_FAILED', pumpId: sample.pumpId, channel: sample.channel, error: (error as Error).message }, 'processing a sample threw'),
    });
    const overloadSettings: OverloadSettings = {
      enterCpuShare: settings.enterCpuShare,
      enterAfterMs: settings.enterAfterSeconds * 1000,
      exitCpuShare: settings.exitCpuShare,
      exitAfterMs: settings.exitAfterSeconds * 1000,
    };
    this.#watch = new OverloadWatch({
      settings: overloadSettings,
      report: options.report,
      onChange: (overloaded) => {
        this.#queue.setQueueing(overloaded && this.#shedding === 'auto');
        if (overloaded) {
          logger.warn(
            { code: 'PW_OVERLOADED', cpuShare: this.#load.cpuShare, shedding: this.#shedding },
            this.#shedding === 'auto' ? 'overloaded: queueing samples and shedding those that wait too long' : 'overloaded: shedding is off, the backlog stays in the broker',
          );
        } else {
          logger.info({ code: 'PW_OVERLOAD_CLEARED', demand: this.#watch.demand, shed: this.shedCounts() }, 'no longer overloaded: samples go straight through again');
        }
      },
    });
    this.#windowStartMs = runtime.monotonic.elapsedMs();
    const window = runtime.timers.setInterval(() => this.observe(), LOAD_WINDOW_MS);
    this.#stopTimer = () => runtime.timers.clearInterval(window);
  }

  offer(sample: TelemetrySample): void {
    this.#received++;
    this.#queue.offer(sample);
  }

  /** Closes one load window: measures it and lets the overload watch decide. The timer calls it. */
  observe(): void {
    const nowMs = this.#runtime.monotonic.elapsedMs();
    const shedTotal = this.#queue.shedTotal;
    const drained = this.#queue.drained;
    const drainedSamples = drained.samples - this.#windowDrained.samples;
    // Keep the last known cost through windows that drained nothing.
    if (drainedSamples > 0) this.#sampleCostMs = (drained.ms - this.#windowDrained.ms) / drainedSamples;
    this.#load = this.#runtime.load();
    this.#maxWaitMs = this.#queue.takeMaxWaitMs();
    this.#watch.observe({
      durationMs: nowMs - this.#windowStartMs,
      cpuShare: this.#load.cpuShare,
      samples: this.#received - this.#windowReceived,
      shed: shedTotal - this.#windowShed,
      sampleCostMs: this.#sampleCostMs,
    });
    this.#windowStartMs = nowMs;
    this.#windowReceived = this.#received;
    this.#windowShed = shedTotal;
    this.#windowDrained = drained;
  }

  shedCounts(): Record<ShedReason, number> {
    const counts = {} as Record<ShedReason, number>;
    for (const reason of SHED_REASONS) counts[reason] = this.#queue.shedCount(reason);
    return counts;
  }

  status(): IngestStatus {
    return {
      overloaded: this.#watch.overloaded,
      cpuShare: this.#load.cpuShare,
      demand: this.#watch.demand,
      utilization: this.#load.utilization,
      received: this.#received,
      processed: this.#downstream.detected(),
      pending: this.#queue.pending + this.#downstream.held(),
      shed: this.shedCounts(),
      maxWaitMs: this.#maxWaitMs,
    };
  }

  /** Stops watching and processes what still waits, so nothing already received is lost. */
  stop(): void {
    this.#stopTimer();
    this.#queue.setQueueing(false);
    this.#queue.flush();
  }
}
