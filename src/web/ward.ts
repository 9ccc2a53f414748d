import { scopeOf, type AlarmEvent } from '../alarms/event.js';
import type { Placement } from '../alarms/roster.js';
import type { IngestStatus } from '../ingest/guard.js';
import type { JournalStatus, SourceLinkStatus } from '../ops/metrics.js';
import type { ChannelStatus } from '../view/trace.js';

/** What the ward page is sent, whole, on connect and every second. Built field by field: no config or secret can slip in. */
export interface WardSnapshot {
  v: 1;
  nowMs: number;
  gateway: { id: string; site: string; ward: string };
  allowAck: boolean;
  telemetryLostAfterSeconds: number;
  /** Names of the fields of each `channels` row, in order. */
  channelColumns: typeof CHANNEL_COLUMNS;
  channels: WardChannelRow[];
  alarms: WardAlarm[];
  events: WardEvent[];
  health: WardHealth;
}

/**
 * One channel as a row of values, not an object: at 1,000 channels the keys would be most of the
 * bytes sent to every page every second. `link` is `lost` while telemetry-lost is active; the
 * alarm is the channel's most urgent other active alarm.
 */
export const CHANNEL_COLUMNS = [
  'pumpId',
  'channel',
  'lastTs',
  'state',
  'rateMlPerH',
  'pressureMmHg',
  'drug',
  'vesicant',
  'careArea',
  'sensitiveArea',
  'link',
  'alarmPriority',
  'alarmCondition',
  'bed',
] as const;

export type WardChannelRow = [
  pumpId: string,
  channel: string,
  lastTs: number,
  state: string,
  rateMlPerH: number | null,
  pressureMmHg: number | null,
  drug: string | null,
  vesicant: boolean,
  careArea: string | null,
  sensitiveArea: boolean,
  link: 'live' | 'lost',
  alarmPriority: string | null,
  alarmCondition: string | null,
  bed: string | null,
];

export interface WardAlarm {
  alarmId: string;
  condition: string;
  priority: string;
  kind: string;
  pumpId: string;
  channel: string;
  raisedAt: string;
  lastEvent: string;
  acknowledged: boolean;
  /** A station paused the channel's alarm signals (a line change); the alarm is still shown. */
  pausedUntil: string | null;
  bed: string | null;
  message: string;
}

export interface WardEvent {
  at: string;
  event: string;
  condition: string;
  priority: string;
  pumpId: string;
  channel: string;
  message: string;
}

export interface WardHealth {
  sources: SourceLinkStatus[];
  /** The alarm publisher's broker connection. */
  broker: string;
  rejects: Partial<Record<string, number>>;
  journal: JournalStatus | null;
  ingest: IngestStatus | null;
}

export interface WardInputs {
  nowMs: number;
  gateway: { id: string; site: string; ward: string };
  allowAck: boolean;
  telemetryLostAfterSeconds: number;
  channels: Iterable<ChannelStatus>;
  /** The ward roster's bed for a channel; the patient reference never goes to the page. */
  placement: (pumpId: string, channel: string) => Placement | undefined;
  activeAlarms: readonly AlarmEvent[];
  recentEvents: readonly AlarmEvent[];
  health: WardHealth;
}

const PRIORITY_RANK: Record<string, number> = { high: 3, medium: 2, low: 1 };
/** Events shown in the page's log, newest first. */
const EVENT_LOG_LENGTH = 50;

const channelKey = (pumpId: string, channel: string): string => `${pumpId}\u0000${channel}`;

export function wardSnapshot(inputs: WardInputs): WardSnapshot {
  const lost = new Set<string>();
  const worst = new Map<string, { condition: string; priority: string }>();
  const alarms: WardAlarm[] = [];
  for (const alarm of inputs.activeAlarms) {
    const key = channelKey(alarm.pumpId, alarm.channel);
    // Telemetry-lost shows as the link; every other alarm on a channel (downstream-occlusion is a
    // technical alarm) is the channel's to show. The gateway's own alarms belong to no channel row,
    // even a pump's named like the gateway.
    const onChannel = scopeOf(alarm) === 'channel';
    if (onChannel && alarm.condition === 'telemetry-lost') lost.add(key);
    else if (onChannel) {
      const current = worst.get(key);
      if (current === undefined || (PRIORITY_RANK[alarm.priority] ?? 0) > (PRIORITY_RANK[current.priority] ?? 0)) worst.set(key, { condition: alarm.condition, priority: alarm.priority });
    }
    alarms.push({
      alarmId: alarm.alarmId,
      condition: alarm.condition,
      priority: alarm.priority,
      kind: alarm.kind,
      pumpId: alarm.pumpId,
      channel: alarm.channel,
      raisedAt: alarm.raisedAt ?? alarm.at,
      lastEvent: alarm.event,
      acknowledged: alarm.state?.acknowledged ?? false,
      pausedUntil: alarm.state?.pausedUntil ?? null,
      bed: alarm.bed ?? null,
      message: alarm.message,
    });
  }
  alarms.sort((a, b) => (PRIORITY_RANK[b.priority] ?? 0) - (PRIORITY_RANK[a.priority] ?? 0) || a.raisedAt.localeCompare(b.raisedAt));
  const channels: WardChannelRow[] = [];
  for (const c of inputs.channels) {
    const key = channelKey(c.pumpId, c.channel);
    const alarm = worst.get(key);
    channels.push([c.pumpId, c.channel, c.lastTs, c.state, c.rateMlPerH, c.pressureMmHg, c.drug, c.vesicant, c.careArea, c.sensitiveArea, lost.has(key) ? 'lost' : 'live', alarm?.priority ?? null, alarm?.condition ?? null, inputs.placement(c.pumpId, c.channel)?.bed ?? null]);
  }
  const events = inputs.recentEvents
    .slice(-EVENT_LOG_LENGTH)
    .reverse()
    .map((event) => ({ at: event.emittedAt, event: event.event, condition: event.condition, priority: event.priority, pumpId: event.pumpId, channel: event.channel, message: event.message }));
  return {
    v: 1,
    nowMs: inputs.nowMs,
    gateway: inputs.gateway,
    allowAck: inputs.allowAck,
    telemetryLostAfterSeconds: inputs.telemetryLostAfterSeconds,
    channelColumns: CHANNEL_COLUMNS,
    channels,
    alarms,
    events,
    health: inputs.health,
  };
}
