import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import type { HealthReport } from '../../src/ops/health.js';
import { startOpsHttp, type OpsHttpServer } from '../../src/ops/http.js';
import { DaemonMetrics } from '../../src/ops/metrics.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { captureLog } from '../helpers/log-capture.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(server: OpsHttpServer, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: server.host, port: server.port, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const healthy: HealthReport = { ok: true, checks: [{ name: 'detector', ok: true }] };
const notReady: HealthReport = { ok: false, checks: [{ name: 'broker', ok: false, detail: 'alarm connection disconnected' }] };
const servers: OpsHttpServer[] = [];
const metricsToStop: DaemonMetrics[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const metrics of metricsToStop.splice(0)) metrics.stop();
});

async function serve(overrides: { liveness?: () => HealthReport; readiness?: () => HealthReport; metrics?: DaemonMetrics } = {}) {
  const metrics = overrides.metrics ?? new DaemonMetrics();
  metricsToStop.push(metrics);
  const server = await startOpsHttp({
    host: '127.0.0.1',
    port: 0,
    scrape: () => metrics.scrape(),
    liveness: overrides.liveness ?? (() => healthy),
    readiness: overrides.readiness ?? (() => healthy),
    logger: captureLog().logger,
  });
  servers.push(server);
  return { server, metrics };
}

describe('the ops HTTP endpoint', () => {
  it('serves Prometheus text on /metrics', async () => {
    const { server } = await serve();
    const reply = await get(server, '/metrics');
    expect([reply.status, reply.headers['content-type']]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    expect(reply.body).toMatch(/^# TYPE pumpwatch_samples_accepted_total counter$/m);
  });

  it('answers /healthz with 200 and the checks while alive', async () => {
    const { server } = await serve();
    const reply = await get(server, '/healthz');
    expect([reply.status, JSON.parse(reply.body)]).toEqual([200, { status: 'ok', checks: [{ name: 'detector', ok: true }] }]);
  });

  it('answers /readyz with 503 and what is missing while not ready', async () => {
    const { server } = await serve({ readiness: () => notReady });
    const reply = await get(server, '/readyz');
    expect([reply.status, JSON.parse(reply.body)]).toEqual([503, { status: 'failing', checks: notReady.checks }]);
  });

  it('answers /healthz with 503 when liveness fails', async () => {
    const { server } = await serve({ liveness: () => ({ ok: false, checks: [{ name: 'detector', ok: false, detail: 'last tick 30 s ago' }] }) });
    expect((await get(server, '/healthz')).status).toBe(503);
  });

  it('ignores a query string', async () => {
    const { server } = await serve();
    expect((await get(server, '/readyz?verbose=1')).status).toBe(200);
  });

  it('refuses methods other than GET and HEAD', async () => {
    const { server } = await serve();
    const reply = await get(server, '/metrics', 'POST');
    expect([reply.status, reply.headers.allow]).toEqual([405, 'GET, HEAD']);
  });

  it('answers HEAD without a body', async () => {
    const { server } = await serve();
    const reply = await get(server, '/healthz', 'HEAD');
    expect([reply.status, reply.body]).toEqual([200, '']);
  });

  it('says 404 for anything else', async () => {
    const { server } = await serve();
    expect((await get(server, '/')).status).toBe(404);
  });

  it('fails to start, rather than silently not listening, when the port is taken', async () => {
    const { server } = await serve();
    const second = startOpsHttp({ host: '127.0.0.1', port: server.port, scrape: () => Promise.reject(new Error('unused')), liveness: () => healthy, readiness: () => healthy, logger: captureLog().logger });
    await expect(second).rejects.toThrow(/EADDRINUSE/);
  });

  it('answers every scrape while the pipeline is busy with a stream of samples', async () => {
    const metrics = new DaemonMetrics();
    const config = ConfigSchema.parse({});
    const alarms = createAlarmManager({ config, clock: systemClock, sinks: [metrics.alarmEvents] });
    const pipeline = new Pipeline({ config, clock: systemClock, logger: captureLog('warn').logger, alarms });
    const tap = metrics.tapSource('mqtt', { sample: (s) => pipeline.accept(s), reject: (r) => pipeline.reject('mqtt', r) });
    const { server } = await serve({ metrics });
    let running = true;
    let fed = 0;
    const samples: TelemetrySample[] = Array.from({ length: 200 }, (_, pump) => ({
      pumpId: `P${pump}`,
      channel: '1',
      ts: 0,
      state: 'infusing',
      rateMlPerH: 1,
      volumeInfusedMl: 0,
      downstreamPressureMmHg: 20,
    })) as unknown as TelemetrySample[];
    // One message's worth of samples per turn of the loop, as the MQTT source delivers them.
    const feed = () => {
      if (!running) return;
      const ts = Date.now();
      for (const sample of samples) {
        (sample as { ts: number }).ts = ts;
        (sample as { volumeInfusedMl: number }).volumeInfusedMl += 0.001;
        tap.sample(sample);
        fed++;
      }
      setImmediate(feed);
    };
    feed();
    const counts: number[] = [];
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all([get(server, '/metrics'), get(server, '/metrics'), get(server, '/healthz'), get(server, '/readyz')]);
      for (const reply of replies) statuses.push(reply.status);
      const match = /^pumpwatch_samples_accepted_total\{source="mqtt"\} (\d+)$/m.exec(replies[0].body);
      counts.push(Number(match?.[1]));
    }
    running = false;
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(counts.every((count, index) => index === 0 || count >= counts[index - 1]!)).toBe(true);
    expect(counts.at(-1)).toBeGreaterThan(0);
    expect(fed).toBeGreaterThan(counts[0]!);
  });
});
