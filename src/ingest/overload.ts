import type { TechnicalReport } from '../alarms/manager.js';

export interface OverloadSettings {
  /** Share of one core the gateway's own thread spent working (0–1) at or above which, held for `enterAfterMs`, it is overloaded. */
  enterCpuShare: number;
  enterAfterMs: number;
  /** Demand at or below which, held for `exitAfterMs`, it has recovered; below `enterCpuShare`. */
  exitCpuShare: number;
  exitAfterMs: number;
}

/** One observation window, as the ingest guard measured it. */
export interface LoadWindow {
  durationMs: number;
  /** Share of one core the gateway's own thread spent working in the window (CPU time, not wall time). */
  cpuShare: number;
  /** Samples received in the window, and shed in it. */
  samples: number;
  shed: number;
  /** What processing one sample costs, measured while queueing (0 when unknown). */
  sampleCostMs: number;
}

export interface OverloadWatchOptions {
  settings: OverloadSettings;
  /** Raises and ends the `overloaded` technical alarm. */
  report: (report: TechnicalReport) => void;
  /** Told when the state flips: true = start queueing. */
  onChange: (overloaded: boolean) => void;
}

export const OVERLOAD_PART = 'ingest';

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Decides when the gateway is overloaded, with hysteresis. The signal is the CPU time the
 * gateway's own thread spent, as a share of one core: the event loop is one thread, so near 1 it
 * cannot go faster and anything more piles up. Unlike wall-clock event-loop utilisation it does not
 * rise when the process merely waits for a core another process holds. Demand adds what the
 * samples shed would have cost: shedding makes the thread less busy, and without that term the
 * gateway would call itself recovered while still dropping samples. Overloaded after
 * `enterAfterMs` at or above `enterCpuShare`; recovered after `exitAfterMs` at or below
 * `exitCpuShare`. Each flip raises or ends the `overloaded` technical alarm.
 */
export class OverloadWatch {
  readonly #options: OverloadWatchOptions;
  #overloaded = false;
  #heldMs = 0;
  #shedWhileOverloaded = 0;
  #peakDemand = 0;
  #lastDemand = 0;

  constructor(options: OverloadWatchOptions) {
    this.#options = options;
  }

  get overloaded(): boolean {
    return this.#overloaded;
  }

  /** Demand in the latest window (1 = one core's whole time). */
  get demand(): number {
    return this.#lastDemand;
  }

  observe(window: LoadWindow): void {
    const { settings } = this.#options;
    const demand = window.durationMs > 0 ? window.cpuShare + (window.shed * window.sampleCostMs) / window.durationMs : window.cpuShare;
    this.#lastDemand = demand;
    if (this.#overloaded) {
      this.#shedWhileOverloaded += window.shed;
      this.#peakDemand = Math.max(this.#peakDemand, demand);
    }
    const pastThreshold = this.#overloaded ? demand <= settings.exitCpuShare : window.cpuShare >= settings.enterCpuShare;
    this.#heldMs = pastThreshold ? this.#heldMs + window.durationMs : 0;
    if (this.#heldMs < (this.#overloaded ? settings.exitAfterMs : settings.enterAfterMs)) return;
    this.#heldMs = 0;
    this.#overloaded = !this.#overloaded;
    const perSecond = (count: number) => (window.durationMs > 0 ? Math.round((count * 1000) / window.durationMs) : 0);
    if (this.#overloaded) {
      this.#shedWhileOverloaded = 0;
      this.#peakDemand = demand;
      this.#options.report({
        condition: 'overloaded',
        part: OVERLOAD_PART,
        active: true,
        evidence: {
          cpuShare: round(window.cpuShare, 3),
          demand: round(demand, 3),
          enterCpuShare: settings.enterCpuShare,
          samplesPerSecond: perSecond(window.samples),
        },
      });
    } else {
      this.#options.report({
        condition: 'overloaded',
        part: OVERLOAD_PART,
        active: false,
        evidence: {
          cpuShare: round(window.cpuShare, 3),
          demand: round(demand, 3),
          peakDemand: round(this.#peakDemand, 3),
          samplesShed: this.#shedWhileOverloaded,
          samplesPerSecond: perSecond(window.samples),
        },
      });
    }
    this.#options.onChange(this.#overloaded);
  }
}
