import type { AlarmCondition, AlarmEvidence, AlarmPriority } from './event.js';

/**
 * What a detector concluded about one channel at one moment. `active: false` says the condition
 * no longer holds. The alarm manager turns findings into alarm lifecycle events.
 */
export interface Finding {
  condition: AlarmCondition;
  pumpId: string;
  channel: string;
  active: boolean;
  /** Sample time (epoch ms) that justified the finding. */
  atMs: number;
  /** Overrides the condition's configured priority (e.g. a vesicant line). */
  priority?: AlarmPriority;
  /** What to check, in plain words; the condition's default text is used when absent. */
  message?: string;
  evidence: AlarmEvidence;
}

export type FindingSink = (finding: Finding) => void;

/** Rounds evidence for messages and alarm payloads (a stable number of digits). */
export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
