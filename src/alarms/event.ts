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
  'storage-failure',
  'overloaded',
  'pump-clock-skew',
  'channel-retired',
] as const;
export type AlarmCondition = (typeof ALARM_CONDITIONS)[number];

/**
 * What an alarm is about: one pump channel, or the gateway itself (delivery, storage, overload).
 * Events carry `scope` only for the gateway; absent means a channel, as in every event before the
 * field existed.
 */
export const ALARM_SCOPES = ['channel', 'gateway'] as const;
export type AlarmScope = (typeof ALARM_SCOPES)[number];

/** Conditions only the gateway raises, about itself; a detector never raises them about a pump. */
export const GATEWAY_CONDITIONS = ['delivery-failure', 'storage-failure', 'overloaded'] as const satisfies readonly AlarmCondition[];
export type GatewayCondition = (typeof GATEWAY_CONDITIONS)[number];

/**
 * The scope of an event or snapshot. One without `scope` is a channel's, except a gateway-only
 * condition: journals and stations may hold such events from before the field, when the gateway's
 * alarms were told apart only by `pumpId` = gateway id.
 */
export function scopeOf(alarm: { scope?: AlarmScope | undefined; condition: AlarmCondition }): AlarmScope {
  return alarm.scope ?? ((GATEWAY_CONDITIONS as readonly AlarmCondition[]).includes(alarm.condition) ? 'gateway' : 'channel');
}

/** IEC 60601-1-8 vocabulary. */
export const ALARM_PRIORITIES = ['high', 'medium', 'low'] as const;
export type AlarmPriority = (typeof ALARM_PRIORITIES)[number];
export const ALARM_KINDS = ['physiological', 'technical', 'advisory'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
export const ALARM_EVENT_TYPES = ['raised', 'updated', 'escalated', 'acknowledged', 'ended'] as const;
export type AlarmEventType = (typeof ALARM_EVENT_TYPES)[number];

const isoTime = z.iso.datetime({ offset: true });
const topicSafeName = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);

/**
 * IEC 60601-1-8 alarm condition state after an event: a latched alarm outlives its condition
 * until acknowledged; an acknowledged alarm is no longer escalated.
 */
export const AlarmStateSchema = z.object({
  conditionPresent: z.boolean().describe('the triggering condition holds now'),
  latched: z.boolean().describe('kept active by latching although the condition no longer holds'),
  acknowledged: z.boolean(),
  escalations: z.number().int().min(0).describe('how often the alarm was escalated for want of an acknowledgement'),
  paused: z
    .literal(true)
    .optional()
    .describe('IEC 60601-1-8 ALARM PAUSED: a station paused this channel\'s alarm signals (a line change); the condition is still detected and reported. Absent when not paused'),
  pausedUntil: z.iso.datetime({ offset: true }).optional().describe('when the pause ends by itself (gateway clock); present with paused'),
});
export type AlarmState = z.infer<typeof AlarmStateSchema>;

export const AlarmEventSchema = z
  .object({
    v: z.literal(ALARM_EVENT_VERSION),
    eventId: z.string().min(1).max(64).describe('unique per message; stations dedupe on it'),
    alarmId: z.string().min(1).max(64).describe('stable for one alarm condition instance'),
    event: z.enum(ALARM_EVENT_TYPES),
    condition: z.enum(ALARM_CONDITIONS),
    priority: z.enum(ALARM_PRIORITIES),
    kind: z.enum(ALARM_KINDS),
    scope: z
      .enum(ALARM_SCOPES)
      .optional()
      .describe(
        "what the alarm is about. 'gateway': the gateway itself; then pumpId repeats gatewayId (it names no pump) and channel names the gateway part (link, quarantine, journal, ingest, ...). Absent: a pump channel, except for the gateway-only conditions delivery-failure, storage-failure and overloaded in events from gateways older than this field",
      ),
    pumpId: z.string().regex(PUMP_ID_PATTERN).describe("the pump; for scope 'gateway' the gateway id, kept for v1 consumers"),
    channel: z.string().regex(CHANNEL_PATTERN).describe("the pump channel; for scope 'gateway' the gateway part"),
    site: topicSafeName,
    ward: topicSafeName,
    gatewayId: topicSafeName,
    at: isoTime.describe('sample time that triggered the event'),
    emittedAt: isoTime.describe('gateway clock when the event was made (sample time in replay)'),
    message: z.string().min(1).max(500).describe('what to check, in plain words; never a diagnosis'),
    evidence: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))
      .describe('the numbers that justified the event'),
    seq: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("position of this event in its alarm's lifecycle (raised = 1); keep the highest per alarmId"),
    raisedAt: isoTime.optional().describe('when the alarm was raised (same clock as emittedAt)'),
    state: AlarmStateSchema.optional().describe('the alarm condition after this event'),
    bed: z
      .string()
      .min(1)
      .max(32)
      .optional()
      .describe('the bed the pump channel serves, from the ward roster; absent when the pump is not on it'),
    patientRef: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('opaque patient reference from the ward roster, when the site keeps one'),
    durable: z
      .boolean()
      .optional()
      .describe('false when the gateway could not journal the event to disk before sending it'),
  })
  .meta({ title: 'pumpwatch alarm event v1' });

export type AlarmEvent = z.infer<typeof AlarmEventSchema>;
export type AlarmEvidence = AlarmEvent['evidence'];
