import type { AlarmCondition, AlarmKind, AlarmPriority } from './event.js';

export interface ConditionDefaults {
  kind: AlarmKind;
  priority: AlarmPriority;
  /** Plain words for the nurse or engineer: what to check. Never a diagnosis. */
  message: string;
}

export const CONDITION_DEFAULTS: Record<AlarmCondition, ConditionDefaults> = {
  'downstream-occlusion': {
    kind: 'technical',
    priority: 'high',
    message: 'Possible downstream occlusion: check the line for clamps, kinks and the cannula site.',
  },
  'possible-infiltration': {
    kind: 'advisory',
    priority: 'low',
    message: 'Possible infiltration: check the IV site for swelling, blanching, coolness or leakage.',
  },
  'recurrent-occlusion': {
    kind: 'technical',
    priority: 'medium',
    message: 'Repeated occlusions on this line: check the cannula position and the line routing.',
  },
  'telemetry-lost': {
    kind: 'technical',
    priority: 'medium',
    message: 'No telemetry from this pump channel: check the pump, its cable or its network link.',
  },
  'pressure-signal-invalid': {
    kind: 'technical',
    priority: 'low',
    message: 'The pressure signal from this pump is not usable: monitoring of this line is reduced.',
  },
  'delivery-failure': {
    kind: 'technical',
    priority: 'high',
    message: 'Alarms from this gateway cannot be delivered to the broker: check the gateway and the broker.',
  },
  'storage-failure': {
    kind: 'technical',
    priority: 'medium',
    message: 'The gateway cannot write its alarm journal: alarms still go out but would not survive a restart. Check its disk.',
  },
  overloaded: {
    kind: 'technical',
    priority: 'medium',
    message:
      'The gateway cannot keep up with incoming telemetry: it is checking only the latest sample of each pump channel, so detection is degraded. Alarms still go out. Check the telemetry rate and the gateway.',
  },
};
