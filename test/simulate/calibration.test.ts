/**
 * Calibration: the simulator held to published figures (sources in docs/simulator.md). Each test
 * prints what it measured next to the published number and states its tolerance. If the simulator
 * made detection look easy, the Phelps check would fail: that is its purpose.
 */
import { describe, expect, it } from 'vitest';
import { SimChannel } from '../../src/simulate/channel.js';
import { defaultChannelSpec, defaultInfiltration, defaultPatientSpec } from '../../src/simulate/defaults.js';
import { drawInfiltration } from '../../src/simulate/families.js';
import {
  hydrostaticHeadMmHg,
  MMHG_PER_MLH_PER_RU,
  nodePressureAfterStepMmHg,
  outflowOverStepMl,
  refillTimeS,
  solveLine,
  STEP_MS,
  tissuePressureMmHg,
  type LineNetwork,
  type Thevenin,
  type TissueSite,
} from '../../src/simulate/hydraulics.js';
import { SCOTT_RESISTANCE, type SiteClass } from '../../src/simulate/parameters.js';
import { Rng } from '../../src/simulate/random.js';
import type { ChannelEventSpec, ChannelSpec, PatientEventSpec } from '../../src/simulate/spec.js';
import { H, makeChannel, MIN, runChannel, slope, START_MS } from './helpers.js';
import { median, welch } from './stats.js';

function report(title: string, rows: string[]): void {
  console.log(`\n[calibration] ${title}\n${rows.map((row) => `  ${row}`).join('\n')}`);
}

function clampAt(atMs: number): ChannelEventSpec {
  return { kind: 'occlusion', atMs, cause: 'clamp', severity: 'full', resistanceMmHgPerMlH: 0, growthMs: 0 };
}

/** Minutes from a clamp to the pump's own OCCLUSION_DOWNSTREAM, reporting every second. */
function minutesToAlarm(spec: Partial<ChannelSpec>, seed = 1): number {
  const clampMs = 10 * MIN;
  const run = runChannel({ reportIntervalS: 1, ...spec, events: [clampAt(clampMs)] }, { durationMs: 8 * H, seed });
  const alarm = run.samples.find((sample) => sample.pumpAlarms?.includes('OCCLUSION_DOWNSTREAM') === true);
  if (alarm === undefined) throw new Error('the pump never alarmed');
  return (alarm.tMs - clampMs) / MIN;
}

