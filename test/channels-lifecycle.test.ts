import { describe, expect, it } from 'vitest';
import type { InfusionState } from '../src/telemetry/sample.js';
import { createRecordingPipeline, sampleAt } from './helpers/pipeline.js';

const MIN = 60;

describe('channel lifecycle: a ward day', () => {
  it('retires pumps stopped or paused and taken away without an alarm, while an infusing pump that goes silent raises telemetry-lost in time', () => {
    const run = createRecordingPipeline({ detection: { telemetryLostAfterSeconds: 60 }, lifecycle: { retireAfterSeconds: 300 } });
    // Twelve pumps through a day: each infuses, then most are stopped (or paused) and switched off.
    const plan: { pumpId: string; lastState: InfusionState; silentAtMin: number }[] = [];
    for (let index = 0; index < 12; index++) {
      const lastState: InfusionState = index === 3 ? 'infusing' : index % 2 === 0 ? 'stopped' : 'paused';
      plan.push({ pumpId: `BED-${index + 1}`, lastState, silentAtMin: 60 + index * 45 });
    }
    const endMin = 24 * 60;
    for (let second = 0; second <= endMin * MIN; second += 10) {
      for (const pump of plan) {
        const silentAt = pump.silentAtMin * MIN;
        if (second > silentAt) continue;
        const state = second >= silentAt - 5 * MIN ? pump.lastState : 'infusing';
        run.feed(sampleAt(second, { pumpId: pump.pumpId, state, rateMlPerH: state === 'infusing' ? 1 : 0 }));
      }
      run.advanceTo(sampleAt(second).ts);
    }
    const active = run.pipeline.alarms.activeAlarms();
    // Only the pump that was infusing when it fell silent is alarmed, and nothing else.
    expect(active.map((alarm) => [alarm.pumpId, alarm.condition])).toEqual([['BED-4', 'telemetry-lost']]);
    const lost = run.events.find((event) => event.pumpId === 'BED-4' && event.event === 'raised')!;
    const silentForS = (Date.parse(lost.at) - sampleAt(plan[3]!.silentAtMin * MIN).ts) / 1000;
    expect(silentForS).toBeGreaterThan(60);
    // The clock advances in 10 s steps here: raised at the first step past the limit.
    expect(silentForS).toBeLessThanOrEqual(70);
    // No alarm was ever raised for a stopped or paused pump.
    expect(run.events.filter((event) => event.pumpId !== 'BED-4')).toEqual([]);
    expect(run.pipeline.channelCount).toBe(1);
  });

  it('ends the alarms of a stopped pump when it is retired, and a returning pump starts afresh', () => {
    const run = createRecordingPipeline({ detection: { telemetryLostAfterSeconds: 30 }, lifecycle: { retireAfterSeconds: 120 } });
    run.feed(sampleAt(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(10, { state: 'stopped', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    for (let second = 11; second <= 200; second++) run.advanceTo(sampleAt(second).ts);
    expect(run.events.map((e) => [e.condition, e.event])).toEqual([
      ['downstream-occlusion', 'raised'],
      ['downstream-occlusion', 'ended'],
    ]);
    expect(run.events[1]?.evidence).toMatchObject({ reason: 'channel-retired', retiredBy: 'silence-after-stop', lastState: 'stopped' });
    run.feed(sampleAt(300, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    expect(run.events.at(-1)).toMatchObject({ condition: 'downstream-occlusion', event: 'raised' });
  });

  it('retires a channel on a station command whatever it was doing, ending its alarms', () => {
    const run = createRecordingPipeline({ detection: { telemetryLostAfterSeconds: 30 } });
    run.feed(sampleAt(0));
    run.advanceTo(sampleAt(40).ts);
    expect(run.pipeline.alarms.activeAlarms().map((a) => a.condition)).toEqual(['telemetry-lost']);
    expect(run.pipeline.retire('P1', '1', 'station-3')).toBe(true);
    expect(run.pipeline.alarms.activeAlarms()).toEqual([]);
    expect(run.events.at(-1)).toMatchObject({ event: 'ended', evidence: { reason: 'channel-retired', retiredBy: 'station-3' } });
    run.advanceTo(sampleAt(400).ts);
    expect(run.events.filter((e) => e.event === 'raised')).toHaveLength(1);
    expect(run.pipeline.retire('P1', '1', 'station-3')).toBe(false);
  });
});
