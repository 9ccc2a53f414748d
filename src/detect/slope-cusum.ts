/**
 * A sequential test on pressure against volume delivered: a CUSUM of log-likelihood ratios of
 * slope hypotheses, with slow drift modelled as a random walk in time.
 *
 * Between two consecutive undisturbed points (slab or block means) the pressure changes by
 *
 *     d = s·u + w + (e₁ − e₀),   w ~ N(0, q·τ),   e ~ N(0, r)
 *
 * where u is the volume delivered, τ the time between them, s the slope of the site (≈ 0 in a
 * vein, 1/C_site in tissue, 1/C_system behind an occlusion), q the drift variance rate (venous
 * drift and limb wander: a random walk over any window shorter than their correlation time) and
 * r the variance of one mean (white noise averaged over the samples, plus quantisation, which
 * does not average away). Against H₀ (s = 0) the log-likelihood ratio of slope s for one step is
 *
 *     ℓ = s·u·(d − s·u/2) / v,   v = 2r + q·τ
 *
 * which is why the same rise means much less at low rates, where the time per mL is long and the
 * drift has more room. The CUSUM S ← max(0, S + ℓ) raises when S crosses h nats; under H₀ its
 * mean run length grows roughly as e^h steps, so h is the one knob of the false-alarm rate.
 * Two hypotheses (the ends of the slope range) run side by side and the larger score is judged:
 * a two-point generalised likelihood ratio over the range.
 *
 * Robustness, because the world is not Gaussian:
 * - each step's standardised deviation is clipped at ±`clip` SDs (Huber), and no step adds more
 *   than `stepCapNats`: a step (a height change, a knock) adds a bounded amount, while a ramp
 *   keeps adding, so a decision always rests on several steps. At high rates one slab spans so
 *   much volume that a single step would otherwise look decisive;
 * - a step steeper than the ceiling slope (occlusion-like, or the refill of the line's compliance
 *   after the pump was lowered) is not evidence for this hypothesis range: it moves the reference
 *   and adds nothing;
 * - the onset transient (the line first falls as the tip leaves the vein) drives S to 0, so the
 *   rise that follows is measured from the bottom of the dip.
 *
 * The MA(1) correlation the white noise puts between neighbouring steps is ignored: the sum of
 * steps telescopes, so treating each step's white part as independent overstates the noise over
 * long runs (conservative) and is exact for one step.
 *
 * Pure functions over a slice of a Float64Array (the channel's `LineState`), O(1) per step, no
 * allocation.
 */

/** Layout of one test's state inside the channel's Float64Array. */
export const Cusum = {
  /** Score of the low-slope and high-slope hypotheses, nats. */
  ScoreLow: 0,
  ScoreHigh: 1,
  /** The previous point: pressure (mmHg), volume (mL), time (ms); NaN before the first. */
  LastP: 2,
  LastV: 3,
  LastTs: 4,
  /** Where the current run of evidence began (the last point both scores were 0). */
  OnsetP: 5,
  OnsetV: 6,
  /** Learned drift variance rate, mmHg² per hour. */
  DriftRate: 7,
  /** Variance of the last step under H₀ (for evidence and inspection), mmHg². */
  StepVariance: 8,
  Count: 9,
} as const;

export interface SlopeHypotheses {
  /** The ends of the slope range tested, mmHg/mL. */
  lowMmHgPerMl: number;
  highMmHgPerMl: number;
  /** Steps steeper than this are not of this kind (they move the reference and add nothing). */
  ceilingMmHgPerMl: number;
  /** Clip of each step's standardised deviation, SDs. */
  clip: number;
  /** Most evidence one step may add, nats. */
  stepCapNats: number;
  /** Weight of a new quiet step in the learned drift rate. */
  driftWeight: number;
}

const MS_PER_HOUR = 3_600_000;

/** Forgets the run and the previous point (a new segment); keeps the learned drift rate. */
export function resetCusum(x: Float64Array, at: number): void {
  x[at + Cusum.ScoreLow] = 0;
  x[at + Cusum.ScoreHigh] = 0;
  x[at + Cusum.LastP] = Number.NaN;
  x[at + Cusum.LastV] = Number.NaN;
  x[at + Cusum.LastTs] = Number.NaN;
  x[at + Cusum.OnsetP] = Number.NaN;
  x[at + Cusum.OnsetV] = Number.NaN;
}

/** Sets the drift rate a line starts from before it has shown its own. */
export function initCusum(x: Float64Array, at: number, driftPriorMmHg2PerHour: number): void {
  resetCusum(x, at);
  x[at + Cusum.DriftRate] = driftPriorMmHg2PerHour;
  x[at + Cusum.StepVariance] = 0;
}

