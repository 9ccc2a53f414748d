import { randomInt } from 'node:crypto';
import { expect } from 'vitest';

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  between(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/**
 * mulberry32: small, fast and good enough to pick fault times. Every fault test prints its seed;
 * `FAULT_SEED=<seed>` replays the same schedule.
 */
export function createRng(seed = seedFromEnv()): Rng {
  // Printed first, so a run that fails or hangs can still be replayed.
  console.log(`[fault] ${expect.getState().currentTestName ?? 'fault test'}: seed=${seed} (FAULT_SEED=${seed} replays it)`);
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    seed,
    next,
    between: (min, max) => min + next() * (max - min),
    chance: (probability) => next() < probability,
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

function seedFromEnv(): number {
  const fromEnv = process.env.FAULT_SEED;
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : randomInt(2 ** 31);
}

/** How many of something a fault test runs: its CI default, or more from the environment for a long run. */
export function countFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
