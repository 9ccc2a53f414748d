import { describe, expect, it } from 'vitest';
import type { AlarmRecord, ChannelLog, RunOutcome } from '../../src/evaluate/runner.js';
import { operatingCurves } from '../../src/evaluate/curves.js';
import { infiltratedAt, rateBand, scoreRuns } from '../../src/evaluate/score.js';
import type { SimLabel } from '../../src/simulate/index.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function label(kind: SimLabel['kind'], category: SimLabel['category'], onsetMin: number, endMin: number | null, detail: SimLabel['detail'] = {}, extra: Partial<SimLabel> = {}): SimLabel {
  const onsetMs = T0 + onsetMin * MIN;
  const endMs = endMin === null ? null : T0 + endMin * MIN;
  return { id: `P1/1/${kind}${onsetMin}`, kind, category, pumpId: 'P1', channel: '1', onset: new Date(onsetMs).toISOString(), onsetMs, end: endMs === null ? null : new Date(endMs).toISOString(), endMs, detail, ...extra };
}

function alarm(condition: AlarmRecord['condition'], atMin: number, source = 'pressure-trend'): AlarmRecord {
  return { condition, pumpId: 'P1', channel: '1', priority: 'high', atMs: T0 + atMin * MIN, endedMs: null, source, evidence: { source } };
}

function run(labels: SimLabel[], alarms: AlarmRecord[], log: Partial<ChannelLog> = {}, sweepAlarms: AlarmRecord[][] | null = null): RunOutcome {
  const channel: ChannelLog = { pumpId: 'P1', channel: '1', rates: [[T0, 1]], reportsPressure: true, pumpOcclusionMs: [], nuisanceMmHg: 2, vesicantLine: false, ...log };
  return { name: 'r', family: 'mixed', seed: 1, startMs: T0, endMs: T0 + 24 * 60 * MIN, channels: [channel], labels, alarms, samples: 0, rejected: 0, spec: null, sweepAlarms };
}

