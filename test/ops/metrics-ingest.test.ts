import { describe, expect, it } from 'vitest';
import type { LagWindow } from '../../src/ops/event-loop.js';
import { DaemonMetrics, type MetricsProbes } from '../../src/ops/metrics.js';

const stillLoop: LagWindow = { maxMs: () => 0, reset: () => undefined, stop: () => undefined };
const noParts: MetricsProbes = {
  sources: () => [],
  brokerLinks: () => [],
  activeAlarms: () => [],
  channels: () => ({}),
  journal: () => undefined,
  ready: () => false,
  tlsInsecure: () => false,
};

describe('DaemonMetrics and the overload protection', () => {
  it('exposes what reached the detector, shed samples by reason, pending samples, the overloaded flag and the load readings', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe({
      ...noParts,
      ingest: () => ({ overloaded: true, cpuShare: 0.93, utilization: 0.97, demand: 1.4, received: 60_000, processed: 54_185, pending: 812, shed: { conflated: 5000, overflow: 3 }, maxWaitMs: 640 }),
    });
    const { body } = await metrics.scrape();
    expect(body).toContain('pumpwatch_samples_shed_total{reason="conflated"} 5000');
    expect(body).toContain('pumpwatch_samples_shed_total{reason="overflow"} 3');
    expect(body).toContain('pumpwatch_ingest_pending_samples 812');
    expect(body).toContain('pumpwatch_overloaded 1');
    expect(body).toContain('pumpwatch_event_loop_utilization 0.97');
    expect(body).toContain('pumpwatch_cpu_share 0.93');
    expect(body).toContain('pumpwatch_samples_processed_total 54185');
    expect(body).toContain('pumpwatch_ingest_max_wait_seconds 0.64');
  });

});
