/**
 * Per-channel detector state. Every double lives in one Float64Array: Node's V8 boxes double
 * fields of ordinary objects (≈ 24 bytes each), while a typed array stores them in 8 bytes and
 * never allocates on update. Integers, flags and strings stay ordinary fields (unboxed or shared).
 * Total ≈ 1 KB per channel (see bench/detector.ts).
 */

/** Capacity of the two pressure rings: occlusion blocks and infiltration slabs. */
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
  BlockSumV,
  BlockSumP,
  BlockStartV,
  SlabSumV,
  SlabSumP,
  SlabStartV,
  Baseline,
  BlockMeanAbsDiff,
  SegmentMinP,
  OcclusionReference,
  OcclusionEndLevel,
  OcclusionBelowSince,
  OcclusionEndedTs,
  OcclusionPeakP,
  SlabMeanAbsDiff,
  WindowRiseVariance,
  InfiltrationStartP,
  InfiltrationEndedTs,
  LastEpisodeTs,
  Count,
}

const FINE_OFFSET = Slot.Count;
const SLAB_OFFSET = FINE_OFFSET + 2 * RING_SIZE;
const EPISODE_OFFSET = SLAB_OFFSET + 2 * RING_SIZE;
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
  slabCount = 0;
  slabHead = 0;

  occlusionConfirm = 0;
  occlusionActive = false;
  infiltrationArmed = false;
  infiltrationConfirm = 0;
  windowRiseCount = 0;
  slabsSinceWanderUpdate = 0;
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

  constructor() {
    this.occlusionEndedTs = Number.NEGATIVE_INFINITY;
    this.infiltrationEndedTs = Number.NEGATIVE_INFINITY;
    this.occlusionBelowSince = Number.NaN;
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
  get blockSumV(): number { return this.#get(Slot.BlockSumV); }
  set blockSumV(value: number) { this.#x[Slot.BlockSumV] = value; }
  get blockSumP(): number { return this.#get(Slot.BlockSumP); }
  set blockSumP(value: number) { this.#x[Slot.BlockSumP] = value; }
  get blockStartV(): number { return this.#get(Slot.BlockStartV); }
  set blockStartV(value: number) { this.#x[Slot.BlockStartV] = value; }
  get slabSumV(): number { return this.#get(Slot.SlabSumV); }
  set slabSumV(value: number) { this.#x[Slot.SlabSumV] = value; }
  get slabSumP(): number { return this.#get(Slot.SlabSumP); }
  set slabSumP(value: number) { this.#x[Slot.SlabSumP] = value; }
  get slabStartV(): number { return this.#get(Slot.SlabStartV); }
  set slabStartV(value: number) { this.#x[Slot.SlabStartV] = value; }
  get baseline(): number { return this.#get(Slot.Baseline); }
  set baseline(value: number) { this.#x[Slot.Baseline] = value; }
  /** Running mean of |difference| between consecutive occlusion blocks: the block noise scale. */
  get blockMeanAbsDiff(): number { return this.#get(Slot.BlockMeanAbsDiff); }
  set blockMeanAbsDiff(value: number) { this.#x[Slot.BlockMeanAbsDiff] = value; }
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
  /** Running mean of |difference| between consecutive infiltration slabs: the slab noise scale. */
  get slabMeanAbsDiff(): number { return this.#get(Slot.SlabMeanAbsDiff); }
  set slabMeanAbsDiff(value: number) { this.#x[Slot.SlabMeanAbsDiff] = value; }
  /** Running mean of the squared rise across an infiltration window on a quiet line: the wander scale. */
  get windowRiseVariance(): number { return this.#get(Slot.WindowRiseVariance); }
  set windowRiseVariance(value: number) { this.#x[Slot.WindowRiseVariance] = value; }
  get infiltrationStartP(): number { return this.#get(Slot.InfiltrationStartP); }
  set infiltrationStartP(value: number) { this.#x[Slot.InfiltrationStartP] = value; }
  get infiltrationEndedTs(): number { return this.#get(Slot.InfiltrationEndedTs); }
  set infiltrationEndedTs(value: number) { this.#x[Slot.InfiltrationEndedTs] = value; }
  get lastEpisodeTs(): number { return this.#get(Slot.LastEpisodeTs); }
  set lastEpisodeTs(value: number) { this.#x[Slot.LastEpisodeTs] = value; }

  /** Median of the last three raw pressures: drops single-sample spikes (crying, a knock). */
  filterPressure(rawMmHg: number): number {
    const older = this.#get(Slot.Raw2);
    const old = this.#get(Slot.Raw1);
    this.#x[Slot.Raw2] = old;
    this.#x[Slot.Raw1] = rawMmHg;
    if (this.filterCount < 2) {
      this.filterCount++;
      return rawMmHg;
    }
    if (rawMmHg > old) return old > older ? old : rawMmHg > older ? older : rawMmHg;
    return rawMmHg > older ? rawMmHg : old > older ? older : old;
  }

  /** Empties both rings and the partial block and slab (a new segment). */
  clearRings(): void {
    this.fineCount = 0;
    this.slabCount = 0;
    this.blockSamples = 0;
    this.slabSamples = 0;
    this.blockSumV = 0;
    this.blockSumP = 0;
    this.slabSumV = 0;
    this.slabSumP = 0;
  }

  pushFine(volumeMl: number, pressureMmHg: number): void {
    this.fineHead = (this.fineHead + 1) % RING_SIZE;
    this.#x[FINE_OFFSET + 2 * this.fineHead] = volumeMl;
    this.#x[FINE_OFFSET + 2 * this.fineHead + 1] = pressureMmHg;
    if (this.fineCount < RING_SIZE) this.fineCount++;
  }

  /** Volume of the occlusion block `back` blocks before the newest (0 = newest). */
  fineV(back: number): number {
    return this.#get(FINE_OFFSET + 2 * ((this.fineHead - back + RING_SIZE) % RING_SIZE));
  }

  fineP(back: number): number {
    return this.#get(FINE_OFFSET + 2 * ((this.fineHead - back + RING_SIZE) % RING_SIZE) + 1);
  }

  pushSlab(volumeMl: number, pressureMmHg: number): void {
    this.slabHead = (this.slabHead + 1) % RING_SIZE;
    this.#x[SLAB_OFFSET + 2 * this.slabHead] = volumeMl;
    this.#x[SLAB_OFFSET + 2 * this.slabHead + 1] = pressureMmHg;
    if (this.slabCount < RING_SIZE) this.slabCount++;
  }

  slabV(back: number): number {
    return this.#get(SLAB_OFFSET + 2 * ((this.slabHead - back + RING_SIZE) % RING_SIZE));
  }

  slabP(back: number): number {
    return this.#get(SLAB_OFFSET + 2 * ((this.slabHead - back + RING_SIZE) % RING_SIZE) + 1);
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
