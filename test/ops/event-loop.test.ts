import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLagWindow } from '../../src/ops/event-loop.js';

function holdTheLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Deliberately busy.
  }
}

describe('createLagWindow', () => {
  it('sees a stall of the event loop', async () => {
    const lag = createLagWindow();
    try {
      await sleep(50);
      holdTheLoop(300);
      await sleep(50);
      expect(lag.maxMs()).toBeGreaterThanOrEqual(250);
    } finally {
      lag.stop();
    }
  });

  it('forgets the stall once reset', async () => {
    const lag = createLagWindow();
    try {
      await sleep(50);
      holdTheLoop(300);
      await sleep(50);
      lag.reset();
      expect(lag.maxMs()).toBe(0);
    } finally {
      lag.stop();
    }
  });
});
