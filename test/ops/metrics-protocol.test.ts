import { describe, expect, it } from 'vitest';
import { sourceLinkStatus } from '../../src/ops/daemon-ops.js';
import { DaemonMetrics, type MetricsProbes } from '../../src/ops/metrics.js';
import type { ProtocolObservations } from '../../src/protocols/protocol.js';
import type { TelemetrySource } from '../../src/sources/source.js';

const stillLoop = { maxMs: () => 0, reset: () => undefined, stop: () => undefined };

function probes(sources: MetricsProbes['sources']): MetricsProbes {
  return { sources, brokerLinks: () => [], activeAlarms: () => [], channels: () => ({}), journal: () => undefined, ready: () => false, tlsInsecure: () => false };
}

describe('protocol observations as metrics', () => {
  const observations: ProtocolObservations = {
    unknownModes: new Map([['VTB', 3]]),
    variables: new Map([['1', { requested: 'aemdrp', reported: 'aemdr' }]]),
  };

  it('counts unknown mode words and shows which variables each Fresenius module reports, read from the serial source', async () => {
    const source = { name: 'serial:/dev/ttyUSB1', linkState: 'open', protocolObservations: observations } as unknown as TelemetrySource;
    const status = sourceLinkStatus(source);
    expect(status.observations).toBe(observations);
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe(probes(() => [status]));
    const body = (await metrics.scrape()).body;
    expect(body).toContain('pumpwatch_pump_unknown_mode_total{source="serial:/dev/ttyUSB1",mode="VTB"} 3');
    expect(body).toContain('pumpwatch_pump_variable_reported{source="serial:/dev/ttyUSB1",module="1",variable="d"} 1');
    expect(body).toContain('pumpwatch_pump_variable_reported{source="serial:/dev/ttyUSB1",module="1",variable="p"} 0');
  });
});
