import type { TimeoutTimers } from '../../src/clock.js';

interface PendingTimer {
  id: number;
  delayMs: number;
  callback: () => void;
}

/** Timers that fire only when the test says so, so backoff steps are checked without waiting. */
export function createManualTimers() {
  const pending: PendingTimer[] = [];
  let nextId = 1;
  const timers: TimeoutTimers = {
    setTimeout(callback, delayMs) {
      const id = nextId++;
      pending.push({ id, delayMs, callback });
      return id;
    },
    clearTimeout(handle) {
      const index = pending.findIndex((timer) => timer.id === handle);
      if (index !== -1) pending.splice(index, 1);
    },
  };
  return {
    timers,
    /** Delays of the timers still waiting, oldest first. */
    pendingDelaysMs: () => pending.map((timer) => timer.delayMs),
    /** Runs the oldest waiting timer and returns its delay. */
    fireNext(): number {
      const timer = pending.shift();
      if (timer === undefined) throw new Error('manual timers: nothing is waiting');
      timer.callback();
      return timer.delayMs;
    },
  };
}
