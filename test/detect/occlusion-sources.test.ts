import { describe, expect, it } from 'vitest';
import { createRecordingPipeline } from '../helpers/pipeline.js';
import { buildTrace, flat, ramp } from './trace.js';

const CODE = 'OCCLUSION_DOWNSTREAM';

describe('pump occlusion alarm and pressure trend together', () => {
  it('raises one downstream-occlusion alarm and does not end it when the pump clears its own code while the line is still pressurised', () => {
    const run = createRecordingPipeline();
    const samples = buildTrace(
      [
        { seconds: 2400, pressure: flat(8) },
        { seconds: 600, pressure: ramp(8, 500) },
        { seconds: 120, state: 'alarm', pressure: flat(95), pumpAlarms: [CODE] },
        { seconds: 600, state: 'paused', pressure: flat(90) },
        { seconds: 1800, pressure: flat(8) },
      ],
      { noiseMmHg: 1, quantumMmHg: 1 },
    );
    for (const sample of samples) run.feed(sample);
    const occlusion = run.events.filter((e) => e.condition === 'downstream-occlusion');
    expect(occlusion.map((e) => e.event)).toEqual(['raised', 'ended']);
    expect(occlusion[0]!.evidence['source']).toBe('pressure-trend');
    const endedMin = (Date.parse(occlusion[1]!.at) - samples[0]!.ts) / 60_000;
    // The pump dropped its code at 52 min; the line stayed pressurised until 62 min.
    expect(endedMin).toBeGreaterThan(62);
  });

  it('still passes on the pump alarm alone on a line that reports no pressure', () => {
    const run = createRecordingPipeline();
    const samples = buildTrace([
      { seconds: 600, pressure: flat(8) },
      { seconds: 60, state: 'alarm', pressure: flat(8), pumpAlarms: [CODE] },
      { seconds: 600, pressure: flat(8) },
    ]).map(({ downstreamPressureMmHg: _dropped, ...rest }) => rest);
    for (const sample of samples) run.feed(sample);
    expect(run.events.filter((e) => e.condition === 'downstream-occlusion').map((e) => [e.event, e.evidence['source']])).toEqual([
      ['raised', 'pump-alarm'],
      ['ended', 'pump-alarm'],
    ]);
  });

  it('replays to byte-identical alarm events', () => {
    const samples = buildTrace([{ seconds: 2400, pressure: flat(8) }, { seconds: 600, pressure: ramp(8, 500) }, { seconds: 1800, pressure: flat(8) }], { noiseMmHg: 1 });
    const runOnce = () => {
      const run = createRecordingPipeline();
      for (const sample of samples) run.feed(sample);
      return JSON.stringify(run.events);
    };
    const first = runOnce();
    expect(first).toContain('downstream-occlusion');
    expect(runOnce()).toBe(first);
  });
});
