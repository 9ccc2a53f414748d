import type { SimLabel } from '../simulate/index.js';
import type { AlarmRecord, ChannelLog, RunOutcome } from './runner.js';

/**
 * Scoring rules (stated in the report as well):
 * - a true event is detected when an alarm of its condition is raised on its channel between its
 *   onset and one minute after it ends (or the run ends); an event that begins inside an earlier
 *   event of the same condition on the same channel is not scored (its alarm is already active);
 * - an alarm is false when it falls outside every true or delivery event on its channel (from one
 *   minute before onset to ten minutes after the end); an occlusion alarm during an infiltration,
 *   or the reverse, counts as confusion, not as a false alarm;
 * - exposure for false alarms is channel time outside those windows; a "pump-day" is one pump
 *   channel for 24 h;
 * - a possible-infiltration advisory raised while the line is in fact occluded (inside a
 *   downstream-occlusion event) never counts as detecting an infiltration; such advisories are
 *   counted apart (`infiltrationOnOccluded`);
 * - vesicant lines (a vesicant drug in a sensitive care area) also get their own false-advisory
 *   count and exposure, for the vesicant-line operating point;
 * - an artefact is silent when no pumpwatch detection (pressure-trend source) is raised on its
 *   channel from its onset to ten minutes after its end; artefacts overlapping a true event are
 *   left out.
 */
const MIN_MS = 60_000;
const DAY_MS = 86_400_000;
const DETECTION_GRACE_MS = MIN_MS;
const WINDOW_BEFORE_MS = MIN_MS;
const WINDOW_AFTER_MS = 10 * MIN_MS;
const ARTEFACT_AFTER_MS = 10 * MIN_MS;

export const RATE_BANDS = ['≤0.5', '0.5–2', '2–10', '>10'] as const;
export type RateBand = (typeof RATE_BANDS)[number];

export function rateBand(rateMlPerH: number): RateBand {
  if (rateMlPerH <= 0.5) return '≤0.5';
  if (rateMlPerH <= 2) return '0.5–2';
  if (rateMlPerH <= 10) return '2–10';
  return '>10';
}

export interface EventScore {
  run: string;
  family: string;
  labelId: string;
  kind: 'occlusion' | 'positional-occlusion' | 'infiltration' | 'recurrent-occlusion';
  /** full / partial / clot / positional for occlusions; tight / medium / compliant for infiltrations. */
  group: string;
  pumpId: string;
  channel: string;
  rateMlPerH: number;
  band: RateBand;
  onsetMs: number;
  endMs: number | null;
  durationMin: number | null;
  reportsPressure: boolean;
  detectedMs: number | null;
  /** Which source raised it first: pressure-trend or pump-alarm. */
  detectedBy: string | null;
  delayMin: number | null;
  priority: string | null;
  pumpMs: number | null;
  pumpDelayMin: number | null;
  infiltratedMlAtDetection: number | null;
  infiltratedMlAtEnd: number | null;
  /** The other condition raised during the event (occlusion ↔ infiltration). */
  confusedWith: string | null;
  /** Infiltrations: tissue pressure rise at 0.5 mL infiltrated over the channel's nuisance scale. */
  snr: number | null;
}

export interface FalseAlarmTally {
  family: string;
  channelDays: number;
  occlusionTrend: number;
  occlusionRelayed: number;
  infiltration: number;
  recurrent: number;
  pumpOwnOcclusion: number;
  /** Exposure and false advisories on vesicant lines alone. */
  vesicantChannelDays: number;
  vesicantInfiltration: number;
  /** Possible-infiltration advisories (trend) raised while the line was in fact occluded. */
  infiltrationOnOccluded: number;
}

export interface ArtefactTally {
  kind: string;
  family: string;
  n: number;
  silent: number;
}

export interface Scores {
  events: EventScore[];
  falseAlarms: FalseAlarmTally[];
  artefacts: ArtefactTally[];
  falseAlarmList: (AlarmRecord & { run: string })[];
}

function rateAt(log: ChannelLog | undefined, atMs: number): number {
  if (log === undefined || log.rates.length === 0) return 0;
  let rate = log.rates[0]![1];
  for (const [ts, value] of log.rates) {
    if (ts > atMs) break;
    rate = value;
  }
  return rate;
}

/** Infiltrated volume at `seconds` after onset, interpolated between the label's minute points. */
export function infiltratedAt(label: SimLabel, seconds: number): number | null {
  const points = label.infiltratedVolumeMl;
  if (points === undefined || points.length === 0) return null;
  let previous: [number, number] = [0, 0];
  for (const point of points) {
    if (point[0] >= seconds) {
      const span = point[0] - previous[0];
      return span <= 0 ? point[1] : previous[1] + ((point[1] - previous[1]) * (seconds - previous[0])) / span;
    }
    previous = point;
  }
  return previous[1];
}

