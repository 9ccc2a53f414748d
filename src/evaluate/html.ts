import { chartDocument, chartSlot, escapeHtml as escape } from '../view/assets.js';
import type { ChannelSeries, ChartMarker } from '../view/series.js';
import type { EvaluationResult, ExampleTrace } from './evaluate.js';
import type { CurvePoint } from './curves.js';
import { formatCurves, millilitres, minutes, percent, type CurveMarks } from './format.js';
import type { Row } from './summary.js';

/** One example trace as the ward page's chart input: pressure against minutes from the true onset, every detection marked. */
export function traceSeries(trace: ExampleTrace): ChannelSeries {
  const markers: ChartMarker[] = [];
  if (trace.onsetMs !== null) markers.push({ atMs: trace.onsetMs, volumeMl: null, kind: 'onset', label: 'true onset' });
  if (trace.eventEndMs !== null && trace.eventEndMs <= trace.endMs) markers.push({ atMs: trace.eventEndMs, volumeMl: null, kind: 'event-end', label: 'event ends' });
  for (const atMs of trace.pumpAlarmMs) markers.push({ atMs, volumeMl: null, kind: 'pump', label: "pump's own occlusion alarm" });
  for (const alarm of trace.alarms) markers.push({ atMs: alarm.atMs, volumeMl: null, kind: 'raised', label: `${alarm.condition} (${alarm.source})` });
  markers.sort((a, b) => a.atMs - b.atMs);
  return {
    pumpId: trace.pumpId,
    channel: trace.channel,
    title: trace.title,
    tsMs: trace.points.map((point) => point[0]),
    pressureMmHg: trace.points.map((point) => point[1]),
    volumeMl: null,
    baselineMmHg: null,
    markers,
    slope: null,
    originMs: trace.onsetMs ?? trace.alarms[0]?.atMs ?? trace.startMs,
  };
}

const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

/** A round tick spacing that gives about `ticks` ticks over `span`. */
function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

interface CurveSeries {
  name: string;
  colour: string;
  /** `[false alarms per day, sensitivity, label, chosen]`. */
  points: [number, number, string, boolean][];
}

