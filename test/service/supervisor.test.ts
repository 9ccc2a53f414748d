import { mkdtemp, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadConfigFile, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import type { Logger } from '../../src/log.js';
import { changedSettings, Supervisor } from '../../src/service/supervisor.js';
import type { SystemdNotifier } from '../../src/ops/systemd-notify.js';
import { uniqueTopicPrefix, useTestBroker } from '../helpers/broker.js';
import { clearRetainedUnder } from '../helpers/recorder.js';

const { broker, cleanups } = useTestBroker();

function recordingNotifier(watchdogIntervalMs?: number) {
  const messages: string[] = [];
  const record = (message: string) => {
    messages.push(message);
    return Promise.resolve();
  };
  const notifier: SystemdNotifier = {
    active: true,
    watchdogIntervalMs,
    ready: (status) => record(`READY=1 ${status}`),
    status: (status) => record(`STATUS=${status}`),
    reloading: (status) => record(`RELOADING=1 ${status}`),
    stopping: (status) => record(`STOPPING=1 ${status}`),
    watchdog: () => record('WATCHDOG=1').then(() => true),
  };
  return { notifier, messages };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function ward(options: { watchdogIntervalMs?: number; extraYaml?: string } = {}) {
  const prefix = uniqueTopicPrefix('supervisor');
  const directory = await mkdtemp(join(tmpdir(), 'pw-supervisor-'));
  const configPath = join(directory, 'config.yaml');
  const yamlFor = (gatewayId: string, extra = '') =>
    [
      `gateway: { id: ${gatewayId} }`,
      `mqtt: { url: "${broker.url}", protocolVersion: ${broker.protocolVersion}, topicPrefix: "${prefix}/${gatewayId}" }`,
      'ops: { http: { port: 0 } }',
      `journal: { directory: "${directory}/journal" }`,
      'logging: { level: debug }',
      extra,
    ].join('\n');
  await writeFile(configPath, yamlFor('gw-a', options.extraYaml));
  const lines: Record<string, unknown>[] = [];
  const { notifier, messages } = recordingNotifier(options.watchdogIntervalMs);
  const supervisor = new Supervisor({
    configPath,
    env: {},
    writeLog: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    loadConfig: loadConfigFile,
    startDaemon: (loaded: LoadedConfig, logger: Logger) =>
      startDaemon(loaded, { clock: systemClock, logger, connect, loadSerialBinding: () => Promise.reject(new Error('no serial here')) }),
    notifier,
  });
  cleanups.push(async () => {
    await supervisor.stop();
    await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
  });
  const loaded = await loadConfigFile(configPath, {});
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const withCode = (code: string) => lines.filter((line) => line.code === code);
  const rewrite = (text: string) => writeFile(configPath, text);
  return { supervisor, loaded: loaded.value, messages, lines, withCode, rewrite, yamlFor };
}

describe('the supervisor', () => {
  it('reports READY=1 once the daemon has started, saying what it watches', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    expect(w.messages).toEqual([expect.stringMatching(/^READY=1 watching 0 source\(s\); alarms to pwtest\/supervisor-[0-9a-f]+\/gw-a$/)]);
  });

  it('serves /readyz as 200 once the broker connection is up', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    const port = w.supervisor.httpAddress!.port;
    await waitUntil(async () => (await get(port, '/readyz')).status === 200);
    expect(JSON.parse((await get(port, '/readyz')).body)).toEqual({ status: 'ok', checks: [{ name: 'broker', ok: true }] });
  });

  it('serves the daemon metrics and the process metrics on /metrics', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    const { body } = await get(w.supervisor.httpAddress!.port, '/metrics');
    expect(body).toMatch(/^pumpwatch_ready [01]$/m);
  });

  it('keeps watching pumps when the metrics port is taken, logging the failure as an error', async () => {
    const first = await ward();
    await first.supervisor.start(first.loaded);
    const second = await ward();
    const loaded = { ...second.loaded, config: { ...second.loaded.config, ops: { ...second.loaded.config.ops, http: { ...second.loaded.config.ops.http, port: first.supervisor.httpAddress!.port } } } };
    await second.supervisor.start(loaded);
    expect([second.supervisor.daemon !== undefined, second.supervisor.httpAddress, second.withCode('PW_OPS_HTTP_LISTEN_FAILED').length]).toEqual([true, undefined, 1]);
  });

  it('sends STOPPING=1 before stopping the daemon', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    await w.supervisor.stop();
    expect(w.messages.at(-1)).toMatch(/^STOPPING=1 /);
    expect(w.withCode('PW_STOPPED')).toHaveLength(1);
  });

  it('pings the watchdog while the daemon makes progress', async () => {
    const w = await ward({ watchdogIntervalMs: 20 });
    await w.supervisor.start(w.loaded);
    await waitUntil(() => w.messages.filter((message) => message === 'WATCHDOG=1').length >= 3);
    expect(w.withCode('PW_WATCHDOG_ON')).toHaveLength(1);
  });

  it('refuses an invalid configuration on reload and keeps the running daemon', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    const running = w.supervisor.daemon;
    await w.rewrite('mqtt: { url: "http://nope" }\n');
    expect(await w.supervisor.reload()).toBe('invalid');
    expect(w.supervisor.daemon).toBe(running);
    expect(w.withCode('PW_RELOAD_INVALID')[0]?.problems).toEqual([expect.stringMatching(/^mqtt\.url: /)]);
    expect(w.messages.slice(1)).toEqual(['RELOADING=1 reloading configuration', expect.stringMatching(/^READY=1 .*reload refused: 1 problem\(s\)/)]);
  });

  it('applies a valid configuration on reload by restarting the daemon in-process', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    const running = w.supervisor.daemon;
    await w.rewrite(w.yamlFor('gw-b'));
    expect(await w.supervisor.reload()).toBe('restarted');
    expect(w.supervisor.daemon).not.toBe(running);
    expect(w.supervisor.daemon?.publisher.topics.prefix).toMatch(/\/gw-b$/);
    expect(w.withCode('PW_RELOAD_RESTARTING')[0]?.changed).toEqual(['gateway.id', 'mqtt.topicPrefix']);
    expect(w.messages.at(-1)).toMatch(/^READY=1 watching/);
  });

  it('goes back to the previous configuration when the new one does not start', async () => {
    const w = await ward();
    await w.supervisor.start(w.loaded);
    await w.rewrite(w.yamlFor('gw-b').replace(`url: "${broker.url}"`, 'url: "mqtts://127.0.0.1:1", tls: { caFile: /nonexistent/ca.pem }'));
    expect(await w.supervisor.reload()).toBe('restored-previous');
    expect(w.supervisor.daemon?.publisher.topics.prefix).toMatch(/\/gw-a$/);
    expect(w.withCode('PW_RELOAD_FAILED')).toHaveLength(1);
  });
});

describe('changedSettings', () => {
  it('lists the dotted paths that differ', () => {
    expect(changedSettings({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 2, c: [1, 2] }, d: 'x', e: true })).toEqual(['a.b', 'e']);
  });
});
