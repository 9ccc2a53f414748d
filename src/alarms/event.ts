import { z } from 'zod';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';

export const ALARM_EVENT_VERSION = 1;

/** Stable, kebab-case condition names: stations key their displays and rules on them. */
export const ALARM_CONDITIONS = [
  'downstream-occlusion',
  'possible-infiltration',
  'recurrent-occlusion',
  'telemetry-lost',
  'pressure-signal-invalid',
  'delivery-failure',
] as const;
export type AlarmCondition = (typeof ALARM_CONDITIONS)[number];

/** IEC 60601-1-8 vocabulary. */
export const ALARM_PRIORITIES = ['high', 'medium', 'low'] as const;
export type AlarmPriority = (typeof ALARM_PRIORITIES)[number];
export const ALARM_KINDS = ['physiological', 'technical', 'advisory'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
export const ALARM_EVENT_TYPES = ['raised', 'updated', 'escalated', 'acknowledged', 'ended'] as const;
export type AlarmEventType = (typeof ALARM_EVENT_TYPES)[number];

const isoTime = z.iso.datetime({ offset: true });
const topicSafeName = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);

export const AlarmEventSchema = z
  .object({
    v: z.literal(ALARM_EVENT_VERSION),
    eventId: z.string().min(1).max(64).describe('unique per message; stations dedupe on it'),
    alarmId: z.string().min(1).max(64).describe('stable for one alarm condition instance'),
    event: z.enum(ALARM_EVENT_TYPES),
    condition: z.enum(ALARM_CONDITIONS),
    priority: z.enum(ALARM_PRIORITIES),
    kind: z.enum(ALARM_KINDS),
    pumpId: z.string().regex(PUMP_ID_PATTERN),
    channel: z.string().regex(CHANNEL_PATTERN),
    site: topicSafeName,
    ward: topicSafeName,
    gatewayId: topicSafeName,
    at: isoTime.describe('sample time that triggered the event'),
    emittedAt: isoTime.describe('gateway clock when the event was made (sample time in replay)'),
    message: z.string().min(1).max(500).describe('what to check, in plain words; never a diagnosis'),
    evidence: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))
      .describe('the numbers that justified the event'),
  })
  .meta({ title: 'pumpwatch alarm event v1' });

export type AlarmEvent = z.infer<typeof AlarmEventSchema>;
export type AlarmEvidence = AlarmEvent['evidence'];
