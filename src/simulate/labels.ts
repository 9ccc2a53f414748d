/**
 * Ground truth of a run, one record per event. The evaluator scores detections against these;
 * `category` says what a detector ought to do about the event.
 */

export const LABEL_KINDS = [
  'infiltration',
  'occlusion',
  'recurrent-occlusion',
  'positional-occlusion',
  'upstream-occlusion',
  'disconnection',
  'height-change',
  'movement',
  'crying',
  'syringe-change',
  'flush',
  'bolus',
  'rate-change',
  'pause',
  'start-up',
  'dropout',
  'duplicates',
  'reorder',
  'pump-alarm',
] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];

/**
 * - `downstream-occlusion`, `infiltration`: true events a detector should report;
 * - `delivery`: the patient is not getting the drug but the downstream signal is weak (disconnection, upstream occlusion);
 * - `artefact`: should stay silent (the goal: silent through at least 95 % of syringe changes, flushes,
 *   boluses, height changes and start-up transients);
 * - `telemetry`: faults of the data path, not of the infusion;
 * - `pump-alarm`: the pump's own alarm, raised by the physics (the baseline a detector must beat).
 */
export type LabelCategory = 'downstream-occlusion' | 'infiltration' | 'delivery' | 'artefact' | 'telemetry' | 'pump-alarm';

export const LABEL_CATEGORY: Record<LabelKind, LabelCategory> = {
  infiltration: 'infiltration',
  occlusion: 'downstream-occlusion',
  'recurrent-occlusion': 'downstream-occlusion',
  'positional-occlusion': 'downstream-occlusion',
  'upstream-occlusion': 'delivery',
  disconnection: 'delivery',
  'height-change': 'artefact',
  movement: 'artefact',
  crying: 'artefact',
  'syringe-change': 'artefact',
  flush: 'artefact',
  bolus: 'artefact',
  'rate-change': 'artefact',
  pause: 'artefact',
  'start-up': 'artefact',
  dropout: 'telemetry',
  duplicates: 'telemetry',
  reorder: 'telemetry',
  'pump-alarm': 'pump-alarm',
};

export type LabelDetailValue = string | number | boolean | null;

export interface SimLabel {
  /** Unique within a run: `<pumpId>/<channel>/<n>`. */
  id: string;
  kind: LabelKind;
  category: LabelCategory;
  pumpId: string;
  channel: string;
  onset: string;
  onsetMs: number;
  /** null: still going when the run ended. */
  end: string | null;
  endMs: number | null;
  detail: Record<string, LabelDetailValue>;
  /** Infiltrations only: `[seconds since onset, mL]` every minute and at the end. */
  infiltratedVolumeMl?: [number, number][];
}

/** The first line of a labels file: what was run, so scores can be normalised per pump-day. */
export interface RunRecord {
  record: 'run';
  v: 1;
  name: string;
  seed: number;
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  channels: { pumpId: string; channel: string; pumpType: string; drug: string | null; rateMlPerH: number; reportIntervalS: number }[];
}

export function labelLine(label: SimLabel): string {
  return JSON.stringify({ record: 'label', ...label });
}

/** Time order for files: onset, then pump, channel and id, so equal seeds give equal bytes. */
export function compareLabels(a: SimLabel, b: SimLabel): number {
  return a.onsetMs - b.onsetMs || compareText(a.pumpId, b.pumpId) || compareText(a.channel, b.channel) || compareText(a.id, b.id);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
