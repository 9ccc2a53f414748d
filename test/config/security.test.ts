import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';

function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfigText(yaml, 'test.yaml', env);
}

function problemsOf(result: Awaited<ReturnType<typeof load>>): string[] {
  return result.ok ? [] : result.problems;
}

async function fileWithMode(name: string, mode: number, directory?: string): Promise<string> {
  const dir = directory ?? (await mkdtemp(join(tmpdir(), 'pw-secret-')));
  const file = join(dir, name);
  await writeFile(file, 'secret material');
  await chmod(file, mode);
  return file;
}

describe('broker certificate checks', () => {
  it('refuses rejectUnauthorized: false without the explicit insecure flag', async () => {
    const result = await load('mqtt:\n  url: mqtts://broker:8883\n  tls:\n    rejectUnauthorized: false\n');
    expect(problemsOf(result)).toEqual([expect.stringMatching(/^mqtt\.tls\.rejectUnauthorized: false turns off broker certificate checks.*allowInsecure/)]);
  });

  it('accepts rejectUnauthorized: false together with allowInsecure: true', async () => {
    const result = await load('mqtt:\n  url: mqtts://broker:8883\n  tls:\n    rejectUnauthorized: false\n    allowInsecure: true\n');
    expect(problemsOf(result)).toEqual([]);
  });

  it('refuses the insecure setting from the environment just the same', async () => {
    const result = await load('mqtt:\n  url: mqtts://broker:8883\n  tls: {}\n', { PUMPWATCH_MQTT__TLS__REJECT_UNAUTHORIZED: 'false' });
    expect(problemsOf(result)).toHaveLength(1);
  });

  it('refuses TLS settings on a plain mqtt:// URL, where they would be silently ignored', async () => {
    const result = await load('mqtt:\n  url: mqtt://broker:1883\n  tls:\n    caFile: /etc/ca.pem\n');
    expect(problemsOf(result)).toEqual([expect.stringMatching(/^mqtt\.tls: TLS settings need an mqtts:\/\/ URL/)]);
  });

  it('refuses a client certificate without its key', async () => {
    const result = await load('mqtt:\n  url: mqtts://broker:8883\n  tls:\n    certFile: /etc/gw.pem\n');
    expect(problemsOf(result)).toEqual([expect.stringMatching(/^mqtt\.tls\.keyFile: certFile and keyFile go together/)]);
  });
});

describe('the client key file', () => {
  const tlsWithKey = (keyFile: string) => `mqtt:\n  url: mqtts://broker:8883\n  tls:\n    certFile: /etc/gw.pem\n    keyFile: ${keyFile}\n`;

  it('is refused at start when others can read it', async () => {
    const key = await fileWithMode('gw.key', 0o644);
    const result = await load(tlsWithKey(key));
    expect(problemsOf(result)).toEqual([`mqtt.tls.keyFile: ${key} is readable by group or others (mode 644); chmod 600 it`]);
  });

  it('is refused when its group can read it', async () => {
    expect(problemsOf(await load(tlsWithKey(await fileWithMode('gw.key', 0o640))))).toHaveLength(1);
  });

  it('is accepted with mode 600', async () => {
    expect(problemsOf(await load(tlsWithKey(await fileWithMode('gw.key', 0o600))))).toEqual([]);
  });

  it('is accepted as a systemd credential, which only the service can read whatever its mode', async () => {
    const credentials = await mkdtemp(join(tmpdir(), 'pw-credentials-'));
    await fileWithMode('gw.key', 0o644, credentials);
    expect(problemsOf(await load(tlsWithKey('gw.key'), { CREDENTIALS_DIRECTORY: credentials }))).toEqual([]);
  });

  it('is still judged by its mode when it lies outside the credentials directory', async () => {
    const credentials = await mkdtemp(join(tmpdir(), 'pw-credentials-'));
    const key = await fileWithMode('gw.key', 0o644);
    expect(problemsOf(await load(tlsWithKey(key), { CREDENTIALS_DIRECTORY: credentials }))).toHaveLength(1);
  });

  it('is left to the TLS reader when it does not exist yet, so config check works on a build machine', async () => {
    expect(problemsOf(await load(tlsWithKey('/nonexistent/gw.key')))).toEqual([]);
  });
});

describe('the password file', () => {
  it('is refused when others can read it even though a credentials directory exists elsewhere', async () => {
    const credentials = await mkdtemp(join(tmpdir(), 'pw-credentials-'));
    const password = await fileWithMode('pw', 0o644);
    const result = await load(`mqtt:\n  passwordFile: ${password}\n`, { CREDENTIALS_DIRECTORY: credentials });
    expect(problemsOf(result)).toEqual([expect.stringMatching(/readable by group or others/)]);
  });
});

describe('the ops endpoint', () => {
  it('listens on loopback port 9464 by default, its ward page read-only and without a token', async () => {
    const result = await load('{}');
    expect(result.ok && result.value.config.ops.http).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 9464,
      web: { enabled: true, allowAck: false, historyMinutes: 120, pointSeconds: 4 },
    });
  });
});
