import { performance } from 'node:perf_hooks';

/**
 * Time, as the rest of pumpwatch sees it: the wall clock for timestamps, a monotonic clock for
 * durations, and timers. Everything takes them injected, so replay and tests can drive them.
 */

/** Wall-clock epoch milliseconds: the only way the core learns the time of day. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that stands where it was last set: replay advances it to each sample's own time. */
export interface SettableClock extends Clock {
  set(epochMs: number): void;
}

export function createSettableClock(startMs = 0): SettableClock {
  let current = startMs;
  return {
    now: () => current,
    set(epochMs) {
      if (epochMs > current) current = epochMs;
    },
  };
}

/**
 * Milliseconds from an arbitrary origin that never step back, for durations and deadlines, so a
 * wall-clock step is not taken for a stall. A different method name from `Clock.now` keeps the
 * two from being passed for each other.
 */
export interface MonotonicClock {
  elapsedMs(): number;
}

export const monotonicClock: MonotonicClock = { elapsedMs: () => performance.now() };

/** Timer functions; tests substitute ones that fire when told. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, intervalMs: number): unknown;
  clearInterval(handle: unknown): void;
}

export type TimeoutTimers = Pick<Timers, 'setTimeout' | 'clearTimeout'>;

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setInterval: (callback, intervalMs) => setInterval(callback, intervalMs),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/** System timers that do not keep the process alive by themselves: for housekeeping beside the real work. */
export const backgroundTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setInterval: (callback, intervalMs) => setInterval(callback, intervalMs).unref(),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};
