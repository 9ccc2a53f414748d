import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/alarms/finding.js';
import { LineWatch, type ChannelInspection } from '../../src/detect/line-watch.js';
import { DetectorSettingsSchema, detectorSettings, type DetectorSettingsInput } from '../../src/detect/settings.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { buildTrace, flat, ramp, seededRandom, type SegmentContext, type TraceOptions, type TraceSegment } from './trace.js';

const OCCLUSION_CODE = 'OCCLUSION_DOWNSTREAM';
const MIN = 60_000;

function watch(samples: readonly TelemetrySample[], overrides: DetectorSettingsInput = {}): Finding[] {
  const findings: Finding[] = [];
  const detector = new LineWatch({ settings: detectorSettings(overrides), occlusionAlarmCodes: [OCCLUSION_CODE], emit: (f) => findings.push(f) });
  for (const sample of samples) detector.onSample(sample);
  return findings;
}

function trace(segments: readonly TraceSegment[], options: TraceOptions = {}): TelemetrySample[] {
  return buildTrace(segments, { noiseMmHg: 1, quantumMmHg: 1, ...options });
}

const raised = (findings: readonly Finding[], condition: Finding['condition']) => findings.filter((f) => f.active && f.condition === condition);
const startOf = (samples: readonly TelemetrySample[]) => samples[0]!.ts;

/** A clamp closing at `onsetMin` on a line of system compliance `complianceUl` µL/mmHg. */
function clampTrace(rateMlPerH: number, complianceUl: number, onsetMin = 40, options: TraceOptions = {}) {
  return trace([{ seconds: onsetMin * 60, pressure: flat(8) }, { seconds: 1800, pressure: ramp(8, 1000 / complianceUl) }], { rateMlPerH, ...options });
}

/**
 * The catheter tip leaves the vein at `onsetMin`: pressure falls from venous (8) to interstitial
 * plus tissue resistance (4), then climbs as the site fills (dP/dV = 1/C). The quiet hours before
 * let the detector learn how much this line wanders.
 */
const INFILTRATION_ONSET_MIN = 240;
function infiltrationTrace(siteComplianceMl: number, options: TraceOptions = {}, onsetMin = INFILTRATION_ONSET_MIN) {
  return trace([{ seconds: onsetMin * 60, pressure: flat(8) }, { seconds: 4 * 3600, pressure: ramp(4, 1 / siteComplianceMl) }], options);
}

/** An Ornstein–Uhlenbeck wander on a 5 s grid, as slow venous drift or limb movement. */
function wander(sdMmHg: number, tauMin: number, seed: number): (at: SegmentContext) => number {
  const random = seededRandom(seed);
  const decay = Math.exp(-5 / (tauMin * 60));
  let value = 0;
  let lastSeconds = 0;
  return (at) => {
    for (; lastSeconds < at.seconds; lastSeconds += 5) {
      const u = Math.max(random(), 1e-12);
      value = value * decay + sdMmHg * Math.sqrt(1 - decay * decay) * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    }
    return value;
  };
}

