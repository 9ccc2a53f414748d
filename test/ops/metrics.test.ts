import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import type { LagWindow } from '../../src/ops/event-loop.js';
import { createProcessRegistry, DaemonMetrics, scrapeRegistries, type MetricsProbes } from '../../src/ops/metrics.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

const stillLoop: LagWindow = { maxMs: () => 0, reset: () => undefined, stop: () => undefined };
const sample = { pumpId: 'P1', channel: '1', ts: 0, state: 'infusing' } as unknown as TelemetrySample;
const ignore = { sample: () => undefined, reject: () => undefined };

async function text(metrics: DaemonMetrics): Promise<string> {
  return (await metrics.scrape()).body;
}

function probes(overrides: Partial<MetricsProbes>): MetricsProbes {
  return {
    sources: () => [],
    brokerLinks: () => [],
    activeAlarms: () => [],
    channels: () => ({}),
    journal: () => undefined,
    ready: () => false,
    tlsInsecure: () => false,
    ...overrides,
  };
}

describe('DaemonMetrics', () => {
  it('counts accepted samples per source and still hands them on', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    const received: TelemetrySample[] = [];
    const tap = metrics.tapSource('serial:/dev/ttyUSB0', { sample: (s) => received.push(s), reject: () => undefined });
    tap.sample(sample);
    tap.sample(sample);
    expect(await text(metrics)).toContain('pumpwatch_samples_accepted_total{source="serial:/dev/ttyUSB0"} 2');
    expect(received).toHaveLength(2);
  });

  it('counts rejections by source and reason, showing every reason from zero', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    const tap = metrics.tapSource('mqtt', ignore);
    tap.reject({ reason: 'invalid-json', detail: 'x' });
    const body = await text(metrics);
    expect(body).toContain('pumpwatch_samples_rejected_total{source="mqtt",reason="invalid-json"} 1');
    expect(body).toContain('pumpwatch_samples_rejected_total{source="mqtt",reason="schema"} 0');
  });

  it('keeps each daemon in a registry of its own', async () => {
    const first = new DaemonMetrics({ lag: stillLoop });
    const second = new DaemonMetrics({ lag: stillLoop });
    first.tapSource('mqtt', ignore).sample(sample);
    expect(await text(second)).not.toContain('pumpwatch_samples_accepted_total{source="mqtt"}');
  });

  it('counts alarm events by condition, priority and event', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.alarmEvents.deliver({ condition: 'downstream-occlusion', priority: 'high', event: 'raised' } as AlarmEvent);
    expect(await text(metrics)).toContain('pumpwatch_alarm_events_total{condition="downstream-occlusion",priority="high",event="raised"} 1');
  });

  it('shows each source link state one-hot, with up as 0 or 1', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe(
      probes({ sources: () => [{ name: 'serial:/dev/ttyUSB0', kind: 'serial', state: 'waiting-to-reopen', states: ['open', 'waiting-to-reopen'], up: false }] }),
    );
    const body = await text(metrics);
    expect(body).toContain('pumpwatch_source_up{source="serial:/dev/ttyUSB0",kind="serial"} 0');
    expect(body).toContain('pumpwatch_source_link_state{source="serial:/dev/ttyUSB0",state="waiting-to-reopen"} 1');
    expect(body).toContain('pumpwatch_source_link_state{source="serial:/dev/ttyUSB0",state="open"} 0');
  });

  it('shows each broker connection and its state', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe(probes({ brokerLinks: () => [{ client: 'alarms', state: 'connected', states: ['connecting', 'connected'], connected: true }] }));
    const body = await text(metrics);
    expect(body).toContain('pumpwatch_mqtt_connected{client="alarms"} 1');
    expect(body).toContain('pumpwatch_mqtt_connection_state{client="alarms",state="connecting"} 0');
  });

  it('counts active alarms by condition and priority', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    const occlusion = { condition: 'downstream-occlusion', priority: 'high' } as const;
    metrics.observe(probes({ activeAlarms: () => [occlusion, occlusion, { condition: 'telemetry-lost', priority: 'medium' }] }));
    const body = await text(metrics);
    expect(body).toContain('pumpwatch_alarms_active{condition="downstream-occlusion",priority="high"} 2');
    expect(body).toContain('pumpwatch_alarms_active{condition="telemetry-lost",priority="medium"} 1');
  });

  it('reports the journal backlog, its age in seconds, and what went out before reaching disk', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe(probes({ journal: () => ({ depth: 3, oldestUndeliveredAgeMs: 4500, nonDurableEvents: 7, slowFsyncs: 2 }) }));
    const body = await text(metrics);
    expect(body).toMatch(/^pumpwatch_journal_depth 3$/m);
    expect(body).toMatch(/^pumpwatch_journal_oldest_undelivered_age_seconds 4.5$/m);
    expect(body).toMatch(/^pumpwatch_journal_non_durable_events_total 7$/m);
    expect(body).toMatch(/^pumpwatch_journal_slow_fsyncs_total 2$/m);
  });

  it('puts delivery latency into a histogram in seconds', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.deliveryAcknowledged(30);
    const body = await text(metrics);
    expect(body).toContain('pumpwatch_alarm_delivery_latency_seconds_bucket{le="0.025"} 0');
    expect(body).toContain('pumpwatch_alarm_delivery_latency_seconds_bucket{le="0.05"} 1');
  });

  it('reports the longest event-loop stall since the previous scrape', async () => {
    let stallMs = 1500;
    const metrics = new DaemonMetrics({ lag: { maxMs: () => stallMs, reset: () => (stallMs = 0), stop: () => undefined } });
    expect(await text(metrics)).toMatch(/^pumpwatch_event_loop_lag_seconds 1.5$/m);
    expect(await text(metrics)).toMatch(/^pumpwatch_event_loop_lag_seconds 0$/m);
  });

  it('counts broker connections refused for security reasons', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.connectRefused('alarms', 'broker-certificate-refused');
    expect(await text(metrics)).toContain('pumpwatch_mqtt_connect_refusals_total{client="alarms",kind="broker-certificate-refused"} 1');
  });

  it('flags a configuration with certificate checks off', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    metrics.observe(probes({ tlsInsecure: () => true }));
    expect(await text(metrics)).toMatch(/^pumpwatch_tls_insecure 1$/m);
  });

  it('joins the daemon and process registries into one exposition', async () => {
    const metrics = new DaemonMetrics({ lag: stillLoop });
    const { body } = await scrapeRegistries([metrics.registry, createProcessRegistry()]);
    expect(body).toMatch(/^# TYPE pumpwatch_ready gauge$/m);
    expect(body).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
  });
});
