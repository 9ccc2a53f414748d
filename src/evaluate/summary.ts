import { RATE_BANDS, type EventScore, type Scores } from './score.js';

export interface Cell {
  n: number;
  detected: number;
  sensitivity: number | null;
  medianDelayMin: number | null;
  p90DelayMin: number | null;
  /** Infiltrations: median infiltrated volume when pumpwatch raised the advisory. */
  medianVolumeMl: number | null;
  pumpDetected: number;
  pumpSensitivity: number | null;
  pumpMedianDelayMin: number | null;
  pumpP90DelayMin: number | null;
  /** Events during which the other condition was raised by the trend detector. */
  confused: number;
}

export interface Row {
  group: string;
  band: string;
  cell: Cell;
}

export interface FalseAlarmRow {
  family: string;
  channelDays: number;
  occlusionTrendPerDay: number;
  occlusionRelayedPerDay: number;
  infiltrationPerDay: number;
  recurrentPerDay: number;
  pumpOwnOcclusionPerDay: number;
  vesicantLineDays: number;
  /** False advisories per vesicant-line-day (vesicant drug, sensitive care area). */
  vesicantInfiltrationPerDay: number;
  /** Advisories raised on lines that were in fact occluded (not counted as detections). */
  infiltrationOnOccluded: number;
}

export interface ArtefactRow {
  kind: string;
  n: number;
  silent: number;
  silentShare: number | null;
}

export interface TargetCheck {
  name: string;
  value: number | null;
  unit: string;
  target: string;
  met: boolean | null;
  basis: string;
}

export interface Summary {
  occlusion: Row[];
  infiltration: Row[];
  recurrent: Cell;
  falseAlarms: FalseAlarmRow[];
  artefacts: ArtefactRow[];
  targets: TargetCheck[];
  /** Events on channels that report no pressure: only the pump's own alarm can be relayed. */
  withoutPressure: number;
}

/** Nearest-rank quantile; null for no data. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function cellOf(events: readonly EventScore[]): Cell {
  const detected = events.filter((event) => event.detectedMs !== null);
  const pump = events.filter((event) => event.pumpMs !== null);
  const delays = detected.map((event) => event.delayMin!);
  const pumpDelays = pump.map((event) => event.pumpDelayMin!);
  const volumes = detected.flatMap((event) => (event.infiltratedMlAtDetection === null ? [] : [event.infiltratedMlAtDetection]));
  return {
    n: events.length,
    detected: detected.length,
    sensitivity: events.length === 0 ? null : detected.length / events.length,
    medianDelayMin: quantile(delays, 0.5),
    p90DelayMin: quantile(delays, 0.9),
    medianVolumeMl: quantile(volumes, 0.5),
    pumpDetected: pump.length,
    pumpSensitivity: events.length === 0 ? null : pump.length / events.length,
    pumpMedianDelayMin: quantile(pumpDelays, 0.5),
    pumpP90DelayMin: quantile(pumpDelays, 0.9),
    confused: events.filter((event) => event.confusedWith !== null).length,
  };
}

function rows(events: readonly EventScore[], groups: readonly string[]): Row[] {
  const out: Row[] = [];
  for (const group of groups) {
    const inGroup = events.filter((event) => event.group === group);
    if (inGroup.length === 0) continue;
    for (const band of RATE_BANDS) {
      const inBand = inGroup.filter((event) => event.band === band);
      if (inBand.length > 0) out.push({ group, band, cell: cellOf(inBand) });
    }
    out.push({ group, band: 'all', cell: cellOf(inGroup) });
  }
  return out;
}

/** Families with everyday artefact rates: the basis of the false-alarm targets. */
export const EVERYDAY_FAMILIES: readonly string[] = ['mixed', 'occlusion', 'infiltration', 'quiet'];
export const STRESS_FAMILY = 'artefacts';
/** Occlusions counted for the sensitivity target: those that last long enough to matter. */
export const SUSTAINED_OCCLUSION_MIN = 10;

function perDay(count: number, days: number): number {
  return days > 0 ? count / days : 0;
}

function falseAlarmRow(family: string, tallies: Scores['falseAlarms']): FalseAlarmRow {
  const sum = (pick: (tally: Scores['falseAlarms'][number]) => number) => tallies.reduce((total, tally) => total + pick(tally), 0);
  const days = sum((tally) => tally.channelDays);
  return {
    family,
    channelDays: days,
    occlusionTrendPerDay: perDay(sum((tally) => tally.occlusionTrend), days),
    occlusionRelayedPerDay: perDay(sum((tally) => tally.occlusionRelayed), days),
    infiltrationPerDay: perDay(sum((tally) => tally.infiltration), days),
    recurrentPerDay: perDay(sum((tally) => tally.recurrent), days),
    pumpOwnOcclusionPerDay: perDay(sum((tally) => tally.pumpOwnOcclusion), days),
    vesicantLineDays: sum((tally) => tally.vesicantChannelDays),
    vesicantInfiltrationPerDay: perDay(sum((tally) => tally.vesicantInfiltration), sum((tally) => tally.vesicantChannelDays)),
    infiltrationOnOccluded: sum((tally) => tally.infiltrationOnOccluded),
  };
}