describe('LineWatch: downstream occlusion', () => {
  it('stays silent on a steady vein for six hours', () => {
    expect(watch(trace([{ seconds: 6 * 3600, pressure: flat(8) }]))).toEqual([]);
  });

  it('raises a clamp at 1 mL/h within 3 minutes and 50 µL, with its evidence', () => {
    const samples = clampTrace(1, 2);
    const [finding] = raised(watch(samples), 'downstream-occlusion');
    const delayMs = finding!.atMs - startOf(samples) - 40 * MIN;
    expect(delayMs).toBeLessThanOrEqual(3 * MIN);
    expect(finding!.evidence).toMatchObject({ source: 'pressure-trend', baselineLearned: true, rateMlPerH: 1 });
    expect(finding!.evidence['volumeSinceOnsetMl']).toBeLessThanOrEqual(0.05);
    expect(finding!.evidence['slopeMmHgPerMl']).toBeGreaterThan(300);
    expect(finding!.message).toMatch(/clamp/);
  });

  it('raises a clamp at 0.5 mL/h within 6 minutes', () => {
    const samples = clampTrace(0.5, 2);
    const [finding] = raised(watch(samples), 'downstream-occlusion');
    expect(finding!.atMs - startOf(samples) - 40 * MIN).toBeLessThanOrEqual(6 * MIN);
  });

  it('raises a soft line (5 µL/mmHg) reported in 5 mmHg steps', () => {
    expect(raised(watch(clampTrace(0.5, 5, 40, { quantumMmHg: 5 })), 'downstream-occlusion')).toHaveLength(1);
  });

  it('judges the rise by its likelihood: the evidence carries the score, the threshold and the noise model', () => {
    const [finding] = raised(watch(clampTrace(1, 2)), 'downstream-occlusion');
    const evidence = finding!.evidence;
    expect(evidence['scoreNats']).toBeGreaterThanOrEqual(evidence['thresholdNats'] as number);
    expect(evidence['thresholdNats']).toBe(detectorSettings().occlusion.thresholdNats);
    expect(evidence['blockNoiseSdMmHg']).toBeGreaterThan(0);
    expect(evidence['driftMmHg2PerHour']).toBeGreaterThan(0);
  });

  it('does not take large slow drift reported in 5 mmHg steps for an occlusion at 0.3 mL/h', () => {
    const drift = wander(3, 10, 11);
    const samples = trace([{ seconds: 24 * 3600, pressure: (at) => 8 + drift(at) }], { rateMlPerH: 0.3, quantumMmHg: 5, noiseMmHg: 0.5 });
    expect(raised(watch(samples), 'downstream-occlusion')).toEqual([]);
  });

  it('does not take crying (15 mmHg within one sample, held for minutes) for an occlusion on a line reported in 5 mmHg steps', () => {
    const crying = (at: SegmentContext) => (at.seconds < 240 ? -7 + 15 : -7);
    const bouts = Array.from({ length: 12 }, () => ({ seconds: 1200, pressure: crying }));
    const samples = trace([{ seconds: 2 * 3600, pressure: flat(-7) }, ...bouts], { rateMlPerH: 1, quantumMmHg: 5, noiseMmHg: 0.5 });
    expect(raised(watch(samples), 'downstream-occlusion')).toEqual([]);
  });

  it('does not take crying that climbs 15 mmHg one reporting step per sample (5 mmHg steps, 0.4 mL/h) for an occlusion', () => {
    // Each 5 s sample rises one step, within the per-sample allowance; the three together are far faster than a blocked line fills.
    const bout = (at: SegmentContext) => (at.seconds < 300 ? 8 + Math.min(15, Math.floor(at.seconds / 5) * 5 + 5) : 8);
    const bouts = Array.from({ length: 12 }, () => ({ seconds: 1800, pressure: bout }));
    const samples = trace([{ seconds: 2 * 3600, pressure: flat(8) }, ...bouts], { rateMlPerH: 0.4, quantumMmHg: 5, intervalSeconds: 5 });
    expect(raised(watch(samples), 'downstream-occlusion')).toEqual([]);
  });

  it('still raises a clamp at 0.4 mL/h on a stiff line reported in 5 mmHg steps, each sample within the jump allowance', () => {
    const samples = clampTrace(0.4, 1, 40, { quantumMmHg: 5, noiseMmHg: 1.5, intervalSeconds: 5 });
    const [finding] = raised(watch(samples), 'downstream-occlusion');
    expect(finding!.atMs - startOf(samples) - 40 * MIN).toBeLessThanOrEqual(6 * MIN);
  });

  it('does not take a smooth rise that settles within two minutes and holds (crying at 0.3 mL/h) for an occlusion', () => {
    const bout = (at: SegmentContext) => (at.seconds < 300 ? 8 + 18 * Math.min(1, at.seconds / 100) : 8);
    const bouts = Array.from({ length: 12 }, () => ({ seconds: 1800, pressure: bout }));
    const samples = trace([{ seconds: 2 * 3600, pressure: flat(8) }, ...bouts], { rateMlPerH: 0.3, noiseMmHg: 0.5 });
    expect(raised(watch(samples), 'downstream-occlusion')).toEqual([]);
  });

  it('raises a clamp at 0.1 mL/h on a wandering line within an hour', () => {
    const drift = wander(1.5, 30, 5);
    const samples = trace(
      [
        { seconds: 4 * 3600, pressure: (at) => 8 + drift(at) },
        { seconds: 3 * 3600, pressure: (at) => 8 + drift({ seconds: at.seconds + 4 * 3600, volumeMl: 0 }) + 400 * at.volumeMl },
      ],
      { rateMlPerH: 0.1, quantumMmHg: 0.1, noiseMmHg: 0.5 },
    );
    const [finding] = raised(watch(samples), 'downstream-occlusion');
    expect(finding!.atMs - startOf(samples) - 4 * 60 * MIN).toBeLessThanOrEqual(60 * MIN);
  });

  it('does not take a 22 mmHg step (pump raised 30 cm) for an occlusion', () => {
    expect(watch(trace([{ seconds: 2400, pressure: flat(8) }, { seconds: 7200, pressure: flat(30) }]))).toEqual([]);
  });

  it('does not take a step for a ramp at 10 mL/h with 30 s telemetry, where one step spans 80 µL', () => {
    const samples = trace([{ seconds: 2400, pressure: flat(8) }, { seconds: 7200, pressure: flat(30) }], { rateMlPerH: 10, intervalSeconds: 30 });
    expect(watch(samples)).toEqual([]);
  });

  it('does not take a rate change and its settling for an occlusion', () => {
    const settle = (from: number, to: number) => (at: SegmentContext) => to + (from - to) * Math.exp(-at.volumeMl / 0.008);
    const samples = trace([
      { seconds: 3600, pressure: flat(8) },
      { seconds: 3600, rateMlPerH: 5, pressure: settle(8, 14) },
      { seconds: 3600, rateMlPerH: 1, pressure: settle(14, 8) },
    ]);
    expect(watch(samples)).toEqual([]);
  });

  it('does not take movement bouts (pressure spikes held for seconds, for 100 s) for occlusions', () => {
    const bout = (seed: number) => {
      const random = seededRandom(seed);
      let heldMmHg = 0;
      let heldSince = -5;
      return (at: SegmentContext) => {
        if (at.seconds >= 100) return 8;
        if (at.seconds - heldSince >= 5) {
          heldSince = at.seconds;
          const u = Math.max(random(), 1e-9);
          heldMmHg = Math.abs(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())) * 15;
        }
        return 8 + heldMmHg;
      };
    };
    const bouts = Array.from({ length: 6 }, (_, index) => ({ seconds: 1200, pressure: bout(3 + index) }));
    const samples = trace([{ seconds: 3600, pressure: flat(8) }, ...bouts], { rateMlPerH: 3, intervalSeconds: 1, noiseMmHg: 0.5, seed: 3 });
    expect(watch(samples)).toEqual([]);
  });

  it('does not take a smooth rise that is over within a minute for an occlusion', () => {
    const knock = (at: SegmentContext) => (at.seconds < 40 ? 8 + at.seconds * 0.6 : 8);
    const samples = trace([{ seconds: 3600, pressure: flat(8) }, { seconds: 3600, pressure: knock }], { rateMlPerH: 8, intervalSeconds: 2, noiseMmHg: 0.3 });
    expect(watch(samples)).toEqual([]);
  });

  it('does not take the engagement of a fresh syringe at start-up for an occlusion', () => {
    const engage = (at: SegmentContext) => (at.volumeMl < 0.25 ? 0 : Math.min(40, (at.volumeMl - 0.25) * 400));
    expect(watch(trace([{ seconds: 3 * 3600, pressure: engage }]))).toEqual([]);
  });

  it('raises a clamp left closed at start-up once the rise exceeds any start-up pressure', () => {
    const findings = raised(watch(trace([{ seconds: 3600, pressure: ramp(0, 400) }])), 'downstream-occlusion');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.evidence['baselineLearned']).toBe(false);
    expect(findings[0]!.evidence['pressureMmHg']).toBeGreaterThanOrEqual(50);
  });

  it('holds the occlusion while the stopped pump keeps the line pressurised, then ends it once, after the pressure stays down', () => {
    const samples = trace([
      { seconds: 2400, pressure: flat(8) },
      { seconds: 600, pressure: ramp(8, 500) },
      { seconds: 600, state: 'alarm', pressure: flat(90), pumpAlarms: [OCCLUSION_CODE] },
      { seconds: 20, state: 'alarm', pressure: flat(10) },
      { seconds: 10, state: 'alarm', pressure: flat(40) },
      { seconds: 3600, pressure: flat(8) },
    ]);
    const findings = watch(samples).filter((f) => f.condition === 'downstream-occlusion');
    expect(findings.map((f) => f.active)).toEqual([true, false]);
    const endedMin = (findings[1]!.atMs - startOf(samples)) / MIN;
    expect(endedMin).toBeGreaterThan(60.5);
    expect(endedMin).toBeLessThan(62);
  });

  it('does not raise again within the hold-off after an occlusion ends', () => {
    const segments: TraceSegment[] = [
      { seconds: 2400, pressure: flat(8) },
      { seconds: 300, pressure: ramp(8, 500) },
      { seconds: 120, pressure: flat(8) },
      { seconds: 300, pressure: ramp(8, 500) },
      { seconds: 3600, pressure: flat(8) },
    ];
    const holdOff = raised(watch(trace(segments), { occlusion: { holdOffSeconds: 600 } }), 'downstream-occlusion');
    const noHoldOff = raised(watch(trace(segments), { occlusion: { holdOffSeconds: 0, endHoldSeconds: 10 }, segments: { resumeSettleSeconds: 30 } }), 'downstream-occlusion');
    expect(holdOff).toHaveLength(1);
    expect(noHoldOff).toHaveLength(2);
  });
});

