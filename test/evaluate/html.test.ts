import { describe, expect, it } from 'vitest';
import type { ExampleTrace } from '../../src/evaluate/evaluate.js';
import { curveSvg, traceSvg } from '../../src/evaluate/html.js';

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

describe('example trace SVG', () => {
  it('draws the pressure and marks the true onset, the detection and the pump alarm', () => {
    const svg = traceSvg(trace);
    expect(svg).toMatch(/^<svg [^>]*>.*<\/svg>$/s);
    expect(svg).toContain('<polyline');
    expect(svg).toContain('<title>true onset</title>');
    expect(svg).toContain('<title>downstream-occlusion (pressure-trend)</title>');
    expect(svg).toContain("<title>pump&#39;s own occlusion alarm</title>");
  });

  it('escapes text and links to nothing outside the file', () => {
    const svg = traceSvg(trace);
    expect(svg).toContain('Full occlusion &#60;clamp&#62;');
    expect(svg).not.toMatch(/https?:/);
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