function check(name: string, value: number | null, unit: string, target: string, met: (value: number) => boolean, basis: string): TargetCheck {
  return { name, value, unit, target, met: value === null ? null : met(value), basis };
}

export function summarise(scores: Scores): Summary {
  const withPressure = scores.events.filter((event) => event.reportsPressure);
  const occlusions = withPressure.filter((event) => event.kind === 'occlusion' || event.kind === 'positional-occlusion');
  const infiltrations = withPressure.filter((event) => event.kind === 'infiltration');
  const infiltrationRows = rows(infiltrations, ['tight', 'medium', 'compliant']);
  const clear = infiltrations.filter((event) => event.snr !== null && event.snr >= 3);
  if (clear.length > 0) infiltrationRows.push({ group: 'signal ≥ 3× noise', band: 'all', cell: cellOf(clear) });

  const families = [...new Set(scores.falseAlarms.map((tally) => tally.family))];
  const falseAlarms = families.map((family) => falseAlarmRow(family, scores.falseAlarms.filter((tally) => tally.family === family)));
  const everyday = falseAlarmRow('everyday (all but artefacts)', scores.falseAlarms.filter((tally) => EVERYDAY_FAMILIES.includes(tally.family)));
  falseAlarms.push(everyday);

  const kinds = [...new Set(scores.artefacts.map((entry) => entry.kind))].sort();
  const artefacts = kinds.map((kind) => {
    const entries = scores.artefacts.filter((entry) => entry.kind === kind);
    const n = entries.reduce((total, entry) => total + entry.n, 0);
    const silent = entries.reduce((total, entry) => total + entry.silent, 0);
    return { kind, n, silent, silentShare: n === 0 ? null : silent / n };
  });

  const sustained = occlusions.filter((event) => event.kind === 'occlusion' && (event.durationMin === null || event.durationMin >= SUSTAINED_OCCLUSION_MIN));
  const nearRate = (low: number, high: number) =>
    cellOf(sustained.filter((event) => event.group === 'full' && event.rateMlPerH >= low && event.rateMlPerH <= high)).medianDelayMin;
  const clearCell = cellOf(clear);
  const worstArtefact = artefacts.filter((row) => row.n >= 5).reduce<number | null>((worst, row) => (worst === null || row.silentShare! < worst ? row.silentShare : worst), null);
  const targets: TargetCheck[] = [
    check('Occlusion sensitivity', cellOf(sustained).sensitivity, '', '≥ 95 %', (v) => v >= 0.95, `occlusions lasting ≥ ${SUSTAINED_OCCLUSION_MIN} min (or to the end of the run), pressure reported`),
    check('Occlusion median delay at ≈1 mL/h', nearRate(0.75, 1.5), 'min', '≤ 3 min', (v) => v <= 3, 'full clamp or kink, 0.75–1.5 mL/h'),
    check('Occlusion median delay at ≈0.5 mL/h', nearRate(0.35, 0.65), 'min', '≤ 6 min', (v) => v <= 6, 'full clamp or kink, 0.35–0.65 mL/h'),
    check('False occlusion alarms (trend)', everyday.occlusionTrendPerDay, '/pump-day', '≤ 0.2', (v) => v <= 0.2, 'everyday families, outside true events'),
    check('Infiltration sensitivity, signal ≥ 3× noise', clearCell.sensitivity, '', '≥ 85 %', (v) => v >= 0.85, 'tissue rise at 0.5 mL ≥ 3× the channel nuisance scale'),
    check('Median infiltrated volume at detection, same', clearCell.medianVolumeMl, 'mL', '≤ 0.5 mL', (v) => v <= 0.5, 'detected events of that group'),
    check('False possible-infiltration advisories', everyday.infiltrationPerDay, '/pump-day', '≤ 0.05', (v) => v <= 0.05, 'everyday families, outside true events'),
    check('Silent through each artefact class (worst class)', worstArtefact, '', '≥ 95 %', (v) => v >= 0.95, 'all families, classes with ≥ 5 clean instances'),
  ];
  const recurrentEvents = withPressure.filter((event) => event.kind === 'recurrent-occlusion');
  return {
    occlusion: rows(occlusions, ['full', 'partial', 'clot', 'positional']),
    infiltration: infiltrationRows,
    recurrent: cellOf(recurrentEvents),
    falseAlarms,
    artefacts,
    targets,
    withoutPressure: scores.events.filter((event) => !event.reportsPressure).length,
  };
}