/** Sensitivity against false alarms per day, one polyline per series; chosen points ringed. */
export function curveSvg(series: readonly CurveSeries[], xLabel: string): string {
  const width = 480;
  const height = 260;
  const xs = series.flatMap((line) => line.points.map((point) => point[0]));
  const xMax = Math.max(0.05, ...xs) * 1.05;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const sx = (value: number) => PAD.left + (value / xMax) * plotW;
  const sy = (value: number) => PAD.top + (1 - value) * plotH;
  const parts: string[] = [];
  const xStep = niceStep(xMax, 5);
  for (let tick = 0; tick <= xMax; tick += xStep) {
    parts.push(`<line x1="${sx(tick).toFixed(1)}" x2="${sx(tick).toFixed(1)}" y1="${PAD.top}" y2="${height - PAD.bottom}" class="grid"/>`);
    parts.push(`<text x="${sx(tick).toFixed(1)}" y="${height - 10}" text-anchor="middle">${Number(tick.toFixed(4))}</text>`);
  }
  for (let tick = 0; tick <= 1.0001; tick += 0.2) {
    parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${sy(tick).toFixed(1)}" y2="${sy(tick).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(sy(tick) + 4).toFixed(1)}" text-anchor="end">${Math.round(tick * 100)} %</text>`);
  }
  series.forEach((line, index) => {
    const points = line.points.map((point) => `${sx(point[0]).toFixed(1)},${sy(point[1]).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${line.colour}" stroke-width="1.5"/>`);
    for (const [x, y, label, chosen] of line.points) {
      parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="${chosen ? 5 : 2.5}" fill="${chosen ? 'none' : line.colour}" stroke="${line.colour}" stroke-width="1.5"><title>${escape(`${line.name}: ${label}, ${percent(y)} at ${x.toFixed(3)}/day`)}</title></circle>`);
    }
    parts.push(`<text x="${width - PAD.right - 4}" y="${PAD.top + 14 + index * 14}" text-anchor="end" fill="${line.colour}">${escape(line.name)}</text>`);
  });
  parts.push(`<text x="${PAD.left + 4}" y="${height - PAD.bottom - 6}" class="axis">${escape(xLabel)}</text>`);
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="operating curve">${parts.join('')}</svg>`;
}

function site(point: CurvePoint, name: string, harsh = false): number {
  return (harsh ? point.infiltration.harshSites : point.infiltration.sites).find((entry) => entry.site === name)?.sensitivity ?? 0;
}

function curvesHtml(curves: readonly CurvePoint[], marks: CurveMarks): string {
  if (curves.length === 0) return '';
  const ward = (point: CurvePoint) => point.infiltrationNats === marks.wardNats;
  const vesicant = (point: CurvePoint) => point.infiltrationNats === marks.vesicantNats;
  const wardChart = curveSvg(
    [
      { name: 'tight sites', colour: '#cf222e', points: curves.map((p) => [p.infiltration.falsePerPumpDay, site(p, 'tight'), `${p.infiltrationNats} nats`, ward(p)]) },
      { name: 'medium sites', colour: '#bc4c00', points: curves.map((p) => [p.infiltration.falsePerPumpDay, site(p, 'medium'), `${p.infiltrationNats} nats`, ward(p)]) },
      { name: 'compliant sites', colour: '#8c959f', points: curves.map((p) => [p.infiltration.falsePerPumpDay, site(p, 'compliant'), `${p.infiltrationNats} nats`, ward(p)]) },
      { name: 'tight, harsh physics', colour: '#8250df', points: curves.map((p) => [p.infiltration.harshFalsePerPumpDay, site(p, 'tight', true), `${p.infiltrationNats} nats`, ward(p)]) },
    ],
    'false advisories per pump-day',
  );
  const vesicantChart = curveSvg(
    [{ name: 'tight sites', colour: '#cf222e', points: curves.map((p) => [p.infiltration.vesicantFalsePerLineDay, site(p, 'tight'), `${p.infiltrationNats} nats`, vesicant(p)]) }],
    'false advisories per vesicant-line-day',
  );
  const occlusionChart = curveSvg(
    [
      { name: 'sustained occlusions', colour: '#cf222e', points: curves.map((p) => [p.occlusion.falsePerPumpDay, p.occlusion.sensitivity ?? 0, `× ${p.occlusionScale}`, p.occlusionScale === 1]) },
      { name: 'harsh physics', colour: '#8250df', points: curves.map((p) => [p.occlusion.harshFalsePerPumpDay, p.occlusion.harshSensitivity ?? 0, `× ${p.occlusionScale}`, p.occlusionScale === 1]) },
    ],
    'false occlusion alarms (trend) per pump-day',
  );
  return `<h2>Operating curves</h2><p class="muted">The same telemetry through detectors that differ only in their thresholds; ringed points are the configured ones (ward ${marks.wardNats} nats, vesicant line ${marks.vesicantNats} nats, occlusion × 1).</p>
<figure><figcaption>Possible infiltration, ward-wide</figcaption>${wardChart}</figure>
<figure><figcaption>Possible infiltration, vesicant lines</figcaption>${vesicantChart}</figure>
<figure><figcaption>Downstream occlusion</figcaption>${occlusionChart}</figure>
<pre>${escape(formatCurves(curves, marks))}</pre>`;
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((cell) => `<th>${escape(cell)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, index) => (index === 0 ? `<th>${escape(cell)}</th>` : `<td>${escape(cell)}</td>`)).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function occlusionCells(row: Row): string[] {
  const c = row.cell;
  return [row.group, row.band, String(c.n), percent(c.sensitivity), minutes(c.medianDelayMin), minutes(c.p90DelayMin), percent(c.pumpSensitivity), minutes(c.pumpMedianDelayMin), minutes(c.pumpP90DelayMin), String(c.confused)];
}

function infiltrationCells(row: Row): string[] {
  const c = row.cell;
  return [row.group, row.band, String(c.n), percent(c.sensitivity), minutes(c.medianDelayMin), minutes(c.p90DelayMin), millilitres(c.medianVolumeMl), percent(c.pumpSensitivity), String(c.confused)];
}

export function renderHtml(result: EvaluationResult, heading: string, marks: CurveMarks): string {
  const s = result.summary;
  const targets = htmlTable(
    ['measure', 'result', 'target', 'met', 'basis'],
    s.targets.map((t) => [t.name, t.value === null ? '–' : t.unit === '' ? percent(t.value) : `${t.value.toFixed(t.unit === '/pump-day' ? 3 : 2)} ${t.unit}`, t.target, t.met === null ? '–' : t.met ? 'yes' : 'no', t.basis]),
  );
  const examples = result.examples
    .map((trace, index) => `<figure><figcaption><b>${escape(trace.title)}</b> — ${escape(trace.note)} <span class="muted">(${escape(trace.run)})</span></figcaption>${chartSlot(index)}</figure>`)
    .join('\n');
  return chartDocument({
    title: 'pumpwatch evaluation',
    style: `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#24292f;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.2em .6em;border-bottom:1px solid #d0d7de;text-align:right}
thead th{background:#f6f8fa}tbody th{text-align:left;font-weight:normal}
figure{margin:1em 0}figcaption{margin-bottom:.3em}.muted{color:#57606a}`,
    series: result.examples.map(traceSeries),
    body: `<h1>pumpwatch evaluation</h1>
<p>${escape(heading)}</p>
<p class="muted">Simulated telemetry run through the same decoder, detector and alarm manager as <code>pumpwatch replay</code>. pumpwatch is decision support: it adds earlier warnings; it does not replace the pump\u2019s alarms or hourly site checks. The simulator is a model; figures on real pumps will differ.</p>
<h2>Targets</h2>${targets}
<h2>Downstream occlusion</h2><p class="muted">Delays in minutes from true onset; "pumpwatch" includes the pump alarm it relays; last column: events during which possible-infiltration was raised instead.</p>
${htmlTable(['type', 'mL/h', 'n', 'pumpwatch', 'median', 'p90', 'pump alarm', 'median', 'p90', 'as infiltration'], s.occlusion.map(occlusionCells))}
<h2>Possible infiltration</h2><p class="muted">By site stiffness; volume = infiltrated mL when the advisory was raised; last column: events during which downstream-occlusion was raised.</p>
${htmlTable(['site', 'mL/h', 'n', 'pumpwatch', 'median', 'p90', 'volume', 'pump alarm', 'as occlusion'], s.infiltration.map(infiltrationCells))}
<p>Recurrent occlusion: ${s.recurrent.detected}/${s.recurrent.n} raised (${percent(s.recurrent.sensitivity)}).</p>
<h2>False alarms per pump-day</h2><p class="muted">One pump channel for 24 h, outside true events.</p>
${htmlTable(['family', 'pump-days', 'occlusion (trend)', 'occlusion (relayed)', 'infiltration', 'recurrent', "pump's own occlusion"], s.falseAlarms.map((r) => [r.family, r.channelDays.toFixed(1), r.occlusionTrendPerDay.toFixed(3), r.occlusionRelayedPerDay.toFixed(3), r.infiltrationPerDay.toFixed(3), r.recurrentPerDay.toFixed(3), r.pumpOwnOcclusionPerDay.toFixed(3)]))}
${curvesHtml(result.curves, marks)}
<h2>Artefacts</h2>${htmlTable(['artefact', 'n', 'silent'], s.artefacts.map((r) => [r.kind, String(r.n), percent(r.silentShare)]))}
<h2>Example traces</h2><p class="muted">Pressure against minutes from the true onset (or the alarm), drawn by the ward page's chart code. Vertical lines: true onset and event end (dashed), pumpwatch's detections (red, named in the list under each chart with the finding's source), the pump's own occlusion alarm (black).</p>
${examples}
<h2>Runs</h2>${htmlTable(['run', 'samples', 'rejected', 'channels', 'alarms', 'seconds'], result.runs.map((r) => [r.name, String(r.samples), String(r.rejected), String(r.channels), String(r.alarms), r.seconds.toFixed(1)]))}`,
  });
}
