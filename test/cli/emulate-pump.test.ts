import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerialPortSchema } from '../../src/config/schema.js';
import { loadSystemSerialBinding, SerialSource } from '../../src/sources/serial.js';
import { runCommand } from '../helpers/cli.js';
import { findSocat, startPtyPair, type PtyPair } from '../helpers/pty.js';
import { createTelemetryRecorder } from '../helpers/telemetry-recorder.js';

const socat = findSocat();

describe('pumpwatch emulate-pump', () => {
  it.each([
    [['--serial', '/tmp/x'], '--protocol must be one of json-lines, alaris, fresenius'],
    [['--protocol', 'alaris'], '--serial PATH is required'],
    [['--protocol', 'fresenius', '--serial', '/tmp/x', '--module', 'one=P'], '--module must look like'],
    [['--protocol', 'alaris', '--serial', '/tmp/x', '--module', '1=P'], '--module only applies to --protocol fresenius'],
  ])('refuses %j with a usage error', async (argv, message) => {
    const run = await runCommand(['emulate-pump', ...argv]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('fails with exit code 1 when the port cannot be opened', async () => {
    const run = await runCommand(['emulate-pump', '--protocol', 'alaris', '--serial', '/nonexistent/pump']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot open /nonexistent/pump');
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

    it('answers an Alaris gateway with the readings it was piped, until it is stopped', async () => {
      dir = await mkdtemp(join(tmpdir(), 'pumpwatch-emulate-'));
      pair = await startPtyPair(socat!, dir);
      const stop = new AbortController();
      const lines = [
        JSON.stringify({ pumpId: 'SIM-1', channel: '1', ts: '2026-01-01T00:00:00Z', state: 'infusing', rateMlPerH: 1.2, volumeInfusedMl: 0.3, downstreamPressureMmHg: 9 }),
        'not json',
      ].join('\n');
      const command = runCommand(['emulate-pump', '--protocol', 'alaris', '--serial', pair.pumpPath], { stdin: `${lines}\n`, signal: stop.signal });
      const config = SerialPortSchema.parse({ path: pair.gatewayPath, protocol: 'alaris', pumpId: 'NICU-5', pollIntervalSeconds: 0.2 });
      source = new SerialSource(config, { binding: await loadSystemSerialBinding(), logger: pino({ level: 'silent' }) });
      const recorder = createTelemetryRecorder();
      await source.start(recorder.target);
      await vi.waitFor(() => expect(recorder.samples.length).toBeGreaterThan(1), { timeout: 5000 });
      expect(recorder.samples[0]).toMatchObject({ pumpId: 'NICU-5', state: 'infusing', rateMlPerH: 1.2, volumeInfusedMl: 0.3, downstreamPressureMmHg: 9 });
      stop.abort();
      const run = await command;
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('1 input lines were not readings');
    });
  });
});
