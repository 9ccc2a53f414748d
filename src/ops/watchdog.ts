import type { MonotonicClock, TimeoutTimers } from '../clock.js';
import type { Logger } from '../log.js';
import { describeFailures, evaluateHealth, type HealthCheck } from './health.js';
import type { LagWindow } from './event-loop.js';
import type { SystemdNotifier } from './systemd-notify.js';

export type WatchdogOutcome = 'sent' | 'withheld' | 'skipped';

export interface WatchdogOptions {
  notifier: Pick<SystemdNotifier, 'watchdog' | 'status'>;
  /** How often to try a ping: half of `WatchdogSec=` (the notifier's `watchdogIntervalMs`). */
  intervalMs: number;
  /** A stall longer than this, seen by our own timer or by `lag`, withholds the next ping. */
  maxEventLoopLagMs: number;
  /** What must hold for the daemon to count as making progress (detector ticking, …). */
  checks: readonly HealthCheck[];
  /** Event-loop delay since the previous ping attempt; the watchdog resets it after each attempt. */
  lag?: LagWindow;
  monotonic: MonotonicClock;
  timers: TimeoutTimers;
  logger: Logger;
  /** For metrics: called once per attempt. */
  onAttempt?: (outcome: WatchdogOutcome) => void;
}

export interface Watchdog {
  start(): void;
  stop(): void;
}

/**
 * Sends `WATCHDOG=1` only while the daemon really makes progress, unlike an unconditional timer
 * that proves nothing but a running event loop. Each attempt first measures how late its own
 * timer fired and how long the loop stalled since the last attempt, then runs the progress
 * checks; any failure withholds the ping, so systemd restarts a hung or dead daemon after
 * `WatchdogSec=`. A withheld ping is reported once per change of reason (log and STATUS=).
 */
export function createWatchdog(options: WatchdogOptions): Watchdog {
  const { notifier, intervalMs, maxEventLoopLagMs, checks, lag, monotonic, timers } = options;
  const logger = options.logger.child({ component: 'watchdog' });
  let timer: unknown;
  let scheduledAt = 0;
  let running = false;
  let lastProblem: string | undefined;

  const eventLoopCheck = (): string | undefined => {
    const lateMs = monotonic.elapsedMs() - scheduledAt - intervalMs;
    const stalledMs = Math.max(lateMs, lag?.maxMs() ?? 0);
    if (stalledMs <= maxEventLoopLagMs) return undefined;
    return `event loop stalled ${Math.round(stalledMs)} ms (limit ${maxEventLoopLagMs} ms)`;
  };
  const allChecks: readonly HealthCheck[] = [{ name: 'event-loop', check: eventLoopCheck }, ...checks];

  const schedule = (): void => {
    scheduledAt = monotonic.elapsedMs();
    timer = timers.setTimeout(attempt, intervalMs);
  };

  function attempt(): void {
    if (!running) return;
    const report = evaluateHealth(allChecks);
    lag?.reset();
    schedule();
    if (!report.ok) {
      const problem = describeFailures(report);
      if (problem !== lastProblem) {
        logger.error({ code: 'PW_WATCHDOG_WITHHELD', problem }, 'watchdog ping withheld: the daemon is not making progress');
        void notifier.status(`watchdog withheld: ${problem}`);
      }
      lastProblem = problem;
      options.onAttempt?.('withheld');
      return;
    }
    // The ping goes first: the notifier drops a ping that finds another message in flight.
    void notifier.watchdog().then((sent) => options.onAttempt?.(sent ? 'sent' : 'skipped'));
    if (lastProblem !== undefined) {
      logger.info({ code: 'PW_WATCHDOG_RESUMED' }, 'watchdog pings resumed');
      void notifier.status('running');
      lastProblem = undefined;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      lag?.reset();
      schedule();
    },
    stop() {
      running = false;
      timers.clearTimeout(timer);
      timer = undefined;
    },
  };
}
