import type { AlarmCondition, AlarmKind, AlarmPriority } from './event.js';

export interface ConditionDefaults {
  kind: AlarmKind;
  priority: AlarmPriority;
  /**
   * The highest priority the alarm may reach, by escalation or configuration. An advisory stays
   * at most medium: it is a weak cue, and a high-priority advisory would teach staff to ignore
   * the high-priority alarms that matter.
   */
  maxPriority: AlarmPriority;
  /** Plain words for the nurse or engineer: what to check. Never a diagnosis. */
  message: string;
  /** What the `ended` event says: that the condition ended, not the raise's call to act. */
  endedMessage: string;
  /** False for a notice: it is said once and never re-notified (escalated) while unacknowledged. */
  escalates?: false;
}

export const CONDITION_DEFAULTS: Record<AlarmCondition, ConditionDefaults> = {
  'downstream-occlusion': {
    kind: 'technical',
    priority: 'high',
    maxPriority: 'high',
    message: 'Possible downstream occlusion: check the line for clamps, kinks and the cannula site.',
    endedMessage: 'Possible downstream occlusion no longer detected on this line.',
  },
  'possible-infiltration': {
    kind: 'advisory',
    priority: 'low',
    maxPriority: 'medium',
    message: 'Possible infiltration: check the IV site for swelling, blanching, coolness or leakage.',
    endedMessage: 'Possible-infiltration advisory ended: the line pressure no longer shows the rise. Routine IV-site checks continue.',
  },
  'recurrent-occlusion': {
    kind: 'technical',
    priority: 'medium',
    maxPriority: 'high',
    message: 'Repeated occlusions on this line: check the cannula position and the line routing.',
    endedMessage: 'Repeated occlusions ended: none on this line for the configured window.',
  },
  'telemetry-lost': {
    kind: 'technical',
    priority: 'medium',
    maxPriority: 'high',
    message: 'No telemetry from this pump channel: check the pump, its cable or its network link.',
    endedMessage: 'Telemetry from this pump channel is back (or the channel was retired).',
  },
  'pressure-signal-invalid': {
    kind: 'technical',
    priority: 'low',
    maxPriority: 'medium',
    message: 'The pressure signal from this pump is not usable: monitoring of this line is reduced.',
    endedMessage: 'The pressure signal from this pump is usable again.',
  },
  'delivery-failure': {
    kind: 'technical',
    priority: 'high',
    maxPriority: 'high',
    message: 'Alarms from this gateway cannot be delivered to the broker: check the gateway and the broker.',
    endedMessage: 'Alarm delivery from this gateway to the broker works again.',
  },
  'storage-failure': {
    kind: 'technical',
    priority: 'medium',
    maxPriority: 'high',
    message: 'The gateway cannot write its alarm journal: alarms still go out but would not survive a restart. Check its disk.',
    endedMessage: 'The gateway writes its alarm journal again.',
  },
  overloaded: {
    kind: 'technical',
    priority: 'medium',
    maxPriority: 'high',
    message:
      'The gateway cannot keep up with incoming telemetry: it is checking only the latest sample of each pump channel, so detection is degraded. Alarms still go out. Check the telemetry rate and the gateway.',
    endedMessage: 'The gateway keeps up with incoming telemetry again: every sample is checked.',
  },
  'pump-clock-skew': {
    kind: 'technical',
    priority: 'low',
    // Judged on arrival time meanwhile, so detection goes on: worth fixing, never urgent.
    maxPriority: 'low',
    message: "This pump's clock disagrees with the gateway's: pumpwatch judges its samples on arrival time. Set the pump's clock.",
    endedMessage: "This pump's clock agrees with the gateway's again.",
  },
  'channel-retired': {
    kind: 'technical',
    priority: 'low',
    // A notice (site option lifecycle.noticeOnRetire): the pump was stopped before it went silent.
    maxPriority: 'low',
    escalates: false,
    message: 'This pump channel was stopped and then went silent, so pumpwatch no longer watches it. If the pump is still in use, check its power and link.',
    endedMessage: 'Channel-retired notice closed.',
  },
};
