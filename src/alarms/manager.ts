import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Finding } from './finding.js';
import { CONDITION_DEFAULTS } from './conditions.js';
import {
  ALARM_EVENT_VERSION,
  type AlarmCondition,
  type AlarmEvent,
  type AlarmEventType,
  type AlarmEvidence,
  type AlarmPriority,
  type AlarmScope,
  type GatewayCondition,
  scopeOf,
} from './event.js';
import { PLAIN_ALARM_POLICY, type AlarmPolicy } from './policy.js';
import type { Placement } from './roster.js';

export interface AlarmIdentity {
  gatewayId: string;
  site: string;
  ward: string;
}

/**
 * Everything the manager needs to carry one alarm across a restart, journaled with each event.
 * Times are the manager's clock (wall time in the daemon, sample time in replay).
 */
export interface AlarmSnapshot {
  alarmId: string;
  condition: AlarmCondition;
  /** Present for the gateway's own alarms only, as on the event; see `scopeOf`. */
  scope?: 'gateway';
  /** The pump and channel; for the gateway's own alarms, the gateway id and the part. */
  pumpId: string;
  channel: string;
  seq: number;
  activatedAtMs: number;
  present: boolean;
  latched: boolean;
  acknowledged: boolean;
  escalations: number;
  notifiedAtMs: number;
  /** Set while a cleared condition waits out the hold-off window. */
  endAtMs: number | null;
  latchable: boolean;
}

export interface RestoredAlarm {
  snapshot: AlarmSnapshot;
  latest: AlarmEvent;
}

export interface AlarmSink {
  /** `alarm` is the alarm's state after the event; absent once the alarm has ended. */
  deliver(event: AlarmEvent, alarm?: AlarmSnapshot): void;
}

export type AckOutcome = 'accepted' | 'unknown' | 'replayed';

/** A technical alarm about the gateway itself (delivery, storage, overload), not about a pump. */
export interface TechnicalReport {
  condition: GatewayCondition;
  /** What part of the gateway, e.g. `quarantine`, `link`, `journal`: the event's `channel`, with `scope: 'gateway'`. */
  part: string;
  active: boolean;
  /**
   * Something that happened rather than a state that holds (a quarantined message): the alarm is
   * raised latched and stays until a station acknowledges; a repeat updates its evidence.
   */
  oneShot?: boolean;
  evidence: AlarmEvidence;
  message?: string;
}

export interface AlarmManagerOptions {
  identity: AlarmIdentity;
  clock: Clock;
  sinks: readonly AlarmSink[];
  priorities: Partial<Record<AlarmCondition, AlarmPriority>>;
  policy?: AlarmPolicy;
  /** The ward roster's lookup: events of a placed channel carry its bed and patient reference. */
  placement?: (pumpId: string, channel: string) => Placement | undefined;
  /** Told whenever a channel's pause ends: resumed, expired or retired with its channel (audit). */
  onPauseEnded?: (ended: PauseEnded) => void;
}

/** A channel's alarm signals paused by a station (IEC 60601-1-8 ALARM PAUSED). */
export interface ChannelPause {
  pumpId: string;
  channel: string;
  untilMs: number;
  by: string;
}

export interface PauseEnded extends ChannelPause {
  atMs: number;
  reason: 'expired' | 'resumed' | 'retired';
}

interface LiveAlarm extends AlarmSnapshot {
  key: string;
  /** What the next event says unless it changes them. */
  priority: AlarmPriority;
  message: string;
  evidence: AlarmEvidence;
  /** Null only between creating an alarm and emitting its `raised` event. */
  latest: AlarmEvent | null;
  /** Restored after a restart and not yet re-confirmed by a detector: cleared at this time. */
  confirmByMs: number | null;
  /** When and why the condition cleared, for the `ended` event a hold-off defers. */
  clearedAtMs: number | null;
  /** `at` of the latest event: a later event never says it happened earlier (pump clocks jump). */
  lastAtMs: number;
}

const PRIORITY_UP: Record<AlarmPriority, AlarmPriority> = { low: 'medium', medium: 'high', high: 'high' };
const PRIORITY_RANK: Record<AlarmPriority, number> = { low: 0, medium: 1, high: 2 };