describe('calibration against published figures', () => {
  it('reproduces the Dönmez times to the occlusion alarm of a 50 mL syringe [S11]', () => {
    // Their pumps' limit is not in our sources; 400 mmHg is the middle of the issue's 300–500 band.
    const slow = minutesToAlarm({ rateMlPerH: 0.5, containerMl: 50, occlusionLimitMmHg: 400 });
    const fast = minutesToAlarm({ rateMlPerH: 5, containerMl: 50, occlusionLimitMmHg: 400 });
    const band = [300, 500].map((limit) => `${limit} mmHg: ${minutesToAlarm({ rateMlPerH: 0.5, occlusionLimitMmHg: limit }).toFixed(0)} / ${minutesToAlarm({ rateMlPerH: 5, occlusionLimitMmHg: limit }).toFixed(1)} min`);
    report('Dönmez 2005: 50 mL syringe, full occlusion, limit 400 mmHg (tolerance: ±15 % at 0.5 mL/h, ±1 SD at 5 mL/h)', [
      `0.5 mL/h: ${slow.toFixed(1)} min   published 117.3 ± 9.4 min`,
      `5 mL/h:   ${fast.toFixed(1)} min   published 15.0 ± 7.1 min`,
      `(for reference, 0.5 / 5 mL/h at ${band.join('; at ')})`,
    ]);
    expect(slow).toBeGreaterThan(117.3 * 0.85);
    expect(slow).toBeLessThan(117.3 * 1.15);
    expect(fast).toBeGreaterThan(15.0 - 7.1);
    expect(fast).toBeLessThan(15.0 + 7.1);
  });

  it('reproduces the time-to-alarm table t = C·ΔP/Q for C = 2 µL/mmHg, ΔP = 300 mmHg', () => {
    const published = [[0.1, 360], [0.5, 72], [1, 36], [2, 18], [5, 7]] as const;
    const rows = published.map(([rate, minutes]) => {
      // Limit set 300 mmHg above the line's resting pressure (5.16 mmHg), so ΔP is 300.
      const measured = minutesToAlarm({ rateMlPerH: rate, complianceUlPerMmHg: 2, occlusionLimitMmHg: 305, sensorNoiseMmHg: 0, stickSlipMmHg: 0, quantisationMmHg: 0.1 });
      return { rate, minutes, measured };
    });
    report('time to a 300 mmHg rise at C = 2 µL/mmHg (tolerance ±3 %; the brief rounds 7.2 to 7)', rows.map((row) => `${String(row.rate).padEnd(4)} mL/h: ${row.measured.toFixed(1).padStart(6)} min   brief ${row.minutes} min`));
    for (const row of rows) expect(row.measured / (row.rate === 5 ? 7.2 : row.minutes)).toBeCloseTo(1, 1);
  });

  it('climbs at Q/C during a full occlusion, stick-slip, noise and quantisation included', () => {
    const cases = [
      { rateMlPerH: 0.5, pumpType: 'syringe', complianceUlPerMmHg: 2.5 },
      { rateMlPerH: 1, pumpType: 'syringe', complianceUlPerMmHg: 2.5 },
      { rateMlPerH: 5, pumpType: 'syringe', complianceUlPerMmHg: 1.2 },
      { rateMlPerH: 5, pumpType: 'volumetric', complianceUlPerMmHg: 3 },
    ] as const;
    const rows = cases.map((item) => {
      const run = runChannel({ ...item, reportIntervalS: 5, occlusionLimitMmHg: 900, quantisationMmHg: 5, events: [clampAt(5 * MIN)] }, { durationMs: 8 * H });
      const alarmMs = run.samples.find((sample) => sample.state === 'alarm')?.tMs ?? Infinity;
      const rising = run.samples.filter((sample) => sample.tMs < alarmMs && sample.downstreamPressureMmHg! > 50 && sample.downstreamPressureMmHg! < 250);
      const measured = slope(rising.map((sample) => sample.tMs / MIN), rising.map((sample) => sample.downstreamPressureMmHg!));
      const expected = item.rateMlPerH / 60 / (item.complianceUlPerMmHg / 1000);
      return { ...item, measured, expected };
    });
    report('pressure rise during a full occlusion vs Q/C (tolerance ±5 %)', rows.map((row) => `${row.pumpType.padEnd(10)} ${String(row.rateMlPerH).padEnd(3)} mL/h, C ${row.complianceUlPerMmHg} µL/mmHg: ${row.measured.toFixed(2)} mmHg/min   Q/C ${row.expected.toFixed(2)}`));
    for (const row of rows) expect(Math.abs(row.measured / row.expected - 1)).toBeLessThan(0.05);
  });

  it('adds 7.4 mmHg for every 10 cm the pump is lowered [S68]', () => {
    const run = runChannel({ rateMlPerH: 1, reportIntervalS: 5, events: [{ kind: 'height-change', atMs: 30 * MIN, deltaCm: -10 }] }, { durationMs: 1 * H + 2 * MIN });
    const meanBetween = (from: number, to: number) => {
      const values = run.samples.filter((sample) => sample.tMs >= from && sample.tMs < to).map((sample) => sample.downstreamPressureMmHg!);
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    };
    const step = meanBetween(32 * MIN, 62 * MIN) - meanBetween(0, 30 * MIN);
    report('10 cm height change, default sensor noise, stick-slip and 1 mmHg resolution (tolerance ±0.3 mmHg)', [`measured ${step.toFixed(2)} mmHg   published 7.4 mmHg per 10 cm`]);
    expect(Math.abs(step - 7.4)).toBeLessThan(0.3);
  });

  it('stops delivery after a 130 cm drop for as long as Weiss measured, scaling with syringe size [S16]', () => {
    const rows = ([[50, 29.7], [10, 5.5]] as const).map(([syringeMl, minutes]) => {
      const channel = makeChannel({ rateMlPerH: 0.5, containerMl: syringeMl, complianceUlPerMmHg: syringeMl === 50 ? 2.5 : 0.5, events: [{ kind: 'height-change', atMs: 10 * MIN, deltaCm: -130 }] }, { durationMs: 2 * H });
      channel.advanceTo(START_MS + 10 * MIN);
      const before = channel.deliveredMl;
      let t = START_MS + 10 * MIN;
      do {
        t += 5000;
        channel.advanceTo(t);
      } while (channel.deliveredMl < before && t < START_MS + 2 * H);
      return { syringeMl, minutes, measured: (t - START_MS - 10 * MIN) / MIN };
    });
    report('no delivery after lowering the pump 130 cm at 0.5 mL/h (tolerance ±15 %)', rows.map((row) => `${row.syringeMl} mL syringe: ${row.measured.toFixed(1)} min   published ${row.minutes} min`));
    for (const row of rows) expect(Math.abs(row.measured / row.minutes - 1)).toBeLessThan(0.15);
  });

  it('separates vein from tissue with a 0–300 mL/h step test about as well as Scott did [S8]', () => {
    const rates = [0, 50, 100, 200, 300];
    const stepMs = 20_000;
    const rng = new Rng(1996);
    const measured = { vein: [] as number[], tissue: [] as number[] };
    for (let index = 0; index < 600; index++) {
      const tissue = index % 2 === 1;
      const distribution = tissue ? SCOTT_RESISTANCE.tissue : SCOTT_RESISTANCE.vein;
      const resistanceRu = Math.min(distribution.maxRu, Math.max(distribution.minRu, rng.logNormal(distribution.medianRu, distribution.logSd)));
      const events: ChannelEventSpec[] = rates.map((rateMlPerH, step) => ({ kind: 'rate-change', atMs: MIN + step * stepMs, rateMlPerH }));
      // An adult forearm: the cannula already in tissue, a roomy compliant site [S8].
      if (tissue) events.push(defaultInfiltration(0, 'compliant', { tissueResistanceRu: resistanceRu, siteComplianceMlPerMmHg: 0.3, plateauMmHg: 5, tipOutMs: 500 }));
      const channel = makeChannel(
        {
          pumpType: 'volumetric', rateMlPerH: 0, reportIntervalS: 1, occlusionLimitMmHg: 3000,
          // Adult set and 20G cannula: a few RU together.
          lineResistanceMmHgPerMlH: 0.003, catheterResistanceMmHgPerMlH: 0.003,
          veinResistanceRu: tissue ? 62 : resistanceRu, events,
        },
        { durationMs: MIN + rates.length * stepMs, patient: { limbHeightSdCm: 1, venousDriftSdMmHg: 0.5 }, seed: index + 1 },
      );
      const plateau = rates.map(() => [] as number[]);
      for (let emission = channel.take(); emission !== undefined; emission = channel.take()) {
        const sinceStart = Date.parse(emission.sample.ts) - START_MS - MIN;
        const step = Math.floor(sinceStart / stepMs);
        // The second half of each step: the pressure has settled (τ = R·C up to ~45 s for the stiffest tissue).
        if (step >= 0 && step < rates.length && sinceStart % stepMs >= stepMs / 2) plateau[step]!.push(emission.sample.downstreamPressureMmHg!);
      }
      const meanPressures = plateau.map((values) => values.reduce((sum, value) => sum + value, 0) / values.length);
      measured[tissue ? 'tissue' : 'vein'].push(slope(rates, meanPressures) * 1000);
    }
    const threshold = SCOTT_RESISTANCE.thresholdRu;
    const sensitivity = measured.tissue.filter((value) => value > threshold).length / measured.tissue.length;
    const specificity = measured.vein.filter((value) => value <= threshold).length / measured.vein.length;
    report('step test 0/50/100/200/300 mL/h, 300 veins and 300 tissue sites, threshold 200 RU (tolerance ±0.06)', [
      `sensitivity ${sensitivity.toFixed(3)}   published 0.90`,
      `specificity ${specificity.toFixed(3)}   published 0.91`,
      `median measured resistance: vein ${median(measured.vein).toFixed(0)} RU (published 62), tissue ${median(measured.tissue).toFixed(0)} RU (published 544)`,
    ]);
    expect(Math.abs(sensitivity - 0.9)).toBeLessThan(0.06);
    expect(Math.abs(specificity - 0.91)).toBeLessThan(0.06);
  });

  // Simulates 5 cohorts of 42 lines each: seconds of CPU, which a busy machine stretches.
  it('reproduces the Phelps 1990 null result: q30-min pressure in infants does not separate infiltrated lines [S5]', { timeout: 120_000 }, () => {
    const cohorts = [1, 2, 3, 4, 5].map((seed) => phelpsCohort(seed));
    const control = [1, 2, 3, 4, 5].map((seed) => phelpsCohort(seed, { site: 'tight', stillPatient: true }));
    const row = (label: string, result: ReturnType<typeof phelpsCohort>) =>
      `${label}: 12-h slope ${result.slope.meanA.toFixed(2)} vs ${result.slope.meanB.toFixed(2)} mmHg/h (p ${result.slope.p.toFixed(3)}); ` +
      `final ${result.final.meanA.toFixed(1)} vs ${result.final.meanB.toFixed(1)} mmHg (p ${result.final.p.toFixed(3)}); ` +
      `change from baseline ${result.change.meanA.toFixed(1)} vs ${result.change.meanB.toFixed(1)} mmHg (p ${result.change.p.toFixed(3)}); baseline p ${result.baseline.p.toFixed(2)}`;
    report('Phelps 1990: 20 infiltrated vs 22 intact lines, pressure every 30 min, infant-like noise (tolerance: at most 1 of 5 cohorts with slope p < 0.05 and median slope p > 0.2; same for the change from baseline; control with tight sites and a still patient: all 5 separate at p < 0.01)', [
      ...cohorts.map((result, index) => row(`cohort ${index + 1}, all sites`, result)),
      ...control.map((result, index) => row(`cohort ${index + 1}, control: tight sites, still patient`, result)),
    ]);
    for (const metric of ['slope', 'change'] as const) {
      const p = cohorts.map((result) => result[metric].p);
      expect(p.filter((value) => value < 0.05).length, metric).toBeLessThanOrEqual(1);
      expect(median(p), metric).toBeGreaterThan(0.2);
    }
    // The control shows the signal is in the model: it is infant noise, sparse sampling and compliant sites that hide it.
    expect(control.every((result) => result.change.p < 0.01)).toBe(true);
  });
});

