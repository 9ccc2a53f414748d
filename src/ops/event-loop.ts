import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Event-loop delay seen since the last `reset`, from libuv's own timer (perf_hooks), so a stall
 * between two of our checks is still seen. Each consumer owns its window; resetting one never
 * hides a stall from another.
 */
export interface LagWindow {
  maxMs(): number;
  reset(): void;
  stop(): void;
}

/** Fine enough to see a stall that matters to a 10 s watchdog, coarse enough to cost nothing. */
const DEFAULT_RESOLUTION_MS = 20;

/**
 * The histogram records the whole interval between two of its timer callbacks, resolution
 * included; the lag is what exceeds the resolution. An empty histogram means nothing was measured.
 */
function lagMs(histogram: IntervalHistogram, resolutionMs: number): number {
  return histogram.count === 0 ? 0 : Math.max(0, histogram.max / 1e6 - resolutionMs);
}

export function createLagWindow(resolutionMs = DEFAULT_RESOLUTION_MS): LagWindow {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return {
    maxMs: () => lagMs(histogram, resolutionMs),
    reset: () => histogram.reset(),
    stop: () => histogram.disable(),
  };
}
