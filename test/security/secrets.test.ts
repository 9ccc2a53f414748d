import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { mosquittoMissingReason } from '../helpers/mosquitto.js';
import { createTestPki, opensslMissingReason, type IssuedCertificate, type TestPki } from '../helpers/pki.js';
import { connectWithCertificate, startSecureMosquitto, type SecureMosquitto } from '../helpers/secure-broker.js';

// S-4 (reliability.md §7): the configured secrets never reach a log line.
const skipReason = mosquittoMissingReason ?? opensslMissingReason;

let pki: TestPki;
let broker: SecureMosquitto;
let gateway: IssuedCertificate;
let bridge: IssuedCertificate;

beforeAll(async () => {
  if (skipReason !== undefined) return;
  pki = await createTestPki();
  const server = await pki.issue('localhost', { altNames: ['localhost', '127.0.0.1'] });
  [gateway, bridge] = await Promise.all([pki.issue('gw-nicu3-a'), pki.issue('bridge-nicu-3')]);
  broker = await startSecureMosquitto(pki, server);
});
afterAll(async () => {
  if (skipReason !== undefined) return;
  await broker.stop();
  await pki.stop();
});

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The base64 lines of a PEM body: any of them in a log would leak key material. */
function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

describe.skipIf(skipReason !== undefined)('secrets hygiene over a full run', () => {
  it('logs neither the broker password nor the TLS key, at trace level, through alarms, rejects, a reload and a stop', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'pw-secrets-'));
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const passwordFile = join(directory, 'mqtt-password');
    await writeFile(passwordFile, `${password}\n`);
    await chmod(passwordFile, 0o600);
    const configPath = join(directory, 'config.yaml');
    await writeFile(
      configPath,
      [
        'gateway: { id: gw-nicu3-a, site: st-elsewhere, ward: nicu-3 }',
        'mqtt:',
        `  url: "${broker.tlsUrl}"`,
        '  username: gw-nicu3-a',
        `  passwordFile: "${passwordFile}"`,
        '  reconnectSeconds: 0.2',
        `  tls: { caFile: "${pki.caFile}", certFile: "${gateway.certFile}", keyFile: "${gateway.keyFile}" }`,
        'sources: { mqtt: { topics: ["pumps/nicu-3/+/telemetry"] } }',
        `journal: { directory: "${join(directory, 'journal')}" }`,
        'ops: { http: { port: 0 } }',
        'logging: { level: trace, rejectLogIntervalSeconds: 0 }',
      ].join('\n'),
    );
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let output = '';
    stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const stop = new AbortController();
    let reload: () => void = () => undefined;
    const codes = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line) as { code?: string }).code);
    const exitCode = runCli(['run', '--config', configPath], {
      stdin: Readable.from([]),
      stdout,
      stderr,
      env: {},
      stopSignal: stop.signal,
      onReload(listener) {
        reload = listener;
        return () => undefined;
      },
    });
    const pumps = await connectWithCertificate(broker.tlsUrl, pki.caFile, bridge);
    try {
      await waitUntil('the subscription', () => codes().includes('PW_MQTT_SUBSCRIBED'));
      await pumps.publishAsync('pumps/nicu-3/NICU-01/telemetry', '{"pumpId": "NICU-01", "ts": ');
      await pumps.publishAsync(
        'pumps/nicu-3/NICU-01/telemetry',
        JSON.stringify({ pumpId: 'NICU-01', ts: Date.now(), state: 'alarm', rateMlPerH: 1, pumpAlarms: ['OCCLUSION_DOWNSTREAM'], downstreamPressureMmHg: 450 }),
      );
      await waitUntil('the alarm', () => output.includes('downstream-occlusion'));
      reload();
      await waitUntil('the reload', () => codes().filter((code) => code === 'PW_STARTED').length === 2);
      stop.abort();
      expect(await exitCode).toBe(0);
    } finally {
      stop.abort();
      await pumps.endAsync();
    }
    const key = await readFile(gateway.keyFile, 'utf8');
    const lines = output.split('\n').filter((line) => line !== '');
    expect(codes()).toEqual(expect.arrayContaining(['PW_MQTT_CONNECTED', 'PW_SAMPLE_REJECTED', 'PW_ALARM_EVENT', 'PW_RELOAD_RESTARTING', 'PW_STOPPED']));
    expect(lines.filter((line) => line.includes(password))).toEqual([]);
    for (const body of pemBodyLines(key)) expect(lines.filter((line) => line.includes(body))).toEqual([]);
    await rm(directory, { recursive: true, force: true });
  });
});