describe('LineWatch: possible infiltration', () => {
  it('raises a tissue-like dP/dV ramp as a low-priority advisory within 0.9 mL, saying what to check', () => {
    const samples = infiltrationTrace(0.04);
    const [finding] = raised(watch(samples), 'possible-infiltration');
    const infiltratedMl = ((finding!.atMs - startOf(samples) - INFILTRATION_ONSET_MIN * MIN) / 3_600_000) * 1;
    expect(infiltratedMl).toBeLessThanOrEqual(0.9);
    expect(finding!.priority).toBe('low');
    expect(finding!.message).toMatch(/check the IV site/i);
    expect(finding!.message).not.toMatch(/infiltrat/i);
    expect(finding!.evidence['slopeMmHgPerMl']).toBeGreaterThan(15);
    expect(finding!.evidence['slopeMmHgPerMl']).toBeLessThan(40);
  });

  it('does not take the rise of a tight site for an occlusion', () => {
    expect(raised(watch(infiltrationTrace(0.03)), 'downstream-occlusion')).toEqual([]);
  });

  it('makes the advisory medium priority on a vesicant line', () => {
    const [finding] = raised(watch(infiltrationTrace(0.04, { drug: 'Calcium Gluconate 10% in G5', careArea: 'PICU' })), 'possible-infiltration');
    expect(finding!.priority).toBe('medium');
    expect(finding!.message).toMatch(/calcium gluconate, a vesicant/);
  });

  it('raises earlier on a vesicant line in the NICU than on the same line elsewhere', () => {
    const elsewhere = raised(watch(infiltrationTrace(0.04, { drug: 'calcium chloride', careArea: 'PICU' })), 'possible-infiltration');
    const nicu = raised(watch(infiltrationTrace(0.04, { drug: 'calcium chloride', careArea: 'nicu' })), 'possible-infiltration');
    expect(nicu[0]!.atMs).toBeLessThan(elsewhere[0]!.atMs);
    expect(nicu[0]!.priority).toBe('medium');
  });

  it('never accepts high priority for the advisory in its settings', () => {
    expect(DetectorSettingsSchema.safeParse({ infiltration: { priorityVesicant: 'high' } }).success).toBe(false);
  });

  it('does not take a hand flush (a spike that decays) for an infiltration or an occlusion', () => {
    const flushes = (at: SegmentContext) => {
      const sinceFlush = at.seconds % 1800;
      return 8 + (sinceFlush < 15 ? 80 : 80 * Math.exp(-(sinceFlush - 15) / 20));
    };
    expect(watch(trace([{ seconds: 6 * 3600, pressure: flushes }]))).toEqual([]);
  });

  it('does not take a small step (a 5 mmHg quantum flip) for a ramp', () => {
    const samples = trace([{ seconds: 3600, pressure: flat(7) }, { seconds: 4 * 3600, pressure: flat(10) }], { quantumMmHg: 5, noiseMmHg: 0.3 });
    expect(watch(samples)).toEqual([]);
  });

  it('stays silent through a day of moderate slow venous drift at 0.5 mL/h', () => {
    const drift = wander(1, 60, 7);
    expect(watch(trace([{ seconds: 24 * 3600, pressure: (at) => 8 + drift(at) }], { rateMlPerH: 0.5 }))).toEqual([]);
  });

  it('ends the advisory when a new infusion starts on the channel', () => {
    const samples = trace([
      { seconds: 3600, pressure: flat(8) },
      { seconds: 3600, pressure: ramp(4, 25) },
      { seconds: 600, state: 'stopped', pressure: flat(0) },
      { seconds: 3600, pressure: flat(8) },
    ]);
    expect(watch(samples).filter((f) => f.condition === 'possible-infiltration').map((f) => [f.active, f.evidence['reason']])).toEqual([
      [true, undefined],
      [false, 'new-infusion'],
    ]);
  });
});

