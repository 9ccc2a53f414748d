import { describe, expect, it } from 'vitest';
import { dayRows, dayTallies, trend, type ResourceSample } from './report.js';

function reading(simDays: number, journalKiB: number, rssMiB = 100): ResourceSample {
  return { wallSeconds: simDays * 100, simDays, rssMiB, heapMiB: 30, journalKiB, openFds: 20, lagMs: 1, load1: 1 };
}

describe('soak report', () => {
  it('tallies events by condition and journal growth per simulated day, not counting compactions as growth', () => {
    const received = [
      { event: { condition: 'telemetry-lost' }, firstAtMs: 1_000 },
      { event: { condition: 'telemetry-lost' }, firstAtMs: 1_500 },
      { event: { condition: 'downstream-occlusion' }, firstAtMs: 2_500 },
    ];
    // One wall second is one simulated day here.
    const tallies = dayTallies(received, (wallMs) => wallMs / 1000, [reading(0.2, 10), reading(0.8, 60), reading(1.1, 5), reading(1.9, 45)]);
    expect(tallies).toEqual([
      { day: 1, events: { 'telemetry-lost': 2 }, journalAppendedKiB: 40 },
      { day: 0, events: {}, journalAppendedKiB: 50 },
      { day: 2, events: { 'downstream-occlusion': 1 }, journalAppendedKiB: 0 },
    ].sort((a, b) => a.day - b.day));
    expect(dayRows(tallies)[1]).toEqual(['day 1: alarm events received / journal appended', '2 (telemetry-lost 2) / 40 KiB']);
  });

  it('fits the slope per simulated day after warm-up only', () => {
    const samples = [reading(0, 0, 50), reading(0.5, 0, 90), reading(1, 0, 100), reading(2, 0, 102), reading(3, 0, 104)];
    expect(trend(samples, 'rssMiB', 1).slopePerDay).toBeCloseTo(2, 9);
  });
});
