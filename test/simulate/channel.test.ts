import { describe, expect, it } from 'vitest';
import { PUMP_ALARM_CODES } from '../../src/simulate/channel.js';
import { defaultInfiltration } from '../../src/simulate/defaults.js';
import { HYDROSTATIC_MMHG_PER_CM } from '../../src/simulate/parameters.js';
import type { ChannelEventSpec } from '../../src/simulate/spec.js';
import { H, makeChannel, MIN, mean, meanPressure, pressures, runChannel, START_MS } from './helpers.js';

/** A line without noise, wander or stick-slip: what a test measures is the physics. */
const CLEAN = { sensorNoiseMmHg: 0, stickSlipMmHg: 0, quantisationMmHg: 0.01, reportIntervalS: 1 } as const;

function clamp(atMs: number, extra: Partial<Extract<ChannelEventSpec, { kind: 'occlusion' }>> = {}): ChannelEventSpec {
  return { kind: 'occlusion', atMs, cause: 'clamp', severity: 'full', resistanceMmHgPerMlH: 100, growthMs: 30 * MIN, ...extra };
}

describe('SimChannel hydraulics', () => {
  it('reports venous pressure plus the resistive drop on an open line', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 2 }, { durationMs: 10 * MIN });
    // 5 mmHg vein + 2 mL/h × (0.05 line + 0.05 catheter + 0.062 vein) mmHg per mL/h
    expect(meanPressure(run, 0, 10 * MIN)).toBeCloseTo(5 + 2 * 0.162, 1);
  });

  it('makes a full clamp climb at Q/C until the pump raises its own occlusion alarm and stops', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 5, containerMl: 50, complianceUlPerMmHg: 2.5, occlusionLimitMmHg: 300 }, { durationMs: 30 * MIN });
    const alarmed = run.samples.find((sample) => sample.state === 'alarm');
    expect(alarmed).toBeUndefined();
    const clamped = runChannel({ ...CLEAN, rateMlPerH: 5, complianceUlPerMmHg: 2.5, occlusionLimitMmHg: 300, events: [clamp(5 * MIN)] }, { durationMs: 30 * MIN });
    const first = clamped.samples.find((sample) => sample.state === 'alarm')!;
    expect(first.pumpAlarms).toEqual([PUMP_ALARM_CODES.downstream]);
    // C·ΔP/Q = 2.5 µL/mmHg × (300 − 5.3) mmHg ÷ 5 mL/h = 8.84 min
    expect((first.tMs - 5 * MIN) / MIN).toBeCloseTo(8.84, 1);
    const during = clamped.samples.filter((sample) => sample.state === 'alarm');
    expect(new Set(during.map((sample) => sample.volumeInfusedMl)).size).toBe(1);
  });

  it('lets a nurse clear the pump alarm after the response time, ending the occlusion', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 5, occlusionLimitMmHg: 300, nurseResponseS: 120, events: [clamp(5 * MIN)] }, { durationMs: 30 * MIN });
    const alarm = run.labels.find((label) => label.kind === 'pump-alarm')!;
    const occlusion = run.labels.find((label) => label.kind === 'occlusion')!;
    expect(alarm.endMs! - alarm.onsetMs).toBe(120_000);
    expect(occlusion.endMs).toBe(alarm.endMs);
    expect(occlusion.detail.endedBy).toBe('nurse');
    expect(occlusion.detail.pumpAlarmAfterS).toBe(Math.round((alarm.onsetMs - occlusion.onsetMs) / 1000));
    const after = run.samples.filter((sample) => START_MS + sample.tMs >= alarm.endMs!);
    expect(after.every((sample) => sample.state === 'infusing' && sample.pumpAlarms === undefined)).toBe(true);
  });

  it('ends a clamp opened before the limit without any pump alarm', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [clamp(5 * MIN, { durationMs: 10 * MIN })] }, { durationMs: 40 * MIN });
    expect(run.labels.filter((label) => label.kind === 'pump-alarm')).toEqual([]);
    expect(run.labels.find((label) => label.kind === 'occlusion')!.detail.endedBy).toBe('schedule');
    expect(meanPressure(run, 35 * MIN, 40 * MIN)).toBeLessThan(7);
  });

  it('raises the pressure of a partial kink by the flow times the added resistance', () => {
    const events = [clamp(10 * MIN, { cause: 'kink', severity: 'partial', resistanceMmHgPerMlH: 60 })];
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, complianceUlPerMmHg: 2.5, events }, { durationMs: 3 * H });
    // τ = R·C = 60.16 mmHg per mL/h × 2.5 µL/mmHg = 9 min, so the plateau is reached after ~1 h.
    expect(meanPressure(run, 2 * H, 3 * H) - meanPressure(run, 0, 10 * MIN)).toBeCloseTo(60, 0);
  });

  it('closes the catheter with a clot within its growth time, then the pump alarms', () => {
    const events = [clamp(10 * MIN, { cause: 'clot', growthMs: 20 * MIN })];
    const run = runChannel({ ...CLEAN, rateMlPerH: 2, occlusionLimitMmHg: 300, events }, { durationMs: 2 * H });
    const alarm = run.labels.find((label) => label.kind === 'pump-alarm')!;
    const afterMin = (alarm.onsetMs - run.labels.find((label) => label.kind === 'occlusion')!.onsetMs) / MIN;
    // Not before the lumen has mostly closed; not later than full closure plus C·ΔP/Q (2.5 × 295 / 2 = 22 min).
    expect(afterMin).toBeGreaterThan(12);
    expect(afterMin).toBeLessThan(20 + 23);
  });
});

