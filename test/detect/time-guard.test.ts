import { Readable, Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { replayTelemetry } from '../../src/cli/replay.js';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import type { Finding } from '../../src/alarms/finding.js';
import { LineWatch } from '../../src/detect/line-watch.js';
import { detectorSettings } from '../../src/detect/settings.js';
import { createLogger } from '../../src/log.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { buildTrace, flat, ramp } from './trace.js';

const MIN = 60_000;
const START = Date.UTC(2026, 0, 5, 8, 0, 0);
const Y2099 = Date.UTC(2099, 0, 1);

/** 37 minutes at 1 mL/h: a quiet line for 25, then a clamp (500 mmHg/mL) for 12. */
function occlusionTrace(): TelemetrySample[] {
  return buildTrace([{ seconds: 25 * 60, pressure: flat(8) }, { seconds: 12 * 60, pressure: ramp(8, 500) }], {
    startMs: START,
    rateMlPerH: 1,
    noiseMmHg: 1,
    quantumMmHg: 1,
  });
}

const jsonl = (samples: readonly TelemetrySample[]) => samples.map((sample) => `${JSON.stringify(sample)}\n`);

async function replay(lines: readonly string[], configInput: ConfigInput = {}) {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const summary = await replayTelemetry(Readable.from(lines), out, ConfigSchema.parse(configInput), createLogger('silent'));
  return { summary, text, events: text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as AlarmEvent) };
}

/** The daemon's pipeline on a gateway clock that stands at each sample's arrival time. */
function live(configInput: ConfigInput = {}) {
  const clock = createSettableClock();
  const events: AlarmEvent[] = [];
  const config = ConfigSchema.parse(configInput);
  const alarms = createAlarmManager({ config, clock, sinks: [{ deliver: (event) => events.push(event) }] });
  const pipeline = new Pipeline({ config, clock, logger: pino({ level: 'silent' }), alarms });
  return {
    pipeline,
    events,
    arrive(sample: TelemetrySample, arrivalMs: number) {
      clock.set(arrivalMs);
      pipeline.accept({ ...sample });
    },
  };
}

const raised = (events: readonly AlarmEvent[], condition: string) => events.filter((e) => e.event === 'raised' && e.condition === condition);

describe('a sample dated 2099 in a 37-minute occlusion trace', () => {
  const samples = occlusionTrace();
  const outlierAt = 60; // ten minutes in, while the line is quiet
  const withOutlier = [...samples.slice(0, outlierAt), { ...samples[outlierAt]!, ts: Y2099 }, ...samples.slice(outlierAt + 1)];

  it('silences the bare detector for good (the fault the time guard exists for)', () => {
    const findings: Finding[] = [];
    const watch = new LineWatch({ settings: detectorSettings(), occlusionAlarmCodes: [], emit: (f) => findings.push(f) });
    for (const sample of withOutlier) watch.onSample({ ...sample });
    expect(findings.filter((f) => f.active && f.condition === 'downstream-occlusion')).toEqual([]);
  });

  it('replay: still raises downstream-occlusion, counts the 2099 sample as time-future, and its alarms are byte-identical to the clean trace', async () => {
    const clean = await replay(jsonl(samples.filter((_sample, index) => index !== outlierAt)));
    const dirty = await replay(jsonl(withOutlier));
    expect(raised(dirty.events, 'downstream-occlusion')).toHaveLength(1);
    expect(dirty.summary.rejected).toEqual({ 'time-future': 1 });
    expect(dirty.summary.accepted).toBe(samples.length - 1);
    expect(dirty.text).toBe(clean.text);
    const occlusion = raised(dirty.events, 'downstream-occlusion')[0]!;
    expect(Date.parse(occlusion.at) - START).toBeGreaterThan(25 * MIN);
    expect(Date.parse(occlusion.at) - START).toBeLessThan(30 * MIN);
  });

  it('live: still raises downstream-occlusion and counts the 2099 sample as time-future', () => {
    const run = live();
    samples.forEach((sample, index) => run.arrive(index === outlierAt ? { ...sample, ts: Y2099 } : sample, sample.ts));
    expect(raised(run.events, 'downstream-occlusion')).toHaveLength(1);
    expect(run.pipeline.rejects.totals()).toEqual({ 'time-future': 1 });
    expect(raised(run.events, 'pump-clock-skew')).toEqual([]);
  });

  it('live: a sample dated 1970 is refused as time-past, and a late one as out-of-order', () => {
    const run = live();
    samples.forEach((sample, index) => {
      run.arrive(index === 30 ? { ...sample, ts: 0 } : sample, sample.ts);
      if (index === 40) run.arrive(samples[39]!, sample.ts + 500);
    });
    expect(run.pipeline.rejects.totals()).toEqual({ 'time-past': 1, 'out-of-order': 1 });
    expect(raised(run.events, 'downstream-occlusion')).toHaveLength(1);
  });
});