/** A default line at rest: pump level with the site, still patient, no site in tissue. */
function restingLine(overrides: Partial<LineNetwork> = {}): LineNetwork {
  const spec = defaultChannelSpec({});
  return {
    lineResistanceMmHgPerMlH: spec.lineResistanceMmHgPerMlH,
    catheterResistanceMmHgPerMlH: spec.catheterResistanceMmHgPerMlH,
    occlusions: [],
    openEndHeightCm: undefined,
    pumpHeightCm: 0,
    limbHeightCm: 0,
    veinPressureMmHg: spec.venousPressureMmHg,
    veinResistanceMmHgPerMlH: spec.veinResistanceRu * MMHG_PER_MLH_PER_RU,
    tissueOffsetMmHg: 0,
    site: undefined,
    flushRateMlPerH: 0,
    ...overrides,
  };
}

function solved(line: LineNetwork, tMs = 0): Thevenin {
  return solveLine(line, tMs, { peqMmHg: 0, rtotMmHgPerMlH: 0, lineBlocked: false, catheterBlocked: false });
}

const STEP_H = STEP_MS / H;

describe('calibration of the hydraulics, called directly', () => {
  it('takes t = C·ΔP/Q to rise 300 mmHg behind a full clamp, for C = 2 µL/mmHg', () => {
    const clamped = solved(restingLine({ occlusions: [{ severity: 'full', resistanceMmHgPerMlH: 0, clotStartMs: -1, clotGrowthMs: 0 }] }));
    const rows = ([[0.1, 360], [0.5, 72], [1, 36], [2, 18], [5, 7.2]] as const).map(([rateMlPerH, minutes]) => {
      let pressureMmHg = 0;
      let steps = 0;
      while (pressureMmHg < 300) {
        pressureMmHg = nodePressureAfterStepMmHg(pressureMmHg, rateMlPerH * STEP_H, 0.002, clamped);
        steps++;
      }
      return { rateMlPerH, minutes, measured: (steps * STEP_MS) / MIN };
    });
    report('hydraulics alone: 300 mmHg rise behind a full clamp at C = 2 µL/mmHg (tolerance ±0.5 %)', rows.map((row) => `${String(row.rateMlPerH).padEnd(4)} mL/h: ${row.measured.toFixed(2)} min   C·ΔP/Q ${row.minutes} min`));
    expect(clamped.lineBlocked).toBe(true);
    for (const row of rows) expect(Math.abs(row.measured / row.minutes - 1)).toBeLessThan(0.005);
  });

  it('raises the resting line pressure by 7.4 mmHg for every 10 cm the pump is lowered [S68]', () => {
    const level = solved(restingLine());
    const lowered = solved(restingLine({ pumpHeightCm: -10 }));
    const rateMlPerH = 1;
    const step = lowered.peqMmHg + rateMlPerH * lowered.rtotMmHgPerMlH - (level.peqMmHg + rateMlPerH * level.rtotMmHgPerMlH);
    report('hydraulics alone: steady pressure after lowering the pump 10 cm (tolerance ±0.05 mmHg of 7.4)', [`${step.toFixed(3)} mmHg   published 7.4 mmHg per 10 cm`]);
    expect(Math.abs(step - 7.4)).toBeLessThan(0.05);
  });

  it('delivers nothing after a 130 cm drop for C·ΔP/Q, as long as Weiss measured [S16]', () => {
    const rateMlPerH = 0.5;
    const rows = ([[50, 2.5, 29.7], [10, 0.5, 5.5]] as const).map(([syringeMl, complianceUlPerMmHg, minutes]) => {
      const complianceMl = complianceUlPerMmHg / 1000;
      const before = solved(restingLine());
      const after = solved(restingLine({ pumpHeightCm: -130 }));
      let pressureMmHg = before.peqMmHg + rateMlPerH * before.rtotMmHgPerMlH;
      let deliveredMl = 0;
      let steps = 0;
      do {
        const next = nodePressureAfterStepMmHg(pressureMmHg, rateMlPerH * STEP_H, complianceMl, after);
        deliveredMl += outflowOverStepMl(pressureMmHg, next, rateMlPerH * STEP_H, complianceMl, after);
        pressureMmHg = next;
        steps++;
      } while (deliveredMl < 0);
      const measured = (steps * STEP_MS) / MIN;
      const formula = refillTimeS(complianceMl, hydrostaticHeadMmHg(130), rateMlPerH) / 60;
      return { syringeMl, minutes, measured, formula };
    });
    report('hydraulics alone: no net delivery after lowering the pump 130 cm at 0.5 mL/h (tolerance ±15 % of Weiss; ±1 % of C·ΔP/Q)', rows.map((row) => `${row.syringeMl} mL syringe: ${row.measured.toFixed(1)} min   C·ΔP/Q ${row.formula.toFixed(1)} min   published ${row.minutes} min`));
    for (const row of rows) {
      expect(Math.abs(row.measured / row.minutes - 1)).toBeLessThan(0.15);
      expect(Math.abs(row.measured / row.formula - 1)).toBeLessThan(0.01);
    }
  });

  it('reads the resistance beyond the pump from a rate step, vein and tissue on either side of Scott\'s 200 RU [S8]', () => {
    const adult = { lineResistanceMmHgPerMlH: 0.003, catheterResistanceMmHgPerMlH: 0.003 };
    const site: TissueSite = { startMs: 0, tipOutMs: 500, fraction: 1, tissueResistanceMmHgPerMlH: 544 * MMHG_PER_MLH_PER_RU, baselineMmHg: 0, plateauMmHg: 5, floodVolumeMl: 1.5, volumeMl: 0 };
    const measuredRu = (line: LineNetwork) => {
      const thevenin = solved(line, 60_000);
      const pressures = [0, 300].map((rateMlPerH) => thevenin.peqMmHg + rateMlPerH * thevenin.rtotMmHgPerMlH);
      return ((pressures[1]! - pressures[0]!) / 300) * 1000;
    };
    const vein = measuredRu(restingLine({ ...adult, veinResistanceMmHgPerMlH: 62 * MMHG_PER_MLH_PER_RU }));
    const tissue = measuredRu(restingLine({ ...adult, veinResistanceMmHgPerMlH: 62 * MMHG_PER_MLH_PER_RU, site }));
    report('hydraulics alone: resistance read from a 0–300 mL/h step, adult set and 20G cannula (tolerance ±1 RU of the parts)', [
      `vein ${vein.toFixed(1)} RU (vein 62 + set 6)   tissue ${tissue.toFixed(1)} RU (tissue 544 + set 6)   threshold 200 RU`,
    ]);
    expect(Math.abs(vein - 68)).toBeLessThan(1);
    expect(Math.abs(tissue - 550)).toBeLessThan(1);
    expect(vein).toBeLessThan(200);
    expect(tissue).toBeGreaterThan(200);
  });

  it('levels the interstitial pressure off at the site plateau as the tissue floods', () => {
    const site = (volumeMl: number): TissueSite => ({ startMs: 0, tipOutMs: 500, fraction: 1, tissueResistanceMmHgPerMlH: 0.5, baselineMmHg: -2, plateauMmHg: 30, floodVolumeMl: 0.6, volumeMl });
    expect(tissuePressureMmHg(site(0), 0)).toBe(-2);
    expect(tissuePressureMmHg(site(0.6), 0)).toBeCloseTo(13, 10);
    expect(tissuePressureMmHg(site(600), 0)).toBeGreaterThan(27.9);
    expect(tissuePressureMmHg(site(600), 0)).toBeLessThan(28);
  });
});

