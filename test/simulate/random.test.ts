import { describe, expect, it } from 'vitest';
import { deriveSeed, normaliseSeed, Rng } from '../../src/simulate/random.js';

function draw(rng: Rng, count: number, next: (rng: Rng) => number): number[] {
  return Array.from({ length: count }, () => next(rng));
}

describe('Rng', () => {
  it('repeats its sequence for the same seed', () => {
    expect(draw(new Rng(42), 5, (rng) => rng.nextUint32())).toEqual(draw(new Rng(42), 5, (rng) => rng.nextUint32()));
  });

  it('gives unrelated sequences for neighbouring seeds', () => {
    const a = draw(new Rng(1), 100, (rng) => rng.next());
    const b = draw(new Rng(2), 100, (rng) => rng.next());
    expect(a.filter((value, index) => Math.abs(value - b[index]!) < 0.01).length).toBeLessThan(10);
  });

  it('draws uniforms in [0, 1) with mean one half', () => {
    const values = draw(new Rng(3), 100_000, (rng) => rng.next());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((sum, value) => sum + value, 0) / values.length).toBeCloseTo(0.5, 2);
  });

  it('draws standard normals with mean 0 and variance 1', () => {
    const values = draw(new Rng(4), 100_000, (rng) => rng.normal());
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
    expect(mean).toBeCloseTo(0, 1);
    expect(variance).toBeCloseTo(1, 1);
  });

  it('picks by weight', () => {
    const rng = new Rng(5);
    const picks = draw(rng, 10_000, (r) => r.weighted([[0, 0.25], [1, 0.75]] as const));
    expect(picks.filter((value) => value === 1).length / picks.length).toBeCloseTo(0.75, 1);
  });
});

describe('seeds', () => {
  it('keeps whole-number seeds as they are and hashes text', () => {
    expect(normaliseSeed(7)).toBe(7);
    expect(normaliseSeed('ward A')).toBe(normaliseSeed('ward A'));
    expect(normaliseSeed('ward A')).not.toBe(normaliseSeed('ward B'));
  });

  it('derives a different seed per purpose', () => {
    expect(deriveSeed(7, 'P01', '1')).not.toBe(deriveSeed(7, 'P01', '2'));
    expect(deriveSeed(7, 'P01', '1')).toBe(deriveSeed(7, 'P01', '1'));
  });
});
