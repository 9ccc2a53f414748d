import { describe, expect, it } from 'vitest';
import { createWard, type CreateWardOptions, type SimEmission } from '../../src/simulate/index.js';
import { LABEL_CATEGORY } from '../../src/simulate/labels.js';
import { decodeJsonFrame, type Rejection } from '../../src/telemetry/decode.js';
import type { TelemetrySample, TelemetrySampleInput } from '../../src/telemetry/sample.js';
import { H } from './helpers.js';

function lines(options: CreateWardOptions): string[] {
  return [...createWard(options)].map((emission) => JSON.stringify(emission.sample));
}

function emissions(options: CreateWardOptions): SimEmission[] {
  return [...createWard(options)];
}

describe('Ward', () => {
  it('gives the same bytes for the same seed', () => {
    const options: CreateWardOptions = { family: 'mixed', pumps: 4, seed: 11, durationMs: 3 * H };
    expect(lines(options).join('\n')).toBe(lines(options).join('\n'));
  });

  it('gives different samples for a different seed', () => {
    const base: CreateWardOptions = { family: 'mixed', pumps: 4, durationMs: 1 * H };
    expect(lines({ ...base, seed: 1 }).join('\n')).not.toBe(lines({ ...base, seed: 2 }).join('\n'));
  });

  it('keeps the pumps it already had when the ward grows', () => {
    const small = lines({ family: 'mixed', pumps: 3, seed: 5, durationMs: 2 * H });
    const large = lines({ family: 'mixed', pumps: 6, seed: 5, durationMs: 2 * H });
    const firstThree = new Set(['P01', 'P02', 'P03']);
    expect(large.filter((line) => firstThree.has((JSON.parse(line) as { pumpId: string }).pumpId))).toEqual(small);
  });

  it('emits only samples that telemetry v1 accepts, faults included', () => {
    const rejections: Rejection[] = [];
    const samples: TelemetrySample[] = [];
    for (const family of ['mixed', 'telemetry', 'artefacts'] as const) {
      for (const line of lines({ family, pumps: 4, seed: 3, durationMs: 3 * H })) {
        decodeJsonFrame(line, { sample: (sample) => samples.push(sample), reject: (rejection) => rejections.push(rejection) }, { maxSamplesPerFrame: 1 });
      }
    }
    expect(rejections).toEqual([]);
    expect(samples.length).toBeGreaterThan(5_000);
  });

  it('types its samples as telemetry v1 input', () => {
    const emission = createWard({ family: 'quiet', pumps: 1, durationMs: 60_000 }).next()!;
    const sample: TelemetrySampleInput = emission.sample;
    expect(sample.pumpId).toBe('P01');
  });

  it('hands samples out in arrival order across all channels', () => {
    const all = emissions({ family: 'telemetry', pumps: 5, seed: 9, durationMs: 6 * H });
    expect(all.every((emission, index) => index === 0 || emission.atMs >= all[index - 1]!.atMs)).toBe(true);
  });

  it('reorders, duplicates and drops samples inside their labelled windows', () => {
    const ward = createWard({ family: 'telemetry', pumps: 6, seed: 4, durationMs: 6 * H });
    const byChannel = new Map<string, SimEmission[]>();
    for (const emission of ward) {
      const key = `${emission.sample.pumpId}/${emission.sample.channel}`;
      const stream = byChannel.get(key) ?? [];
      stream.push(emission);
      byChannel.set(key, stream);
    }
    let backwards = 0;
    let repeated = 0;
    let gaps = 0;
    for (const stream of byChannel.values()) {
      stream.forEach((emission, index) => {
        const previous = stream[index - 1]?.sample;
        if (previous === undefined) return;
        if (Date.parse(emission.sample.ts) < Date.parse(previous.ts)) backwards++;
        if (emission.sample.seq === previous.seq) repeated++;
        if (emission.sample.seq > previous.seq + 1) gaps++;
      });
    }
    const kinds = new Set(ward.takeLabels().map((label) => label.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['dropout', 'duplicates', 'reorder']));
    expect(backwards).toBeGreaterThan(0);
    expect(repeated).toBeGreaterThan(0);
    expect(gaps).toBeGreaterThan(0);
  });

  it('completes every label by the end of the run, each with its category', () => {
    const ward = createWard({ family: 'infiltration', pumps: 6, seed: 2, durationMs: 12 * H });
    for (let emission = ward.next(); emission !== undefined; emission = ward.next());
    const labels = ward.takeLabels();
    expect(labels.filter((label) => label.kind === 'infiltration').length).toBeGreaterThan(5);
    expect(labels.every((label) => label.category === LABEL_CATEGORY[label.kind])).toBe(true);
    expect(labels.every((label) => label.endMs === null || label.endMs >= label.onsetMs)).toBe(true);
    expect(labels.filter((label) => label.kind === 'infiltration').every((label) => (label.infiltratedVolumeMl?.length ?? 0) > 0)).toBe(true);
    expect(new Set(labels.map((label) => label.id)).size).toBe(labels.length);
  });

  it('describes the run in its run record', () => {
    const ward = createWard({ family: 'quiet', pumps: 2, channelsPerPump: 2, seed: 7, durationMs: 2 * H });
    const record = ward.runRecord();
    expect(record).toMatchObject({ record: 'run', name: 'quiet', seed: 7, endMs: record.startMs + 2 * H });
    expect(record.channels.map((channel) => `${channel.pumpId}/${channel.channel}`)).toEqual(['P01/1', 'P01/2', 'P02/1', 'P02/2']);
  });

  it('lets a caller look at the next arrival time without taking the sample', () => {
    const ward = createWard({ family: 'quiet', pumps: 2, durationMs: 1 * H });
    const atMs = ward.peekAtMs();
    expect(ward.next()!.atMs).toBe(atMs);
  });
});