describe('SimChannel infiltration', () => {
  it('first drops from venous to interstitial pressure as the tip leaves the vein, then climbs at a tight site', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [defaultInfiltration(30 * MIN, 'tight', { tipOutMs: 30_000 })] }, { durationMs: 4 * H });
    const baseline = meanPressure(run, 0, 30 * MIN);
    const justAfter = Math.min(...pressures(run.samples.filter((sample) => sample.tMs > 30 * MIN && sample.tMs < 35 * MIN)));
    expect(justAfter).toBeLessThan(baseline - 3);
    expect(meanPressure(run, 3.5 * H, 4 * H)).toBeGreaterThan(baseline + 10);
  });

  it('levels off within a few mmHg at a compliant site', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [defaultInfiltration(30 * MIN, 'compliant')] }, { durationMs: 4 * H });
    expect(Math.abs(meanPressure(run, 3.5 * H, 4 * H) - meanPressure(run, 0, 30 * MIN))).toBeLessThan(5);
  });

  it('labels the infiltrated volume every minute, reaching about the volume delivered', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 2, events: [defaultInfiltration(10 * MIN, 'medium', { durationMs: 2 * H })] }, { durationMs: 4 * H });
    const label = run.labels.find((item) => item.kind === 'infiltration')!;
    const series = label.infiltratedVolumeMl!;
    expect(series[1]![0] - series[0]![0]).toBe(60);
    expect(series.every(([, volume], index) => index === 0 || volume >= series[index - 1]![1] - 1e-4)).toBe(true);
    expect(label.detail.finalVolumeMl).toBeCloseTo(4, 0);
    expect(label.detail.endedBy).toBe('site-check');
  });

  it('stops the pump for re-siting when an infiltration is found, then restarts with a primed line', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, resiteMin: 20, events: [defaultInfiltration(10 * MIN, 'medium', { durationMs: 30 * MIN })] }, { durationMs: 2 * H });
    const states = run.samples.filter((sample) => sample.tMs >= 40 * MIN).map((sample) => sample.state);
    expect([...new Set(states)]).toEqual(['stopped', 'priming', 'infusing']);
  });
});