/**
 * One Phelps-like cohort [S5]: 20 infiltrated and 22 intact infant lines. Infant assumptions
 * (documented in docs/simulator.md): 2–20 mL/h on volumetric pumps; the site region five times a
 * neonate's; infants held and moving (site height SD 8 cm, crying 1/h, movement 3/h); an
 * infiltration starts 12–13 h in and is found at the first hourly check where 0.5–3 mL has
 * collected. Pressure is read every 30 min; slope by least squares over the final 12 h.
 */
function phelpsCohort(seed: number, control: { site?: SiteClass; stillPatient?: boolean } = {}) {
  const { site, stillPatient = false } = control;
  const rng = new Rng(seed * 7919 + (site === undefined ? 0 : 1));
  const metrics = () => ({ slope: [] as number[], final: [] as number[], change: [] as number[], baseline: [] as number[] });
  const groups = { infiltrated: metrics(), intact: metrics() };
  for (let infant = 0; infant < 42; infant++) {
    const infiltrated = infant < 20;
    const onsetMs = 12 * H + rng.uniform(0, H);
    const visibleMl = rng.uniform(0.5, 3);
    const checkPhaseMs = rng.uniform(0, H);
    const intactEndMs = rng.uniform(12.5, 14.5) * H;
    const events: ChannelEventSpec[] = [];
    if (infiltrated) {
      // Found by the hourly check below, not at a drawn time.
      const infiltration: Extract<ChannelEventSpec, { kind: 'infiltration' }> = { ...drawInfiltration(rng, onsetMs, { regionScale: 5, ...(site === undefined ? {} : { site }) }) };
      delete infiltration.durationMs;
      events.push(infiltration);
    }
    const patientEvents: PatientEventSpec[] = [];
    for (let t = rng.exponential(H); t < 16 * H && !stillPatient; t += rng.exponential(H)) patientEvents.push({ kind: 'crying', atMs: t, durationMs: rng.logUniform(30_000, 5 * MIN), riseMmHg: rng.uniform(5, 20) });
    for (let t = rng.exponential(H / 3); t < 16 * H && !stillPatient; t += rng.exponential(H / 3)) patientEvents.push({ kind: 'movement', atMs: t, durationMs: rng.logUniform(5000, 2 * MIN), amplitudeMmHg: rng.logUniform(3, 30) });
    patientEvents.sort((a, b) => a.atMs - b.atMs);
    const spec = defaultChannelSpec({
      pumpType: 'volumetric',
      rateMlPerH: rng.logUniform(2, 20),
      containerMl: 1000,
      initialFillMl: 1000,
      pumpHeightCm: rng.uniform(-20, 40),
      venousPressureMmHg: rng.uniform(3, 8),
      events,
    });
    const channel = new SimChannel(spec, {
      pumpId: 'INFANT',
      patient: defaultPatientSpec(stillPatient ? { limbHeightSdCm: 0, venousDriftSdMmHg: 0 } : { limbHeightSdCm: 8, venousDriftSdMmHg: 2, events: patientEvents }),
      channelSeed: seed * 1000 + infant,
      patientSeed: seed * 1000 + infant + 500,
      startMs: START_MS,
      endMs: START_MS + 16 * H,
    });
    const readings: { tMs: number; mmHg: number }[] = [];
    let nextReadingMs = 0;
    let nextCheckMs = checkPhaseMs;
    for (let emission = channel.take(); emission !== undefined; emission = channel.take()) {
      const tMs = Date.parse(emission.sample.ts) - START_MS;
      if (!infiltrated && tMs >= intactEndMs) break;
      if (infiltrated && tMs >= nextCheckMs) {
        nextCheckMs += H;
        if (tMs > onsetMs && channel.infiltratedVolumeMl >= visibleMl) break;
      }
      if (tMs >= nextReadingMs) {
        readings.push({ tMs, mmHg: emission.sample.downstreamPressureMmHg! });
        nextReadingMs += 30 * MIN;
      }
    }
    const last12h = readings.slice(-25);
    const group = groups[infiltrated ? 'infiltrated' : 'intact'];
    group.slope.push(slope(last12h.map((reading) => reading.tMs / H), last12h.map((reading) => reading.mmHg)));
    group.final.push(last12h.at(-1)!.mmHg);
    group.change.push(last12h.at(-1)!.mmHg - last12h[0]!.mmHg);
    group.baseline.push(last12h[0]!.mmHg);
  }
  return {
    slope: welch(groups.infiltrated.slope, groups.intact.slope),
    final: welch(groups.infiltrated.final, groups.intact.final),
    change: welch(groups.infiltrated.change, groups.intact.change),
    baseline: welch(groups.infiltrated.baseline, groups.intact.baseline),
  };
}
