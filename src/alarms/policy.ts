import type { AlarmCondition } from './event.js';

/** How alarm conditions behave over time: site settings, not bedside toggles (IEC 60601-1-8). */
export interface AlarmPolicy {
  /** Alarms of these conditions latch: they outlive their condition until a station acknowledges. */
  latching: ReadonlySet<AlarmCondition>;
  /**
   * At most one activation per channel and condition per window: an alarm whose condition clears
   * sooner stays active (silently) until the window has passed, and absorbs a return of the
   * condition instead of raising a new alarm.
   */
  holdOffMs: number;
  /** Unacknowledged this long after being raised (or last escalated): escalate. 0 = never. */
  escalateAfterMs: number;
  maxEscalations: number;
  /** An alarm restored after a restart that no detector re-confirms within this is treated as cleared. */
  restoreGraceMs: number;
}

export interface AlarmPolicySettings {
  latching: readonly AlarmCondition[];
  holdOffSeconds: number;
  escalation: { afterSeconds: number; maxSteps: number };
  restoreGraceSeconds: number;
}

/**
 * `escalate` is off where no station can acknowledge (replay, evaluation): escalation is a promise
 * about acknowledgement, and without a station it would only add noise to the output.
 */
export function alarmPolicy(settings: AlarmPolicySettings, options: { escalate: boolean }): AlarmPolicy {
  return {
    latching: new Set(settings.latching),
    holdOffMs: settings.holdOffSeconds * 1000,
    escalateAfterMs: options.escalate ? settings.escalation.afterSeconds * 1000 : 0,
    maxEscalations: settings.escalation.maxSteps,
    restoreGraceMs: settings.restoreGraceSeconds * 1000,
  };
}

/** No latching, no hold-off, no escalation: findings map one to one onto raised and ended. */
export const PLAIN_ALARM_POLICY: AlarmPolicy = {
  latching: new Set(),
  holdOffMs: 0,
  escalateAfterMs: 0,
  maxEscalations: 0,
  restoreGraceMs: 120_000,
};
