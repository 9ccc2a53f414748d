import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { TechnicalReport } from '../alarms/manager.js';
import { monotonicClock, systemTimers, type MonotonicClock, type Timers } from '../clock.js';
import type { Logger } from '../log.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import { ConflatingQueue, SHED_REASONS, type ShedReason } from './conflate.js';
import { OverloadWatch, type OverloadSettings } from './overload.js';

/** The `overload` section of the configuration. */
export interface OverloadConfig {
  enterUtilization: number;
  enterAfterSeconds: number;
  exitUtilization: number;
  exitAfterSeconds: number;
  maxPendingSamples: number;
}

/** What metrics read, at scrape time. */
export interface IngestStatus {
  overloaded: boolean;
  /** Event-loop utilisation in the latest window, and demand (utilisation + cost of what was shed). */
  utilization: number;
  demand: number;
  pending: number;
  shed: Readonly<Record<ShedReason, number>>;
}

/** The clock, timers and probes the guard needs; tests replace them to drive it by hand. */
export interface IngestGuardRuntime {
  /** Event-loop utilisation since the previous call (0–1). */
  utilization: () => number;
  monotonic: MonotonicClock;
  /** Runs `task` once pending I/O has been handled. */
  schedule: (task: () => void) => void;
  /** Closes a load window every `LOAD_WINDOW_MS`. */
  timers: Pick<Timers, 'setInterval' | 'clearInterval'>;
}

export interface IngestGuardOptions {
  settings: OverloadConfig;
  process: (sample: TelemetrySample) => void;
  report: (report: TechnicalReport) => void;
  logger: Logger;
  runtime?: IngestGuardRuntime;
}

/** Long enough to average over bursts of socket reads, short enough to react within a second or two. */
export const LOAD_WINDOW_MS = 500;
/** A slice of processing between socket reads: a sample that raises an alarm waits at most this long behind others. */
export const DRAIN_BUDGET_MS = 10;

function eventLoopUtilization(): () => number {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, previous);
    previous = current;
    return delta.utilization;
  };
}

export function systemIngestRuntime(): IngestGuardRuntime {
  return {
    utilization: eventLoopUtilization(),
    monotonic: monotonicClock,
    schedule: (task) => setImmediate(task),
    timers: systemTimers,
  };
}

/**
 * Overload protection in front of the pipeline: samples go straight through until the event loop
 * has been busy for a while, then the latest sample of each channel is kept and the rest shed
 * (see ConflatingQueue), with the `overloaded` technical alarm raised until demand has been low
 * for a while. Alarms are never shed: they are made by the pipeline and leave on the alarm
 * connection of their own.
 */
export class IngestGuard {
  readonly #queue: ConflatingQueue;
  readonly #watch: OverloadWatch;
  readonly #runtime: IngestGuardRuntime;
  readonly #windowTimer: unknown;
  #received = 0;
  #windowStartMs: number;
  #windowReceived = 0;
  #windowShed = 0;
  #windowDrained = { samples: 0, ms: 0 };
  #sampleCostMs = 0;
  #utilization = 0;

  constructor(options: IngestGuardOptions) {
    const { settings, logger } = options;
    const runtime = options.runtime ?? systemIngestRuntime();
    this.#runtime = runtime;
    this.#queue = new ConflatingQueue({
      process: options.process,
      maxPending: settings.maxPendingSamples,
      drainBudgetMs: DRAIN_BUDGET_MS,
      monotonic: runtime.monotonic,
      schedule: runtime.schedule,
      onError: (error, sample) =>
        logger.error({ code: 'PW_INGEST_PROCESS_FAILED', pumpId: sample.pumpId, channel: sample.channel, error: (error as Error).message }, 'processing a sample threw'),
    });
    const overloadSettings: OverloadSettings = {
      enterUtilization: settings.enterUtilization,
      enterAfterMs: settings.enterAfterSeconds * 1000,
      exitUtilization: settings.exitUtilization,
      exitAfterMs: settings.exitAfterSeconds * 1000,
    };
    this.#watch = new OverloadWatch({
      settings: overloadSettings,
      report: options.report,
      onChange: (overloaded) => {
        this.#queue.setConflating(overloaded);
        if (overloaded) {
          logger.warn({ code: 'PW_OVERLOADED', demand: this.#watch.demand }, 'overloaded: keeping only the latest sample of each channel until demand falls');
        } else {
          logger.info({ code: 'PW_OVERLOAD_CLEARED', demand: this.#watch.demand, shed: this.shedCounts() }, 'no longer overloaded: processing every sample again');
        }
      },
    });
    this.#windowStartMs = runtime.monotonic.elapsedMs();
    this.#windowTimer = runtime.timers.setInterval(() => this.observe(), LOAD_WINDOW_MS);
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
    this.#utilization = this.#runtime.utilization();
    this.#watch.observe({
      durationMs: nowMs - this.#windowStartMs,
      utilization: this.#utilization,
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
      utilization: this.#utilization,
      demand: this.#watch.demand,
      pending: this.#queue.pending,
      shed: this.shedCounts(),
    };
  }

  /** Stops watching and processes what still waits, so nothing already received is lost. */
  stop(): void {
    this.#runtime.timers.clearInterval(this.#windowTimer);
    this.#queue.setConflating(false);
    this.#queue.flush();
  }
}
