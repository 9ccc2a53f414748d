import type { Config } from '../config/schema.js';
import type { Finding } from '../alarms/finding.js';
import { LineWatch } from '../detect/line-watch.js';
import type { DetectorSettings } from '../detect/settings.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import type { AlarmRecord } from './runner.js';

/**
 * Operating curves: the same telemetry through a bank of detectors that differ only in their
 * decision thresholds, so one simulation gives every point of the curve. Each point scales the
 * occlusion test's thresholds (nats and minimum rise) and sets the tissue test's threshold
 * (ward-wide and vesicant-line alike, so the vesicant-line curve is read from the same points, on
 * vesicant lines only).
 */
export interface SweepPoint {
  /** Tissue-slope test threshold, nats. */
  infiltrationNats: number;
  /** Multiplies the occlusion decision thresholds (`thresholdNats`, and the minimum rise `riseMmHg`). */
  occlusionScale: number;
}

export const DEFAULT_SWEEP: readonly SweepPoint[] = [
  { infiltrationNats: 3, occlusionScale: 0.5 },
  { infiltrationNats: 4, occlusionScale: 0.6 },
  { infiltrationNats: 5, occlusionScale: 0.7 },
  { infiltrationNats: 6, occlusionScale: 0.8 },
  { infiltrationNats: 7, occlusionScale: 0.9 },
  { infiltrationNats: 9, occlusionScale: 1 },
  { infiltrationNats: 11, occlusionScale: 1.25 },
  { infiltrationNats: 14, occlusionScale: 1.5 },
  { infiltrationNats: 18, occlusionScale: 2 },
];

export function sweepSettings(base: DetectorSettings, point: SweepPoint): DetectorSettings {
  return {
    ...base,
    occlusion: {
      ...base.occlusion,
      riseMmHg: base.occlusion.riseMmHg * point.occlusionScale,
      thresholdNats: base.occlusion.thresholdNats * point.occlusionScale,
    },
    infiltration: { ...base.infiltration, thresholdNats: point.infiltrationNats },
    sensitiveContext: { ...base.sensitiveContext, thresholdNats: point.infiltrationNats },
  };
}

/** One detector per sweep point, fed the samples the pipeline accepted; keeps each point's trend alarms. */
export class DetectorBank {
  readonly points: readonly SweepPoint[];
  readonly #watches: LineWatch[] = [];
  readonly #alarms: AlarmRecord[][] = [];

  constructor(config: Config, points: readonly SweepPoint[]) {
    this.points = points;
    for (const point of points) {
      const alarms: AlarmRecord[] = [];
      const open = new Map<string, AlarmRecord>();
      this.#alarms.push(alarms);
      this.#watches.push(
        new LineWatch({
          settings: sweepSettings(config.detection, point),
          occlusionAlarmCodes: config.detection.occlusionAlarmCodes,
          emit: (finding) => record(finding, alarms, open),
        }),
      );
    }
  }

  onSample(sample: TelemetrySample): void {
    for (const watch of this.#watches) watch.onSample(sample);
  }

  /** Trend alarms raised at each point, in the order of `points`. */
  alarms(): AlarmRecord[][] {
    return this.#alarms;
  }
}

function record(finding: Finding, alarms: AlarmRecord[], open: Map<string, AlarmRecord>): void {
  const key = `${finding.pumpId}/${finding.channel}/${finding.condition}`;
  if (finding.active) {
    if (open.has(key)) return;
    const alarm: AlarmRecord = {
      condition: finding.condition,
      pumpId: finding.pumpId,
      channel: finding.channel,
      priority: finding.priority ?? 'high',
      atMs: finding.atMs,
      endedMs: null,
      source: 'pressure-trend',
      evidence: finding.evidence,
    };
    alarms.push(alarm);
    open.set(key, alarm);
  } else {
    const alarm = open.get(key);
    if (alarm !== undefined) alarm.endedMs = finding.atMs;
    open.delete(key);
  }
}
