import { describe, expect, it } from 'vitest';
import type { TechnicalReport } from '../../src/alarms/manager.js';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { IngestGuard, LOAD_WINDOW_MS, loadBetween, readLoadCounters, type IngestGuardRuntime, type OverloadConfig } from '../../src/ingest/guard.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { captureLog } from '../helpers/log-capture.js';

/** A guard whose load readings, clock, scheduler and window timer the test drives. */
function rig(overrides: Partial<OverloadConfig> = {}) {
  let load = { cpuShare: 0, utilization: 0 };
  let nowMs = 0;
  const tasks: (() => void)[] = [];
  let observe: () => void = () => undefined;
  let timerStopped = false;
  const runtime: IngestGuardRuntime = {
    load: () => load,
    monotonic: { elapsedMs: () => nowMs },
    schedule: (task) => tasks.push(task),
    timers: {
      setInterval: (callback) => {
        observe = callback;
        return 'load-window';
      },
      clearInterval: () => {
        timerStopped = true;
      },
    },
  };
  const processed: TelemetrySample[] = [];
  const reports: TechnicalReport[] = [];
  const log = captureLog('info');
  const guard = new IngestGuard({
    settings: { shedding: 'auto', enterCpuShare: 0.9, enterAfterSeconds: 1, exitCpuShare: 0.7, exitAfterSeconds: 2, maxDelaySeconds: 0.5, maxPendingSamples: 1000, ...overrides },
    process: (sample) => processed.push(sample),
    report: (report) => reports.push(report),
    logger: log.logger,
    runtime,
  });
  const windows = (count: number, reading: { cpuShare: number; utilization?: number }) => {
    for (let index = 0; index < count; index++) {
      load = { utilization: reading.cpuShare, ...reading };
      nowMs += LOAD_WINDOW_MS;
      observe();
    }
  };
  const offer = (pumpId: string, ts: number) => guard.offer({ pumpId, channel: '1', ts, state: 'infusing' });
  const drain = () => {
    for (const task of tasks.splice(0)) task();
  };
  const advance = (ms: number) => {
    nowMs += ms;
  };
  return { guard, processed, reports, log, windows, offer, drain, advance, timerStopped: () => timerStopped };
}

describe('IngestGuard', () => {
  it('passes samples straight through under normal load', () => {
    const r = rig();
    r.windows(10, { cpuShare: 0.5 });
    r.offer('P1', 1);
    r.offer('P1', 2);
    expect(r.processed.map((s) => s.ts)).toEqual([1, 2]);
    expect(r.guard.status()).toMatchObject({ overloaded: false, received: 2, processed: 2, pending: 0, shed: { conflated: 0, overflow: 0 } });
  });

  it('does not trip when the event loop looks busy only because the process waits for a core', () => {
    const r = rig();
    // A descheduled process: wall-clock utilisation 1.0, its own thread at a third of a core.
    r.windows(20, { cpuShare: 0.33, utilization: 1 });
    expect(r.reports).toEqual([]);
    r.offer('P1', 1);
    expect(r.processed).toHaveLength(1);
  });

  it('once its own thread is near a full core: raises the alarm, logs it, and queues without shedding what it keeps up with', () => {
    const r = rig();
    r.windows(2, { cpuShare: 0.97 });
    expect(r.reports.map((report) => [report.condition, report.active])).toEqual([['overloaded', true]]);
    expect(r.log.withCode('PW_OVERLOADED')).toHaveLength(1);
    for (let ts = 1; ts <= 5; ts++) r.offer('P1', ts);
    expect(r.guard.status()).toMatchObject({ overloaded: true, received: 5, processed: 0, pending: 5 });
    r.drain();
    expect(r.processed.map((s) => s.ts)).toEqual([1, 2, 3, 4, 5]);
    expect(r.guard.status()).toMatchObject({ processed: 5, pending: 0, shed: { conflated: 0, overflow: 0 } });
  });

  it('sheds, oldest first per channel, only what waited past maxDelay', () => {
    const r = rig();
    r.windows(2, { cpuShare: 0.97 });
    for (let ts = 1; ts <= 5; ts++) r.offer('P1', ts);
    r.offer('P2', 1);
    r.advance(600);
    r.drain();
    expect(r.processed.map((s) => `${s.pumpId}@${s.ts}`)).toEqual(['P1@5', 'P2@1']);
    r.windows(1, { cpuShare: 0.97 });
    expect(r.guard.status()).toMatchObject({ received: 6, processed: 2, pending: 0, shed: { conflated: 4, overflow: 0 }, maxWaitMs: 600 });
  });

  it('with shedding off, raises the alarm but never queues nor sheds', () => {
    const r = rig({ shedding: 'off' });
    r.windows(2, { cpuShare: 0.97 });
    expect(r.reports.map((report) => [report.condition, report.active])).toEqual([['overloaded', true]]);
    for (let ts = 1; ts <= 5; ts++) r.offer('P1', ts);
    expect(r.processed.map((s) => s.ts)).toEqual([1, 2, 3, 4, 5]);
    expect(r.guard.status()).toMatchObject({ overloaded: true, pending: 0, shed: { conflated: 0, overflow: 0 } });
  });

  it('goes back to straight-through, and ends the alarm, once demand has stayed low', () => {
    const r = rig();
    r.windows(2, { cpuShare: 0.95 });
    r.windows(4, { cpuShare: 0.1 });
    expect(r.reports.map((report) => [report.condition, report.active])).toEqual([
      ['overloaded', true],
      ['overloaded', false],
    ]);
    r.offer('P1', 1);
    expect(r.processed).toHaveLength(1);
  });

  it('processes what still waits on stop, and stops its window timer', () => {
    const r = rig();
    r.windows(2, { cpuShare: 0.95 });
    r.offer('P1', 1);
    r.offer('P2', 1);
    r.guard.stop();
    expect(r.processed.map((s) => s.pumpId)).toEqual(['P1', 'P2']);
    expect(r.timerStopped()).toBe(true);
  });
});