describe('scoring', () => {
  it('puts rates into the bands of the report', () => {
    expect([0.5, 0.51, 2, 2.1, 10, 12].map(rateBand)).toEqual(['≤0.5', '0.5–2', '0.5–2', '2–10', '2–10', '>10']);
  });

  it('interpolates the infiltrated volume between the minute points of a label', () => {
    const infiltration = label('infiltration', 'infiltration', 0, 10, {}, { infiltratedVolumeMl: [[0, 0], [60, 0.1], [120, 0.3]] });
    expect(infiltratedAt(infiltration, 90)).toBeCloseTo(0.2);
    expect(infiltratedAt(infiltration, 500)).toBeCloseTo(0.3);
  });

  it('scores a detection with its delay next to the pump alarm, and the pump alarm alone as the pump\u2019s', () => {
    const scores = scoreRuns([run([label('occlusion', 'downstream-occlusion', 60, 120, { cause: 'clamp', severity: 'full' })], [alarm('downstream-occlusion', 63)], { pumpOcclusionMs: [T0 + 100 * MIN] })]);
    expect(scores.events[0]).toMatchObject({ group: 'full', detectedBy: 'pressure-trend', delayMin: 3, pumpDelayMin: 40, band: '0.5–2' });
  });

  it('does not count an alarm raised before the onset or well after the end as a detection', () => {
    const scores = scoreRuns([run([label('occlusion', 'downstream-occlusion', 60, 70, { severity: 'full' })], [alarm('downstream-occlusion', 59), alarm('downstream-occlusion', 75)])]);
    expect(scores.events[0]!.detectedMs).toBeNull();
  });

  it('does not score an occlusion that begins while an earlier one on the same line is still going', () => {
    const first = label('occlusion', 'downstream-occlusion', 60, 200, { severity: 'full' });
    const second = { ...label('occlusion', 'downstream-occlusion', 90, 200, { severity: 'full' }), id: 'P1/1/second' };
    const scores = scoreRuns([run([first, second], [alarm('downstream-occlusion', 63)])]);
    expect(scores.events.map((event) => event.labelId)).toEqual([first.id]);
  });

  it('counts an occlusion alarm during an infiltration as confusion, not as a false alarm', () => {
    const scores = scoreRuns([run([label('infiltration', 'infiltration', 60, 180, { site: 'tight' })], [alarm('downstream-occlusion', 90)])]);
    expect(scores.events[0]!.confusedWith).toBe('downstream-occlusion');
    expect(scores.falseAlarms[0]!.occlusionTrend).toBe(0);
  });

  it('counts alarms outside every event as false, per source, over the time outside events', () => {
    const scores = scoreRuns([run([label('occlusion', 'downstream-occlusion', 600, 650, {})], [alarm('downstream-occlusion', 100), alarm('downstream-occlusion', 200, 'pump-alarm'), alarm('possible-infiltration', 300)])]);
    expect(scores.falseAlarms[0]).toMatchObject({ occlusionTrend: 1, occlusionRelayed: 1, infiltration: 1 });
    expect(scores.falseAlarms[0]!.channelDays).toBeCloseTo((24 * 60 - 61) / (24 * 60));
  });

  it('counts an artefact as silent only if the detector raised nothing from its onset to ten minutes after its end', () => {
    const scores = scoreRuns([run([label('flush', 'artefact', 100, 101), label('crying', 'artefact', 300, 303)], [alarm('downstream-occlusion', 310)])]);
    expect(scores.artefacts.map((a) => [a.kind, a.n, a.silent])).toEqual([
      ['flush', 1, 1],
      ['crying', 1, 0],
    ]);
  });

  it('does not count an advisory raised while the line is occluded as detecting an infiltration, and counts it apart', () => {
    const infiltration = label('infiltration', 'infiltration', 60, 300, { site: 'tight' });
    const occlusion = { ...label('occlusion', 'downstream-occlusion', 100, 200, { severity: 'full' }), id: 'P1/1/occ' };
    const scores = scoreRuns([run([infiltration, occlusion], [alarm('possible-infiltration', 150)])]);
    expect(scores.events.find((event) => event.kind === 'infiltration')!.detectedMs).toBeNull();
    expect(scores.falseAlarms[0]!.infiltrationOnOccluded).toBe(1);
    const later = scoreRuns([run([infiltration, occlusion], [alarm('possible-infiltration', 250)])]);
    expect(later.events.find((event) => event.kind === 'infiltration')!.delayMin).toBe(190);
  });

  it('counts false advisories and exposure on vesicant lines apart', () => {
    const scores = scoreRuns([run([], [alarm('possible-infiltration', 100)], { vesicantLine: true })]);
    expect(scores.falseAlarms[0]).toMatchObject({ infiltration: 1, vesicantInfiltration: 1 });
    expect(scores.falseAlarms[0]!.vesicantChannelDays).toBeCloseTo(1);
    const ward = scoreRuns([run([], [alarm('possible-infiltration', 100)])]);
    expect(ward.falseAlarms[0]).toMatchObject({ infiltration: 1, vesicantInfiltration: 0, vesicantChannelDays: 0 });
  });

  it('scores each operating-curve point on its own alarms, with the pump alarms relayed', () => {
    const occlusion = label('occlusion', 'downstream-occlusion', 60, 120, { cause: 'clamp', severity: 'full' });
    const relayed = alarm('downstream-occlusion', 100, 'pump-alarm');
    const outcome = run([occlusion], [alarm('downstream-occlusion', 64), relayed], {}, [[alarm('downstream-occlusion', 62), alarm('downstream-occlusion', 400)], []]);
    const [sensitive, strict] = operatingCurves([outcome], [
      { infiltrationNats: 3, occlusionScale: 0.5 },
      { infiltrationNats: 9, occlusionScale: 2 },
    ]);
    expect(sensitive!.occlusion.bands.find((band) => band.band === '0.5–2')).toMatchObject({ n: 1, sensitivity: 1, medianDelayMin: 2 });
    expect(sensitive!.occlusion.falsePerPumpDay).toBeGreaterThan(0.9);
    expect(strict!.occlusion.bands.find((band) => band.band === '0.5–2')).toMatchObject({ n: 1, sensitivity: 1, medianDelayMin: 40 });
    expect(strict!.occlusion.falsePerPumpDay).toBe(0);
  });

  it('works out the signal-to-noise of an infiltration from its site law and the channel nuisance', () => {
    const scores = scoreRuns([run([label('infiltration', 'infiltration', 60, 120, { site: 'tight', siteComplianceMlPerMmHg: 0.05, plateauMmHg: 20 })], [])]);
    // plateau·0.5/(0.5 + plateau·C0) = 10/1.5 mmHg over a nuisance of 2 mmHg
    expect(scores.events[0]!.snr).toBeCloseTo(10 / 1.5 / 2);
  });
});
