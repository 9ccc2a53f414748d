/**
 * Per-channel detector state. Every double lives in one Float64Array: Node's V8 boxes double
 * fields of ordinary objects (≈ 24 bytes each), while a typed array stores them in 8 bytes and
 * never allocates on update. Integers, flags and strings stay ordinary fields (unboxed or shared).
 * Total ≈ 1 KB per channel (see bench/detector.ts).
 */

import { Cusum, initCusum, resetCusum, stepCusum, type SlopeHypotheses } from './slope-cusum.js';

/** Capacity of the occlusion block ring. */
export const RING_SIZE = 16;
/** Capacity of the episode-time ring; recurrentOcclusion.count is capped at this. */
export const EPISODE_RING_SIZE = 10;

const enum Slot {
  LastTs,
  PrevRate,
  ReportedVolume,
  Volume,
  SegmentStartTs,
  SegmentStartVolume,
  Raw1,
  Raw2,
  Baseline,
  BlockMeanAbsDiff,
  OcclusionDriftRate,
  OcclusionLastNats,
  SegmentMinP,
  OcclusionReference,
  OcclusionEndLevel,
  OcclusionBelowSince,
  OcclusionEndedTs,
  OcclusionPeakP,
  InfiltrationStartP,
  InfiltrationEndedTs,
  LastEpisodeTs,
  BlockJaggedness,
  SlabJaggedness,
  Resolution,
  ClosedV,
  ClosedP,
  ClosedJaggedness,
  JumpReferenceP,
  LastSampleV,
  BlockJump,
  ClosedJump,
  Count,
}

/**
 * A block or slab being gathered: sums of volume and pressure taken relative to its first sample
 * (so squares stay small and exact), enough for its mean and for the spread of its samples
 * around their own straight line.
 */
const enum Sum {
  StartV,
  StartP,
  V,
  P,
  VV,
  VP,
  PP,
  Count,
}

/** Ring entries: mean volume, mean pressure, jaggedness, jump. */
const ENTRY = 4;
const BLOCK_OFFSET = Slot.Count;
const SLAB_SUM_OFFSET = BLOCK_OFFSET + Sum.Count;
const FINE_OFFSET = SLAB_SUM_OFFSET + Sum.Count;
const TISSUE_OFFSET = FINE_OFFSET + ENTRY * RING_SIZE;
const EPISODE_OFFSET = TISSUE_OFFSET + Cusum.Count;
const TOTAL_SLOTS = EPISODE_OFFSET + EPISODE_RING_SIZE;

export const SEGMENT_STARTUP = 2;
export const SEGMENT_RESUME = 1;
export const SEGMENT_NONE = 0;
export type SegmentKind = typeof SEGMENT_NONE | typeof SEGMENT_RESUME | typeof SEGMENT_STARTUP;

export class LineState {
  readonly #x = new Float64Array(TOTAL_SLOTS);

  hasPrevious = false;
  previousInfusing = false;
  /** Set by `stopped`/`priming`: the next infusion is a new start-up. */
  startupPending = false;
  segmentKind: SegmentKind = SEGMENT_STARTUP;
  baselineLearned = false;

  filterCount = 0;
  blockSamples = 0;
  slabSamples = 0;
  fineCount = 0;
  fineHead = 0;

  occlusionConfirm = 0;
  occlusionActive = false;
  infiltrationEndConfirm = 0;
  infiltrationActive = false;

  pumpOcclusionCode = false;
  pumpRestartCode = false;
  episodeCount = 0;
  episodeHead = 0;
  recurrentActive = false;

  drugName: string | undefined = undefined;
  drugLabel: string | undefined = undefined;
  careArea: string | undefined = undefined;
  vesicant = false;
  sensitiveArea = false;

  constructor(driftPriorMmHg2PerHour: number) {
    this.#x[Slot.Resolution] = Number.POSITIVE_INFINITY;
    initCusum(this.#x, TISSUE_OFFSET, driftPriorMmHg2PerHour);
    this.#x[Slot.OcclusionDriftRate] = driftPriorMmHg2PerHour;
    this.occlusionEndedTs = Number.NEGATIVE_INFINITY;
    this.infiltrationEndedTs = Number.NEGATIVE_INFINITY;
    this.occlusionBelowSince = Number.NaN;
    this.#x[Slot.JumpReferenceP] = Number.NaN;
  }

  #get(slot: number): number {
    return this.#x[slot] as number;
  }