describe('SimChannel artefacts', () => {
  it('stops delivery for C·ΔP/Q when the pump is lowered, as Weiss measured', () => {
    const channel = makeChannel({ ...CLEAN, rateMlPerH: 0.5, complianceUlPerMmHg: 2.5, events: [{ kind: 'height-change', atMs: 10 * MIN, deltaCm: -30 }] }, { durationMs: 1 * H });
    const noDeliveryMs = ((2.5e-3 * 30 * HYDROSTATIC_MMHG_PER_CM) / 0.5) * H;
    channel.advanceTo(START_MS + 10 * MIN);
    const before = channel.deliveredMl;
    // Blood flows back into the syringe as it is lowered; the pump needs C·ΔP/Q to make that up.
    channel.advanceTo(START_MS + 10 * MIN + 0.9 * noDeliveryMs);
    expect(channel.deliveredMl).toBeLessThan(before);
    channel.advanceTo(START_MS + 10 * MIN + noDeliveryMs);
    expect(channel.deliveredMl - before).toBeCloseTo(0, 3);
    channel.advanceTo(START_MS + 10 * MIN + noDeliveryMs + 10 * MIN);
    expect(channel.deliveredMl - before).toBeCloseTo(0.5 / 6, 3);
  });

  it('raises the reported pressure by the head of the lowered pump', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [{ kind: 'height-change', atMs: 10 * MIN, deltaCm: -30 }] }, { durationMs: 30 * MIN });
    expect(meanPressure(run, 15 * MIN, 30 * MIN) - meanPressure(run, 0, 10 * MIN)).toBeCloseTo(30 * HYDROSTATIC_MMHG_PER_CM, 1);
    expect(run.labels[0]!.detail.noDeliveryS).toBe(Math.round(((2.5e-3 * 30 * HYDROSTATIC_MMHG_PER_CM) / 1) * 3600));
  });

  it('raises venous pressure during a crying bout', () => {
    const patient = { limbHeightSdCm: 0, venousDriftSdMmHg: 0, events: [{ kind: 'crying' as const, atMs: 10 * MIN, durationMs: 5 * MIN, riseMmHg: 15 }] };
    const run = runChannel({ ...CLEAN, rateMlPerH: 1 }, { durationMs: 20 * MIN, patient });
    // The rise fluctuates between 60 and 100 % of its size.
    expect(meanPressure(run, 10.5 * MIN, 15 * MIN) - meanPressure(run, 0, 10 * MIN)).toBeCloseTo(12, -0.5);
    expect(run.labels.map((label) => label.kind)).toEqual(['crying']);
  });

  it('pushes the line pressure up while a flush goes in at the port', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [{ kind: 'flush', atMs: 10 * MIN, volumeMl: 1, durationMs: 10_000 }] }, { durationMs: 20 * MIN });
    const peak = Math.max(...pressures(run.samples.filter((sample) => sample.tMs >= 10 * MIN && sample.tMs < 10 * MIN + 10_000)));
    // 360 mL/h through catheter and vein (0.112 mmHg per mL/h) ≈ 40 mmHg
    expect(peak - meanPressure(run, 0, 10 * MIN)).toBeGreaterThan(30);
  });

  it('reports the bolus rate in state bolus until the bolus volume is delivered', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [{ kind: 'bolus', atMs: 10 * MIN, volumeMl: 1, rateMlPerH: 30 }] }, { durationMs: 20 * MIN });
    const bolus = run.samples.filter((sample) => sample.state === 'bolus');
    expect(bolus.every((sample) => sample.rateMlPerH === 30)).toBe(true);
    expect((bolus.at(-1)!.tMs - bolus[0]!.tMs) / 1000).toBeCloseTo(120, -1);
    expect(run.samples.at(-1)!.state).toBe('infusing');
  });

  it('holds the volume infused while paused and resumes afterwards', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [{ kind: 'pause', atMs: 10 * MIN, durationMs: 5 * MIN }] }, { durationMs: 20 * MIN });
    const paused = run.samples.filter((sample) => sample.state === 'paused');
    expect(paused.length).toBeGreaterThan(250);
    expect(new Set(paused.map((sample) => sample.volumeInfusedMl)).size).toBe(1);
    expect(run.samples.at(-1)!.state).toBe('infusing');
  });

  it('reports the new rate after a titration and labels the change', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events: [{ kind: 'rate-change', atMs: 10 * MIN, rateMlPerH: 2.5 }] }, { durationMs: 20 * MIN });
    expect(run.samples.at(-1)!.rateMlPerH).toBe(2.5);
    expect(run.labels[0]!.detail).toMatchObject({ fromMlPerH: 1, toMlPerH: 2.5 });
  });

  it('stops the pump during a syringe change and labels the start-up that follows', () => {
    const events: ChannelEventSpec[] = [{ kind: 'syringe-change', atMs: 10 * MIN, pauseMs: 2 * MIN, bolusUl: 8, primed: false, slackMl: 0.2, settleMl: 0.05 }];
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events }, { durationMs: 1 * H });
    expect(run.samples.filter((sample) => sample.state === 'stopped').length).toBeCloseTo(120, -1);
    const startUp = run.labels.find((label) => label.kind === 'start-up')!;
    // Slack 0.2 mL then three settling volumes of 0.05 mL at 1 mL/h: 21 min.
    expect((startUp.endMs! - startUp.onsetMs) / MIN).toBeCloseTo(21, 0);
  });

  it('delivers nothing into a clamped line until the slack of a fresh syringe is taken up', () => {
    const events: ChannelEventSpec[] = [clamp(0), { kind: 'start-up', atMs: 5 * MIN, primed: false, slackMl: 0.5, settleMl: 0.05 }];
    const run = runChannel({ ...CLEAN, rateMlPerH: 2, startMode: 'stopped', occlusionLimitMmHg: 900, events }, { durationMs: 40 * MIN });
    // Slack 0.5 mL at 2 mL/h: 15 min of motor travel before the stopper moves.
    expect(meanPressure(run, 15 * MIN, 19 * MIN) - meanPressure(run, 0, 5 * MIN)).toBeLessThan(1);
    expect(meanPressure(run, 35 * MIN, 40 * MIN)).toBeGreaterThan(100);
  });

  it('drops the pressure by about the venous pressure when the line comes off the hub', () => {
    const events: ChannelEventSpec[] = [{ kind: 'disconnection', atMs: 10 * MIN, durationMs: 10 * MIN, endHeightCm: 0 }];
    const run = runChannel({ ...CLEAN, rateMlPerH: 1, events }, { durationMs: 30 * MIN });
    expect(meanPressure(run, 11 * MIN, 20 * MIN) - meanPressure(run, 0, 10 * MIN)).toBeCloseTo(-5.1, 0);
    expect(run.labels[0]!.detail.endedBy).toBe('reconnected');
  });

  it('collapses the upstream pressure of a volumetric pump on an upstream occlusion and alarms', () => {
    const run = runChannel({ ...CLEAN, pumpType: 'volumetric', rateMlPerH: 5, events: [{ kind: 'upstream-occlusion', atMs: 10 * MIN }] }, { durationMs: 30 * MIN });
    expect(run.samples[0]!.upstreamPressureMmHg).toBeCloseTo(60 * HYDROSTATIC_MMHG_PER_CM, 0);
    const alarmed = run.samples.find((sample) => sample.state === 'alarm')!;
    expect(alarmed.pumpAlarms).toEqual([PUMP_ALARM_CODES.upstream]);
    expect(alarmed.upstreamPressureMmHg).toBeLessThan(-100);
  });

  it('changes the syringe after the pump reports it empty', () => {
    const run = runChannel({ ...CLEAN, rateMlPerH: 5, containerMl: 10, initialFillMl: 0.5, nurseResponseS: 60 }, { durationMs: 1 * H });
    const alarm = run.labels.find((label) => label.kind === 'pump-alarm')!;
    expect(alarm.detail.code).toBe(PUMP_ALARM_CODES.syringeEmpty);
    // 0.5 mL left at 5 mL/h: empty after 6 min.
    expect((alarm.onsetMs - START_MS) / MIN).toBeCloseTo(6, 1);
    expect(run.labels.find((label) => label.kind === 'syringe-change')!.detail.reason).toBe('empty');
  });
});

