import { z } from 'zod';
import { AlarmAckSchema } from './alarms/ack.js';
import { StationCommandSchema } from './alarms/commands.js';
import { AlarmEventSchema } from './alarms/event.js';
import { RosterUpdateSchema } from './alarms/roster.js';
import { ConfigSchema } from './config/schema.js';
import { TelemetrySampleSchema } from './telemetry/sample.js';

/** The published JSON Schemas: generated from the zod schemas so the two can never disagree. */
export function publishedSchemas(): Record<string, unknown> {
  return {
    'telemetry-sample.v1.schema.json': z.toJSONSchema(TelemetrySampleSchema, { io: 'input' }),
    'alarm-event.v1.schema.json': z.toJSONSchema(AlarmEventSchema, { io: 'output' }),
    'alarm-ack.v1.schema.json': z.toJSONSchema(AlarmAckSchema, { io: 'input' }),
    'station-command.v1.schema.json': z.toJSONSchema(StationCommandSchema, { io: 'input' }),
    'ward-roster.v1.schema.json': z.toJSONSchema(RosterUpdateSchema, { io: 'input' }),
    'config.v1.schema.json': z.toJSONSchema(ConfigSchema, { io: 'input' }),
  };
}

export function renderSchema(schema: unknown): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