/** Deterministic ids: the same input and clock give the same alarm and event ids, in replay and live. */
function digestId(...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** No configuration, finding or escalation lifts an alarm above its condition's ceiling. */
export function capPriority(condition: AlarmCondition, priority: AlarmPriority): AlarmPriority {
  const ceiling = CONDITION_DEFAULTS[condition].maxPriority;
  return PRIORITY_RANK[priority] > PRIORITY_RANK[ceiling] ? ceiling : priority;
}

/** Marks the gateway's alarms in keys and ids: `@` is outside the pump-id alphabet, so no pump can name it. */
const GATEWAY_MARK = '@gateway';

/** A gateway alarm and a pump named like the gateway never share a key, whatever their channels. */
function keyOf(scope: AlarmScope, pumpId: string, channel: string, condition: string): string {
  return `${scope === 'gateway' ? GATEWAY_MARK : pumpId}\u0000${channel}\u0000${condition}`;
}

/** Pauses are a pump channel's, never the gateway's. */
function pauseKey(pumpId: string, channel: string): string {
  return keyOf('channel', pumpId, channel, '');
}

/**
 * The alarm lifecycle in IEC 60601-1-8 / IHE ACM words: a finding raises an alarm condition; it can
 * be updated (latched, priority lowered, condition back), escalated (priority up, re-notified)
 * while nobody acknowledges it, acknowledged by a station, and ended. Repeated findings are
 * deduplicated, a hold-off window absorbs flapping, latching is a site setting, and alarms
 * restored from the journal keep their alarmId across restarts.
 *
 * Event ids digest the alarm id, the event's position and the clock, so a re-send is recognisable
 * and no two different events share an id even after a restart that lost unjournaled events.
 */
export class AlarmManager {
  readonly #options: AlarmManagerOptions;
  readonly #sinks: AlarmSink[];
  readonly #policy: AlarmPolicy;
  readonly #active = new Map<string, LiveAlarm>();
  readonly #byAlarmId = new Map<string, LiveAlarm>();
  /** Paused channels by `pumpId\u0000channel`; looked up per event, never per sample. */
  readonly #paused = new Map<string, ChannelPause>();

  constructor(options: AlarmManagerOptions) {
    this.#options = options;
    this.#sinks = [...options.sinks];
    this.#policy = options.policy ?? PLAIN_ALARM_POLICY;
  }

  /**
   * A sink made after the manager: the daemon makes the manager first, so the outbox can be
   * handed the manager's technical-alarm reporter and still be one of its sinks.
   */
  addSink(sink: AlarmSink): void {
    this.#sinks.push(sink);
  }

  /** The latest event of every active alarm: what retained topics must show. */
  activeAlarms(): AlarmEvent[] {
    const events: AlarmEvent[] = [];
    for (const alarm of this.#active.values()) if (alarm.latest !== null) events.push(alarm.latest);
    return events;
  }

  /** Alarms from the journal of a previous run; call before any finding arrives. */
  restore(alarms: readonly RestoredAlarm[]): void {
    const now = this.#options.clock.now();
    for (const { snapshot, latest } of alarms) {
      const scope = scopeOf(snapshot);
      const key = keyOf(scope, snapshot.pumpId, snapshot.channel, snapshot.condition);
      if (this.#active.has(key)) continue;
      const alarm: LiveAlarm = {
        ...snapshot,
        ...(scope === 'gateway' ? { scope } : {}),
        key,
        priority: latest.priority,
        message: latest.message,
        evidence: latest.evidence,
        latest,
        // A condition that held before the restart must be seen again by a detector, or it is cleared.
        confirmByMs: snapshot.present ? now + this.#policy.restoreGraceMs : null,
        clearedAtMs: null,
        lastAtMs: Date.parse(latest.at),
      };
      this.#active.set(key, alarm);
      this.#byAlarmId.set(alarm.alarmId, alarm);
      // A pause outlives a restart through its alarms' latest events; one already over ends at the first tick.
      const pausedUntil = latest.state?.pausedUntil;
      if (latest.state?.paused === true && pausedUntil !== undefined) {
        const channelKey = pauseKey(snapshot.pumpId, snapshot.channel);
        if (!this.#paused.has(channelKey)) this.#paused.set(channelKey, { pumpId: snapshot.pumpId, channel: snapshot.channel, untilMs: Date.parse(pausedUntil), by: 'restored' });
      }
    }
  }

  /** The pause of a channel, if any. */
  pauseOf(pumpId: string, channel: string): ChannelPause | undefined {
    return this.#paused.get(pauseKey(pumpId, channel));
  }

  /**
   * Pauses a channel's alarm signals until `untilMs` (a station, for a line change): its alarms
   * are still raised, updated and ended, but carry `state.paused` and are not escalated. Active
   * alarms of the channel say so at once. A second pause replaces the first's end.
   */
  pause(pause: ChannelPause): void {
    this.#paused.set(pauseKey(pause.pumpId, pause.channel), pause);
    for (const alarm of this.#alarmsOf(pause.pumpId, pause.channel)) this.#emit(alarm, 'updated', alarm.lastAtMs);
  }

  /** Ends a channel's pause; its active alarms say so, and escalation counts again from now. */
  resume(pumpId: string, channel: string, reason: PauseEnded['reason']): ChannelPause | undefined {
    const channelKey = pauseKey(pumpId, channel);
    const pause = this.#paused.get(channelKey);
    if (pause === undefined) return undefined;
    this.#paused.delete(channelKey);
    const now = this.#options.clock.now();
    if (reason !== 'retired') {
      for (const alarm of this.#alarmsOf(pumpId, channel)) {
        alarm.notifiedAtMs = now;
        this.#emit(alarm, 'updated', alarm.lastAtMs);
      }
    }
    this.#options.onPauseEnded?.({ ...pause, atMs: now, reason });
    return pause;
  }

  /**
   * The roster changed: an active alarm whose bed or patient reference is no longer what its
   * latest event said is re-sent as `updated`, so retained state and stations place it right.
   */
  placementChanged(): void {
    for (const alarm of [...this.#active.values()]) {
      if (alarm.latest === null || alarm.scope === 'gateway') continue;
      const placement = this.#options.placement?.(alarm.pumpId, alarm.channel);
      if (placement?.bed !== alarm.latest.bed || placement?.patientRef !== alarm.latest.patientRef) this.#emit(alarm, 'updated', alarm.lastAtMs);
    }
  }

  #alarmsOf(pumpId: string, channel: string): LiveAlarm[] {
    return [...this.#active.values()].filter((alarm) => alarm.latest !== null && alarm.scope !== 'gateway' && alarm.pumpId === pumpId && alarm.channel === channel);
  }

  onFinding(finding: Finding): void {
    this.#onFinding(finding, 'channel', false);
  }

  /**
   * Something that happened to a channel rather than a state that holds (a retired channel's
   * notice): raised latched until a station acknowledges it; a repeat updates it.
   */
  notify(finding: Finding): void {
    this.#onFinding(finding, 'channel', true);
  }

  /** An alarm about the gateway itself: scoped to the gateway, so no pump's alarms can meet it. */
  reportTechnical(report: TechnicalReport): void {
    const finding: Finding = {
      condition: report.condition,
      pumpId: this.#options.identity.gatewayId,
      channel: report.part,
      active: report.active,
      atMs: this.#options.clock.now(),
      evidence: report.evidence,
      ...(report.message === undefined ? {} : { message: report.message }),
    };
    this.#onFinding(finding, 'gateway', report.oneShot === true);
  }

  /** A station's acknowledgement; answered with an `acknowledged` event when accepted. */
  acknowledge(alarmId: string, by: string, ackAt: string): AckOutcome {
    const alarm = this.#byAlarmId.get(alarmId);
    if (alarm === undefined) return 'unknown';
    if (alarm.acknowledged) return 'replayed';
    const now = this.#options.clock.now();
    alarm.acknowledged = true;
    alarm.latched = false;
    const clearEvidence = alarm.evidence;
    alarm.evidence = { ...alarm.evidence, acknowledgedBy: by, ackAt };
    this.#emit(alarm, 'acknowledged', now);
    if (!alarm.present) {
      // Acknowledging clears a latch, but a hold-off window still runs to its end.
      alarm.evidence = clearEvidence;
      alarm.clearedAtMs ??= now;
      const holdOffEndsMs = alarm.activatedAtMs + this.#policy.holdOffMs;
      if (now >= holdOffEndsMs) this.#end(alarm, now);
      else alarm.endAtMs = holdOffEndsMs;
    }
    return 'accepted';
  }

  /** Escalations, hold-off ends and restore confirmations fall due here; O(active alarms). */
  tick(nowMs: number): void {
    for (const pause of [...this.#paused.values()]) if (nowMs >= pause.untilMs) this.resume(pause.pumpId, pause.channel, 'expired');
    for (const alarm of [...this.#active.values()]) {
      if (alarm.confirmByMs !== null && nowMs >= alarm.confirmByMs) {
        alarm.confirmByMs = null;
        this.#conditionCleared(alarm, nowMs, { ...alarm.evidence, reason: 'not-reconfirmed-after-restart' });
        if (!this.#active.has(alarm.key)) continue;
      }
      if (alarm.endAtMs !== null && nowMs >= alarm.endAtMs) {
        this.#end(alarm, alarm.clearedAtMs ?? nowMs);
        continue;
      }
      this.#escalateIfDue(alarm, nowMs);
    }
  }

  #onFinding(finding: Finding, scope: AlarmScope, oneShot: boolean): void {
    const key = keyOf(scope, finding.pumpId, finding.channel, finding.condition);
    const alarm = this.#active.get(key);
    if (alarm === undefined) {
      if (finding.active) this.#raise(key, scope, finding, oneShot);
      return;
    }
    if (oneShot) {
      alarm.evidence = finding.evidence;
      if (finding.message !== undefined) alarm.message = finding.message;
      this.#emit(alarm, 'updated', finding.atMs);
      return;
    }
    if (finding.active) this.#conditionPresent(alarm, finding);
    else if (alarm.present) this.#conditionCleared(alarm, finding.atMs, finding.evidence);
  }

  #raise(key: string, scope: AlarmScope, finding: Finding, oneShot: boolean): void {
    const now = this.#options.clock.now();
    const gatewayId = this.#options.identity.gatewayId;
    const alarm: LiveAlarm = {
      key,
      alarmId: digestId(gatewayId, scope === 'gateway' ? GATEWAY_MARK : finding.pumpId, finding.channel, finding.condition, finding.atMs),
      condition: finding.condition,
      ...(scope === 'gateway' ? { scope } : {}),
      pumpId: finding.pumpId,
      channel: finding.channel,
      seq: 0,
      activatedAtMs: now,
      // Something that happened is over as soon as it is reported: it lives on by its latch.
      present: !oneShot,
      latched: oneShot,
      acknowledged: false,
      escalations: 0,
      notifiedAtMs: now,
      endAtMs: null,
      latchable: oneShot || this.#policy.latching.has(finding.condition),
      priority: capPriority(finding.condition, finding.priority ?? this.#configuredPriority(finding.condition)),
      message: finding.message ?? CONDITION_DEFAULTS[finding.condition].message,
      evidence: finding.evidence,
      latest: null,
      confirmByMs: null,
      clearedAtMs: null,
      lastAtMs: Number.NEGATIVE_INFINITY,
    };
    this.#active.set(key, alarm);
    this.#byAlarmId.set(alarm.alarmId, alarm);
    this.#emit(alarm, 'raised', finding.atMs);
  }

  #conditionPresent(alarm: LiveAlarm, finding: Finding): void {
    alarm.confirmByMs = null;
    if (!alarm.present) {
      alarm.present = true;
      alarm.endAtMs = null;
      alarm.clearedAtMs = null;
      // Back while latched: stations saw it latched, so they must see it present again. Back
      // within the hold-off window: it never looked ended, so there is nothing to say.
      if (alarm.latched) {
        alarm.latched = false;
        this.#apply(alarm, finding);
        this.#emit(alarm, 'updated', finding.atMs);
        return;
      }
    }
    const priority = finding.priority === undefined ? undefined : capPriority(alarm.condition, finding.priority);
    if (priority === undefined || priority === alarm.priority) return;
    const type: AlarmEventType = PRIORITY_RANK[priority] > PRIORITY_RANK[alarm.priority] ? 'escalated' : 'updated';
    if (type === 'escalated') alarm.notifiedAtMs = this.#options.clock.now();
    this.#apply(alarm, finding);
    this.#emit(alarm, type, finding.atMs);
  }

  #apply(alarm: LiveAlarm, finding: Finding): void {
    if (finding.priority !== undefined) alarm.priority = capPriority(alarm.condition, finding.priority);
    if (finding.message !== undefined) alarm.message = finding.message;
    alarm.evidence = finding.evidence;
  }

  #conditionCleared(alarm: LiveAlarm, atMs: number, evidence: AlarmEvidence): void {
    alarm.present = false;
    alarm.evidence = evidence;
    if (alarm.latchable && !alarm.acknowledged) {
      alarm.latched = true;
      this.#emit(alarm, 'updated', atMs);
      return;
    }
    const holdOffEndsMs = alarm.activatedAtMs + this.#policy.holdOffMs;
    if (this.#options.clock.now() < holdOffEndsMs) {
      alarm.endAtMs = holdOffEndsMs;
      alarm.clearedAtMs = atMs;
      return;
    }
    this.#end(alarm, atMs);
  }

  #escalateIfDue(alarm: LiveAlarm, nowMs: number): void {
    const { escalateAfterMs, maxEscalations } = this.#policy;
    if (escalateAfterMs <= 0 || alarm.acknowledged || alarm.escalations >= maxEscalations) return;
    if (CONDITION_DEFAULTS[alarm.condition].escalates === false) return;
    if (!alarm.present && !alarm.latched) return;
    // ALARM PAUSED: no re-notification while a station has paused the channel.
    if (this.#paused.size > 0 && alarm.scope !== 'gateway' && this.#paused.has(pauseKey(alarm.pumpId, alarm.channel))) return;
    if (nowMs - alarm.notifiedAtMs < escalateAfterMs) return;
    alarm.escalations++;
    alarm.notifiedAtMs = nowMs;
    alarm.priority = capPriority(alarm.condition, PRIORITY_UP[alarm.priority]);
    alarm.evidence = { ...alarm.evidence, unacknowledgedSeconds: Math.round((nowMs - alarm.activatedAtMs) / 1000) };
    this.#emit(alarm, 'escalated', nowMs);
  }

  #end(alarm: LiveAlarm, atMs: number): void {
    this.#active.delete(alarm.key);
    this.#byAlarmId.delete(alarm.alarmId);
    alarm.present = false;
    alarm.latched = false;
    alarm.endAtMs = null;
    alarm.message = CONDITION_DEFAULTS[alarm.condition].endedMessage;
    this.#emit(alarm, 'ended', atMs);
  }

  /**
   * Ends every alarm of a channel at once, whatever latching or hold-off would say: the channel
   * is gone (retired), so nothing on it can still need a nurse. The gateway's own alarms are no
   * channel's, even when a pump is named like the gateway. Returns how many ended.
   */
  endChannel(pumpId: string, channel: string, atMs: number, evidence: AlarmEvidence): number {
    let ended = 0;
    for (const alarm of [...this.#active.values()]) {
      if (alarm.scope === 'gateway' || alarm.pumpId !== pumpId || alarm.channel !== channel) continue;
      alarm.evidence = evidence;
      this.#end(alarm, atMs);
      ended++;
    }
    this.resume(pumpId, channel, 'retired');
    return ended;
  }

  #configuredPriority(condition: AlarmCondition): AlarmPriority {
    return this.#options.priorities[condition] ?? CONDITION_DEFAULTS[condition].priority;
  }

  #emit(alarm: LiveAlarm, type: AlarmEventType, atMs: number): void {
    const { identity, clock } = this.#options;
    const now = clock.now();
    const placement = alarm.scope === 'gateway' ? undefined : this.#options.placement?.(alarm.pumpId, alarm.channel);
    const pause = this.#paused.size === 0 || alarm.scope === 'gateway' ? undefined : this.#paused.get(pauseKey(alarm.pumpId, alarm.channel));
    alarm.seq++;
    if (atMs > alarm.lastAtMs) alarm.lastAtMs = atMs;
    const event: AlarmEvent = {
      v: ALARM_EVENT_VERSION,
      eventId: digestId(alarm.alarmId, alarm.seq, type, now),
      alarmId: alarm.alarmId,
      event: type,
      condition: alarm.condition,
      priority: alarm.priority,
      kind: CONDITION_DEFAULTS[alarm.condition].kind,
      ...(alarm.scope === 'gateway' ? { scope: alarm.scope } : {}),
      pumpId: alarm.pumpId,
      channel: alarm.channel,
      site: identity.site,
      ward: identity.ward,
      gatewayId: identity.gatewayId,
      ...(placement === undefined ? {} : placement.patientRef === undefined ? { bed: placement.bed } : { bed: placement.bed, patientRef: placement.patientRef }),
      at: new Date(alarm.lastAtMs).toISOString(),
      emittedAt: new Date(now).toISOString(),
      message: alarm.message,
      evidence: alarm.evidence,
      seq: alarm.seq,
      raisedAt: new Date(alarm.activatedAtMs).toISOString(),
      state: {
        conditionPresent: alarm.present,
        latched: alarm.latched,
        acknowledged: alarm.acknowledged,
        escalations: alarm.escalations,
        ...(pause === undefined || type === 'ended' ? {} : { paused: true as const, pausedUntil: new Date(pause.untilMs).toISOString() }),
      },
    };
    alarm.latest = event;
    const snapshot = type === 'ended' ? undefined : snapshotOf(alarm);
    for (const sink of this.#sinks) sink.deliver(event, snapshot);
  }
}
function snapshotOf(alarm: LiveAlarm): AlarmSnapshot {
  return {
    alarmId: alarm.alarmId,
    condition: alarm.condition,
    ...(alarm.scope === 'gateway' ? { scope: alarm.scope } : {}),
    pumpId: alarm.pumpId,
    channel: alarm.channel,
    seq: alarm.seq,
    activatedAtMs: alarm.activatedAtMs,
    present: alarm.present,
    latched: alarm.latched,
    acknowledged: alarm.acknowledged,
    escalations: alarm.escalations,
    notifiedAtMs: alarm.notifiedAtMs,
    endAtMs: alarm.endAtMs,
    latchable: alarm.latchable,
  };
}
