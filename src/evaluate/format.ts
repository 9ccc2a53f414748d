import type { CurvePoint } from './curves.js';
import type { Cell, Row, Summary } from './summary.js';

export function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(value >= 0.995 || value === 0 ? 0 : 1)} %`;
}

export function minutes(value: number | null): string {
  return value === null ? '–' : value.toFixed(1);
}

export function millilitres(value: number | null): string {
  return value === null ? '–' : value.toFixed(2);
}

/** Left-aligned first column, right-aligned numbers. */
export function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

function occlusionRow(row: Row): string[] {
  const cell = row.cell;
  return [
    row.group,
    row.band,
    String(cell.n),
    percent(cell.sensitivity),
    minutes(cell.medianDelayMin),
    minutes(cell.p90DelayMin),
    percent(cell.pumpSensitivity),
    minutes(cell.pumpMedianDelayMin),
    minutes(cell.pumpP90DelayMin),
    String(cell.confused),
  ];
}

function infiltrationRow(row: Row): string[] {
  const cell = row.cell;
  return [
    row.group,
    row.band,
    String(cell.n),
    percent(cell.sensitivity),
    minutes(cell.medianDelayMin),
    minutes(cell.p90DelayMin),
    millilitres(cell.medianVolumeMl),
    percent(cell.pumpSensitivity),
    String(cell.confused),
  ];
}

function targetValue(value: number | null, unit: string): string {
  if (value === null) return '–';
  if (unit === '') return percent(value);
  return `${value.toFixed(unit === '/pump-day' ? 3 : 2)} ${unit}`;
}

export function formatCell(cell: Cell): string {
  return `${cell.detected}/${cell.n} raised (${percent(cell.sensitivity)}), median delay ${minutes(cell.medianDelayMin)} min`;
}

export function formatSummary(summary: Summary, heading: string): string {
  const parts: string[] = [heading, ''];
  parts.push(
    'Targets',
    table(
      ['measure', 'result', 'target', 'met', 'basis'],
      summary.targets.map((target) => [target.name, targetValue(target.value, target.unit), target.target, target.met === null ? '–' : target.met ? 'yes' : 'NO', target.basis]),
    ),
    '',
  );
  parts.push(
    'Downstream occlusion — pumpwatch (trend detector, plus the pump alarm it relays) against the pump\u2019s own threshold alarm; delays in minutes from true onset',
    table(['type', 'mL/h', 'n', 'pumpwatch', 'median', 'p90', 'pump alarm', 'median', 'p90', 'as infiltration'], summary.occlusion.map(occlusionRow)),
    '',
  );
  parts.push(
    'Possible infiltration — by site stiffness; volume = infiltrated mL when the advisory was raised',
    table(['site', 'mL/h', 'n', 'pumpwatch', 'median', 'p90', 'volume', 'pump alarm', 'as occlusion'], summary.infiltration.map(infiltrationRow)),
    '',
  );
  parts.push(`Recurrent occlusion (positional, self-clearing): ${formatCell(summary.recurrent)}`, '');
  parts.push(
    'False alarms per pump-day (one pump channel for 24 h, outside true events)',
    table(
      ['family', 'pump-days', 'occlusion (trend)', 'occlusion (relayed)', 'infiltration', 'recurrent', "pump's own occlusion"],
      summary.falseAlarms.map((row) => [
        row.family,
        row.channelDays.toFixed(1),
        row.occlusionTrendPerDay.toFixed(3),
        row.occlusionRelayedPerDay.toFixed(3),
        row.infiltrationPerDay.toFixed(3),
        row.recurrentPerDay.toFixed(3),
        row.pumpOwnOcclusionPerDay.toFixed(3),
      ]),
    ),
    '',
  );
  parts.push(
    'Artefacts — share during which pumpwatch\u2019s detector stayed silent (onset to 10 min after the end)',
    table(['artefact', 'n', 'silent'], summary.artefacts.map((row) => [row.kind, String(row.n), percent(row.silentShare)])),
  );
  if (summary.withoutPressure > 0) parts.push('', `${summary.withoutPressure} true events fell on channels that report no pressure and are left out above (pumpwatch can only relay the pump's own alarm there).`);
  return parts.join('\n');
}

/** Where the configured thresholds sit on the curve. */
export interface CurveMarks {
  wardNats: number;
  vesicantNats: number;
}

function bandCell(point: CurvePoint['occlusion']['bands'], band: string): string {
  const figure = point.find((entry) => entry.band === band);
  return figure === undefined || figure.n === 0 ? '–' : `${percent(figure.sensitivity)} / ${minutes(figure.medianDelayMin)}`;
}

function siteCell(sites: CurvePoint['infiltration']['sites'], site: string): string {
  const figure = sites.find((entry) => entry.site === site);
  return figure === undefined || figure.n === 0 ? '–' : `${percent(figure.sensitivity)} @ ${millilitres(figure.medianVolumeMl)} mL; ≤ ${figure.goalMl} mL: ${percent(figure.caughtByGoal)}`;
}

/** The operating curves as two tables, with the configured points marked. */
export function formatCurves(curves: readonly CurvePoint[], marks: CurveMarks): string {
  if (curves.length === 0) return '';
  return [
    'Operating curve — downstream occlusion (decision thresholds × scale: the test’s nats and the minimum rise); sustained occlusions; full ones by rate band: sensitivity / median delay (min); false alarms per pump-day (trend), everyday families and harsh physics',
    table(
      ['scale', 'sensitivity', 'harsh', '≤0.5 mL/h', '0.5–2', '2–10', 'false/day', 'harsh false/day', 'chosen'],
      curves.map((point) => [
        String(point.occlusionScale),
        percent(point.occlusion.sensitivity),
        percent(point.occlusion.harshSensitivity),
        bandCell(point.occlusion.bands, '≤0.5'),
        bandCell(point.occlusion.bands, '0.5–2'),
        bandCell(point.occlusion.bands, '2–10'),
        point.occlusion.falsePerPumpDay.toFixed(3),
        point.occlusion.harshFalsePerPumpDay.toFixed(3),
        point.occlusionScale === 1 ? 'default' : '',
      ]),
    ),
    '',
    'Operating curve — possible infiltration (tissue-slope test threshold, nats): sensitivity @ median infiltrated volume, share caught by the goal volume; false advisories per pump-day (everyday families), per pump-day on harsh physics, per vesicant-line-day; advisories on lines that were in fact occluded',
    table(
      ['nats', 'tight', 'medium', 'compliant', 'tight, harsh', 'false/day', 'harsh', 'vesicant-line', 'on occluded', 'chosen'],
      curves.map((point) => [
        String(point.infiltrationNats),
        siteCell(point.infiltration.sites, 'tight'),
        siteCell(point.infiltration.sites, 'medium'),
        siteCell(point.infiltration.sites, 'compliant'),
        siteCell(point.infiltration.harshSites, 'tight'),
        point.infiltration.falsePerPumpDay.toFixed(3),
        point.infiltration.harshFalsePerPumpDay.toFixed(3),
        point.infiltration.vesicantFalsePerLineDay.toFixed(3),
        String(point.infiltration.onOccludedLines),
        [point.infiltrationNats === marks.wardNats ? 'ward' : '', point.infiltrationNats === marks.vesicantNats ? 'vesicant line' : ''].filter((text) => text !== '').join(', '),
      ]),
    ),
  ].join('\n');
}