  get lastTs(): number { return this.#get(Slot.LastTs); }
  set lastTs(value: number) { this.#x[Slot.LastTs] = value; }
  get previousRate(): number { return this.#get(Slot.PrevRate); }
  set previousRate(value: number) { this.#x[Slot.PrevRate] = value; }
  get reportedVolume(): number { return this.#get(Slot.ReportedVolume); }
  set reportedVolume(value: number) { this.#x[Slot.ReportedVolume] = value; }
  /** Volume delivered on this channel since it was first seen (rate × time while infusing), mL. */
  get volume(): number { return this.#get(Slot.Volume); }
  set volume(value: number) { this.#x[Slot.Volume] = value; }
  get segmentStartTs(): number { return this.#get(Slot.SegmentStartTs); }
  set segmentStartTs(value: number) { this.#x[Slot.SegmentStartTs] = value; }
  get segmentStartVolume(): number { return this.#get(Slot.SegmentStartVolume); }
  set segmentStartVolume(value: number) { this.#x[Slot.SegmentStartVolume] = value; }
  get baseline(): number { return this.#get(Slot.Baseline); }
  set baseline(value: number) { this.#x[Slot.Baseline] = value; }
  /** Running mean of |difference| between consecutive occlusion blocks: the block noise scale. */
  get blockMeanAbsDiff(): number { return this.#get(Slot.BlockMeanAbsDiff); }
  set blockMeanAbsDiff(value: number) { this.#x[Slot.BlockMeanAbsDiff] = value; }
  /**
   * Variance rate of the pressure's wander on this line as the occlusion test sees it, learned from
   * the variogram of its blocks (mmHg² per hour): venous drift, limb wander and the level shifts of
   * crying, all treated as one random walk.
   */
  /** The occlusion test's score at the last block that passed it, nats. */
  get occlusionLastNats(): number { return this.#get(Slot.OcclusionLastNats); }
  set occlusionLastNats(value: number) { this.#x[Slot.OcclusionLastNats] = value; }
  get occlusionDriftRate(): number { return this.#get(Slot.OcclusionDriftRate); }
  set occlusionDriftRate(value: number) { this.#x[Slot.OcclusionDriftRate] = value; }
  get segmentMinP(): number { return this.#get(Slot.SegmentMinP); }
  set segmentMinP(value: number) { this.#x[Slot.SegmentMinP] = value; }
  get occlusionReference(): number { return this.#get(Slot.OcclusionReference); }
  set occlusionReference(value: number) { this.#x[Slot.OcclusionReference] = value; }
  get occlusionEndLevel(): number { return this.#get(Slot.OcclusionEndLevel); }
  set occlusionEndLevel(value: number) { this.#x[Slot.OcclusionEndLevel] = value; }
  get occlusionBelowSince(): number { return this.#get(Slot.OcclusionBelowSince); }
  set occlusionBelowSince(value: number) { this.#x[Slot.OcclusionBelowSince] = value; }
  get occlusionEndedTs(): number { return this.#get(Slot.OcclusionEndedTs); }
  set occlusionEndedTs(value: number) { this.#x[Slot.OcclusionEndedTs] = value; }
  get occlusionPeakP(): number { return this.#get(Slot.OcclusionPeakP); }
  set occlusionPeakP(value: number) { this.#x[Slot.OcclusionPeakP] = value; }
  get infiltrationStartP(): number { return this.#get(Slot.InfiltrationStartP); }
  set infiltrationStartP(value: number) { this.#x[Slot.InfiltrationStartP] = value; }
  get infiltrationEndedTs(): number { return this.#get(Slot.InfiltrationEndedTs); }
  set infiltrationEndedTs(value: number) { this.#x[Slot.InfiltrationEndedTs] = value; }
  get lastEpisodeTs(): number { return this.#get(Slot.LastEpisodeTs); }
  set lastEpisodeTs(value: number) { this.#x[Slot.LastEpisodeTs] = value; }
  /** Typical jaggedness of a quiet block or slab on this line (running mean). */
  get quietBlockJaggedness(): number { return this.#get(Slot.BlockJaggedness); }
  set quietBlockJaggedness(value: number) { this.#x[Slot.BlockJaggedness] = value; }
  get quietSlabJaggedness(): number { return this.#get(Slot.SlabJaggedness); }
  set quietSlabJaggedness(value: number) { this.#x[Slot.SlabJaggedness] = value; }
  /** The block or slab just closed by `closeBlock`/`closeSlab`: mean volume, mean pressure, jaggedness. */
  get closedV(): number { return this.#get(Slot.ClosedV); }
  get closedP(): number { return this.#get(Slot.ClosedP); }
  get closedJaggedness(): number { return this.#get(Slot.ClosedJaggedness); }
  /** Rise of the block just closed (and since the block before it) that came in jumps, mmHg. */
  get closedJump(): number { return this.#get(Slot.ClosedJump); }

  /**
   * Notes one sample's rise beyond what delivery could cause: the pressure's excess over a
   * reference that climbs no faster than `slopeMmHgPerMl` × the volume delivered, plus
   * `allowanceMmHg`. The reference drops with the pressure and rises past that ceiling only by the
   * excess counted, so a rise that comes in a few fast samples (a reading in coarse steps climbs
   * one step per sample) is judged as one jump, not as several steps each within the allowance.
   * Such jumps (crying, a moved limb or pump) are summed per block.
   */
  noteJump(pressureMmHg: number, volumeMl: number, slopeMmHgPerMl: number, allowanceMmHg: number): void {
    const x = this.#x;
    const ceiling = this.#get(Slot.JumpReferenceP) + slopeMmHgPerMl * (volumeMl - this.#get(Slot.LastSampleV));
    const excess = pressureMmHg - ceiling - allowanceMmHg;
    if (excess > 0) x[Slot.BlockJump] = this.#get(Slot.BlockJump) + excess;
    const reference = Math.min(pressureMmHg, ceiling + Math.max(0, excess));
    x[Slot.JumpReferenceP] = Number.isNaN(reference) ? pressureMmHg : reference;
    x[Slot.LastSampleV] = volumeMl;
  }

  /** Volume spanned by the block being gathered, if it has samples. */
  get blockSpanMl(): number { return this.blockSamples === 0 ? 0 : this.#lastV(BLOCK_OFFSET); }
  get slabSpanMl(): number { return this.slabSamples === 0 ? 0 : this.#lastV(SLAB_SUM_OFFSET); }

  #lastV(offset: number): number {
    return this.#get(Slot.Volume) - this.#get(offset + Sum.StartV);
  }

  addToBlock(volumeMl: number, pressureMmHg: number): void {
    this.#add(BLOCK_OFFSET, this.blockSamples++, volumeMl, pressureMmHg);
  }

  addToSlab(volumeMl: number, pressureMmHg: number): void {
    this.#add(SLAB_SUM_OFFSET, this.slabSamples++, volumeMl, pressureMmHg);
  }

  #add(offset: number, before: number, volumeMl: number, pressureMmHg: number): void {
    const x = this.#x;
    if (before === 0) {
      x[offset + Sum.StartV] = volumeMl;
      x[offset + Sum.StartP] = pressureMmHg;
      x[offset + Sum.V] = 0;
      x[offset + Sum.P] = 0;
      x[offset + Sum.VV] = 0;
      x[offset + Sum.VP] = 0;
      x[offset + Sum.PP] = 0;
      return;
    }
    const v = volumeMl - this.#get(offset + Sum.StartV);
    const p = pressureMmHg - this.#get(offset + Sum.StartP);
    x[offset + Sum.V] = this.#get(offset + Sum.V) + v;
    x[offset + Sum.P] = this.#get(offset + Sum.P) + p;
    x[offset + Sum.VV] = this.#get(offset + Sum.VV) + v * v;
    x[offset + Sum.VP] = this.#get(offset + Sum.VP) + v * p;
    x[offset + Sum.PP] = this.#get(offset + Sum.PP) + p * p;
  }

  /** Closes the block being gathered into `closedV`, `closedP`, `closedJaggedness` and starts a new one. */
  closeBlock(): void {
    this.#close(BLOCK_OFFSET, this.blockSamples);
    this.blockSamples = 0;
    this.#x[Slot.ClosedJump] = this.#get(Slot.BlockJump);
    this.#x[Slot.BlockJump] = 0;
  }

  closeSlab(): void {
    this.#close(SLAB_SUM_OFFSET, this.slabSamples);
    this.slabSamples = 0;
  }

  /**
   * Mean, and the RMS distance of the samples from their own least-squares line against volume:
   * a pressure that follows the volume delivered (however steeply) is smooth, while crying,
   * movement and handling add jagged variation between neighbouring samples.
   */
  #close(offset: number, n: number): void {
    const sv = this.#get(offset + Sum.V);
    const sp = this.#get(offset + Sum.P);
    const x = this.#x;
    x[Slot.ClosedV] = this.#get(offset + Sum.StartV) + sv / n;
    x[Slot.ClosedP] = this.#get(offset + Sum.StartP) + sp / n;
    if (n < 3) {
      x[Slot.ClosedJaggedness] = 0;
      return;
    }
    const svv = this.#get(offset + Sum.VV) - (sv * sv) / n;
    const svp = this.#get(offset + Sum.VP) - (sv * sp) / n;
    const spp = this.#get(offset + Sum.PP) - (sp * sp) / n;
    const residual = svv > 0 ? spp - (svp * svp) / svv : spp;
    x[Slot.ClosedJaggedness] = Math.sqrt(Math.max(0, residual) / (n - 2));
  }

  /** Smallest non-zero step between reported pressures so far: the pump's reporting resolution. */
  get resolutionMmHg(): number { return this.#get(Slot.Resolution); }

  /** Median of the last three raw pressures: drops single-sample spikes (crying, a knock). */
  filterPressure(rawMmHg: number): number {
    const older = this.#get(Slot.Raw2);
    const old = this.#get(Slot.Raw1);
    const step = Math.abs(rawMmHg - old);
    if (this.filterCount > 0 && step > 0 && step < this.#get(Slot.Resolution)) this.#x[Slot.Resolution] = step;
    this.#x[Slot.Raw2] = old;
    this.#x[Slot.Raw1] = rawMmHg;
    if (this.filterCount < 2) {
      this.filterCount++;
      return rawMmHg;
    }
    if (rawMmHg > old) return old > older ? old : rawMmHg > older ? older : rawMmHg;
    return rawMmHg > older ? rawMmHg : old > older ? older : old;
  }

  /** Empties the block ring, the partial block and slab, and the tissue test's run (a new segment). */
  clearRings(): void {
    this.fineCount = 0;
    this.#x[Slot.JumpReferenceP] = Number.NaN;
    this.#x[Slot.BlockJump] = 0;
    this.blockSamples = 0;
    this.slabSamples = 0;
    resetCusum(this.#x, TISSUE_OFFSET);
  }

  /** One undisturbed slab into the sequential tissue-slope test (`slope-cusum.ts`); returns its score, nats. */
  tissueStep(hypotheses: SlopeHypotheses, pressureMmHg: number, volumeMl: number, ts: number, whiteVarianceMmHg2: number, learn: boolean): number {
    return stepCusum(this.#x, TISSUE_OFFSET, hypotheses, pressureMmHg, volumeMl, ts, whiteVarianceMmHg2, learn);
  }

  /** Starts the tissue test's evidence afresh (after an advisory), keeping what it learned. */
  restartTissueTest(): void {
    resetCusum(this.#x, TISSUE_OFFSET);
  }

  /** Score of the tissue-slope test, nats (the larger of its two hypotheses). */
  get tissueScore(): number { return Math.max(this.#get(TISSUE_OFFSET + Cusum.ScoreLow), this.#get(TISSUE_OFFSET + Cusum.ScoreHigh)); }
  /** Pressure and volume where the tissue test's current run of evidence began. */
  get tissueOnsetP(): number { return this.#get(TISSUE_OFFSET + Cusum.OnsetP); }
  get tissueOnsetV(): number { return this.#get(TISSUE_OFFSET + Cusum.OnsetV); }
  /** The tissue test's last undisturbed slab: pressure, volume. */
  get tissueLastP(): number { return this.#get(TISSUE_OFFSET + Cusum.LastP); }
  get tissueLastV(): number { return this.#get(TISSUE_OFFSET + Cusum.LastV); }
  /** Drift variance rate learned on this line, mmHg² per hour. */
  get driftRate(): number { return this.#get(TISSUE_OFFSET + Cusum.DriftRate); }
  /** Variance of the last slab-to-slab step under "vein", mmHg². */
  get tissueStepVariance(): number { return this.#get(TISSUE_OFFSET + Cusum.StepVariance); }

  /** Pushes the block just closed onto the occlusion ring. */
  pushFine(): void {
    this.fineHead = (this.fineHead + 1) % RING_SIZE;
    this.#pushClosed(FINE_OFFSET + ENTRY * this.fineHead);
    if (this.fineCount < RING_SIZE) this.fineCount++;
  }

  #pushClosed(at: number): void {
    const x = this.#x;
    x[at] = this.closedV;
    x[at + 1] = this.closedP;
    x[at + 2] = this.closedJaggedness;
    x[at + 3] = this.closedJump;
  }

  #fineAt(back: number): number {
    return FINE_OFFSET + ENTRY * ((this.fineHead - back + RING_SIZE) % RING_SIZE);
  }

  /** Volume of the occlusion block `back` blocks before the newest (0 = newest). */
  fineV(back: number): number {
    return this.#get(this.#fineAt(back));
  }

  fineP(back: number): number {
    return this.#get(this.#fineAt(back) + 1);
  }

  fineJaggedness(back: number): number {
    return this.#get(this.#fineAt(back) + 2);
  }

  fineJump(back: number): number {
    return this.#get(this.#fineAt(back) + 3);
  }

  pushEpisode(ts: number): void {
    this.episodeHead = (this.episodeHead + 1) % EPISODE_RING_SIZE;
    this.#x[EPISODE_OFFSET + this.episodeHead] = ts;
    if (this.episodeCount < EPISODE_RING_SIZE) this.episodeCount++;
    this.lastEpisodeTs = ts;
  }

  /** Time of the episode `back` episodes before the newest (0 = newest). */
  episodeTs(back: number): number {
    return this.#get(EPISODE_OFFSET + ((this.episodeHead - back + EPISODE_RING_SIZE) % EPISODE_RING_SIZE));
  }
}
