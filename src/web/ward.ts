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

/** Where the ward's state comes from: read afresh for every snapshot and every frame of the live feed. */
export interface WardSource {
  nowMs(): number;
  gateway: { id: string; site: string; ward: string };
  allowAck: boolean;
  telemetryLostAfterSeconds: number;
  channels(): Iterable<ChannelStatus>;
  channel(pumpId: string, channel: string): ChannelStatus | undefined;
  /** The ward roster's bed for a channel; the patient reference never goes to the page. */
  placement(pumpId: string, channel: string): Placement | undefined;
  activeAlarms(): readonly AlarmEvent[];
  recentEvents(): readonly AlarmEvent[];
  health(): WardHealth;
}

/** What a channel's row shows of its alarms. */
export interface ChannelAlarmState {
  link: 'live' | 'lost';
  priority: string | null;
  condition: string | null;
}

const PRIORITY_RANK: Record<string, number> = { high: 3, medium: 2, low: 1 };
/** Events shown in the page's log, newest first. */
const EVENT_LOG_LENGTH = 50;
const NO_ALARM: ChannelAlarmState = { link: 'live', priority: null, condition: null };

export const channelKey = (pumpId: string, channel: string): string => `${pumpId}\u0000${channel}`;

/** The active alarms, most urgent first, and what each channel's row shows of them (by channelKey). */
export function wardAlarms(activeAlarms: readonly AlarmEvent[]): { alarms: WardAlarm[]; channels: Map<string, ChannelAlarmState> } {
  const channels = new Map<string, ChannelAlarmState>();
  const alarms: WardAlarm[] = [];
  for (const alarm of activeAlarms) {
    const key = channelKey(alarm.pumpId, alarm.channel);
    // Telemetry-lost shows as the link; every other alarm on a channel (downstream-occlusion is a
    // technical alarm) is the channel's to show. The gateway's own alarms belong to no channel row,
    // even a pump's named like the gateway.
    if (scopeOf(alarm) === 'channel') {
      const current = channels.get(key) ?? NO_ALARM;
      if (alarm.condition === 'telemetry-lost') channels.set(key, { ...current, link: 'lost' });
      else if (current.priority === null || (PRIORITY_RANK[alarm.priority] ?? 0) > (PRIORITY_RANK[current.priority] ?? 0)) {
        channels.set(key, { ...current, priority: alarm.priority, condition: alarm.condition });
      }
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
  return { alarms, channels };
}

export function wardRow(c: ChannelStatus, alarm: ChannelAlarmState | undefined, bed: string | null): WardChannelRow {
  const shown = alarm ?? NO_ALARM;
  return [c.pumpId, c.channel, c.lastTs, c.state, c.rateMlPerH, c.pressureMmHg, c.drug, c.vesicant, c.careArea, c.sensitiveArea, shown.link, shown.priority, shown.condition, bed];
}

/** The page's event log, newest first. */
export function wardEvents(recentEvents: readonly AlarmEvent[]): WardEvent[] {
  return recentEvents
    .slice(-EVENT_LOG_LENGTH)
    .reverse()
    .map((event) => ({ at: event.emittedAt, event: event.event, condition: event.condition, priority: event.priority, pumpId: event.pumpId, channel: event.channel, message: event.message }));
}

/** A snapshot's fields before its rows, alarms, events and health. */
export type WardSnapshotHead = Omit<WardSnapshot, 'channels' | 'alarms' | 'events' | 'health'>;

/** The head of every whole-ward snapshot: `/api/state` and the feed's ward frame share it. */
export function wardSnapshotHead(source: WardSource): WardSnapshotHead {
  return {
    v: 1,
    nowMs: source.nowMs(),
    gateway: source.gateway,
    allowAck: source.allowAck,
    telemetryLostAfterSeconds: source.telemetryLostAfterSeconds,
    channelColumns: CHANNEL_COLUMNS,
  };
}

/** The whole ward at once (`/api/state`, replay); the live page gets it through the feed (feed.ts). */
export function wardSnapshot(source: WardSource): WardSnapshot {
  const { alarms, channels: alarmOf } = wardAlarms(source.activeAlarms());
  const channels: WardChannelRow[] = [];
  for (const c of source.channels()) channels.push(wardRow(c, alarmOf.get(channelKey(c.pumpId, c.channel)), source.placement(c.pumpId, c.channel)?.bed ?? null));
  return { ...wardSnapshotHead(source), channels, alarms, events: wardEvents(source.recentEvents()), health: source.health() };
}
