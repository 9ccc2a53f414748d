import { describe, expect, it } from 'vitest';
import { ConflatingQueue, type ConflatingQueueOptions } from '../../src/ingest/conflate.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

function sample(pumpId: string, ts: number, fields: Partial<TelemetrySample> = {}): TelemetrySample {
  return { pumpId, channel: '1', ts, state: 'infusing', rateMlPerH: 1, ...fields };
}

/** A queue with a hand-cranked scheduler and a clock that each processed sample advances by `costMs`. */
function rig(options: Partial<ConflatingQueueOptions> & { costMs?: number } = {}) {
  const processed: TelemetrySample[] = [];
  const tasks: (() => void)[] = [];
  const errors: unknown[] = [];
  let nowMs = 0;
  const costMs = options.costMs ?? 0;
  const queue = new ConflatingQueue({
    process: (s) => {
      nowMs += costMs;
      processed.push(s);
    },
    maxPending: 100,
    drainBudgetMs: 10,
    monotonic: { elapsedMs: () => nowMs },
    schedule: (task) => tasks.push(task),
    onError: (error) => errors.push(error),
    ...options,
  });
  const runScheduled = () => {
    for (const task of tasks.splice(0)) task();
  };
  return { queue, processed, tasks, errors, runScheduled, seen: () => processed.map((s) => `${s.pumpId}@${s.ts}`) };
}

describe('ConflatingQueue', () => {
  it('hands every sample straight to the pipeline while not conflating', () => {
    const r = rig();
    r.queue.offer(sample('P1', 1));
    r.queue.offer(sample('P1', 2));
    expect(r.seen()).toEqual(['P1@1', 'P1@2']);
    expect(r.tasks).toHaveLength(0);
  });

  it('keeps only the latest sample of each channel while conflating, and counts what it shed', () => {
    const r = rig();
    r.queue.setConflating(true);
    for (let ts = 1; ts <= 3; ts++) {
      r.queue.offer(sample('P1', ts));
      r.queue.offer(sample('P2', ts));
    }
    r.queue.offer(sample('P1', 4, { channel: '2' }));
    expect(r.processed).toEqual([]);
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@3', 'P2@3', 'P1@4']);
    expect(r.queue.shedCount('conflated')).toBe(4);
    expect(r.queue.shedTotal).toBe(4);
  });

  it('never sheds a sample carrying the pump’s own alarm: it is processed before its successor', () => {
    const r = rig();
    r.queue.setConflating(true);
    r.queue.offer(sample('P1', 1, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    r.queue.offer(sample('P1', 2));
    r.queue.offer(sample('P1', 3, { state: 'alarm' }));
    r.queue.offer(sample('P1', 4));
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1', 'P1@3', 'P1@4']);
    expect(r.queue.shedCount('conflated')).toBe(1);
  });

  it('sheds the oldest waiting sample when full, never holding more than maxPending', () => {
    const r = rig({ maxPending: 3 });
    r.queue.setConflating(true);
    for (const pumpId of ['P1', 'P2', 'P3', 'P4', 'P5']) r.queue.offer(sample(pumpId, 1));
    expect(r.queue.pending).toBe(3);
    r.runScheduled();
    expect(r.seen()).toEqual(['P3@1', 'P4@1', 'P5@1']);
    expect(r.queue.shedCount('overflow')).toBe(2);
  });

  it('processes a full queue’s oldest sample instead of shedding it when it carries a pump alarm', () => {
    const r = rig({ maxPending: 2 });
    r.queue.setConflating(true);
    r.queue.offer(sample('P1', 1, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    r.queue.offer(sample('P2', 1));
    r.queue.offer(sample('P3', 1));
    expect(r.seen()).toEqual(['P1@1']);
    expect(r.queue.shedTotal).toBe(0);
  });

  it('processes for at most the budget per slice and schedules the rest after the next socket reads', () => {
    const r = rig({ costMs: 1, drainBudgetMs: 40 });
    r.queue.setConflating(true);
    for (let index = 0; index < 100; index++) r.queue.offer(sample(`P${index}`, 1));
    r.runScheduled();
    // The clock is read every 32 samples: the first look past 40 ms is at 64.
    expect(r.processed).toHaveLength(64);
    expect(r.tasks).toHaveLength(1);
    r.runScheduled();
    expect(r.processed).toHaveLength(100);
    expect(r.tasks).toHaveLength(0);
    expect(r.queue.drained).toEqual({ samples: 100, ms: 100 });
  });

  it('keeps each channel in order after conflating stops: newer samples wait until the queue is empty', () => {
    const r = rig();
    r.queue.setConflating(true);
    r.queue.offer(sample('P1', 1));
    r.queue.setConflating(false);
    r.queue.offer(sample('P2', 1));
    expect(r.processed).toEqual([]);
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1', 'P2@1']);
    r.queue.offer(sample('P1', 2));
    expect(r.seen()).toEqual(['P1@1', 'P2@1', 'P1@2']);
  });

  it('carries on with the next sample when processing one throws', () => {
    const r = rig({
      process: (s) => {
        if (s.pumpId === 'BAD') throw new Error('boom');
        r.processed.push(s);
      },
    });
    r.queue.setConflating(true);
    r.queue.offer(sample('BAD', 1));
    r.queue.offer(sample('P1', 1));
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1']);
    expect(r.errors).toHaveLength(1);
  });

  it('processes everything still waiting on flush', () => {
    const r = rig();
    r.queue.setConflating(true);
    r.queue.offer(sample('P1', 1));
    r.queue.offer(sample('P2', 1));
    r.queue.flush();
    expect(r.seen()).toEqual(['P1@1', 'P2@1']);
    expect(r.queue.pending).toBe(0);
  });
});
