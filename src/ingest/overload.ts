import type { TechnicalReport } from '../alarms/manager.js';

export interface OverloadSettings {
  /** Event-loop utilisation (0–1) at or above which, held for `enterAfterMs`, the gateway is overloaded. */
  enterUtilization: number;
  enterAfterMs: number;
  /** Demand at or below which, held for `exitAfterMs`, it has recovered; below `enterUtilization`. */
  exitUtilization: number;
  exitAfterMs: number;
}

/** One observation window, as the ingest guard measured it. */
export interface LoadWindow {
  durationMs: number;
  /** Share of the window the event loop was busy (perf_hooks event-loop utilisation). */
  utilization: number;
  /** Samples received in the window, and shed in it. */
  samples: number;
  shed: number;
  /** What processing one sample costs, measured while conflating (0 when unknown). */
  sampleCostMs: number;
}

export interface OverloadWatchOptions {
  settings: OverloadSettings;
  /** Raises and ends the `overloaded` technical alarm. */
  report: (report: TechnicalReport) => void;
  /** Told when the state flips: true = start conflating. */
  onChange: (overloaded: boolean) => void;
}

export const OVERLOAD_PART = 'ingest';

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Decides when the gateway is overloaded, with hysteresis. Demand is the event loop's busy
 * share plus what the samples shed would have cost: conflating makes the loop less busy, and
 * without that term the gateway would call itself recovered while still dropping samples.
 * Overloaded after `enterAfterMs` at or above `enterUtilization`; recovered after `exitAfterMs`
 * at or below `exitUtilization`. Each flip raises or ends the `overloaded` technical alarm.
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

  /** Demand in the latest window (1 = the event loop's whole time). */
  get demand(): number {
    return this.#lastDemand;
  }

  observe(window: LoadWindow): void {
    const { settings } = this.#options;
    const demand = window.durationMs > 0 ? window.utilization + (window.shed * window.sampleCostMs) / window.durationMs : window.utilization;
    this.#lastDemand = demand;
    if (this.#overloaded) {
      this.#shedWhileOverloaded += window.shed;
      this.#peakDemand = Math.max(this.#peakDemand, demand);
    }
    const pastThreshold = this.#overloaded ? demand <= settings.exitUtilization : demand >= settings.enterUtilization;
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
          utilization: round(window.utilization, 3),
          demand: round(demand, 3),
          enterUtilization: settings.enterUtilization,
          samplesPerSecond: perSecond(window.samples),
        },
      });
    } else {
      this.#options.report({
        condition: 'overloaded',
        part: OVERLOAD_PART,
        active: false,
        evidence: {
          utilization: round(window.utilization, 3),
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
