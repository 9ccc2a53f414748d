import { monotonicClock, type MonotonicClock } from '../clock.js';
import type { SimEmission } from './channel.js';
import type { Ward } from './ward.js';

export interface PaceClock extends MonotonicClock {
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface PaceOptions {
  /** Simulated seconds per wall second; 0 or Infinity runs flat out. */
  speed: number;
  clock: PaceClock;
  signal: AbortSignal;
  /** Called before each wait, so buffered outputs reach their readers on time. */
  beforeWait?: () => void | Promise<void>;
}

export interface PaceResult {
  emitted: number;
  /** True when the signal stopped the run early. */
  stopped: boolean;
}

/** Waits shorter than this are not worth a timer: samples due this close together go out together. */
const MIN_WAIT_MS = 4;
/** Flat out, the loop yields to the event loop this often so signals and stream drains get through. */
const YIELD_EVERY = 8192;

/**
 * Hands a ward's samples to `emit` in arrival order, each at its simulated time divided by the
 * speed. A slow `emit` (awaited) delays the run instead of piling samples up in memory.
 */
export async function paceWard(ward: Ward, options: PaceOptions, emit: (emission: SimEmission) => void | Promise<void>): Promise<PaceResult> {
  const { speed, clock, signal } = options;
  const flatOut = !(speed > 0 && Number.isFinite(speed));
  const wallStart = clock.elapsedMs();
  let emitted = 0;
  for (;;) {
    if (signal.aborted) return { emitted, stopped: true };
    const atMs = ward.peekAtMs();
    if (atMs === undefined) return { emitted, stopped: false };
    if (!flatOut) {
      const waitMs = wallStart + (atMs - ward.startMs) / speed - clock.elapsedMs();
      if (waitMs >= MIN_WAIT_MS) {
        await options.beforeWait?.();
        await clock.sleep(waitMs, signal);
        continue;
      }
    }
    const result = emit(ward.next()!);
    if (result !== undefined) await result;
    emitted++;
    if (flatOut && emitted % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The real clock, for the CLI and the demo. */
export const systemPaceClock: PaceClock = {
  elapsedMs: () => monotonicClock.elapsedMs(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};
