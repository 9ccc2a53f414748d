import { pino } from 'pino';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { ReplayLoop } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

/** A pipeline on a settable clock that records every alarm event, as replay runs it. */
export function createRecordingPipeline(configInput: ConfigInput = {}) {
  const config = ConfigSchema.parse(configInput);
  const events: AlarmEvent[] = [];
  const replay = new ReplayLoop({ config, logger: pino({ level: 'silent' }), sinks: [{ deliver: (event) => events.push(event) }], source: 'test' });
  return {
    pipeline: replay.pipeline,
    clock: replay.clock,
    events,
    feed: (sample: TelemetrySample) => replay.sample(sample),
    advanceTo: (epochMs: number) => replay.advanceTo(epochMs),
  };
}

export function sampleAt(seconds: number, fields: Partial<TelemetrySample> = {}): TelemetrySample {
  return { pumpId: 'P1', channel: '1', ts: 1_700_000_000_000 + seconds * 1000, state: 'infusing', rateMlPerH: 1, ...fields };
}
