import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AckHandler } from '../../src/alarms/ack.js';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { Roster } from '../../src/alarms/roster.js';
import { systemClock } from '../../src/clock.js';
import { loadConfigText, type LoadedConfig } from '../../src/config/load.js';
import { SHED_REASONS } from '../../src/ingest/queue.js';
import { startOpsHttp, type OpsHttpServer } from '../../src/ops/http.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import { createWardPage } from '../../src/web/page.js';
import type { WardRoutes } from '../../src/web/server.js';
import { captureLog } from '../helpers/log-capture.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(server: OpsHttpServer, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      const done = () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        // An event stream never ends: its first frame is enough.
        if (String(response.headers['content-type']).startsWith('text/event-stream') && chunks.join('').includes('\n\n')) {
          done();
          response.destroy();
        }
      });
      response.on('end', done);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const PASSWORD = 'mqtt-password-that-must-never-show';
const TOKEN = 'ward-token-0123456789abcdef';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function secretFile(directory: string, name: string, text: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, `${text}\n`);
  await chmod(path, 0o600);
  return path;
}

async function load(yamlLines: string[]): Promise<{ loaded?: LoadedConfig; problems?: string[]; directory: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-web-config-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  const password = await secretFile(directory, 'mqtt-password', PASSWORD);
  const token = await secretFile(directory, 'web-token', TOKEN);
  const text = yamlLines.join('\n').replace('$PASSWORD_FILE', password).replace('$TOKEN_FILE', token);
  const result = await loadConfigText(text, 'test.yaml', {});
  return result.ok ? { loaded: result.value, directory } : { problems: result.problems, directory };
}

/** The page as the daemon composes it, on a real pipeline and ack handler, on the ops HTTP server. */
async function servePage(loaded: LoadedConfig) {
  const { config } = loaded;
  const logger = captureLog('warn').logger;
  const events: AlarmEvent[] = [];
  const roster = new Roster(config.roster);
  const alarms = createAlarmManager({ config, clock: systemClock, roster, sinks: [{ deliver: (event) => events.push(event) }] });
  const pipeline = new Pipeline({ config, clock: systemClock, logger, alarms, trace: config.ops.http.web });
  const acks = new AckHandler({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    acknowledge: (alarmId, by, at) => pipeline.alarms.acknowledge(alarmId, by, at),
    logger,
    clock: systemClock,
  });
  const page: WardRoutes = createWardPage({
    config,
    token: loaded.secrets.webToken,
    clock: systemClock,
    logger,
    pipeline,
    publisher: { connectionState: 'connected' },
    sources: [],
    journal: () => ({ depth: 0, oldestUndeliveredAgeMs: undefined, nonDurableEvents: 0, slowFsyncs: 0 }),
    ingest: () => ({ overloaded: false, cpuShare: 0.1, utilization: 0.1, demand: 0.1, received: 0, processed: 0, pending: 0, maxWaitMs: 0, shed: Object.fromEntries(SHED_REASONS.map((reason) => [reason, 0])) as never }),
    acks,
    roster,
  });
  const server = await startOpsHttp({
    host: config.ops.http.host,
    port: 0,
    scrape: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: '# metrics\n' }),
    liveness: () => ({ ok: true, checks: [] }),
    readiness: () => ({ ok: true, checks: [] }),
    web: page,
    logger,
  });
  cleanups.push(() => server.close(), () => page.stop());
  const occlusion = () => {
    pipeline.accept({ pumpId: 'NICU-07', channel: '1', ts: Date.now(), state: 'alarm', rateMlPerH: 2, downstreamPressureMmHg: 410, pumpAlarms: ['OCCLUSION_DOWNSTREAM'], drug: { name: 'calcium gluconate' } });
    return pipeline.alarms.activeAlarms().find((alarm) => alarm.condition === 'downstream-occlusion')!;
  };
  return { server, pipeline, events, occlusion };
}

