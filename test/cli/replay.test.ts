import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AlarmEventSchema } from '../../src/alarms/event.js';
import { runCommand } from '../helpers/cli.js';

const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'two-pumps.jsonl');

describe('pumpwatch replay', () => {
  it('prints alarm events as JSON lines that match alarm event v1', async () => {
    const run = await runCommand(['replay', fixture]);
    expect(run.code).toBe(0);
    const events = run.stdout.trim().split('\n').map((line) => AlarmEventSchema.parse(JSON.parse(line)));
    expect(events.map((e) => `${e.pumpId}:${e.condition}:${e.event}`)).toEqual([
      'NICU-02:telemetry-lost:raised',
      'NICU-01:downstream-occlusion:raised',
      'NICU-01:downstream-occlusion:ended',
    ]);
  });

  it('uses sample time as the clock, so emittedAt equals the triggering sample time', async () => {
    const run = await runCommand(['replay', fixture]);
    const occlusion = run.stdout.split('\n').map((line) => (line === '' ? undefined : AlarmEventSchema.parse(JSON.parse(line)))).find((e) => e?.condition === 'downstream-occlusion');
    expect(occlusion?.emittedAt).toBe(occlusion?.at);
  });

  it('gives byte-identical output for the same input, from a file or from stdin', async () => {
    const first = await runCommand(['replay', fixture]);
    const second = await runCommand(['replay', fixture]);
    const fromStdin = await runCommand(['replay', '-'], { stdin: await readFile(fixture, 'utf8') });
    expect(second.stdout).toBe(first.stdout);
    expect(fromStdin.stdout).toBe(first.stdout);
  });

  it('counts bad lines by reason in the summary and replays the rest', async () => {
    const run = await runCommand(['replay', fixture]);
    expect(run.stderr).toContain('replayed 301 samples, 3 alarm events; rejected: invalid-json=1 bad-id=1 schema=1');
  });

  it('exits 4 with the path when the input cannot be read', async () => {
    const run = await runCommand(['replay', '/nonexistent/file.jsonl']);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('cannot read /nonexistent/file.jsonl (ENOENT)');
  });

  it('exits 2 on a usage error', async () => {
    expect((await runCommand(['replay'])).code).toBe(2);
    expect((await runCommand(['replay', 'a', '--bogus'])).code).toBe(2);
  });

  it('runs as an installed command with logs on stderr and events on stdout', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'bin', 'pumpwatch.js'), 'replay', fixture]);
    expect(stdout.trim().split('\n')).toHaveLength(3);
    expect(stderr).toContain('"code":"PW_SAMPLE_REJECTED"');
  });
});

describe('pumpwatch config check', () => {
  it('exits 0 and summarises a valid file', async () => {
    const run = await runCommand(['config', 'check', join(root, 'config', 'default.yaml')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/default\.yaml: ok/);
  });

  it.each([
    ['an empty file', '', 'the file is empty'],
    ['a file of comments', '# nothing yet\n', 'the file is empty'],
    ['an empty mapping', '{}\n', 'no telemetry source configured'],
    ['a gateway and nothing to watch', 'gateway: { id: gw-3 }\nmqtt: { url: mqtt://127.0.0.1:1883 }\n', 'no telemetry source configured'],
  ])('refuses %s with exit 3, and the daemon will not start on it', async (_label, text, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'pumpwatch-empty-config-'));
    try {
      const file = join(dir, 'pumpwatch.yaml');
      await writeFile(file, text);
      const check = await runCommand(['config', 'check', file]);
      expect(check.code).toBe(3);
      expect(check.stderr).toContain(message);
      const run = await runCommand(['run', '--config', file]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(message);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names each bad path and exits 3', async () => {
    const run = await runCommand(['config', 'check', join(root, 'test', 'fixtures', 'broken-config.yaml')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('5 problem(s)');
    for (const path of ['mqtt.url: must be a mqtt:// or mqtts:// URL', 'mqtt.protocolVersion:', 'gateway.id:', 'sources.serial.0.parity:', 'detection.telemetryLostAfterSeconds:']) {
      expect(run.stderr).toContain(path);
    }
  });
});

describe('pumpwatch', () => {
  it('exits 2 and prints usage for an unknown command', async () => {
    const run = await runCommand(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('pumpwatch --version', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await runCommand([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`pumpwatch ${version}\n`);
    }
  });
});
