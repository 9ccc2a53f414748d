import { describe, expect, it } from 'vitest';
import type { EventScore } from '../../src/evaluate/score.js';
import { cellOf, quantile, summarise } from '../../src/evaluate/summary.js';

function event(fields: Partial<EventScore>): EventScore {
  return {
    run: 'r', family: 'occlusion', labelId: 'x', kind: 'occlusion', group: 'full', pumpId: 'P1', channel: '1', rateMlPerH: 1, band: '0.5–2',
    onsetMs: 0, endMs: 3_600_000, durationMin: 60, reportsPressure: true, detectedMs: null, detectedBy: null, delayMin: null, priority: null,
    pumpMs: null, pumpDelayMin: null, infiltratedMlAtDetection: null, infiltratedMlAtEnd: null, confusedWith: null, snr: null, ...fields,
  };
}

describe('summary', () => {
  it('takes nearest-rank quantiles', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('gives sensitivity and delays of pumpwatch and of the pump side by side', () => {
    const cell = cellOf([event({ detectedMs: 1, delayMin: 2, pumpMs: 1, pumpDelayMin: 40 }), event({ detectedMs: 1, delayMin: 4 }), event({})]);
    expect(cell).toMatchObject({ n: 3, detected: 2, medianDelayMin: 2, pumpDetected: 1, pumpMedianDelayMin: 40 });
    expect(cell.sensitivity).toBeCloseTo(2 / 3);
  });

  it('judges the occlusion delay target on full clamps and kinks near 1 mL/h only', () => {
    const summary = summarise({
      events: [event({ detectedMs: 1, delayMin: 2 }), event({ group: 'clot', detectedMs: 1, delayMin: 30 }), event({ rateMlPerH: 5, detectedMs: 1, delayMin: 9 })],
      falseAlarms: [],
      artefacts: [],
      falseAlarmList: [],
    });
    expect(summary.targets.find((target) => target.name === 'Occlusion median delay at ≈1 mL/h')).toMatchObject({ value: 2, met: true });
  });

  it('leaves events on channels without pressure out of the tables and says how many', () => {
    const summary = summarise({ events: [event({ reportsPressure: false })], falseAlarms: [], artefacts: [], falseAlarmList: [] });
    expect(summary.occlusion).toEqual([]);
    expect(summary.withoutPressure).toBe(1);
  });
});
