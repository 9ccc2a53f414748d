import type { LineState } from './line-state.js';
import type { DetectorSettings } from './settings.js';

/** Weight of one new block or slab in the running noise estimates. */
export const NOISE_WEIGHT = 1 / 16;

/**
 * Tells crying, movement, handling and flushes from delivery: fast, jagged variation of the
 * samples within a block or slab around their own line against volume, which delivered volume
 * cannot cause. Shared by the occlusion and infiltration state machines.
 */
export class DisturbanceJudge {
  readonly #s: DetectorSettings['disturbance'];

  constructor(settings: DetectorSettings['disturbance']) {
    this.#s = settings;
  }

  /**
   * Whether a block's samples were jagged compared with this line's quiet blocks: crying,
   * movement, a knock or a flush. Disturbed blocks and slabs are left out of every trend test.
   */
  disturbed(st: LineState, jaggedness: number, quiet: number): boolean {
    const disturbance = this.#s;
    // A ramp reported in coarse steps scatters by up to a step around its own line.
    const floor = Math.max(disturbance.jaggednessFloorMmHg, Number.isFinite(st.resolutionMmHg) ? disturbance.resolutionFraction * st.resolutionMmHg : 0);
    return jaggedness > disturbance.jaggednessMultiple * Math.max(quiet, floor);
  }

  /** The quiet jaggedness learned with one more block, or NaN when this block was disturbed. */
  nextQuiet(st: LineState, jaggedness: number, quiet: number): number {
    if (quiet === 0) return jaggedness;
    return this.disturbed(st, jaggedness, quiet) ? Number.NaN : quiet + (jaggedness - quiet) * NOISE_WEIGHT;
  }
}
