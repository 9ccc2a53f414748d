import { describe, expect, it } from 'vitest';
import { BacklogQueue, type BacklogQueueOptions } from '../../src/ingest/queue.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

function sample(pumpId: string, ts: number, fields: Partial<TelemetrySample> = {}): TelemetrySample {
  return { pumpId, channel: '1', ts, state: 'infusing', rateMlPerH: 1, ...fields };
}

/** A queue with a hand-cranked scheduler and a clock that each processed sample advances by `costMs`. */
function rig(options: Partial<BacklogQueueOptions> & { costMs?: number } = {}) {
  const processed: TelemetrySample[] = [];
  const tasks: (() => void)[] = [];
  const errors: unknown[] = [];
  const clock = { nowMs: 0 };
  const costMs = options.costMs ?? 0;
  const queue = new BacklogQueue({
    process: (s) => {
      clock.nowMs += costMs;
      processed.push(s);
    },
    maxPending: 100,
    maxDelayMs: 500,
    sliceMs: 50,
    monotonic: { elapsedMs: () => clock.nowMs },
    schedule: (task) => tasks.push(task),
    onError: (error) => errors.push(error),
    ...options,
  });
  const runScheduled = () => {
    for (const task of tasks.splice(0)) task();
  };
  return { queue, processed, tasks, errors, clock, runScheduled, seen: () => processed.map((s) => `${s.pumpId}@${s.ts}`) };
}

