import { describe, expect, it } from 'vitest';
import { studentTwoSidedP, welch } from './stats.js';

describe('calibration statistics', () => {
  it('matches tabulated Student-t critical values', () => {
    expect(studentTwoSidedP(2.086, 20)).toBeCloseTo(0.05, 3);
    expect(studentTwoSidedP(2.704, 40)).toBeCloseTo(0.01, 3);
    expect(studentTwoSidedP(0, 10)).toBeCloseTo(1, 6);
  });

  it('finds no difference between identical groups and a clear one between separated groups', () => {
    expect(welch([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]).p).toBeCloseTo(1, 6);
    expect(welch([1, 2, 3, 4, 5], [11, 12, 13, 14, 15]).p).toBeLessThan(1e-5);
  });
});
