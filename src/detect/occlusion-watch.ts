import type { TelemetrySample } from '../telemetry/sample.js';
import type { DisturbanceJudge} from './disturbance.js';
import { NOISE_WEIGHT } from './disturbance.js';
import { round, type FindingSink } from '../alarms/finding.js';
import { SEGMENT_STARTUP, type LineState } from './line-state.js';
import type { DetectorSettings } from './settings.js';
import { rampLlr } from './slope-cusum.js';

/** σ of a block mean from the mean |difference| of consecutive blocks: E|d| = 2σ/√π. */
const ABS_DIFF_TO_SIGMA = Math.sqrt(Math.PI) / 2;
/**
 * The occlusion test learns the line's wander from the difference between a block and the block
 * this many before it: long enough for drift to show over the noise, within the 16-block ring.
 */
const DRIFT_LAG_BLOCKS = 8;
/** A sample-to-sample rise beyond the jump slope counts as a jump only past this many sample SDs (or one reporting step). */
const JUMP_SIGMAS = 4;
/** The baseline follows the pressure while it stays within half of the larger of the minimum rise and this many block SDs. */
const TRACK_BAND_SIGMAS = 5;

/**
 * Running mean of |difference| between consecutive block means. Each new difference is clipped
 * at 3× the current scale, so a step (which the shape tests handle) is not taken for noise.
 */
function updateMeanAbsDiff(current: number, difference: number, floorMmHg: number): number {
  const observed = Math.min(Math.abs(difference), 3 * (current + floorMmHg));
  return current + (observed - current) * NOISE_WEIGHT;
}

/**
 * The downstream-occlusion state machine, on blocks of pressure against volume: learns the
 * segment's baseline, then finds a ramp at system-compliance slope (≥ 100 mmHg/mL) rising above
 * it — still rising in the second half of the volume since its onset (a step is not a ramp) and
 * close to a straight line (a filling compliance is smooth; crying is jagged) — and raises it when
 * the ramp's log-likelihood ratio against a level (`rampLlr`: slope hypotheses 1/C_system, white
 * noise, reporting steps and stick-slip at each end, drift as a random walk over its span)
 * crosses `thresholdNats`. While the baseline is still being learned (start-up, settling) a ramp
 * must instead rise a fixed height over the segment's lowest pressure. It ends the occlusion once
 * the pressure has stayed back near the baseline. Its state lives in the channel's `LineState`;
 * cross-effects (ending an advisory, counting an episode, re-learning the line) are returned to the
 * coordinator.
 */
export class OcclusionWatch {
  readonly #s: DetectorSettings;
  readonly #emit: FindingSink;
  readonly #disturbance: DisturbanceJudge;

  constructor(settings: DetectorSettings, emit: FindingSink, disturbance: DisturbanceJudge) {
    this.#s = settings;
    this.#emit = emit;
    this.#disturbance = disturbance;
  }

  #blockSigma(st: LineState): number {
    return Math.max(this.#s.segments.noiseFloorMmHg, st.blockMeanAbsDiff * ABS_DIFF_TO_SIGMA);
  }