function stepLlr(slope: number, u: number, d: number, sd: number, h: SlopeHypotheses): number {
  const mean = slope * u;
  const z = Math.max(-h.clip, Math.min(h.clip, (d - mean / 2) / sd));
  return Math.min(h.stepCapNats, (mean * z) / sd);
}

/**
 * Feeds one undisturbed point. `whiteVarianceMmHg2` is r, the variance of one point's mean.
 * `learn` lets a quiet step (both scores at 0 before it) teach the drift rate. Returns the larger
 * score after the step.
 */
export function stepCusum(
  x: Float64Array,
  at: number,
  h: SlopeHypotheses,
  pressureMmHg: number,
  volumeMl: number,
  ts: number,
  whiteVarianceMmHg2: number,
  learn: boolean,
): number {
  const lastP = x[at + Cusum.LastP] as number;
  x[at + Cusum.LastP] = pressureMmHg;
  const lastV = x[at + Cusum.LastV] as number;
  x[at + Cusum.LastV] = volumeMl;
  const lastTs = x[at + Cusum.LastTs] as number;
  x[at + Cusum.LastTs] = ts;
  let low = x[at + Cusum.ScoreLow] as number;
  let high = x[at + Cusum.ScoreHigh] as number;
  if (Number.isNaN(lastP) || volumeMl <= lastV) {
    x[at + Cusum.OnsetP] = pressureMmHg;
    x[at + Cusum.OnsetV] = volumeMl;
    return Math.max(low, high);
  }
  const u = volumeMl - lastV;
  const d = pressureMmHg - lastP;
  const hours = Math.max(0, ts - lastTs) / MS_PER_HOUR;
  const drift = x[at + Cusum.DriftRate] as number;
  const variance = 2 * whiteVarianceMmHg2 + drift * hours;
  x[at + Cusum.StepVariance] = variance;
  const sd = Math.sqrt(variance);
  const quiet = low === 0 && high === 0;
  if (d > h.ceilingMmHgPerMl * u + h.clip * sd) {
    // Too steep for this range: the reference moves with it and the run starts again.
    x[at + Cusum.ScoreLow] = 0;
    x[at + Cusum.ScoreHigh] = 0;
    x[at + Cusum.OnsetP] = pressureMmHg;
    x[at + Cusum.OnsetV] = volumeMl;
    return 0;
  }
  if (learn && quiet && hours > 0) {
    // Each observation is clipped at 4× the current rate, so one step cannot teach it to ignore a ramp.
    const observed = Math.max(0, d * d - 2 * whiteVarianceMmHg2) / hours;
    x[at + Cusum.DriftRate] = drift + (Math.min(observed, 4 * drift) - drift) * h.driftWeight;
  }
  low = Math.max(0, low + stepLlr(h.lowMmHgPerMl, u, d, sd, h));
  high = Math.max(0, high + stepLlr(h.highMmHgPerMl, u, d, sd, h));
  x[at + Cusum.ScoreLow] = low;
  x[at + Cusum.ScoreHigh] = high;
  if (low === 0 && high === 0) {
    x[at + Cusum.OnsetP] = pressureMmHg;
    x[at + Cusum.OnsetV] = volumeMl;
  }
  return Math.max(low, high);
}

/**
 * The same model judged on a whole run at once: the log-likelihood ratio of a ramp against a
 * level, from the rise D (mmHg) over the volume U (mL) and time T (hours) since the run began,
 * generalised over the slope range (s* = D/U clamped to [low, high]):
 *
 *     Λ = s*·U·(D − s*·U/2) / (2r + q·T)
 *
 * The steps of a run telescope, so the white noise enters once at each end (2r) and the drift
 * once over the whole span (q·T): a rise that keeps growing with the volume delivered gains
 * evidence, while a rise that drift or a few quantisation steps could make does not. A rise much
 * flatter than the low slope is penalised (it is drift or tissue); one steeper than the high slope
 * is judged at the high slope.
 */
export function rampLlr(
  riseMmHg: number,
  spanMl: number,
  hours: number,
  whiteVarianceMmHg2: number,
  driftRateMmHg2PerHour: number,
  lowMmHgPerMl: number,
  highMmHgPerMl: number,
): number {
  if (spanMl <= 0) return 0;
  const slope = Math.max(lowMmHgPerMl, Math.min(highMmHgPerMl, riseMmHg / spanMl));
  const mean = slope * spanMl;
  return (mean * (riseMmHg - mean / 2)) / (2 * whiteVarianceMmHg2 + driftRateMmHg2PerHour * Math.max(0, hours));
}
