import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Rejection, RejectReason } from './decode.js';

interface ReasonTally {
  total: number;
  sinceLastLog: number;
  lastLoggedMs: number;
}

/**
 * Counts every refused frame by source and reason, and logs at most one line per source and
 * reason per interval (with the number suppressed), so a babbling port cannot flood the journal.
 */
export class RejectLedger {
  readonly #tallies = new Map<string, Map<RejectReason, ReasonTally>>();
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #logIntervalMs: number;

  constructor(logger: Logger, clock: Clock, logIntervalMs: number) {
    this.#logger = logger;
    this.#clock = clock;
    this.#logIntervalMs = logIntervalMs;
  }

  record(source: string, rejection: Rejection): void {
    let bySource = this.#tallies.get(source);
    if (bySource === undefined) {
      bySource = new Map();
      this.#tallies.set(source, bySource);
    }
    let tally = bySource.get(rejection.reason);
    if (tally === undefined) {
      tally = { total: 0, sinceLastLog: 0, lastLoggedMs: Number.NEGATIVE_INFINITY };
      bySource.set(rejection.reason, tally);
    }
    tally.total++;
    tally.sinceLastLog++;
    const now = this.#clock.now();
    if (now - tally.lastLoggedMs < this.#logIntervalMs) return;
    this.#logger.warn(
      { code: 'PW_SAMPLE_REJECTED', source, reason: rejection.reason, detail: rejection.detail, rejectedSinceLastLog: tally.sinceLastLog, rejectedTotal: tally.total },
      'telemetry rejected',
    );
    tally.lastLoggedMs = now;
    tally.sinceLastLog = 0;
  }


  /** Totals per reason over every source. */
  totals(): Partial<Record<RejectReason, number>> {
    const totals: Partial<Record<RejectReason, number>> = {};
    for (const bySource of this.#tallies.values()) {
      for (const [reason, tally] of bySource) totals[reason] = (totals[reason] ?? 0) + tally.total;
    }
    return totals;
  }
}