describe('BacklogQueue', () => {
  it('hands every sample straight to the pipeline while not queueing', () => {
    const r = rig();
    r.queue.offer(sample('P1', 1));
    r.queue.offer(sample('P1', 2));
    expect(r.seen()).toEqual(['P1@1', 'P1@2']);
    expect(r.tasks).toHaveLength(0);
    expect(r.queue.processed).toBe(2);
  });

  it('while queueing, processes every sample it keeps up with, in order, shedding none', () => {
    const r = rig();
    r.queue.setQueueing(true);
    for (let ts = 1; ts <= 3; ts++) {
      r.queue.offer(sample('P1', ts));
      r.queue.offer(sample('P2', ts));
    }
    expect(r.processed).toEqual([]);
    expect(r.queue.pending).toBe(6);
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1', 'P2@1', 'P1@2', 'P2@2', 'P1@3', 'P2@3']);
    expect(r.queue.shedTotal).toBe(0);
    expect(r.queue.processed).toBe(6);
  });

  it('sheds only samples that waited past maxDelay with a newer sample of their channel behind them, oldest first', () => {
    const r = rig({ maxDelayMs: 100 });
    r.queue.setQueueing(true);
    r.queue.offer(sample('P1', 1));
    r.queue.offer(sample('P2', 1));
    r.queue.offer(sample('P1', 2));
    // The process was held up (descheduled, a long GC) for longer than maxDelay before the drain ran.
    r.clock.nowMs += 150;
    r.queue.offer(sample('P1', 3));
    r.runScheduled();
    // P1@1 and P1@2 had newer P1 samples waiting: shed. P2@1 is its channel's newest: judged.
    expect(r.seen()).toEqual(['P2@1', 'P1@3']);
    expect(r.queue.shedCount('conflated')).toBe(2);
    expect(r.queue.takeMaxWaitMs()).toBe(150);
    expect(r.queue.takeMaxWaitMs()).toBe(0);
  });

  it('never sheds a stale sample carrying the pump’s own alarm', () => {
    const r = rig({ maxDelayMs: 100 });
    r.queue.setQueueing(true);
    r.queue.offer(sample('P1', 1, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    r.queue.offer(sample('P1', 2));
    r.queue.offer(sample('P1', 3, { state: 'alarm' }));
    r.queue.offer(sample('P1', 4));
    r.clock.nowMs += 1000;
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1', 'P1@3', 'P1@4']);
    expect(r.queue.shedCount('conflated')).toBe(1);
  });

  it('stamps arrival when the queue wakes, so a sample after a quiet spell is not taken for stale', () => {
    const r = rig({ maxDelayMs: 100 });
    r.queue.setQueueing(true);
    r.clock.nowMs = 10_000;
    r.queue.offer(sample('P1', 1));
    r.queue.offer(sample('P1', 2));
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1', 'P1@2']);
  });

  it('sheds the oldest waiting sample when full, never holding more than maxPending', () => {
    const r = rig({ maxPending: 3 });
    r.queue.setQueueing(true);
    for (const pumpId of ['P1', 'P2', 'P3', 'P4', 'P5']) r.queue.offer(sample(pumpId, 1));
    expect(r.queue.pending).toBe(3);
    r.runScheduled();
    expect(r.seen()).toEqual(['P3@1', 'P4@1', 'P5@1']);
    expect(r.queue.shedCount('overflow')).toBe(2);
  });

  it('processes a full queue’s oldest sample instead of shedding it when it carries a pump alarm', () => {
    const r = rig({ maxPending: 2 });
    r.queue.setQueueing(true);
    r.queue.offer(sample('P1', 1, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    r.queue.offer(sample('P2', 1));
    r.queue.offer(sample('P3', 1));
    expect(r.seen()).toEqual(['P1@1']);
    expect(r.queue.shedTotal).toBe(0);
  });

  it('processes for at most a slice, then lets the loop read its sockets and carries on after', () => {
    const r = rig({ costMs: 1, sliceMs: 40 });
    r.queue.setQueueing(true);
    for (let index = 0; index < 100; index++) r.queue.offer(sample(`P${index}`, 1));
    r.runScheduled();
    // The clock is read every 32 samples: the first look past 40 ms is at 64.
    expect(r.processed).toHaveLength(64);
    expect(r.tasks).toHaveLength(1);
    r.runScheduled();
    expect(r.processed).toHaveLength(100);
    expect(r.tasks).toHaveLength(0);
    expect(r.queue.drained).toEqual({ samples: 100, ms: 100 });
    expect(r.queue.shedTotal).toBe(0);
  });

  it('keeps each channel in order after queueing stops: newer samples wait until the queue is empty', () => {
    const r = rig();
    r.queue.setQueueing(true);
    r.queue.offer(sample('P1', 1));
    r.queue.setQueueing(false);
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
    r.queue.setQueueing(true);
    r.queue.offer(sample('BAD', 1));
    r.queue.offer(sample('P1', 1));
    r.runScheduled();
    expect(r.seen()).toEqual(['P1@1']);
    expect(r.errors).toHaveLength(1);
  });

  it('processes everything still waiting on flush', () => {
    const r = rig();
    r.queue.setQueueing(true);
    r.queue.offer(sample('P1', 1));
    r.queue.offer(sample('P2', 1));
    r.queue.flush();
    expect(r.seen()).toEqual(['P1@1', 'P2@1']);
    expect(r.queue.pending).toBe(0);
    expect(r.queue.processed).toBe(2);
  });
});

describe('BacklogQueue under random load', () => {
  it('loses nothing, sheds no pump alarm and keeps each channel in order: every sample is processed or counted as shed, once', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const r = rig({ maxPending: 50, maxDelayMs: 20, sliceMs: 5, costMs: 0.1 });
    const lastTs = new Map<string, number>();
    let offered = 0;
    let alarms = 0;
    for (let round = 0; round < 2000; round++) {
      const roll = random();
      if (roll < 0.02) r.queue.setQueueing(!r.queue.queueing);
      else if (roll < 0.3) r.runScheduled();
      else if (roll < 0.35) r.clock.nowMs += random() * 50;
      else {
        const pumpId = `P${Math.floor(random() * 8)}`;
        const alarm = random() < 0.05;
        r.queue.offer(sample(pumpId, round, alarm ? { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] } : {}));
        offered++;
        if (alarm) alarms++;
      }
      expect(r.queue.processed + r.queue.shedTotal + r.queue.pending).toBe(offered);
      expect(r.queue.pending).toBeLessThanOrEqual(50);
    }
    r.queue.flush();
    expect(r.queue.processed + r.queue.shedTotal).toBe(offered);
    expect(r.processed).toHaveLength(r.queue.processed);
    for (const s of r.processed) {
      expect(s.ts).toBeGreaterThan(lastTs.get(s.pumpId) ?? -1);
      lastTs.set(s.pumpId, s.ts);
    }
    expect(r.processed.filter((s) => s.pumpAlarms !== undefined)).toHaveLength(alarms);
    expect(alarms).toBeGreaterThan(0);
    expect(r.queue.shedTotal).toBeGreaterThan(0);
    expect(r.errors).toEqual([]);
  });
});