describe('LineWatch: inspection', () => {
  it('shows the learned baseline, the slope being judged and the operating point of a channel', () => {
    const detector = new LineWatch({ settings: detectorSettings(), occlusionAlarmCodes: [OCCLUSION_CODE], emit: () => undefined });
    expect(detector.inspect('P-01', '1')).toBeUndefined();
    const samples = infiltrationTrace(0.04, { drug: 'calcium gluconate', careArea: 'NICU' });
    const onsetTs = startOf(samples) + INFILTRATION_ONSET_MIN * MIN;
    let beforeOnset: ChannelInspection | undefined;
    let duringRise: ChannelInspection | undefined;
    for (const sample of samples) {
      detector.onSample(sample);
      if (sample.ts === onsetTs - MIN) beforeOnset = detector.inspect('P-01', '1');
      if (sample.ts === onsetTs + 20 * MIN) duringRise = detector.inspect('P-01', '1');
    }
    expect(beforeOnset!.baselineMmHg).toBeCloseTo(8, 0);
    expect(beforeOnset!.segment.baselineLearned).toBe(true);
    expect(beforeOnset!.tissue.operatingPoint).toBe('vesicant-line');
    expect(duringRise!.tissue.scoreNats).toBeGreaterThan(0);
    expect(duringRise!.tissue.judgedSlopeMmHgPerMl).toBeGreaterThan(10);
  });
});

