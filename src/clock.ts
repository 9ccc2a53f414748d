/** The only way the core learns the time, so replay and tests can drive it. */
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