  /**
   * Variance of one block mean: the scatter of consecutive quiet blocks (white noise, and the
   * plunger's stick-slip as the blocks sample its sawtooth), and at least a twelfth of the
   * reporting step squared. Noise that dithers a coarse reading already shows its steps in that
   * scatter; a quiet line reported in coarse steps shows none, yet can jump a whole step on a
   * small drift.
   */
  #whiteVariance(st: LineState): number {
    const sigma = this.#blockSigma(st);
    const resolution = Number.isFinite(st.resolutionMmHg) ? st.resolutionMmHg : 0;
    return Math.max(sigma * sigma, (resolution * resolution) / 12);
  }

  /**
   * Before a sample joins a block: a rise from the last sample faster than a stiff system fills
   * (the high slope, 1 µL/mmHg), beyond the noise and one reporting step, is not delivery: crying,
   * a lowered pump or a moved limb shift the level within seconds. The occlusion test takes such
   * jumps off the rise it judges. A stiffer system (a 10 mL syringe, ≈ 0.5 µL/mmHg [S16]) loses
   * at most the excess of each sample's rise over that allowance, a small part of its ramp.
   */
  noteSample(st: LineState, pressure: number, volume: number): void {
    const resolution = Number.isFinite(st.resolutionMmHg) ? st.resolutionMmHg : 0;
    const scatter = Math.max(this.#s.disturbance.jaggednessFloorMmHg, st.quietBlockJaggedness);
    st.noteJump(pressure, volume, this.#s.occlusion.slopeHighMmHgPerMl, Math.max(resolution, JUMP_SIGMAS * scatter));
  }

  /** The rise since block `onsetBack` that came in jumps, mmHg. */
  #jumpsSince(st: LineState, onsetBack: number): number {
    let jumps = 0;
    for (let back = 0; back < onsetBack; back++) jumps += st.fineJump(back);
    return jumps;
  }

  /** Evidence for a ramp of `rise` mmHg since block `onsetBack`, nats. */
  #rampEvidence(st: LineState, rise: number, onsetBack: number): number {
    const occlusion = this.#s.occlusion;
    const spanMl = st.fineV(0) - st.fineV(onsetBack);
    // Rings restart at every rate change, so volume over rate is the time the ramp has lasted.
    const hours = spanMl / st.previousRate;
    return rampLlr(rise, spanMl, hours, this.#whiteVariance(st), st.occlusionDriftRate, occlusion.slopeLowMmHgPerMl, occlusion.slopeHighMmHgPerMl);
  }

  /**
   * One quiet block teaches the wander rate: the squared difference from the block
   * `DRIFT_LAG_BLOCKS` before, less the white part at both ends, per hour between them. Each
   * observation is clipped at 4× the current rate, so a ramp cannot teach the test to ignore it in
   * one go, while jumps (crying, a moved limb) raise it as the random walk they add up to.
   */
  #learnDrift(st: LineState): void {
    if (st.fineCount <= DRIFT_LAG_BLOCKS || this.#blockDisturbed(st, DRIFT_LAG_BLOCKS)) return;
    const hours = (st.fineV(0) - st.fineV(DRIFT_LAG_BLOCKS)) / st.previousRate;
    if (!(hours > 0)) return;
    const difference = st.fineP(0) - st.fineP(DRIFT_LAG_BLOCKS);
    const observed = Math.max(0, difference * difference - 2 * this.#whiteVariance(st)) / hours;
    const rate = st.occlusionDriftRate;
    st.occlusionDriftRate = rate + (Math.min(observed, 4 * rate) - rate) * NOISE_WEIGHT;
  }

  #blockDisturbed(st: LineState, back: number): boolean {
    return this.#disturbance.disturbed(st, st.fineJaggedness(back), st.quietBlockJaggedness);
  }

  /** The last three blocks are undisturbed, lie within the flat band and do not rise at occlusion slope. */
  #lastBlocksFlat(st: LineState): boolean {
    if (st.fineCount < 3 || this.#blockDisturbed(st, 0) || this.#blockDisturbed(st, 1) || this.#blockDisturbed(st, 2)) return false;
    const p0 = st.fineP(0);
    const p1 = st.fineP(1);
    const p2 = st.fineP(2);
    const range = Math.max(p0, p1, p2) - Math.min(p0, p1, p2);
    const slope = Math.abs(p0 - p2) / Math.max(st.fineV(0) - st.fineV(2), Number.EPSILON);
    return range <= this.#s.segments.flatMmHg && slope < this.#s.occlusion.minSlopeMmHgPerMl / 4;
  }

  /** One block closed. Returns true when it raised an occlusion (the coordinator handles the cross-effects). */
  onBlock(st: LineState, ts: number, sample: TelemetrySample): boolean {
    const volume = st.closedV;
    const pressure = st.closedP;
    const previousP = st.fineCount > 0 ? st.fineP(0) : pressure;
    const previousV = st.fineCount > 0 ? st.fineV(0) : volume;
    const previousClean = st.fineCount > 0 && !this.#blockDisturbed(st, 0);
    st.pushFine();
    const quiet = this.#disturbance.nextQuiet(st, st.closedJaggedness, st.quietBlockJaggedness);
    const disturbed = Number.isNaN(quiet);
    if (!disturbed) st.quietBlockJaggedness = quiet;
    if (!disturbed && pressure < st.segmentMinP) st.segmentMinP = pressure;
    if (st.occlusionActive) {
      if (pressure > st.occlusionPeakP) st.occlusionPeakP = pressure;
      return false;
    }
    const segments = this.#s.segments;
    const occlusion = this.#s.occlusion;
    if (!st.baselineLearned) {
      const settleMs = (st.segmentKind === SEGMENT_STARTUP ? segments.startupSettleSeconds : segments.resumeSettleSeconds) * 1000;
      if (ts - st.segmentStartTs >= settleMs && volume - st.segmentStartVolume >= segments.settleVolumeMl && this.#lastBlocksFlat(st)) {
        st.baseline = (st.fineP(0) + st.fineP(1) + st.fineP(2)) / 3;
        st.blockMeanAbsDiff = (Math.abs(st.fineP(0) - st.fineP(1)) + Math.abs(st.fineP(1) - st.fineP(2))) / 2;
        st.baselineLearned = true;
      }
    }

    let base: number;
    let threshold: number;
    if (st.baselineLearned) {
      threshold = occlusion.riseMmHg;
      const band = Math.max(threshold, TRACK_BAND_SIGMAS * this.#blockSigma(st)) / 2;
      const residual = pressure - st.baseline;
      if (!disturbed && Math.abs(residual) <= band) {
        st.baseline += residual * Math.min(1, (volume - previousV) / segments.trackVolumeMl);
        if (previousClean) st.blockMeanAbsDiff = updateMeanAbsDiff(st.blockMeanAbsDiff, pressure - previousP, segments.noiseFloorMmHg);
      }
      base = st.baseline;
    } else {
      base = st.segmentMinP;
      threshold = st.segmentKind === SEGMENT_STARTUP ? occlusion.startupRiseMmHg : occlusion.settleRiseMmHg;
    }

    if (disturbed) return false;
    if (ts - st.occlusionEndedTs < occlusion.holdOffSeconds * 1000) {
      st.occlusionConfirm = 0;
      return false;
    }
    const onsetBack = this.#rampOnset(st, base, threshold);
    if (onsetBack < 0) {
      st.occlusionConfirm = 0;
      // Only blocks that are not part of a candidate ramp teach the wander, or a slow occlusion would teach the test to ignore it.
      if (st.baselineLearned) this.#learnDrift(st);
      // A level shift that has stopped rising (height change, movement) becomes the new baseline.
      if (st.baselineLearned && Math.abs(pressure - base) >= threshold && this.#lastBlocksFlat(st)) {
        st.baseline = (st.fineP(0) + st.fineP(1) + st.fineP(2)) / 3;
      }
      return false;
    }
    let nats = Number.NaN;
    let large: boolean;
    if (st.baselineLearned) {
      const jumps = this.#jumpsSince(st, onsetBack);
      // The likelihood judges the rise from the onset block (its model has one block's white noise at each end).
      nats = pressure - base - jumps < threshold ? 0 : this.#rampEvidence(st, pressure - st.fineP(onsetBack) - jumps, onsetBack);
      // A blocked line keeps filling its compliance, so its evidence keeps growing; a level shift's stalls once it has settled.
      const growing = st.occlusionConfirm === 0 || nats > st.occlusionLastNats;
      st.occlusionLastNats = nats;
      if (nats < occlusion.thresholdNats || !growing) {
        st.occlusionConfirm = 0;
        return false;
      }
      large = false;
    } else {
      // A rise several times the threshold needs no second block: at slow telemetry one block is a minute.
      large = pressure - base >= occlusion.immediateRiseMultiple * threshold;
    }
    if (++st.occlusionConfirm < occlusion.confirmBlocks && !large) return false;
    this.#raiseOcclusion(st, base, threshold, onsetBack, nats, ts, sample);
    return true;
  }

  /**
   * Whether the newest block ends an occlusion-like ramp above `base`: returns how many blocks
   * back the ramp began, or −1. Only undisturbed blocks count. The onset is the last block near
   * the base (or the oldest held, when the ramp began before the ring); the rise from there must
   * be steep against volume, span several blocks, still be growing in its second half (a step of
   * any height fails this once the blocks after it settle) and lie close to a straight line (a
   * blocked line fills its compliance smoothly; crying and movement are jagged).
   */
  #rampOnset(st: LineState, base: number, threshold: number): number {
    const occlusion = this.#s.occlusion;
    const count = st.fineCount;
    const pressure = st.fineP(0);
    if (count <= occlusion.minBlocks || pressure - base < threshold) return -1;
    const onsetLevel = base + threshold / 4;
    let onset = -1;
    let oldestClean = -1;
    let clean = 0;
    for (let back = 1; back < count; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      oldestClean = back;
      if (st.fineP(back) <= onsetLevel) {
        onset = back;
        break;
      }
      clean++;
    }
    if (onset < 0) onset = oldestClean;
    // `clean` counts the undisturbed blocks after the onset, the newest included once below.
    if (onset < 0 || clean + 1 < occlusion.minBlocks) return -1;
    const onsetV = st.fineV(onset);
    const rise = pressure - st.fineP(onset);
    const spanMl = st.fineV(0) - onsetV;
    if (spanMl <= 0 || rise / spanMl < occlusion.minSlopeMmHgPerMl) return -1;
    // Rings restart at every rate change, so volume over rate is the time the rise has lasted.
    if ((spanMl / st.previousRate) * 3600 < occlusion.minRiseSeconds) return -1;
    const midV = onsetV + spanMl / 2;
    let midP = st.fineP(onset);
    let midDistance = Number.POSITIVE_INFINITY;
    for (let back = onset - 1; back > 0; back--) {
      if (this.#blockDisturbed(st, back)) continue;
      const distance = Math.abs(st.fineV(back) - midV);
      if (distance < midDistance) {
        midDistance = distance;
        midP = st.fineP(back);
      }
    }
    if (pressure - midP < occlusion.continuationFraction * rise) return -1;
    const allowed = Math.max(occlusion.linearityNoiseMultiple * this.#blockSigma(st), occlusion.linearityFraction * rise);
    return this.#rampResidual(st, onset) <= allowed ? onset : -1;
  }

  /** RMS distance of the undisturbed blocks since the onset from their least-squares line. */
  #rampResidual(st: LineState, onset: number): number {
    let n = 0;
    let sumV = 0;
    let sumP = 0;
    for (let back = 0; back <= onset; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      n++;
      sumV += st.fineV(back);
      sumP += st.fineP(back);
    }
    const meanV = sumV / n;
    const meanP = sumP / n;
    let sxx = 0;
    let sxy = 0;
    for (let back = 0; back <= onset; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      const dv = st.fineV(back) - meanV;
      sxx += dv * dv;
      sxy += dv * (st.fineP(back) - meanP);
    }
    const slope = sxx > 0 ? sxy / sxx : 0;
    let sse = 0;
    for (let back = 0; back <= onset; back++) {
      if (this.#blockDisturbed(st, back)) continue;
      const residual = st.fineP(back) - meanP - slope * (st.fineV(back) - meanV);
      sse += residual * residual;
    }
    return Math.sqrt(sse / Math.max(1, n - 2));
  }

  #raiseOcclusion(st: LineState, base: number, threshold: number, onsetBack: number, nats: number, ts: number, sample: TelemetrySample): void {
    const pressure = st.fineP(0);
    const rise = pressure - st.fineP(onsetBack);
    const spanMl = st.fineV(0) - st.fineV(onsetBack);
    st.occlusionActive = true;
    st.occlusionConfirm = 0;
    st.occlusionReference = base;
    st.occlusionEndLevel = base + Math.max(this.#s.occlusion.endRiseMmHg, threshold / 2);
    st.occlusionBelowSince = Number.NaN;
    st.occlusionPeakP = pressure;
    const slope = rise / spanMl;
    this.#emit({
      condition: 'downstream-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: true,
      atMs: ts,
      message:
        `Line pressure is climbing steadily as the pump delivers (${round(rise, 0)} mmHg over ${round(spanMl * 1000, 0)} µL). ` +
        'Check for a closed clamp or stopcock, a kinked line or a blocked cannula.',
      evidence: {
        source: 'pressure-trend',
        baselineMmHg: round(base, 1),
        baselineLearned: st.baselineLearned,
        pressureMmHg: round(pressure, 1),
        riseMmHg: round(rise, 1),
        thresholdMmHg: round(threshold, 1),
        scoreNats: Number.isNaN(nats) ? null : round(nats, 2),
        thresholdNats: Number.isNaN(nats) ? null : this.#s.occlusion.thresholdNats,
        blockNoiseSdMmHg: round(Math.sqrt(this.#whiteVariance(st)), 2),
        jumpsMmHg: round(this.#jumpsSince(st, onsetBack), 1),
        driftMmHg2PerHour: round(st.occlusionDriftRate, 1),
        slopeMmHgPerMl: round(slope, 0),
        volumeSinceOnsetMl: round(spanMl, 4),
        rateMlPerH: sample.rateMlPerH ?? null,
        apparentComplianceUlPerMmHg: round(1000 / slope, 2),
      },
    });
  }

  /** Ends the occlusion once the pressure has stayed near the reference for a while (hysteresis). */
  /** Returns true when the occlusion ended (the line is then learned afresh). */
  checkEnd(st: LineState, pressure: number, ts: number, sample: TelemetrySample): boolean {
    if (pressure > st.occlusionEndLevel) {
      st.occlusionBelowSince = Number.NaN;
      return false;
    }
    if (Number.isNaN(st.occlusionBelowSince)) {
      st.occlusionBelowSince = ts;
      return false;
    }
    if (ts - st.occlusionBelowSince < this.#s.occlusion.endHoldSeconds * 1000) return false;
    st.occlusionActive = false;
    st.occlusionEndedTs = ts;
    this.#emit({
      condition: 'downstream-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: false,
      atMs: ts,
      evidence: {
        source: 'pressure-trend',
        pressureMmHg: round(pressure, 1),
        referenceMmHg: round(st.occlusionReference, 1),
        peakMmHg: round(st.occlusionPeakP, 1),
      },
    });
    return true;
  }
}