describe('pump clock jumps', () => {
  const samples = occlusionTrace();
  const jumpAt = 30; // five minutes in
  const jumps: [string, number][] = [
    ['forward 5 min', 5 * MIN],
    ['back 5 min', -5 * MIN],
    ['forward 3 h', 3 * 60 * MIN],
    ['back 1 h (daylight saving)', -60 * MIN],
    ['forward 10 years', 10 * 365 * 24 * 60 * MIN],
    ['back to the factory date (2000)', Date.UTC(2000, 0, 1) - START],
  ];

  for (const [name, deltaMs] of jumps) {
    it(`live, ${name}: resynchronises, raises pump-clock-skew (low), judges on arrival time, loses nothing and still raises the occlusion`, () => {
      const run = live();
      samples.forEach((sample, index) => run.arrive(index >= jumpAt ? { ...sample, ts: sample.ts + deltaMs } : sample, sample.ts));
      expect(run.pipeline.rejects.totals()).toEqual({});
      expect(run.pipeline.acceptedCount).toBe(samples.length);
      const [skew] = raised(run.events, 'pump-clock-skew');
      expect(skew).toMatchObject({ priority: 'low', kind: 'technical', pumpId: 'P-01' });
      expect(skew!.evidence['offsetSeconds']).toBeCloseTo(-deltaMs / 1000, -1);
      const [occlusion] = raised(run.events, 'downstream-occlusion');
      // On arrival time: within the trace's own 37 minutes, not at the pump's jumped time.
      expect(Date.parse(occlusion!.at) - START).toBeGreaterThan(25 * MIN);
      expect(Date.parse(occlusion!.at) - START).toBeLessThan(30 * MIN);
    });

    it(`replay, ${name}: loses nothing and still raises the occlusion`, async () => {
      const shifted = samples.map((sample, index) => (index >= jumpAt ? { ...sample, ts: sample.ts + deltaMs } : sample));
      const { summary, events } = await replay(jsonl(shifted));
      expect(summary.rejected).toEqual({});
      expect(summary.accepted).toBe(samples.length);
      expect(raised(events, 'downstream-occlusion')).toHaveLength(1);
      for (const event of events) expect(Date.parse(event.at)).toBeGreaterThanOrEqual(START);
    });
  }

  it('live: the skew alarm ends once the pump clock is set right again, and no later event is dated before its raise', () => {
    const run = live();
    samples.forEach((sample, index) => {
      const wrong = index >= 30 && index < 90;
      run.arrive(wrong ? { ...sample, ts: sample.ts - 60 * MIN } : sample, sample.ts);
    });
    const skew = run.events.filter((e) => e.condition === 'pump-clock-skew');
    expect(skew.map((e) => e.event)).toEqual(['raised', 'ended']);
    expect(skew[1]?.message).toMatch(/agrees .* again/);
    for (const event of run.events) expect(Date.parse(event.at)).toBeGreaterThanOrEqual(Date.parse(run.events.find((e) => e.alarmId === event.alarmId)!.at));
  });

  it('live: a pump whose clock is off from its first sample is resynchronised after three samples', () => {
    const run = live({ time: { resyncSamples: 3 } });
    samples.slice(0, 10).forEach((sample) => run.arrive({ ...sample, ts: sample.ts + 2 * 60 * MIN }, sample.ts));
    expect(run.pipeline.acceptedCount).toBe(10);
    expect(raised(run.events, 'pump-clock-skew')).toHaveLength(1);
  });
});