function numberDetail(label: SimLabel, key: string): number | null {
  const value = label.detail[key];
  return typeof value === 'number' ? value : null;
}

/**
 * Tissue pressure rise at 0.5 mL infiltrated, from the site law the label describes: a plateau
 * law IFP = plateau·V/(V + plateau·C0), or the older flooding law IFP = (Vflood/C0)·ln(1 + V/Vflood).
 */
export function infiltrationSignalMmHg(label: SimLabel): number | null {
  const compliance = numberDetail(label, 'siteComplianceMlPerMmHg');
  if (compliance === null) return null;
  const plateau = numberDetail(label, 'plateauMmHg');
  if (plateau !== null) return (plateau * 0.5) / (0.5 + plateau * compliance);
  const flood = numberDetail(label, 'floodVolumeMl');
  return flood === null ? null : (flood / compliance) * Math.log1p(0.5 / flood);
}

function groupOf(label: SimLabel): string {
  if (label.kind === 'infiltration') return String(label.detail['site'] ?? 'unknown');
  if (label.kind === 'positional-occlusion') return 'positional';
  if (label.kind === 'recurrent-occlusion') return 'recurrent';
  // A clot closes the lumen over minutes to hours: its onset is when it starts to form.
  if (label.detail['cause'] === 'clot') return 'clot';
  return String(label.detail['severity'] ?? 'unknown');
}

const CONDITION_FOR: Record<EventScore['kind'], AlarmRecord['condition']> = {
  occlusion: 'downstream-occlusion',
  'positional-occlusion': 'downstream-occlusion',
  infiltration: 'possible-infiltration',
  'recurrent-occlusion': 'recurrent-occlusion',
};

function isScoredKind(kind: string): kind is EventScore['kind'] {
  return kind in CONDITION_FOR;
}