describe('the ward page beyond loopback', () => {
  it('is refused by the configuration without a token file', async () => {
    const { problems } = await load(['gateway: { id: gw-1 }', 'ops: { http: { host: 0.0.0.0 } }']);
    expect(problems?.join('\n')).toMatch(/ops\.http\.web\.tokenFile.*beyond loopback \(host 0\.0\.0\.0\)/);
    const loopback = await load(['gateway: { id: gw-1 }', 'ops: { http: { host: 127.0.0.1 } }']);
    expect(loopback.problems).toBeUndefined();
    const pageOff = await load(['gateway: { id: gw-1 }', 'ops: { http: { host: 0.0.0.0, web: { enabled: false } } }']);
    expect(pageOff.problems).toBeUndefined();
  });

  it('refuses a short token', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-web-short-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const token = await secretFile(directory, 'short', 'abc123');
    const result = await loadConfigText(`gateway: { id: gw-1 }\nops: { http: { host: 0.0.0.0, web: { tokenFile: ${token} } } }`, 'test.yaml', {});
    expect(result.ok ? [] : result.problems).toEqual([expect.stringMatching(/tokenFile: the token is 6 characters; use at least 16/)]);
  });

  it('answers every page path with 401 without the token, and serves it with the token (header or sign-in cookie)', async () => {
    const { loaded } = await load(['gateway: { id: gw-1 }', 'ops: { http: { host: 0.0.0.0, web: { tokenFile: $TOKEN_FILE } } }']);
    const { server } = await servePage(loaded!);
    expect(server.host).toBe('0.0.0.0');
    for (const path of ['/', '/assets/app.js', '/assets/uPlot.iife.min.js', '/api/state', '/api/events', '/api/channel?pumpId=a&channel=1']) {
      const anonymous = await call(server, path);
      expect([path, anonymous.status]).toEqual([path, 401]);
      expect(anonymous.body).not.toContain('pumpwatch_token=');
      const wrong = await call(server, path, { headers: { Authorization: 'Bearer ward-token-0123456789abcdeX' } });
      expect([path, wrong.status]).toEqual([path, 401]);
    }
    const withHeader = await call(server, '/api/state', { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(withHeader.status).toBe(200);

    const refused = await call(server, '/login', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=guess' });
    expect(refused.status).toBe(401);
    expect(refused.headers['set-cookie']).toBeUndefined();
    const signedIn = await call(server, '/login', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
    expect(signedIn.status).toBe(303);
    const cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;
    expect(String(signedIn.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await call(server, '/', { headers: { Cookie: cookie } });
    expect([page.status, page.body.includes('<table class="pw-ward">')]).toEqual([200, true]);
    // The metrics and health endpoints keep their documented behaviour (no token; management network).
    expect((await call(server, '/metrics')).status).toBe(200);
  });
});

describe('what the page exposes', () => {
  it('never the MQTT password, the token or other configuration, on any page path', async () => {
    const { loaded } = await load([
      'gateway: { id: gw-1 }',
      'mqtt: { username: pumpwatch, passwordFile: $PASSWORD_FILE }',
      'ops: { http: { host: 127.0.0.1, web: { tokenFile: $TOKEN_FILE } } }',
    ]);
    expect(loaded!.secrets.mqttPassword).toBe(PASSWORD);
    const { server, occlusion } = await servePage(loaded!);
    occlusion();
    const headers = { Authorization: `Bearer ${TOKEN}` };
    const bodies: string[] = [];
    for (const path of ['/', '/assets/app.js', '/assets/chart.js', '/assets/ward.css', '/api/state', '/api/events', '/api/channel?pumpId=NICU-07&channel=1', '/login', '/nope']) {
      const reply = await call(server, path, { headers });
      bodies.push(`${JSON.stringify(reply.headers)}\n${reply.body}`);
    }
    const all = bodies.join('\n');
    expect(all).toContain('NICU-07');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('passwordFile');
    expect(all).not.toContain('pumpwatch"'); // the MQTT username
  });

  it('shows the roster bed on channel rows and alarms, but never the patient reference', async () => {
    const { loaded } = await load(['gateway: { id: gw-1 }', 'roster: [{ pumpId: NICU-07, bed: "Bed 4", patientRef: MRN-SECRET-77 }]']);
    const { server, occlusion } = await servePage(loaded!);
    occlusion();
    const state = JSON.parse((await call(server, '/api/state')).body) as { channelColumns: string[]; channels: unknown[][]; alarms: { bed: string | null; pumpId: string }[] };
    const bedColumn = state.channelColumns.indexOf('bed');
    expect(state.channels.map((row) => [row[0], row[bedColumn]])).toEqual([['NICU-07', 'Bed 4']]);
    expect(state.alarms.map((alarm) => [alarm.pumpId, alarm.bed])).toEqual([['NICU-07', 'Bed 4']]);
    expect(JSON.stringify(state)).not.toContain('MRN-SECRET-77');
  });

  it('serves every asset itself under a strict content security policy', async () => {
    const { loaded } = await load(['gateway: { id: gw-1 }']);
    const { server } = await servePage(loaded!);
    const page = await call(server, '/');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const referenced = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(referenced.filter((url) => !url.startsWith('/') && url !== 'data:,')).toEqual([]);
    for (const url of referenced.filter((url) => url.startsWith('/'))) expect([url, (await call(server, url)).status]).toEqual([url, 200]);
  });
});

describe('acknowledging from the page', () => {
  it('is refused unless allowAck is set, and the alarm stays unacknowledged', async () => {
    const { loaded } = await load(['gateway: { id: gw-1 }']);
    const { server, occlusion, pipeline } = await servePage(loaded!);
    const alarm = occlusion();
    const reply = await call(server, '/api/ack', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ alarmId: alarm.alarmId, by: 'Nurse A' }) });
    expect(reply.status).toBe(403);
    expect(pipeline.alarms.activeAlarms()[0]?.state?.acknowledged).toBe(false);
  });

  it('goes through the stations\' ack path with `by` recorded, once', async () => {
    const { loaded } = await load(['gateway: { id: gw-1 }', 'ops: { http: { web: { allowAck: true } } }']);
    const { server, occlusion, events } = await servePage(loaded!);
    const alarm = occlusion();
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      call(server, '/api/ack', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post({ alarmId: alarm.alarmId, by: 'Nurse A' }, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ alarmId: alarm.alarmId })).status).toBe(400);
    const accepted = await post({ alarmId: alarm.alarmId, by: 'Nurse A' });
    expect([accepted.status, JSON.parse(accepted.body)]).toEqual([200, { verdict: 'accepted' }]);
    const acknowledged = events.filter((event) => event.event === 'acknowledged');
    expect(acknowledged).toHaveLength(1);
    expect(acknowledged[0]!.evidence.acknowledgedBy).toBe('ward page: Nurse A');
    const again = await post({ alarmId: alarm.alarmId, by: 'Nurse B' });
    expect([again.status, JSON.parse(again.body)]).toEqual([409, { verdict: 'replayed' }]);
    const unknown = await post({ alarmId: 'no-such-alarm', by: 'Nurse B' });
    expect([unknown.status, JSON.parse(unknown.body)]).toEqual([409, { verdict: 'unknown' }]);
  });
});
