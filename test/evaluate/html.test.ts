import { describe, expect, it } from 'vitest';
import type { ExampleTrace } from '../../src/evaluate/evaluate.js';
import { traceSvg } from '../../src/evaluate/html.js';

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
