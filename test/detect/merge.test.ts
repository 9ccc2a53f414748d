import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/alarms/finding.js';
import { FindingMerger } from '../../src/detect/merge.js';

const finding = (active: boolean, source: string, channel = '1'): Finding => ({
  condition: 'downstream-occlusion',
  pumpId: 'P-01',
  channel,
  active,
  atMs: 0,
  evidence: { source },
});

describe('FindingMerger', () => {
  it('raises on the first source and ends only when the last source lets go', () => {
    const out: Finding[] = [];
    const merger = new FindingMerger((f) => out.push(f));
    const pump = merger.source();
    const trend = merger.source();
    trend(finding(true, 'trend'));
    pump(finding(true, 'pump'));
    pump(finding(false, 'pump'));
    expect(out.map((f) => [f.active, f.evidence['source']])).toEqual([[true, 'trend']]);
    trend(finding(false, 'trend'));
    expect(out.map((f) => [f.active, f.evidence['source']])).toEqual([
      [true, 'trend'],
      [false, 'trend'],
    ]);
  });

  it('ignores an end from a source that never raised', () => {
    const out: Finding[] = [];
    const merger = new FindingMerger((f) => out.push(f));
    const pump = merger.source();
    const trend = merger.source();
    pump(finding(true, 'pump'));
    trend(finding(false, 'trend'));
    expect(out).toHaveLength(1);
  });

  it('keeps channels apart', () => {
    const out: Finding[] = [];
    const source = new FindingMerger((f) => out.push(f)).source();
    source(finding(true, 'a', '1'));
    source(finding(true, 'a', '2'));
    expect(out.map((f) => f.channel)).toEqual(['1', '2']);
  });
});
