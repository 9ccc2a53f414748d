import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { HealthCheck } from '../../src/ops/health.js';
import { createLagWindow, type LagWindow } from '../../src/ops/event-loop.js';
import { monotonicClock, systemTimers } from '../../src/clock.js';
import { createWatchdog, type WatchdogOutcome } from '../../src/ops/watchdog.js';
import { captureLog } from '../helpers/log-capture.js';
import { createManualTimers } from '../helpers/manual-timers.js';

const INTERVAL_MS = 10_000;
const MAX_LAG_MS = 2_000;

function setup(options: { checks?: HealthCheck[]; lag?: LagWindow } = {}) {
  const manual = createManualTimers();
  let nowMs = 0;
  const sent: string[] = [];
  const outcomes: WatchdogOutcome[] = [];
  const log = captureLog();
  const watchdog = createWatchdog({
    notifier: {
      watchdog: () => {
        sent.push('WATCHDOG=1');
        return Promise.resolve(true);
      },
      status: (status) => {
        sent.push(`STATUS=${status}`);
        return Promise.resolve();
      },
    },
    intervalMs: INTERVAL_MS,
    maxEventLoopLagMs: MAX_LAG_MS,
    checks: options.checks ?? [],
    ...(options.lag === undefined ? {} : { lag: options.lag }),
    monotonic: { elapsedMs: () => nowMs },
    timers: manual.timers,
    logger: log.logger,
    onAttempt: (outcome) => outcomes.push(outcome),
  });
  /** Lets `lateByMs` pass beyond the interval, then fires the pending attempt. */
  const attempt = async (lateByMs = 0) => {
    nowMs += INTERVAL_MS + lateByMs;
    manual.fireNext();
    await Promise.resolve();
  };
  return { watchdog, sent, outcomes, log, attempt, manual };
}

describe('the gated watchdog', () => {
  it('pings once per interval while every check holds', async () => {
    const { watchdog, sent, attempt } = setup();
    watchdog.start();
    await attempt();
    await attempt();
    expect(sent).toEqual(['WATCHDOG=1', 'WATCHDOG=1']);
  });

  it('withholds the ping when its own timer fired late because the event loop stalled', async () => {
    const { watchdog, sent, attempt } = setup();
    watchdog.start();
    await attempt(MAX_LAG_MS + 500);
    expect(sent).toEqual(['STATUS=watchdog withheld: event-loop: event loop stalled 2500 ms (limit 2000 ms)']);
  });

  it('withholds the ping when the loop stalled between two attempts, even if the timer itself was on time', async () => {
    let stallMs = 0;
    const lag: LagWindow = { maxMs: () => stallMs, reset: () => (stallMs = 0), stop: () => undefined };
    const { watchdog, sent, attempt } = setup({ lag });
    watchdog.start();
    stallMs = 3_000;
    await attempt();
    expect(sent).toEqual(['STATUS=watchdog withheld: event-loop: event loop stalled 3000 ms (limit 2000 ms)']);
  });

  it('withholds the ping while the detector makes no progress', async () => {
    const { watchdog, sent, attempt } = setup({ checks: [{ name: 'detector', check: () => 'last tick 30 s ago' }] });
    watchdog.start();
    await attempt();
    expect(sent).toEqual(['STATUS=watchdog withheld: detector: last tick 30 s ago']);
  });

  it('reports a withheld ping once per reason, not on every attempt', async () => {
    const { watchdog, sent, outcomes, log, attempt } = setup({ checks: [{ name: 'detector', check: () => 'stuck' }] });
    watchdog.start();
    await attempt();
    await attempt();
    await attempt();
    expect([sent.length, log.withCode('PW_WATCHDOG_WITHHELD').length, outcomes]).toEqual([1, 1, ['withheld', 'withheld', 'withheld']]);
  });

  it('resumes pinging, and says so, once progress returns', async () => {
    let problem: string | undefined = 'stuck';
    const { watchdog, sent, log, attempt } = setup({ checks: [{ name: 'detector', check: () => problem }] });
    watchdog.start();
    await attempt();
    problem = undefined;
    await attempt();
    expect(sent.slice(1)).toEqual(['WATCHDOG=1', 'STATUS=running']);
    expect(log.withCode('PW_WATCHDOG_RESUMED')).toHaveLength(1);
  });

  it('treats a check that throws as failed', async () => {
    const { watchdog, sent, attempt } = setup({
      checks: [
        {
          name: 'journal',
          check: () => {
            throw new Error('EIO');
          },
        },
      ],
    });
    watchdog.start();
    await attempt();
    expect(sent).toEqual(['STATUS=watchdog withheld: journal: check failed: EIO']);
  });

  it('stops pinging when stopped', () => {
    const { watchdog, manual } = setup();
    watchdog.start();
    watchdog.stop();
    expect(manual.pendingDelaysMs()).toEqual([]);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the gated watchdog on a real event loop', () => {
  it('withholds the ping that follows a busy-wait blocking the loop', async () => {
    const sent: string[] = [];
    const lag = createLagWindow();
    const watchdog = createWatchdog({
      notifier: {
        watchdog: () => Promise.resolve(sent.push('WATCHDOG=1') > 0),
        status: (status) => Promise.resolve(void sent.push(`STATUS=${status}`)),
      },
      intervalMs: 50,
      maxEventLoopLagMs: 200,
      checks: [],
      lag,
      monotonic: monotonicClock,
      timers: systemTimers,
      logger: captureLog().logger,
    });
    watchdog.start();
    try {
      await waitUntil(() => sent.includes('WATCHDOG=1'));
      const before = sent.length;
      const until = performance.now() + 500;
      while (performance.now() < until) {
        // Deliberately hold the event loop, as a runaway computation would.
      }
      await waitUntil(() => sent.length > before);
      expect(sent[before]).toMatch(/^STATUS=watchdog withheld: event-loop: event loop stalled \d+ ms \(limit 200 ms\)$/);
    } finally {
      watchdog.stop();
      lag.stop();
    }
  });
});
