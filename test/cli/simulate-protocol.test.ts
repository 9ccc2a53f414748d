import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerialPortSchema } from '../../src/config/schema.js';
import { loadSystemSerialBinding, SerialSource } from '../../src/sources/serial.js';
import { simulateCommand } from '../../src/cli/simulate.js';
import { findSocat, startPtyPair, type PtyPair } from '../helpers/pty.js';
import { createTelemetryRecorder } from '../helpers/telemetry-recorder.js';

const socat = findSocat();

/** Runs the simulate command in-process (it is not registered in the CLI table yet). */
async function simulate(argv: string[]): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  const err: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await simulateCommand(argv, { stdin: Readable.from([]), stdout: new PassThrough(), stderr, env: {}, stopSignal: new AbortController().signal });
  return { code, stderr: Buffer.concat(err).toString('utf8') };
}

describe('pumpwatch simulate --protocol', () => {
  it('refuses an unknown protocol', async () => {
    const run = await simulate(['--family', 'quiet', '--serial', '/tmp/x', '--protocol', 'bbraun']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--protocol must be one of json-lines, alaris, fresenius');
  });

  it('refuses --protocol without --serial', async () => {
    const run = await simulate(['--family', 'quiet', '--protocol', 'alaris']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--protocol applies to --serial');
  });

  describe.skipIf(socat === undefined)('on a pty pair', () => {
    let dir: string;
    let pair: PtyPair | undefined;
    let source: SerialSource | undefined;

    afterEach(async () => {
      await source?.stop();
      await pair?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it.each([
      ['alaris', { protocol: 'alaris', pumpId: 'NICU-9', pollIntervalSeconds: 0.2 }],
      ['fresenius', { protocol: 'fresenius', pollIntervalSeconds: 0.2, modules: [{ module: 1, pumpId: 'NICU-9' }] }],
    ])('puts the simulated pump behind the %s protocol for a gateway to read', async (protocol, port) => {
      dir = await mkdtemp(join(tmpdir(), 'pumpwatch-simproto-'));
      pair = await startPtyPair(socat!, dir);
      const config = SerialPortSchema.parse({ path: pair.gatewayPath, ...port });
      source = new SerialSource(config, { binding: await loadSystemSerialBinding(), logger: pino({ level: 'silent' }) });
      const recorder = createTelemetryRecorder();
      await source.start(recorder.target);
      const run = simulate(['--family', 'quiet', '--pumps', '1', '--channels', '1', '--duration', '60s', '--speed', '20', '--serial', pair.pumpPath, '--protocol', protocol]);
      await vi.waitFor(() => expect(recorder.samples.length).toBeGreaterThan(0), { timeout: 5000 });
      expect((await run).code).toBe(0);
      expect(recorder.samples[0]).toMatchObject({ pumpId: 'NICU-9', channel: '1' });
      expect(recorder.rejections).toEqual([]);
    });
  });
});
