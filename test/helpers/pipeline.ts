import { pino } from 'pino';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { Pipeline } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

/** A pipeline on a settable clock that records every alarm event, as replay runs it. */
export function createRecordingPipeline(configInput: ConfigInput = {}) {
  const config = ConfigSchema.parse(configInput);
  const clock = createSettableClock();
  const events: AlarmEvent[] = [];
  const pipeline = new Pipeline({ config, clock, logger: pino({ level: 'silent' }), sinks: [{ deliver: (event) => events.push(event) }] });
  return {
    pipeline,
    clock,
    events,
    feed(sample: TelemetrySample) {
      clock.set(sample.ts);
      pipeline.accept(sample);
    },
    advanceTo(epochMs: number) {
      clock.set(epochMs);
      pipeline.tick();
    },
  };
}

export function sampleAt(seconds: number, fields: Partial<TelemetrySample> = {}): TelemetrySample {
  return { pumpId: 'P1', channel: '1', ts: 1_700_000_000_000 + seconds * 1000, state: 'infusing', rateMlPerH: 1, ...fields };
}
