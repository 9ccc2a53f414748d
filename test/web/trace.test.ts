import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { captureLog } from '../helpers/log-capture.js';

const T0 = Date.UTC(2026, 0, 1, 8);

function setUp(historyMinutes: number, pointSeconds: number) {
  const config = ConfigSchema.parse({ gateway: { id: 'gw-trace' } });
  const clock = createSettableClock();
  const events: AlarmEvent[] = [];
  const alarms = createAlarmManager({ config, clock, sinks: [{ deliver: (event) => events.push(event) }] });
  const pipeline = new Pipeline({ config, clock, logger: captureLog('warn').logger, alarms, trace: { historyMinutes, pointSeconds } });
  const feed = (sample: Partial<TelemetrySample> & { ts: number }) => {
    clock.set(sample.ts);
    pipeline.accept({ pumpId: 'P1', channel: '1', state: 'infusing', rateMlPerH: 5, volumeInfusedMl: 1, ...sample });
  };
  return { pipeline, traces: pipeline.traces!, feed, events };
}

describe('chart history beside the detector', () => {
  it('keeps at most historyMinutes of points per channel, one mean per pointSeconds, newest last', () => {
    const { traces, feed } = setUp(5, 10);
    expect(traces.capacity).toBe(30);
    for (let second = 0; second < 3600; second++) feed({ ts: T0 + second * 1000, downstreamPressureMmHg: second % 10 === 9 ? 30 : 20 });
    const series = traces.series('P1', '1')!;
    // 30 closed points and the one still being averaged.
    expect(series.tsMs).toHaveLength(31);
    expect(series.tsMs.at(-1)).toBe(T0 + 3599 * 1000);
    expect(series.tsMs.every((ts, index) => index === 0 || ts > series.tsMs[index - 1]!)).toBe(true);
    // Each point is the mean of its ten samples (nine at 20, one at 30).
    expect(series.pressureMmHg.slice(0, 30).every((value) => value === 21)).toBe(true);
    // The volume axis is the detector's: 5 mL/h for the hour shown.
    const volumes = series.volumeMl!.filter((value): value is number => value !== null);
    expect(volumes.at(-1)! - volumes[0]!).toBeCloseTo((5 * 300) / 3600, 1);
    expect(traces.series('P1', '2')).toBeUndefined();
  });

  it('gives a live page only the points after the last one it holds, which with those it holds make the whole chart', () => {
    const { traces, feed } = setUp(5, 10);
    for (let second = 0; second < 3600; second++) feed({ ts: T0 + second * 1000, downstreamPressureMmHg: 20 + (second % 7) });
    const held = traces.series('P1', '1')!;
    expect([held.partial, held.oldestTsMs]).toEqual([true, held.tsMs[0]]);
    for (let second = 3600; second < 3625; second++) feed({ ts: T0 + second * 1000, downstreamPressureMmHg: 20 + (second % 7) });
    const lastFinal = held.tsMs.at(-2)!;
    const update = traces.series('P1', '1', lastFinal)!;
    // The provisional point, two points closed since, and the one now being averaged.
    expect(update.tsMs).toHaveLength(4);
    expect(update.tsMs[0]).toBeGreaterThan(lastFinal);
    const whole = traces.series('P1', '1')!;
    const kept = held.tsMs.slice(0, -1).filter((ts) => ts >= update.oldestTsMs!);
    expect([...kept, ...update.tsMs]).toEqual(whole.tsMs);
    expect([...held.pressureMmHg.slice(held.tsMs.length - 1 - kept.length, -1), ...update.pressureMmHg]).toEqual(whole.pressureMmHg);
    expect(update.markers).toEqual(whole.markers);
  });

  it('marks the detector\'s segment restarts with why, and alarms where they were raised and ended', () => {
    const { traces, feed, events } = setUp(60, 1);
    let ts = T0;
    for (let i = 0; i < 60; i++) feed({ ts: (ts += 1000), downstreamPressureMmHg: 20 });
    feed({ ts: (ts += 1000), downstreamPressureMmHg: 20, rateMlPerH: 10 });
    for (let i = 0; i < 5; i++) feed({ ts: (ts += 1000), downstreamPressureMmHg: 20, rateMlPerH: 10 });
    feed({ ts: (ts += 1000), downstreamPressureMmHg: 400, rateMlPerH: 10, state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    feed({ ts: ts + 1000, downstreamPressureMmHg: 20, rateMlPerH: 10 });
    const labels = traces.series('P1', '1')!.markers.map((marker) => `${marker.kind}: ${marker.label}`);
    expect(labels).toEqual([
      'restart: learning restarts: first sample',
      'restart: learning restarts: rate 5 → 10 mL/h',
      'raised: downstream-occlusion raised (high)',
      'ended: downstream-occlusion ended (high)',
      'restart: learning restarts: alarm → infusing',
    ]);
    expect(traces.recentEvents().map((event) => event.event)).toEqual(events.map((event) => event.event));
  });

  it('lists each channel with what the ward table needs', () => {
    const { traces, feed } = setUp(60, 1);
    feed({ ts: T0, downstreamPressureMmHg: 22.26, drug: { name: 'calcium gluconate' }, careArea: 'NICU' });
    expect([...traces.statuses()]).toEqual([
      {
        pumpId: 'P1',
        channel: '1',
        lastTs: T0,
        state: 'infusing',
        rateMlPerH: 5,
        pressureMmHg: 22.3,
        volumeInfusedMl: 1,
        drug: 'calcium gluconate',
        vesicant: true,
        careArea: 'NICU',
        sensitiveArea: true,
        version: 1,
      },
    ]);
  });

  it('moves a channel\'s version with each new sample and alarm marker, not with a late sample', () => {
    const { traces, feed } = setUp(60, 1);
    const version = () => [...traces.statuses()][0]!.version;
    feed({ ts: T0 + 2000, downstreamPressureMmHg: 20 });
    const first = version();
    feed({ ts: T0 + 1000, downstreamPressureMmHg: 25 });
    expect(version()).toBe(first);
    feed({ ts: T0 + 3000, downstreamPressureMmHg: 20 });
    expect(version()).toBe(first + 1);
    // The occlusion sample, then the raised marker drawn for it.
    feed({ ts: T0 + 4000, downstreamPressureMmHg: 400, state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    expect(version()).toBe(first + 3);
  });
});
