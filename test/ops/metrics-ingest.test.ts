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
  it('exposes shed samples by reason, pending samples, the overloaded flag and event-loop utilisation', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe({
      ...noParts,
      ingest: () => ({ overloaded: true, utilization: 0.97, demand: 1.4, pending: 812, shed: { conflated: 5000, overflow: 3 } }),
    });
    const { body } = await metrics.scrape();
    expect(body).toContain('pumpwatch_samples_shed_total{reason="conflated"} 5000');
    expect(body).toContain('pumpwatch_samples_shed_total{reason="overflow"} 3');
    expect(body).toContain('pumpwatch_ingest_pending_samples 812');
    expect(body).toContain('pumpwatch_overloaded 1');
    expect(body).toContain('pumpwatch_event_loop_utilization 0.97');
  });

});
