import { describe, expect, it } from 'vitest';
import type { TechnicalReport } from '../../src/alarms/manager.js';
import { IngestGuard, LOAD_WINDOW_MS, type IngestGuardRuntime } from '../../src/ingest/guard.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { captureLog } from '../helpers/log-capture.js';

/** A guard whose event-loop utilisation, clock, scheduler and window timer the test drives. */
function rig() {
  let utilization = 0;
  let nowMs = 0;
  const tasks: (() => void)[] = [];
  let observe: () => void = () => undefined;
  let timerStopped = false;
  const runtime: IngestGuardRuntime = {
    utilization: () => utilization,
    monotonic: { elapsedMs: () => nowMs },
    schedule: (task) => tasks.push(task),
    timers: {
      setInterval: (callback) => {
        observe = callback;
        return 1;
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
    settings: { enterUtilization: 0.9, enterAfterSeconds: 1, exitUtilization: 0.7, exitAfterSeconds: 2, maxPendingSamples: 1000 },
    process: (sample) => processed.push(sample),
    report: (report) => reports.push(report),
    logger: log.logger,
    runtime,
  });
  const windows = (count: number, busy: number) => {
    for (let index = 0; index < count; index++) {
      utilization = busy;
      nowMs += LOAD_WINDOW_MS;
      observe();
    }
  };
  const offer = (pumpId: string, ts: number) => guard.offer({ pumpId, channel: '1', ts, state: 'infusing' });
  const drain = () => {
    for (const task of tasks.splice(0)) task();
  };
  return { guard, processed, reports, log, windows, offer, drain, timerStopped: () => timerStopped };
}

describe('IngestGuard', () => {
  it('passes samples straight through under normal load', () => {
    const r = rig();
    r.windows(10, 0.5);
    r.offer('P1', 1);
    r.offer('P1', 2);
    expect(r.processed.map((s) => s.ts)).toEqual([1, 2]);
    expect(r.guard.status()).toMatchObject({ overloaded: false, pending: 0, shed: { conflated: 0, overflow: 0 } });
  });

  it('conflates per channel once overloaded, raises the alarm, and logs it with a code', () => {
    const r = rig();
    r.windows(2, 0.95);
    expect(r.reports.map((report) => [report.condition, report.active])).toEqual([['overloaded', true]]);
    for (let ts = 1; ts <= 5; ts++) r.offer('P1', ts);
    r.drain();
    expect(r.processed.map((s) => s.ts)).toEqual([5]);
    expect(r.guard.status()).toMatchObject({ overloaded: true, shed: { conflated: 4, overflow: 0 } });
    expect(r.log.withCode('PW_OVERLOADED')).toHaveLength(1);
  });

  it('goes back to processing every sample, and ends the alarm, once demand has stayed low', () => {
    const r = rig();
    r.windows(2, 0.95);
    r.windows(4, 0.1);
    expect(r.reports.map((report) => [report.condition, report.active])).toEqual([
      ['overloaded', true],
      ['overloaded', false],
    ]);
    r.offer('P1', 1);
    expect(r.processed).toHaveLength(1);
  });

  it('processes what still waits on stop, and stops its window timer', () => {
    const r = rig();
    r.windows(2, 0.95);
    r.offer('P1', 1);
    r.offer('P2', 1);
    r.guard.stop();
    expect(r.processed.map((s) => s.pumpId)).toEqual(['P1', 'P2']);
    expect(r.timerStopped()).toBe(true);
  });
});
