import { Rng } from './random.js';
import type { PatientEventSpec, PatientSpec } from './spec.js';

/** Patient disturbances change on this grid; they are minutes-scale, so 5 s is fine and cheap. */
export const PATIENT_TICK_MS = 5000;

/**
 * The patient as every channel of one pump sees it: the site height wandering, venous pressure
 * drifting, crying bouts and movement. Each channel runs its own copy from the same seed; a copy
 * consumes its random stream only on the fixed tick grid, so all copies agree exactly and the
 * channels stay independent to simulate.
 */
export class PatientProcess {
  /** Site height relative to its mean, cm (up = higher than the pump sees it normally). */
  limbHeightCm = 0;
  /** Added to venous pressure: drift, crying, movement. */
  venousOffsetMmHg = 0;
  /** Added to interstitial pressure: movement squeezes the tissue too. */
  tissueOffsetMmHg = 0;
  readonly #rng: Rng;
  readonly #events: readonly PatientEventSpec[];
  readonly #startMs: number;
  readonly #limbDecay: number;
  readonly #limbKick: number;
  readonly #driftDecay: number;
  readonly #driftKick: number;
  #drift = 0;
  #nextEvent = 0;
  #cryRise = 0;
  #cryUntilMs = -Infinity;
  #moveAmplitude = 0;
  #moveUntilMs = -Infinity;

  constructor(spec: PatientSpec, seed: number, startMs: number) {
    this.#rng = new Rng(seed);
    this.#events = [...spec.events].sort((a, b) => a.atMs - b.atMs);
    this.#startMs = startMs;
    // Exact Ornstein–Uhlenbeck update on the tick grid: x ← a·x + σ·√(1−a²)·N.
    this.#limbDecay = Math.exp(-PATIENT_TICK_MS / (spec.limbHeightTauMin * 60_000));
    this.#limbKick = spec.limbHeightSdCm * Math.sqrt(1 - this.#limbDecay ** 2);
    this.#driftDecay = Math.exp(-PATIENT_TICK_MS / (spec.venousDriftTauMin * 60_000));
    this.#driftKick = spec.venousDriftSdMmHg * Math.sqrt(1 - this.#driftDecay ** 2);
    this.limbHeightCm = spec.limbHeightSdCm * this.#rng.normal();
    this.#drift = spec.venousDriftSdMmHg * this.#rng.normal();
    this.venousOffsetMmHg = this.#drift;
  }

  /** Advances to the tick at `tMs` (a multiple of PATIENT_TICK_MS after the start). */
  tick(tMs: number): void {
    const rng = this.#rng;
    this.limbHeightCm = this.limbHeightCm * this.#limbDecay + this.#limbKick * rng.normal();
    this.#drift = this.#drift * this.#driftDecay + this.#driftKick * rng.normal();
    const events = this.#events;
    while (this.#nextEvent < events.length && this.#startMs + events[this.#nextEvent]!.atMs <= tMs) {
      const event = events[this.#nextEvent++]!;
      const untilMs = this.#startMs + event.atMs + event.durationMs;
      if (event.kind === 'crying') {
        this.#cryRise = event.riseMmHg;
        this.#cryUntilMs = Math.max(this.#cryUntilMs, untilMs);
      } else {
        this.#moveAmplitude = event.amplitudeMmHg;
        this.#moveUntilMs = Math.max(this.#moveUntilMs, untilMs);
        // A movement also shifts the limb: a few centimetres, then the slow process pulls it back.
        this.limbHeightCm += 3 * rng.normal();
      }
    }
    const crying = tMs < this.#cryUntilMs ? this.#cryRise * (0.6 + 0.4 * rng.next()) : 0;
    const moving = tMs < this.#moveUntilMs ? this.#moveAmplitude * Math.abs(rng.normal()) : 0;
    this.venousOffsetMmHg = this.#drift + crying + moving;
    this.tissueOffsetMmHg = moving;
  }
}
