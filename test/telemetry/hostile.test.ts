import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeJsonFrame, jsonDepthExceeds, MAX_JSON_DEPTH, REJECT_REASONS, type Rejection } from '../../src/telemetry/decode.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { runCommand } from '../helpers/cli.js';
import { buildTrace, flat, ramp } from '../detect/trace.js';

function decode(frame: string) {
  const samples: TelemetrySample[] = [];
  const rejections: Rejection[] = [];
  decodeJsonFrame(frame, { sample: (s) => samples.push(s), reject: (r) => rejections.push(r) }, { maxSamplesPerFrame: 100 });
  return { samples, rejections };
}

const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const valid = { pumpId: 'P-01', ts: '2026-03-01T10:00:00.000Z', state: 'infusing', rateMlPerH: 1 };

describe('hostile JSON is a counted reject, never a crash', () => {
  it.each([
    ['100k nested arrays', nestedArrays(100_000)],
    ['100k nested objects', nestedObjects(100_000)],
    ['a sample whose pumpId holds 100k nested arrays', `{"pumpId":${nestedArrays(100_000)},"ts":1,"state":"infusing"}`],
    ['an array of samples one level too deep', `[${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}]`],
  ])('refuses %s as too-deep', (_label, frame) => {
    const { samples, rejections } = decode(frame);
    expect(samples).toEqual([]);
    expect(rejections.map((r) => r.reason)).toEqual(['too-deep']);
    expect(rejections[0]?.detail).toContain(`deeper than ${MAX_JSON_DEPTH}`);
  });

  it('still reads brackets inside strings as text', () => {
    const { samples } = decode(JSON.stringify({ ...valid, drug: { name: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[calcium' } }));
    expect(samples).toHaveLength(1);
  });

  it('measures depth exactly at the limit, however many brackets sit beside or inside strings', () => {
    for (const extra of [0, 1, 40]) {
      const beside = (depth: number) => `[${'[]'.repeat(extra)}${nestedArrays(depth - 1)}]`;
      const quoted = (depth: number) => `${'{"a":'.repeat(depth)}"${'{['.repeat(extra)}"${'}'.repeat(depth)}`;
      for (const shape of [nestedArrays, nestedObjects, beside, quoted]) {
        expect(jsonDepthExceeds(shape(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
        expect(jsonDepthExceeds(shape(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
      }
    }
    const frameOf100 = JSON.stringify(Array.from({ length: 100 }, () => ({ ...valid, drug: { name: 'calcium gluconate' }, pumpAlarms: ['A'] })));
    expect(jsonDepthExceeds(frameOf100, MAX_JSON_DEPTH)).toBe(false);
  });

  it('says a missing pumpId is missing (missing-id), and a malformed one is bad-id', () => {
    const withoutId: Partial<typeof valid> = { ...valid };
    delete withoutId.pumpId;
    expect(decode(JSON.stringify(withoutId)).rejections.map((r) => [r.reason, r.detail])).toEqual([['missing-id', 'pumpId: Invalid input: expected string, received undefined (got missing)']]);
    expect(decode(JSON.stringify({ ...valid, pumpId: 'a/b' })).rejections[0]?.reason).toBe('bad-id');
  });

  it('property: any nesting of arrays and objects, at any depth, is decoded or refused with a known reason, never thrown', () => {
    const reasons = new Set<string>(REJECT_REASONS);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.boolean(), (depth, pattern, wrapInSample) => {
        let inner = '1';
        for (let level = 0; level < depth; level++) inner = pattern[level % pattern.length] ? `[${inner}]` : `{"k":${inner}}`;
        const frame = wrapInSample ? `{"pumpId":"P","ts":1,"state":"infusing","drug":${inner}}` : inner;
        const { rejections, samples } = decode(frame);
        expect(samples.length + rejections.length).toBeGreaterThan(0);
        for (const rejection of rejections) expect(reasons.has(rejection.reason)).toBe(true);
        expect(rejections.some((r) => r.reason === 'too-deep')).toBe(jsonDepthExceeds(frame, MAX_JSON_DEPTH));
      }),
      { numRuns: 300 },
    );
  });
});

describe('pumpwatch replay of a file with a 100k-deep line', () => {
  it('exits 0, counts the line as too-deep, and writes byte-identical alarms for the good lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pumpwatch-deep-'));
    try {
      const samples = buildTrace([{ seconds: 25 * 60, pressure: flat(8) }, { seconds: 12 * 60, pressure: ramp(8, 500) }], { rateMlPerH: 1, noiseMmHg: 1, quantumMmHg: 1 });
      const good = samples.map((sample) => JSON.stringify(sample));
      const hostile = [...good.slice(0, 100), nestedArrays(100_000), ...good.slice(100)];
      await writeFile(join(dir, 'good.jsonl'), `${good.join('\n')}\n`);
      await writeFile(join(dir, 'hostile.jsonl'), `${hostile.join('\n')}\n`);
      const clean = await runCommand(['replay', join(dir, 'good.jsonl')]);
      const dirty = await runCommand(['replay', join(dir, 'hostile.jsonl')]);
      expect(dirty.code).toBe(0);
      expect(dirty.stderr).toContain('too-deep=1');
      expect(clean.stdout).toContain('"downstream-occlusion"');
      expect(dirty.stdout).toBe(clean.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
