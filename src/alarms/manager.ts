import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Finding } from '../detect/finding.js';
import { CONDITION_DEFAULTS } from './conditions.js';
import { ALARM_EVENT_VERSION, type AlarmCondition, type AlarmEvent, type AlarmEventType, type AlarmPriority } from './event.js';

export interface AlarmIdentity {
  gatewayId: string;
  site: string;
  ward: string;
}

export interface AlarmSink {
  deliver(event: AlarmEvent): void;
}

interface ActiveAlarm {
  alarmId: string;
  eventCount: number;
  latest: AlarmEvent;
}

export interface AlarmManagerOptions {
  identity: AlarmIdentity;
  clock: Clock;
  sinks: readonly AlarmSink[];
  priorities: Partial<Record<AlarmCondition, AlarmPriority>>;
}

/** Deterministic ids: the same input gives the same alarm and event ids, in replay and after a restart. */
function digestId(...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/**
 * Turns findings into alarm lifecycle events: one alarm per channel and condition while the
 * condition holds, `raised` once, `ended` once. Repeated findings for an active alarm are
 * deduplicated here so sinks never see them.
 */
export class AlarmManager {
  readonly #options: AlarmManagerOptions;
  readonly #active = new Map<string, ActiveAlarm>();

  constructor(options: AlarmManagerOptions) {
    this.#options = options;
  }

  /** The latest event of every active alarm: what retained topics must show. */
  activeAlarms(): AlarmEvent[] {
    return [...this.#active.values()].map((alarm) => alarm.latest);
  }

  onFinding(finding: Finding): void {
    const key = `${finding.pumpId}\u0000${finding.channel}\u0000${finding.condition}`;
    const existing = this.#active.get(key);
    if (finding.active) {
      if (existing !== undefined) return;
      const { gatewayId } = this.#options.identity;
      const alarmId = digestId(gatewayId, finding.pumpId, finding.channel, finding.condition, finding.atMs);
      const raised = this.#buildEvent(alarmId, 1, 'raised', finding);
      this.#active.set(key, { alarmId, eventCount: 1, latest: raised });
      this.#deliver(raised);
      return;
    }
    if (existing === undefined) return;
    this.#active.delete(key);
    this.#deliver(this.#buildEvent(existing.alarmId, existing.eventCount + 1, 'ended', finding));
  }

  #deliver(event: AlarmEvent): void {
    for (const sink of this.#options.sinks) sink.deliver(event);
  }

  #buildEvent(alarmId: string, eventNumber: number, type: AlarmEventType, finding: Finding): AlarmEvent {
    const defaults = CONDITION_DEFAULTS[finding.condition];
    const { identity, clock, priorities } = this.#options;
    return {
      v: ALARM_EVENT_VERSION,
      eventId: digestId(alarmId, eventNumber, type),
      alarmId,
      event: type,
      condition: finding.condition,
      priority: finding.priority ?? priorities[finding.condition] ?? defaults.priority,
      kind: defaults.kind,
      pumpId: finding.pumpId,
      channel: finding.channel,
      site: identity.site,
      ward: identity.ward,
      gatewayId: identity.gatewayId,
      at: new Date(finding.atMs).toISOString(),
      emittedAt: new Date(clock.now()).toISOString(),
      message: finding.message ?? defaults.message,
      evidence: finding.evidence,
    };
  }
}
