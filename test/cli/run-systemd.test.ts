import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { getText, waitUntil } from '../helpers/ops-http.js';
import { clearRetainedUnder, startRecorder } from '../helpers/recorder.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Records every systemd-notify call, one line each, instead of talking to PID 1. */
const STUB = `#!/bin/sh
printf '%s\\n' "$*" >> "$PW_NOTIFY_LOG"
`;

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.stop();
});

describe('pumpwatch run under a (recorded) service manager', () => {
  it('reports ready, pings the watchdog, withholds the ping after a blocked event loop, reloads on SIGHUP and stops on SIGTERM', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'pw-systemd-'));
    const prefix = uniqueTopicPrefix('systemd');
    const notifyLog = join(directory, 'notify.log');
    await writeFile(join(directory, 'systemd-notify'), STUB);
    await chmod(join(directory, 'systemd-notify'), 0o755);
    const configPath = join(directory, 'config.yaml');
    await writeFile(
      configPath,
      [
        `mqtt: { url: "${broker.url}", protocolVersion: ${broker.protocolVersion}, topicPrefix: "${prefix}" }`,
        `sources: { mqtt: { topics: ["${prefix}-pumps/+/telemetry"] } }`,
        'ops: { http: { port: 0 }, watchdog: { maxEventLoopLagSeconds: 0.5 } }',
        `journal: { directory: "${join(directory, 'journal')}" }`,
      ].join('\n'),
    );
    const station = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/status`] });
    let output = '';
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './test/fixtures/block-event-loop.ts', 'test/fixtures/pumpwatch-cli.ts', 'run', '--config', configPath],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${directory}${delimiter}${process.env.PATH ?? ''}`,
          NOTIFY_SOCKET: join(directory, 'notify.sock'),
          WATCHDOG_USEC: '400000',
          PW_NOTIFY_LOG: notifyLog,
          PW_TEST_BLOCK_MS: '1500',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const notifications = async () => (await readFile(notifyLog, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '');
    const logLines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    try {
      await waitUntil('READY=1', async () => (await notifications()).find((line) => line.startsWith('READY=1')));
      await waitUntil('two watchdog pings', async () => ((await notifications()).filter((line) => line === 'WATCHDOG=1').length >= 2 ? true : undefined));
      const port = Number(logLines().find((line) => line.code === 'PW_OPS_HTTP_LISTENING')?.port);

      const beforeBlock = (await notifications()).length;
      child.kill('SIGUSR2');
      const withheld = await waitUntil('a withheld ping', async () =>
        (await notifications()).slice(beforeBlock).find((line) => line.startsWith('STATUS=watchdog withheld: event-loop: event loop stalled')),
      );
      await waitUntil('pings resumed', async () => (await notifications()).slice((await notifications()).indexOf(withheld)).find((line) => line === 'WATCHDOG=1'));
      expect(await getText(port, '/metrics')).toMatch(/^pumpwatch_watchdog_attempts_total\{outcome="withheld"\} [1-9]\d*$/m);

      const beforeReload = (await notifications()).length;
      child.kill('SIGHUP');
      await waitUntil('READY=1 after the reload', async () => (await notifications()).slice(beforeReload).find((line) => line.startsWith('READY=1')));
      expect((await notifications()).slice(beforeReload).find((line) => !line.startsWith('WATCHDOG'))).toMatch(/^RELOADING=1 /);

      const mark = station.messages.length;
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect((await notifications()).filter((line) => line.startsWith('STOPPING=1'))).toHaveLength(1);
      await station.waitFor((message) => message.text.includes('"offline"'), { fromIndex: mark, description: 'offline status' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await station.stop();
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
      await rm(directory, { recursive: true, force: true });
    }
  });
});
