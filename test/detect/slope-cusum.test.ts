import { describe, expect, it } from 'vitest';
import { Cusum, initCusum, rampLlr, stepCusum, type SlopeHypotheses } from '../../src/detect/slope-cusum.js';
import { seededRandom } from './trace.js';

const H: SlopeHypotheses = { lowMmHgPerMl: 10, highMmHgPerMl: 33, ceilingMmHgPerMl: 100, clip: 2.5, stepCapNats: 2.5, driftWeight: 1 / 16 };
const HOUR = 3_600_000;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}

/**
 * Feeds slab means every `slabMl` at `rateMlPerH`: pressure = law(volume, hours) + white noise of
 * SD `noise`. Returns the score after each slab.
 */
function run(law: (volumeMl: number, hours: number) => number, options: { rateMlPerH: number; slabs: number; noise?: number; seed?: number; driftPrior?: number }): number[] {
  const x = new Float64Array(Cusum.Count);
  initCusum(x, 0, options.driftPrior ?? 18);
  const random = seededRandom(options.seed ?? 3);
  const scores: number[] = [];
  const slabMl = 0.02;
  for (let index = 0; index < options.slabs; index++) {
    const volume = index * slabMl;
    const hours = volume / options.rateMlPerH;
    const pressure = law(volume, hours) + (options.noise ?? 0.3) * gaussian(random);
    scores.push(stepCusum(x, 0, H, pressure, volume, hours * HOUR, 0.1, true));
  }
  return scores;
}

describe('slope CUSUM', () => {
  it('stays near zero on a flat vein and climbs steadily on a tissue-slope ramp', () => {
    const vein = run(() => 8, { rateMlPerH: 2, slabs: 200 });
    expect(Math.max(...vein)).toBeLessThan(4);
    const tissue = run((volume) => (volume < 1 ? 8 : 8 + 25 * (volume - 1)), { rateMlPerH: 2, slabs: 100 });
    expect(tissue[49]!).toBeLessThan(4);
    expect(tissue[99]!).toBeGreaterThan(10);
  });

  it('needs more volume for the same ramp at a low rate, where drift has more time', () => {
    const ramp = (volume: number) => 8 + 25 * volume;
    const fast = run(ramp, { rateMlPerH: 5, slabs: 30 });
    const slow = run(ramp, { rateMlPerH: 0.2, slabs: 30 });
    expect(fast[29]!).toBeGreaterThan(2 * slow[29]!);
  });

  it('adds a bounded amount for a step, which then decays, and nothing for an occlusion-steep rise', () => {
    const step = run((volume) => (volume < 0.5 ? 8 : 30), { rateMlPerH: 10, slabs: 60 });
    expect(step[25]!).toBeLessThanOrEqual(2 * H.stepCapNats);
    expect(step[59]!).toBeLessThan(1);
    const steep = run((volume) => 8 + 400 * volume, { rateMlPerH: 1, slabs: 30 });
    expect(Math.max(...steep)).toBe(0);
  });

  it('measures a rise from the bottom of the onset dip', () => {
    const x = new Float64Array(Cusum.Count);
    initCusum(x, 0, 18);
    const law = (volume: number) => (volume < 0.4 ? 8 : 2 + 25 * (volume - 0.4));
    for (let index = 0; index < 40; index++) stepCusum(x, 0, H, law(index * 0.02), index * 0.02, index * 0.02 * HOUR, 0.05, true);
    expect(x[Cusum.OnsetP]).toBeLessThan(3);
  });

  it('learns a larger drift rate on a wandering line, which lowers the evidence from the same ramp', () => {
    const x = new Float64Array(Cusum.Count);
    initCusum(x, 0, 18);
    const random = seededRandom(9);
    let level = 8;
    for (let index = 0; index < 400; index++) {
      level += 2 * gaussian(random);
      stepCusum(x, 0, H, level, index * 0.02, index * 0.02 * HOUR, 0.05, true);
    }
    expect(x[Cusum.DriftRate]).toBeGreaterThan(50);
  });
});

describe('ramp likelihood ratio', () => {
  // An occlusion-range test: 200–1000 mmHg/mL (1–5 µL/mmHg).
  const llr = (riseMmHg: number, spanMl: number, hours: number, white = 1, drift = 18) => rampLlr(riseMmHg, spanMl, hours, white, drift, 200, 1000);

  it('is D²/2V for a rise within the slope range, where V is the white noise at both ends plus the drift over the span', () => {
    expect(llr(20, 0.05, 0.1)).toBeCloseTo((20 * 20) / (2 * (2 + 18 * 0.1)), 10);
  });

  it('counts the same rise for less when it took longer, or when the line reports in coarse steps', () => {
    expect(llr(15, 0.04, 0.4)).toBeLessThan(llr(15, 0.04, 0.04) / 3);
    expect(llr(15, 0.04, 0.04, 1 + 25 / 12)).toBeLessThan(llr(15, 0.04, 0.04) / 2);
  });

  it('penalises a rise much flatter than the softest system and judges a steeper one at the stiffest', () => {
    expect(llr(10, 0.5, 0.01)).toBeLessThan(0);
    expect(llr(30, 0.01, 0.01)).toBeCloseTo((10 * (30 - 5)) / (2 + 0.18), 10);
  });

  it('is zero when no volume was delivered', () => {
    expect(llr(30, 0, 0.1)).toBe(0);
  });
});