describe('loadBetween', () => {
  const at = (cpuMicros: number, wallMs: number, loopActiveMs: number, threadOnly: boolean) => ({ cpuMicros, wallMs, loopActiveMs, loopIdleMs: wallMs - loopActiveMs, threadOnly });

  it('reads a descheduled process as lightly loaded although its event loop looks fully busy', () => {
    // 1 s of wall clock, the loop "active" throughout, but the thread ran for 300 ms of it.
    expect(loadBetween(at(0, 0, 0, true), at(300_000, 1000, 1000, true))).toEqual({ cpuShare: 0.3, utilization: 1 });
  });

  it('caps the whole process’s CPU time (helper threads included) by event-loop utilisation', () => {
    // 0.9 core of process CPU, but the loop was busy only 60 % of the time: GC threads did the rest.
    expect(loadBetween(at(0, 0, 0, false), at(900_000, 1000, 600, false)).cpuShare).toBeCloseTo(0.6);
    expect(loadBetween(at(0, 0, 0, false), at(400_000, 1000, 1000, false)).cpuShare).toBeCloseTo(0.4);
  });

  it('reads nothing from an empty window', () => {
    expect(loadBetween(at(5, 10, 5, true), at(5, 10, 5, true))).toEqual({ cpuShare: 0, utilization: 0 });
  });
});

describe('readLoadCounters', () => {
  it('reads counters that only move forward', () => {
    const first = readLoadCounters();
    let spin = 0;
    for (let index = 0; index < 1e7; index++) spin += index;
    const second = readLoadCounters();
    expect(spin).toBeGreaterThan(0);
    expect(second.cpuMicros).toBeGreaterThan(first.cpuMicros);
    expect(second.wallMs).toBeGreaterThan(first.wallMs);
    expect(second.loopActiveMs + second.loopIdleMs).toBeGreaterThanOrEqual(first.loopActiveMs + first.loopIdleMs);
  });
});

describe('IngestGuard accounting with the pipeline behind it', () => {
  it('accounts for every sample taken in: reached the detector + shed + pending (held by the time guard too) + refused for its time', () => {
    const config = ConfigSchema.parse({});
    const clock = createSettableClock(1_700_000_000_000);
    const t0 = clock.now();
    const log = captureLog('info');
    let timeRefused = 0;
    const pipeline = new Pipeline({ config, clock, logger: log.logger, alarms: createAlarmManager({ config, clock, sinks: [] }), onTimeReject: () => timeRefused++ });
    const guard = new IngestGuard({
      settings: config.overload,
      process: (sample) => pipeline.accept(sample),
      downstream: { detected: () => pipeline.acceptedCount, held: () => pipeline.heldSampleCount },
      report: () => undefined,
      logger: log.logger,
      runtime: { load: () => ({ cpuShare: 0, utilization: 0 }), monotonic: { elapsedMs: () => 0 }, schedule: () => undefined, timers: { setInterval: () => 'window', clearInterval: () => undefined } },
    });
    const offer = (ts: number) => guard.offer({ pumpId: 'P1', channel: '1', ts, state: 'infusing', rateMlPerH: 1 });
    const account = () => {
      const { received, processed, pending, shed } = guard.status();
      return { received, processed, pending, shed: shed.conflated + shed.overflow, timeRefused };
    };
    offer(t0);
    offer(t0 + 1000);
    // Older than the channel's last sample: held, in case the pump's clock jumped.
    offer(t0 + 500);
    expect(account()).toEqual({ received: 3, processed: 2, pending: 1, shed: 0, timeRefused: 0 });
    // Back in order: the held one was an outlier and is refused.
    offer(t0 + 2000);
    expect(account()).toEqual({ received: 4, processed: 3, pending: 0, shed: 0, timeRefused: 1 });
    // A day ahead of the gateway clock: held; retiring the channel refuses it rather than dropping it unseen.
    offer(t0 + 86_400_000);
    expect(account()).toEqual({ received: 5, processed: 3, pending: 1, shed: 0, timeRefused: 1 });
    expect(pipeline.retire('P1', '1', 'station-1')).toBe(true);
    expect(account()).toEqual({ received: 5, processed: 3, pending: 0, shed: 0, timeRefused: 2 });
    expect(pipeline.rejects.totals()).toEqual({ 'out-of-order': 1, 'time-future': 1 });
  });
});
