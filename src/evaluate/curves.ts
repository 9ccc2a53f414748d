import type { RunOutcome } from './runner.js';
import { RATE_BANDS, scoreRuns, type EventScore, type Scores } from './score.js';
import { cellOf, EVERYDAY_FAMILIES, quantile, SUSTAINED_OCCLUSION_MIN, type FalseAlarmRow } from './summary.js';
import type { SweepPoint } from './sweep.js';

/** The family whose physics is harsh and whose events are scored apart on the curve. */
export const HARSH_FAMILY = 'harsh';

export interface BandFigure {
  band: string;
  n: number;
  sensitivity: number | null;
  medianDelayMin: number | null;
}

export interface SiteFigure {
  site: string;
  n: number;
  sensitivity: number | null;
  medianVolumeMl: number | null;
  /** Share of all events of the class detected with no more than the class's volume goal in tissue. */
  caughtByGoal: number | null;
  goalMl: number;
}

/** One point of the operating curves: the detection and false-alarm figures at one set of thresholds. */
export interface CurvePoint extends SweepPoint {
  occlusion: {
    sensitivity: number | null;
    harshSensitivity: number | null;
    /** Full sustained occlusions, by rate band. */
    bands: BandFigure[];
    falsePerPumpDay: number;
    harshFalsePerPumpDay: number;
  };
  infiltration: {
    sites: SiteFigure[];
    harshSites: SiteFigure[];
    bands: BandFigure[];
    falsePerPumpDay: number;
    harshFalsePerPumpDay: number;
    /** False advisories per vesicant-line-day, everyday families. */
    vesicantFalsePerLineDay: number;
    vesicantLineDays: number;
    /** Advisories raised on lines that were in fact occluded. */
    onOccludedLines: number;
  };
}

const SITE_GOALS: readonly (readonly [string, number])[] = [
  ['tight', 0.5],
  ['medium', 2],
  ['compliant', 2],
];

function bandFigures(events: readonly EventScore[]): BandFigure[] {
  return RATE_BANDS.map((band) => {
    const cell = cellOf(events.filter((event) => event.band === band));
    return { band, n: cell.n, sensitivity: cell.sensitivity, medianDelayMin: cell.medianDelayMin };
  });
}

function siteFigures(events: readonly EventScore[]): SiteFigure[] {
  return SITE_GOALS.map(([site, goalMl]) => {
    const inSite = events.filter((event) => event.group === site);
    const detected = inSite.filter((event) => event.detectedMs !== null);
    const volumes = detected.flatMap((event) => (event.infiltratedMlAtDetection === null ? [] : [event.infiltratedMlAtDetection]));
    const byGoal = detected.filter((event) => event.infiltratedMlAtDetection !== null && event.infiltratedMlAtDetection <= goalMl).length;
    return {
      site,
      n: inSite.length,
      sensitivity: inSite.length === 0 ? null : detected.length / inSite.length,
      medianVolumeMl: quantile(volumes, 0.5),
      caughtByGoal: inSite.length === 0 ? null : byGoal / inSite.length,
      goalMl,
    };
  });
}

function falseRate(scores: Scores, families: (family: string) => boolean): Pick<FalseAlarmRow, 'occlusionTrendPerDay' | 'infiltrationPerDay' | 'vesicantInfiltrationPerDay' | 'vesicantLineDays' | 'infiltrationOnOccluded'> {
  const tallies = scores.falseAlarms.filter((tally) => families(tally.family));
  const sum = (pick: (tally: Scores['falseAlarms'][number]) => number) => tallies.reduce((total, tally) => total + pick(tally), 0);
  const days = sum((tally) => tally.channelDays);
  const vesicantDays = sum((tally) => tally.vesicantChannelDays);
  return {
    occlusionTrendPerDay: days > 0 ? sum((tally) => tally.occlusionTrend) / days : 0,
    infiltrationPerDay: days > 0 ? sum((tally) => tally.infiltration) / days : 0,
    vesicantInfiltrationPerDay: vesicantDays > 0 ? sum((tally) => tally.vesicantInfiltration) / vesicantDays : 0,
    vesicantLineDays: vesicantDays,
    infiltrationOnOccluded: sum((tally) => tally.infiltrationOnOccluded),
  };
}

/** Scores every sweep point: that point's trend alarms plus the pump's own alarms as relayed. */
export function operatingCurves(runs: readonly RunOutcome[], points: readonly SweepPoint[]): CurvePoint[] {
  return points.map((point, index) => {
    const swept = runs.map((run) => ({
      ...run,
      alarms: [...(run.sweepAlarms?.[index] ?? []), ...run.alarms.filter((alarm) => alarm.source !== 'pressure-trend')],
    }));
    const scores = scoreRuns(swept);
    const withPressure = scores.events.filter((event) => event.reportsPressure);
    const sustained = withPressure.filter((event) => event.kind === 'occlusion' && (event.durationMin === null || event.durationMin >= SUSTAINED_OCCLUSION_MIN));
    const infiltrations = withPressure.filter((event) => event.kind === 'infiltration');
    const everyday = falseRate(scores, (family) => EVERYDAY_FAMILIES.includes(family));
    const harsh = falseRate(scores, (family) => family === HARSH_FAMILY);
    const all = falseRate(scores, () => true);
    return {
      ...point,
      occlusion: {
        sensitivity: cellOf(sustained).sensitivity,
        harshSensitivity: cellOf(sustained.filter((event) => event.family === HARSH_FAMILY)).sensitivity,
        bands: bandFigures(sustained.filter((event) => event.group === 'full')),
        falsePerPumpDay: everyday.occlusionTrendPerDay,
        harshFalsePerPumpDay: harsh.occlusionTrendPerDay,
      },
      infiltration: {
        sites: siteFigures(infiltrations),
        harshSites: siteFigures(infiltrations.filter((event) => event.family === HARSH_FAMILY)),
        bands: bandFigures(infiltrations),
        falsePerPumpDay: everyday.infiltrationPerDay,
        harshFalsePerPumpDay: harsh.infiltrationPerDay,
        vesicantFalsePerLineDay: everyday.vesicantInfiltrationPerDay,
        vesicantLineDays: everyday.vesicantLineDays,
        onOccludedLines: all.infiltrationOnOccluded,
      },
    };
  });
}
