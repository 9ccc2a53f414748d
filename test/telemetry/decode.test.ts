import { describe, expect, it } from 'vitest';
import { decodeJsonFrame, type Rejection } from '../../src/telemetry/decode.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

function decode(frame: string, maxSamplesPerFrame = 10) {
  const samples: TelemetrySample[] = [];
  const rejections: Rejection[] = [];
  decodeJsonFrame(frame, { sample: (s) => samples.push(s), reject: (r) => rejections.push(r) }, { maxSamplesPerFrame });
  return { samples, rejections };
}

const valid = { pumpId: 'P-01', ts: '2026-03-01T10:00:00.000+01:00', state: 'infusing', rateMlPerH: 1.5 };

describe('decodeJsonFrame', () => {
  it('accepts a valid sample, normalises ts to epoch ms and defaults the channel to "1"', () => {
    const { samples, rejections } = decode(JSON.stringify(valid));
    expect(rejections).toEqual([]);
    expect(samples).toEqual([{ pumpId: 'P-01', channel: '1', ts: Date.UTC(2026, 2, 1, 9), state: 'infusing', rateMlPerH: 1.5 }]);
  });

  it('accepts epoch milliseconds as ts', () => {
    expect(decode(JSON.stringify({ ...valid, ts: 1_700_000_000_000 })).samples[0]?.ts).toBe(1_700_000_000_000);
  });

  it('drops unknown extra fields instead of rejecting the sample', () => {
    const { samples } = decode(JSON.stringify({ ...valid, vendorField: 'x' }));
    expect(samples[0]).not.toHaveProperty('vendorField');
  });

  it('decodes an array of samples', () => {
    expect(decode(JSON.stringify([valid, { ...valid, channel: 'B' }])).samples.map((s) => s.channel)).toEqual(['1', 'B']);
  });

  it.each([
    ['invalid JSON', '{"pumpId": "P-01",', 'invalid-json'],
    ['a bare NaN', '{"pumpId":"P-01","ts":1,"state":"infusing","rateMlPerH":NaN}', 'invalid-json'],
    ['a number overflowing to Infinity', '{"pumpId":"P-01","ts":1,"state":"infusing","rateMlPerH":1e400}', 'schema'],
    ['a number in a string', JSON.stringify({ ...valid, rateMlPerH: '1.5' }), 'schema'],
    ['an empty drug name', JSON.stringify({ ...valid, drug: { name: '' } }), 'schema'],
    ['a negative rate', JSON.stringify({ ...valid, rateMlPerH: -1 }), 'schema'],
    ['a time without a zone', JSON.stringify({ ...valid, ts: '2026-03-01T10:00:00' }), 'schema'],
    ['an unknown state', JSON.stringify({ ...valid, state: 'running' }), 'schema'],
    ['a pump id with +', JSON.stringify({ ...valid, pumpId: 'P+1' }), 'bad-id'],
    ['a pump id with #', JSON.stringify({ ...valid, pumpId: 'P#1' }), 'bad-id'],
    ['a pump id with /', JSON.stringify({ ...valid, pumpId: 'ward/P1' }), 'bad-id'],
    ['a channel with a NUL', JSON.stringify({ ...valid, channel: 'a\u0000' }), 'bad-id'],
    ['a JSON string', '"hello"', 'not-an-object'],
  ])('rejects %s with reason %s', (_label, frame, reason) => {
    const { samples, rejections } = decode(frame);
    expect(samples).toEqual([]);
    expect(rejections.map((r) => r.reason)).toEqual([reason]);
  });

  it('names the field and the offending value in the rejection detail', () => {
    const { rejections } = decode(JSON.stringify({ ...valid, rateMlPerH: '1.5' }));
    expect(rejections[0]?.detail).toMatch(/^rateMlPerH: .*\(got "1\.5"\)$/);
  });

  it('decodes the first samples of an array over the per-frame limit and refuses only the excess, naming where it cut', () => {
    const frame = JSON.stringify(['P-01', 'P-02', 'P-03', 'P-04'].map((pumpId) => ({ ...valid, pumpId })));
    const { samples, rejections } = decode(frame, 2);
    expect(samples.map((s) => s.pumpId)).toEqual(['P-01', 'P-02']);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]?.reason).toBe('too-many-samples');
    expect(rejections[0]?.detail).toBe('frame holds 4 samples, more than the limit of 2: decoded the first 2, dropped 2 from index 2 (pumpId "P-03" onwards)');
  });

  it('refuses nothing when an array holds exactly the per-frame limit', () => {
    const { samples, rejections } = decode(JSON.stringify([valid, valid]), 2);
    expect(samples).toHaveLength(2);
    expect(rejections).toEqual([]);
  });
});
