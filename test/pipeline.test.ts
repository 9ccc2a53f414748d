import { describe, expect, it } from 'vitest';
import { AlarmEventSchema } from '../src/alarms/event.js';
import { createRecordingPipeline, sampleAt } from './helpers/pipeline.js';

describe('pump occlusion alarm relay', () => {
  it("raises downstream-occlusion when the pump reports its own occlusion code, once", () => {
    const run = createRecordingPipeline();
    run.feed(sampleAt(0));
    run.feed(sampleAt(5, { state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'], downstreamPressureMmHg: 410 }));
    run.feed(sampleAt(10, { state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'], downstreamPressureMmHg: 415 }));
    expect(run.events.map((e) => [e.event, e.condition, e.priority, e.kind])).toEqual([['raised', 'downstream-occlusion', 'high', 'technical']]);
    expect(run.events[0]?.evidence).toMatchObject({ source: 'pump-alarm', downstreamPressureMmHg: 410 });
    expect(run.events[0]?.at).toBe(new Date(sampleAt(5).ts).toISOString());
  });

  it('ends the alarm when the code clears', () => {
    const run = createRecordingPipeline();
    run.feed(sampleAt(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(5, { pumpAlarms: [] }));
    expect(run.events.map((e) => e.event)).toEqual(['raised', 'ended']);
    expect(run.events[1]?.alarmId).toBe(run.events[0]?.alarmId);
    expect(run.events[1]?.eventId).not.toBe(run.events[0]?.eventId);
  });

  it('ignores pump alarm codes that are not configured as occlusion codes', () => {
    const run = createRecordingPipeline();
    run.feed(sampleAt(0, { pumpAlarms: ['BATTERY_LOW'] }));
    expect(run.events).toEqual([]);
  });

  it('keeps channels apart', () => {
    const run = createRecordingPipeline();
    run.feed(sampleAt(0, { channel: 'A', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(1, { channel: 'B' }));
    expect(run.events.map((e) => e.channel)).toEqual(['A']);
  });

  it('applies a configured priority override', () => {
    const run = createRecordingPipeline({ alarms: { priorities: { 'downstream-occlusion': 'medium' } } });
    run.feed(sampleAt(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    expect(run.events[0]?.priority).toBe('medium');
  });
});

describe('telemetry-lost supervision', () => {
  it('raises telemetry-lost after the configured silence and ends it when data returns', () => {
    const run = createRecordingPipeline({ detection: { telemetryLostAfterSeconds: 30 } });
    run.feed(sampleAt(0));
    run.advanceTo(sampleAt(30).ts);
    expect(run.events).toEqual([]);
    run.advanceTo(sampleAt(31).ts);
    expect(run.events.map((e) => [e.event, e.condition, e.kind])).toEqual([['raised', 'telemetry-lost', 'technical']]);
    run.feed(sampleAt(40));
    expect(run.events.map((e) => e.event)).toEqual(['raised', 'ended']);
  });

  it('notices a silent channel as other channels advance the clock in replay', () => {
    const run = createRecordingPipeline({ detection: { telemetryLostAfterSeconds: 10 } });
    run.feed(sampleAt(0, { pumpId: 'quiet' }));
    for (let second = 0; second <= 12; second++) run.feed(sampleAt(second, { pumpId: 'busy' }));
    expect(run.events.map((e) => [e.pumpId, e.condition])).toEqual([['quiet', 'telemetry-lost']]);
  });
});

describe('alarm events', () => {
  it('conform to the published alarm event v1 schema', () => {
    const run = createRecordingPipeline({ gateway: { id: 'gw-7', site: 'st-mary', ward: 'nicu' } });
    run.feed(sampleAt(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(1));
    for (const event of run.events) expect(AlarmEventSchema.safeParse(event).success).toBe(true);
    expect(run.events[0]).toMatchObject({ v: 1, gatewayId: 'gw-7', site: 'st-mary', ward: 'nicu' });
  });

  it('get the same ids from the same input', () => {
    const ids = () => {
      const run = createRecordingPipeline();
      run.feed(sampleAt(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
      run.feed(sampleAt(1));
      return run.events.map((e) => [e.alarmId, e.eventId]);
    };
    expect(ids()).toEqual(ids());
  });
});