describe('SimChannel reporting', () => {
  it('quantises the reported pressure to the pump resolution', () => {
    const run = runChannel({ rateMlPerH: 1, quantisationMmHg: 5, reportIntervalS: 5 }, { durationMs: 30 * MIN });
    expect(pressures(run.samples).every((value) => value % 5 === 0)).toBe(true);
  });

  it('puts a stick-slip sawtooth on a syringe pump at a low rate', () => {
    const smooth = runChannel({ ...CLEAN, rateMlPerH: 0.5 }, { durationMs: 10 * MIN });
    const sticky = runChannel({ ...CLEAN, rateMlPerH: 0.5, stickSlipMmHg: 3 }, { durationMs: 10 * MIN });
    const range = (values: number[]) => Math.max(...values) - Math.min(...values);
    expect(range(pressures(smooth.samples))).toBeLessThan(0.5);
    expect(range(pressures(sticky.samples))).toBeGreaterThan(2);
  });

  it('ripples the pressure of a volumetric pump with the peristaltic cycle', () => {
    const run = runChannel({ ...CLEAN, pumpType: 'volumetric', rateMlPerH: 6, rippleSensorMmHg: 2 }, { durationMs: 10 * MIN });
    const values = pressures(run.samples);
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(3);
  });

  it('leaves out downstream pressure for pumps that do not report it', () => {
    const run = runChannel({ rateMlPerH: 1, reportsPressure: false }, { durationMs: 5 * MIN });
    expect(run.samples.every((sample) => !('downstreamPressureMmHg' in sample))).toBe(true);
  });

  it('reports at the configured interval with a sequence number per sample', () => {
    const run = runChannel({ rateMlPerH: 1, reportIntervalS: 30 }, { durationMs: 10 * MIN });
    expect(run.samples).toHaveLength(20);
    expect(run.samples.map((sample) => sample.seq)).toEqual([...Array(20).keys()]);
    expect(mean(run.samples.slice(1).map((sample, index) => sample.tMs - run.samples[index]!.tMs))).toBe(30_000);
  });
});