describe('LineWatch: recurrent occlusion', () => {
  const episode = (gapMin: number): TraceSegment[] => [
    { seconds: 60, state: 'alarm', pressure: flat(80), pumpAlarms: [OCCLUSION_CODE] },
    { seconds: gapMin * 60, pressure: flat(8) },
  ];

  it('raises recurrent-occlusion on the third pump occlusion alarm within an hour, once, and ends it after a quiet hour', () => {
    const samples = trace([{ seconds: 1800, pressure: flat(8) }, ...episode(15), ...episode(15), ...episode(15), ...episode(15), { seconds: 2 * 3600, pressure: flat(8) }]);
    const findings = watch(samples).filter((f) => f.condition === 'recurrent-occlusion');
    expect(findings.map((f) => f.active)).toEqual([true, false]);
    expect((findings[0]!.atMs - startOf(samples)) / MIN).toBeCloseTo(30 + 2 * 16, 0);
    expect(findings[0]!.message).toMatch(/cannula position/);
  });

  it('counts automatic restarts as episodes', () => {
    const restart: TraceSegment[] = [
      { seconds: 20, pressure: flat(60), pumpAlarms: ['AUTO_RESTART'] },
      { seconds: 600, pressure: flat(8) },
    ];
    const samples = trace([{ seconds: 600, pressure: flat(8) }, ...restart, ...restart, ...restart]);
    expect(raised(watch(samples), 'recurrent-occlusion')).toHaveLength(1);
  });

  it('does not raise for occlusion alarms spread over more than the window', () => {
    const samples = trace([{ seconds: 600, pressure: flat(8) }, ...episode(40), ...episode(40), ...episode(40)]);
    expect(raised(watch(samples), 'recurrent-occlusion')).toEqual([]);
  });
});

describe('LineWatch: input handling', () => {
  it('gives the same findings for the same samples, run after run', () => {
    const samples = [...clampTrace(1, 2), ...infiltrationTrace(0.04, { pumpId: 'P-02', seed: 9 })];
    expect(watch(samples)).toEqual(watch(samples));
    expect(watch(samples).length).toBeGreaterThan(1);
  });

  it('ignores duplicated and reordered samples', () => {
    const samples = clampTrace(1, 2);
    const messy = samples.flatMap((sample, index) => (index % 7 === 3 ? [sample, sample, samples[index - 2]!] : [sample]));
    expect(watch(messy)).toEqual(watch(samples));
  });

  it('keeps channels apart', () => {
    const samples = [...clampTrace(1, 2, 40, { channel: 'A' }), ...trace([{ seconds: 4200, pressure: flat(8) }], { channel: 'B' })];
    samples.sort((a, b) => a.ts - b.ts);
    expect(watch(samples).map((f) => f.channel)).toEqual(['A']);
  });

  it('does nothing with channels that report no pressure', () => {
    const samples = clampTrace(1, 2).map(({ downstreamPressureMmHg: _dropped, ...rest }) => rest);
    expect(watch(samples)).toEqual([]);
  });
});
