import { describe, expect, it } from 'vitest';
import type { TechnicalReport } from '../../src/alarms/manager.js';
import { OverloadWatch, type LoadWindow } from '../../src/ingest/overload.js';

const settings = { enterCpuShare: 0.9, enterAfterMs: 2000, exitCpuShare: 0.7, exitAfterMs: 10_000 };

function rig() {
  const reports: TechnicalReport[] = [];
  const changes: boolean[] = [];
  const watch = new OverloadWatch({ settings, report: (report) => reports.push(report), onChange: (overloaded) => changes.push(overloaded) });
  const windows = (count: number, window: Partial<LoadWindow>) => {
    for (let index = 0; index < count; index++) watch.observe({ durationMs: 500, cpuShare: 0, samples: 1000, shed: 0, sampleCostMs: 0, ...window });
  };
  return { watch, reports, changes, windows };
}

describe('OverloadWatch', () => {
  it('stays calm through a busy second shorter than enterAfter', () => {
    const r = rig();
    r.windows(3, { cpuShare: 1 });
    r.windows(1, { cpuShare: 0.5 });
    r.windows(3, { cpuShare: 1 });
    expect(r.watch.overloaded).toBe(false);
    expect(r.reports).toEqual([]);
  });

  it('raises the overloaded technical alarm once its own thread has been near a full core for enterAfter', () => {
    const r = rig();
    r.windows(4, { cpuShare: 0.95, samples: 20_000 });
    expect(r.watch.overloaded).toBe(true);
    expect(r.changes).toEqual([true]);
    expect(r.reports).toEqual([
      {
        condition: 'overloaded',
        part: 'ingest',
        active: true,
        evidence: { cpuShare: 0.95, demand: 0.95, enterCpuShare: 0.9, samplesPerSecond: 40_000 },
      },
    ]);
  });

  it('stays overloaded while shedding even when shedding has made the thread idle, counting what the shed samples would cost', () => {
    const r = rig();
    r.windows(4, { cpuShare: 1 });
    // 0.4 busy + 10,000 shed × 0.05 ms in 500 ms = 1.4
    r.windows(40, { cpuShare: 0.4, shed: 10_000, sampleCostMs: 0.05 });
    expect(r.watch.overloaded).toBe(true);
    expect(r.watch.demand).toBeCloseTo(1.4);
  });

  it('ends the alarm only after demand has stayed low for exitAfter, with what was shed as evidence', () => {
    const r = rig();
    r.windows(4, { cpuShare: 1 });
    r.windows(2, { cpuShare: 1, shed: 500, sampleCostMs: 0.01 });
    r.windows(19, { cpuShare: 0.2 });
    expect(r.watch.overloaded).toBe(true);
    r.windows(1, { cpuShare: 0.2 });
    expect(r.watch.overloaded).toBe(false);
    expect(r.changes).toEqual([true, false]);
    expect(r.reports[1]).toMatchObject({ condition: 'overloaded', active: false, evidence: { samplesShed: 1000, peakDemand: 1.01 } });
  });

  it('starts the recovery count again when demand rises in between', () => {
    const r = rig();
    r.windows(4, { cpuShare: 1 });
    r.windows(19, { cpuShare: 0.2 });
    r.windows(1, { cpuShare: 0.8 });
    r.windows(19, { cpuShare: 0.2 });
    expect(r.watch.overloaded).toBe(true);
  });
});
