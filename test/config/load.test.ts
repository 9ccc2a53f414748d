import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envKeyToPath, loadConfigFile, loadConfigText } from '../../src/config/load.js';

async function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfigText(yaml, 'test.yaml', env);
}

describe('loadConfigText', () => {
  it('refuses an empty file, saying so', async () => {
    expect(await load('')).toEqual({ ok: false, problems: [expect.stringContaining('the file is empty')] });
  });

  it('fills every default from an empty mapping', async () => {
    const result = await load('{}');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.config.mqtt).toMatchObject({ url: 'mqtt://127.0.0.1:1883', protocolVersion: 5, keepaliveSeconds: 15 });
    expect(result.value.config.detection.telemetryLostAfterSeconds).toBe(60);
    expect(result.value.config.sources.serial).toEqual([]);
  });

  it('names every bad path with the offending value', async () => {
    const result = await load(`
mqtt:
  url: http://broker
  keepaliveSeconds: "15"
gateway:
  id: "ward/3"
sources:
  serial:
    - path: /dev/ttyUSB0
      baudRate: -9600
unknownSection: {}
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.join('\n');
    expect(text).toContain('mqtt.url: must be a mqtt:// or mqtts:// URL (got "http://broker")');
    expect(text).toMatch(/mqtt\.keepaliveSeconds: .*\(got "15"\)/);
    expect(text).toMatch(/gateway\.id: .*\(got "ward\/3"\)/);
    expect(text).toMatch(/sources\.serial\.0\.baudRate: .*\(got -9600\)/);
    expect(text).toMatch(/\(root\): .*unknownSection/);
  });

  it('reports YAML syntax errors with the file name', async () => {
    const result = await load('mqtt: [unclosed');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/^test\.yaml: /);
  });

  it('refuses a broker URL that carries a password and does not echo the password', async () => {
    const result = await load('mqtt:\n  url: mqtt://nurse:hunter2@broker:1883\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.join('\n')).toContain('must not carry a password');
    expect(result.problems.join('\n')).not.toContain('hunter2');
  });

  it('applies PUMPWATCH_* overrides with nested paths and typed values', async () => {
    const result = await load('gateway:\n  id: gw-a\n', {
      PUMPWATCH_GATEWAY__ID: 'gw-b',
      PUMPWATCH_MQTT__KEEPALIVE_SECONDS: '30',
      PUMPWATCH_DETECTION__TELEMETRY_LOST_AFTER_SECONDS: '90',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.config.gateway.id).toBe('gw-b');
    expect(result.value.config.mqtt.keepaliveSeconds).toBe(30);
    expect(result.value.config.detection.telemetryLostAfterSeconds).toBe(90);
    expect(result.value.overriddenFromEnv.sort()).toEqual(['detection.telemetryLostAfterSeconds', 'gateway.id', 'mqtt.keepaliveSeconds']);
  });

  it('validates values that come from the environment like any other', async () => {
    const result = await load('', { PUMPWATCH_MQTT__URL: 'ftp://x' });
    expect(result.ok).toBe(false);
  });
});

describe('envKeyToPath', () => {
  it('turns double underscores into levels and single ones into camelCase', () => {
    expect(envKeyToPath('PUMPWATCH_SOURCES__MQTT__MAX_SAMPLES_PER_MESSAGE')).toEqual(['sources', 'mqtt', 'maxSamplesPerMessage']);
  });
});

describe('secret files', () => {
  it('reads the broker password from a file and keeps it out of the config object', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-secret-'));
    await writeFile(join(dir, 'pw'), 's3cret\n', { mode: 0o600 });
    const result = await load(`mqtt:\n  username: gw\n  passwordFile: ${join(dir, 'pw')}\n`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.secrets.mqttPassword).toBe('s3cret');
    expect(JSON.stringify(result.value.config)).not.toContain('s3cret');
  });

  it('resolves a relative password file against $CREDENTIALS_DIRECTORY (systemd LoadCredential)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-cred-'));
    await writeFile(join(dir, 'mqtt-password'), 'from-systemd', { mode: 0o600 });
    const result = await load('mqtt:\n  passwordFile: mqtt-password\n', { CREDENTIALS_DIRECTORY: dir });
    expect(result.ok && result.value.secrets.mqttPassword).toBe('from-systemd');
  });

  it('refuses a password file that others can read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-open-'));
    const file = join(dir, 'pw');
    await writeFile(file, 'x');
    await chmod(file, 0o644);
    const result = await load(`mqtt:\n  passwordFile: ${file}\n`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/^mqtt\.passwordFile: .* readable by group or others/);
  });

  it('says which password file is missing', async () => {
    const result = await load('mqtt:\n  passwordFile: /nonexistent/pw\n');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toBe('mqtt.passwordFile: cannot read /nonexistent/pw (ENOENT)');
  });
});

describe('shipped configuration files', () => {
  it.each(['config/default.yaml', 'config/example-ward.yaml'])('%s is valid', async (file) => {
    const credentials = await mkdtemp(join(tmpdir(), 'pw-example-'));
    await writeFile(join(credentials, 'mqtt-password'), 'x', { mode: 0o600 });
    const result = await loadConfigFile(join(import.meta.dirname, '..', '..', file), { CREDENTIALS_DIRECTORY: credentials });
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});