function scoreRun(run: RunOutcome, scores: Scores): void {
  const logs = new Map(run.channels.map((log) => [`${log.pumpId}/${log.channel}`, log]));
  const alarmsByChannel = new Map<string, AlarmRecord[]>();
  for (const alarm of run.alarms) {
    const key = `${alarm.pumpId}/${alarm.channel}`;
    const list = alarmsByChannel.get(key) ?? [];
    list.push(alarm);
    alarmsByChannel.set(key, list);
  }
  const labelsByChannel = new Map<string, SimLabel[]>();
  for (const label of run.labels) {
    const key = `${label.pumpId}/${label.channel}`;
    const list = labelsByChannel.get(key) ?? [];
    list.push(label);
    labelsByChannel.set(key, list);
  }
  const endOf = (label: SimLabel) => label.endMs ?? run.endMs;
  const occludedAt = (key: string, atMs: number) =>
    (labelsByChannel.get(key) ?? []).some((label) => label.category === 'downstream-occlusion' && atMs >= label.onsetMs && atMs <= endOf(label) + DETECTION_GRACE_MS);

  for (const label of run.labels) {
    if (!isScoredKind(label.kind)) continue;
    const key = `${label.pumpId}/${label.channel}`;
    // An event that begins inside an earlier one of the same condition (its alarm already active) is not a new chance to detect.
    const condition = CONDITION_FOR[label.kind];
    const inside = (labelsByChannel.get(key) ?? []).some(
      (other) =>
        other !== label &&
        isScoredKind(other.kind) &&
        other.kind !== 'recurrent-occlusion' &&
        CONDITION_FOR[other.kind] === condition &&
        other.onsetMs < label.onsetMs &&
        endOf(other) > label.onsetMs,
    );
    if (inside && label.kind !== 'recurrent-occlusion') continue;
    const log = logs.get(key);
    const alarms = alarmsByChannel.get(key) ?? [];
    const until = endOf(label) + DETECTION_GRACE_MS;
    const inWindow = (alarm: AlarmRecord) => alarm.atMs >= label.onsetMs && alarm.atMs <= until;
    const detection = alarms.find(
      (alarm) => alarm.condition === condition && inWindow(alarm) && !(label.kind === 'infiltration' && occludedAt(key, alarm.atMs)),
    );
    const other = label.kind === 'infiltration' ? 'downstream-occlusion' : label.kind === 'recurrent-occlusion' ? null : 'possible-infiltration';
    const confusion = other === null ? undefined : alarms.find((alarm) => alarm.condition === other && alarm.source === 'pressure-trend' && inWindow(alarm));
    const pumpMs = log?.pumpOcclusionMs.find((ts) => ts >= label.onsetMs && ts <= until) ?? null;
    const rate = numberDetail(label, 'rateMlPerH') ?? rateAt(log, label.onsetMs);
    const signal = label.kind === 'infiltration' ? infiltrationSignalMmHg(label) : null;
    const nuisance = log?.nuisanceMmHg ?? null;
    scores.events.push({
      run: run.name,
      family: run.family,
      labelId: label.id,
      kind: label.kind,
      group: groupOf(label),
      pumpId: label.pumpId,
      channel: label.channel,
      rateMlPerH: rate,
      band: rateBand(rate),
      onsetMs: label.onsetMs,
      endMs: label.endMs,
      durationMin: label.endMs === null ? null : (label.endMs - label.onsetMs) / MIN_MS,
      reportsPressure: log?.reportsPressure ?? false,
      detectedMs: detection?.atMs ?? null,
      detectedBy: detection?.source ?? null,
      delayMin: detection === undefined ? null : (detection.atMs - label.onsetMs) / MIN_MS,
      priority: detection?.priority ?? null,
      pumpMs,
      pumpDelayMin: pumpMs === null ? null : (pumpMs - label.onsetMs) / MIN_MS,
      infiltratedMlAtDetection: detection === undefined ? null : infiltratedAt(label, (detection.atMs - label.onsetMs) / 1000),
      infiltratedMlAtEnd: label.kind === 'infiltration' ? infiltratedAt(label, (endOf(label) - label.onsetMs) / 1000) : null,
      confusedWith: confusion?.condition ?? null,
      snr: signal === null || nuisance === null || nuisance <= 0 ? null : signal / nuisance,
    });
  }

  // False alarms: outside every true or delivery event window on the channel.
  const tally: FalseAlarmTally = {
    family: run.family,
    channelDays: 0,
    occlusionTrend: 0,
    occlusionRelayed: 0,
    infiltration: 0,
    recurrent: 0,
    pumpOwnOcclusion: 0,
    vesicantChannelDays: 0,
    vesicantInfiltration: 0,
    infiltrationOnOccluded: 0,
  };
  for (const log of run.channels) {
    const key = `${log.pumpId}/${log.channel}`;
    const windows = (labelsByChannel.get(key) ?? [])
      .filter((label) => label.category === 'downstream-occlusion' || label.category === 'infiltration' || label.category === 'delivery')
      .map((label) => [label.onsetMs - WINDOW_BEFORE_MS, endOf(label) + WINDOW_AFTER_MS, label.category] as const);
    const covered = (atMs: number) => windows.some(([from, to]) => atMs >= from && atMs <= to);
    let excludedMs = 0;
    for (const [from, to] of windows) excludedMs += Math.min(to, run.endMs) - Math.max(from, run.startMs);
    const exposureDays = Math.max(0, run.endMs - run.startMs - excludedMs) / DAY_MS;
    tally.channelDays += exposureDays;
    if (log.vesicantLine) tally.vesicantChannelDays += exposureDays;
    for (const alarm of alarmsByChannel.get(key) ?? []) {
      if (alarm.condition === 'possible-infiltration' && alarm.source === 'pressure-trend' && occludedAt(key, alarm.atMs)) tally.infiltrationOnOccluded++;
      if (covered(alarm.atMs)) continue;
      scores.falseAlarmList.push({ ...alarm, run: run.name });
      if (alarm.condition === 'downstream-occlusion') {
        if (alarm.source === 'pressure-trend') tally.occlusionTrend++;
        else tally.occlusionRelayed++;
      } else if (alarm.condition === 'possible-infiltration') {
        tally.infiltration++;
        if (log.vesicantLine) tally.vesicantInfiltration++;
      }
      else if (alarm.condition === 'recurrent-occlusion') tally.recurrent++;
    }
    for (const ts of log.pumpOcclusionMs) if (!covered(ts)) tally.pumpOwnOcclusion++;

    // Artefacts: silent unless pumpwatch's own detector raised something during or soon after.
    const trendAlarms = (alarmsByChannel.get(key) ?? []).filter((alarm) => alarm.source === 'pressure-trend');
    for (const label of labelsByChannel.get(key) ?? []) {
      if (label.category !== 'artefact') continue;
      const from = label.onsetMs;
      const to = (label.endMs ?? label.onsetMs) + ARTEFACT_AFTER_MS;
      if (windows.some(([start, end]) => start <= to && end >= from)) continue;
      let artefact = scores.artefacts.find((entry) => entry.kind === label.kind && entry.family === run.family);
      if (artefact === undefined) {
        artefact = { kind: label.kind, family: run.family, n: 0, silent: 0 };
        scores.artefacts.push(artefact);
      }
      artefact.n++;
      if (!trendAlarms.some((alarm) => alarm.atMs >= from && alarm.atMs <= to)) artefact.silent++;
    }
  }
  scores.falseAlarms.push(tally);
}

export function scoreRuns(runs: readonly RunOutcome[]): Scores {
  const scores: Scores = { events: [], falseAlarms: [], artefacts: [], falseAlarmList: [] };
  for (const run of runs) scoreRun(run, scores);
  return scores;
}
