import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { connectAsync } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulateCommand, type SimulateDeps } from '../../src/cli/simulate.js';
import { EXIT } from '../../src/cli/io.js';
import { serialOpener } from '../../src/simulate/outputs.js';
import { decodeJsonFrame, type Rejection } from '../../src/telemetry/decode.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { createMockSerial } from '../helpers/mock-serial.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function simulate(argv: string[], deps: Partial<SimulateDeps> = {}, options: { isTTY?: boolean } = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: options.isTTY ?? false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await simulateCommand(argv, { stdin: Readable.from([]), stdout, stderr, env: {}, stopSignal: new AbortController().signal }, deps);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

function rejectedLines(text: string): Rejection[] {
  const rejections: Rejection[] = [];
  for (const line of text.split('\n').filter((item) => item !== '')) {
    decodeJsonFrame(line, { sample: () => undefined, reject: (rejection) => rejections.push(rejection) }, { maxSamplesPerFrame: 1 });
  }
  return rejections;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pw-simulate-'));
});

describe('pumpwatch simulate', () => {
  it('prints its usage with --help', async () => {
    const run = await simulate(['--help']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toContain('Usage: pumpwatch simulate');
  });

  it('lists the shipped scenarios and the families', async () => {
    const run = await simulate(['--list']);
    expect(run.stdout).toContain('demo');
    expect(run.stdout).toContain('infiltration');
  });

  it.each([
    ['neither scenario nor family', []],
    ['both scenario and family', ['--scenario', 'demo', '--family', 'mixed']],
    ['an unknown family', ['--family', 'chaos']],
    ['a duration without a unit it knows', ['--family', 'quiet', '--duration', '3 weeks']],
    ['a pump count out of range', ['--family', 'quiet', '--pumps', '0']],
    ['a negative speed', ['--family', 'quiet', '--speed', '-1']],
    ['a wildcard in the topic prefix', ['--family', 'quiet', '--mqtt', 'mqtt://127.0.0.1:1', '--topic-prefix', 'pumps/#']],
    ['an unknown option', ['--family', 'quiet', '--colour']],
    ['an unknown scenario name', ['--scenario', 'no-such-ward']],
  ])('refuses %s as a usage error', async (_case, argv) => {
    const run = await simulate(argv);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).not.toBe('');
  });

  it('reports an invalid scenario file with path-qualified problems', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'name: bad\npumps: [{ id: A, channels: [{ rateMlPerH: -2 }] }]\n');
    const run = await simulate(['--scenario', path]);
    expect(run.code).toBe(EXIT.configInvalid);
    expect(run.stderr).toContain('pumps.0.channels.0.rateMlPerH');
  });

  it('says so when a scenario file cannot be read', async () => {
    const run = await simulate(['--scenario', join(dir, 'missing.yaml')]);
    expect(run.code).toBe(EXIT.inputUnreadable);
  });

  it('writes telemetry to stdout when no output is named', async () => {
    const run = await simulate(['--family', 'quiet', '--pumps', '1', '--channels', '1', '--duration', '5m']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.trim().split('\n').length).toBeGreaterThan(9);
    expect(run.stderr).toContain('simulated quiet');
  });

  it('writes telemetry and labels files that replay without a rejected line', async () => {
    const out = join(dir, 'telemetry.jsonl');
    const labels = join(dir, 'labels.jsonl');
    const run = await simulate(['--family', 'mixed', '--pumps', '4', '--duration', '6h', '--seed', '7', '--out', out, '--labels', labels]);
    expect(run.code).toBe(EXIT.ok);
    const telemetry = await readFile(out, 'utf8');
    expect(rejectedLines(telemetry)).toEqual([]);
    const [first, ...rest] = (await readFile(labels, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { record: string; onsetMs?: number });
    expect(first).toMatchObject({ record: 'run', name: 'mixed', seed: 7 });
    expect(rest.length).toBeGreaterThan(10);
    expect(rest.every((label, index) => label.record === 'label' && (index === 0 || label.onsetMs! >= rest[index - 1]!.onsetMs!))).toBe(true);
  });

  it('writes the same bytes for the same seed', async () => {
    const files = ['a', 'b'].map((name) => [join(dir, `${name}.jsonl`), join(dir, `${name}.labels.jsonl`)] as const);
    for (const [out, labels] of files) {
      expect((await simulate(['--family', 'mixed', '--pumps', '3', '--duration', '4h', '--seed', '21', '--out', out, '--labels', labels])).code).toBe(EXIT.ok);
    }
    expect(await readFile(files[0]![0], 'utf8')).toBe(await readFile(files[1]![0], 'utf8'));
    expect(await readFile(files[0]![1], 'utf8')).toBe(await readFile(files[1]![1], 'utf8'));
  });

  it('draws a progress bar on stderr with --progress', async () => {
    const run = await simulate(['--family', 'quiet', '--pumps', '2', '--duration', '2h', '--out', join(dir, 't.jsonl'), '--progress']);
    expect(run.stderr).toMatch(/\[#+\] 100% 2h00m\/2h00m/);
  });

  it('draws no progress bar when stderr is not a terminal and --progress is not given', async () => {
    const run = await simulate(['--family', 'quiet', '--pumps', '2', '--duration', '2h', '--out', join(dir, 't.jsonl')]);
    expect(run.stderr).not.toContain('100%');
  });

  it('fails with exit code 1 when the output file cannot be created', async () => {
    const run = await simulate(['--family', 'quiet', '--out', join(dir, 'no-such-dir', 't.jsonl')]);
    expect(run.code).toBe(EXIT.failure);
  });

  it('writes JSON lines to a serial port', async () => {
    const serial = createMockSerial();
    serial.plugIn('/dev/ttySIM0', { record: true });
    const run = await simulate(['--family', 'quiet', '--pumps', '1', '--channels', '1', '--duration', '2m', '--serial', '/dev/ttySIM0', '--speed', '0'], {
      openSerial: serialOpener(() => Promise.resolve(serial.binding)),
    });
    expect(run.code).toBe(EXIT.ok);
    const written = serial.written('/dev/ttySIM0').toString('utf8');
    expect(written.trim().split('\n').length).toBe(Number(/: (\d+) samples/.exec(run.stderr)?.[1]));
    expect(rejectedLines(written)).toEqual([]);
  });
});

describe(`pumpwatch simulate --mqtt (${process.env.MQTT_URL === undefined ? 'in-process aedes' : `broker at ${process.env.MQTT_URL}`})`, () => {
  let broker: TestBroker;
  beforeEach(async () => {
    broker = await startTestBroker();
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('publishes every sample to <prefix>/<pumpId>/telemetry', async () => {
    const prefix = uniqueTopicPrefix('sim');
    const subscriber = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
    const received: { topic: string; pumpId: string }[] = [];
    subscriber.on('message', (topic, payload) => received.push({ topic, pumpId: (JSON.parse(payload.toString('utf8')) as { pumpId: string }).pumpId }));
    await subscriber.subscribeAsync(`${prefix}/+/telemetry`, { qos: 0 });
    const run = await simulate(['--family', 'quiet', '--pumps', '2', '--channels', '1', '--duration', '10m', '--mqtt', broker.url, '--topic-prefix', prefix, '--speed', '0']);
    expect(run.code).toBe(EXIT.ok);
    const sent = Number(/: (\d+) samples/.exec(run.stderr)?.[1]);
    await expect.poll(() => received.length, { timeout: 5000 }).toBe(sent);
    expect(received.every((message) => message.topic === `${prefix}/${message.pumpId}/telemetry`)).toBe(true);
    await subscriber.endAsync();
  });

  it('fails with exit code 1 when the broker cannot be reached', async () => {
    const run = await simulate(['--family', 'quiet', '--mqtt', 'mqtt://127.0.0.1:1', '--speed', '0'], {
      connectMqtt: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
    });
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toContain('ECONNREFUSED');
  });
});
