import { describe, expect, it } from 'vitest';
import type { ExampleTrace } from '../../src/evaluate/evaluate.js';
import { curveSvg, traceSeries } from '../../src/evaluate/html.js';
import { chartDocument, chartSlot } from '../../src/view/assets.js';

const trace: ExampleTrace = {
  title: 'Full occlusion <clamp>',
  run: 'r',
  pumpId: 'P1',
  channel: '1',
  startMs: 0,
  endMs: 60 * 60_000,
  points: Array.from({ length: 60 }, (_, minute) => [minute * 60_000, minute < 30 ? 8 : 8 + (minute - 30) * 5] as [number, number]),
  onsetMs: 30 * 60_000,
  eventEndMs: null,
  alarms: [{ condition: 'downstream-occlusion', atMs: 33 * 60_000, source: 'pressure-trend' }],
  pumpAlarmMs: [55 * 60_000],
  note: 'raised after 3 min',
};

describe('example traces, drawn by the ward page\'s chart code', () => {
  it('become chart series: pressure against minutes from the true onset, with the onset, the detection and the pump alarm marked', () => {
    const series = traceSeries(trace);
    expect(series.originMs).toBe(30 * 60_000);
    expect(series.tsMs).toHaveLength(60);
    expect(series.pressureMmHg[59]).toBe(8 + 29 * 5);
    expect(series.volumeMl).toBeNull();
    expect(series.markers.map((marker) => `${marker.kind}@${marker.atMs / 60_000}: ${marker.label}`)).toEqual([
      'onset@30: true onset',
      'raised@33: downstream-occlusion (pressure-trend)',
      "pump@55: pump's own occlusion alarm",
    ]);
  });

  it('go into a self-contained page: text escaped, nothing linked from outside the file', () => {
    const page = chartDocument({ title: 'pumpwatch evaluation', body: `<h1>x</h1>${chartSlot(0)}`, series: [traceSeries(trace)] });
    expect(page).toContain('Full occlusion \\u003cclamp>');
    expect(page).not.toContain('Full occlusion <clamp>');
    expect(page.match(/<(script|link|img)[^>]*(src|href)=/g)).toBeNull();
    expect(page).toContain('export function drawChannelCharts');
  });
});

describe('operating curve SVG', () => {
  it('draws one line per series and rings the chosen point', () => {
    const svg = curveSvg(
      [
        { name: 'tight sites', colour: '#cf222e', points: [[0.01, 0.2, '18 nats', false], [0.05, 0.5, '9 nats', true], [0.3, 0.8, '3 nats', false]] },
        { name: 'medium sites', colour: '#bc4c00', points: [[0.01, 0.05, '18 nats', false], [0.05, 0.2, '9 nats', true]] },
      ],
      'false advisories per pump-day',
    );
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/fill="none" stroke="#cf222e" stroke-width="1.5"><title>/g)).toHaveLength(1);
    expect(svg).toContain('tight sites: 9 nats, 50.0 % at 0.050/day');
  });
});
