import { describe, expect, it } from 'vitest';
import { createWard, paceWard, type PaceClock } from '../../src/simulate/index.js';
import { H, MIN } from './helpers.js';

/** Virtual wall time: sleeping advances it at once. */
function fakeClock() {
  let now = 1_000;
  const sleeps: number[] = [];
  const clock: PaceClock = {
    elapsedMs: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
  return { clock, sleeps, now: () => now };
}

describe('paceWard', () => {
  it('hands each sample out at its simulated time divided by the speed', async () => {
    const fake = fakeClock();
    const ward = createWard({ family: 'quiet', pumps: 3, durationMs: 30 * MIN });
    const late: number[] = [];
    await paceWard(ward, { speed: 60, clock: fake.clock, signal: new AbortController().signal }, ({ atMs }) => {
      late.push(fake.now() - (1_000 + (atMs - ward.startMs) / 60));
    });
    expect(late.length).toBe(ward.emittedCount);
    // Never early; late only by less than the 4 ms the pacer does not bother to wait for.
    expect(Math.min(...late)).toBeGreaterThan(-4);
    expect(Math.max(...late)).toBeLessThanOrEqual(0);
    expect(fake.now() - 1_000).toBeGreaterThan((30 * MIN) / 60 - 30_000 / 60 - 1);
  });

  it('runs flat out without waiting at speed 0', async () => {
    const fake = fakeClock();
    const result = await paceWard(createWard({ family: 'quiet', pumps: 2, durationMs: 1 * H }), { speed: 0, clock: fake.clock, signal: new AbortController().signal }, () => undefined);
    expect(result.stopped).toBe(false);
    expect(result.emitted).toBeGreaterThan(0);
    expect(fake.sleeps).toEqual([]);
  });

  it('stops when the signal aborts', async () => {
    const fake = fakeClock();
    const stop = new AbortController();
    const result = await paceWard(createWard({ family: 'quiet', pumps: 2, durationMs: 1 * H }), { speed: 10, clock: fake.clock, signal: stop.signal }, () => {
      stop.abort();
    });
    expect(result).toEqual({ emitted: 1, stopped: true });
  });

  it('flushes outputs before each wait', async () => {
    const fake = fakeClock();
    let flushes = 0;
    await paceWard(createWard({ family: 'quiet', pumps: 1, channelsPerPump: 1, durationMs: 10 * MIN }), {
      speed: 1,
      clock: fake.clock,
      signal: new AbortController().signal,
      beforeWait: () => {
        flushes++;
      },
    }, () => undefined);
    expect(flushes).toBe(fake.sleeps.length);
    expect(flushes).toBeGreaterThan(0);
  });

  it('waits for an emitter that returns a promise before the next sample', async () => {
    const fake = fakeClock();
    const order: string[] = [];
    await paceWard(createWard({ family: 'quiet', pumps: 1, channelsPerPump: 1, durationMs: 1 * MIN }), { speed: 0, clock: fake.clock, signal: new AbortController().signal }, async ({ sample }) => {
      order.push(`start ${sample.seq}`);
      await Promise.resolve();
      order.push(`end ${sample.seq}`);
    });
    expect(order.slice(0, 4)).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
  });
});
