import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPumpEmulator, type PumpEmulator } from '../../src/emulate/emulator.js';
import { systemClock } from '../../src/clock.js';
import { loadSystemSerialBinding } from '../../src/sources/serial.js';
import { runCommand } from '../helpers/cli.js';
import { findSocat, startPtyPair, type PtyPair } from '../helpers/pty.js';

const socat = findSocat();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pw-capture-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hex = (text: string) => Buffer.from(text, 'latin1').toString('hex');
const PORT = { path: '/dev/serial/by-id/usb-alaris-gh', protocol: 'alaris', pumpId: 'GH-1', startup: [] };

/** A capture written by hand from public frames: the captured GH reply on hold (MDDT AlarisMITM.java) and its ALARM answer. */
function publicCapture(protocol = 'alaris'): string {
  const t0 = Date.parse('2026-12-03T10:00:00Z');
  return [
    { pumpwatchCapture: 1, protocol, startedAt: '2026-12-03T10:00:00Z', port: PORT },
    { t: t0, dir: 'open' },
    { t: t0, dir: 'tx', hex: hex('!INF|4961\r') },
    { t: t0 + 40, dir: 'rx', hex: hex('!INF^8002-51733^A^HLD^0.00^ml/h^^0.969^ml^530.15^mmHg^00:04:09^EVENT^214725|DB9D\r') },
    { t: t0 + 41, dir: 'tx', hex: hex('!ALARM|50B2\r') },
    { t: t0 + 80, dir: 'rx', hex: hex('!ALARM^AL_OCCLU^OCCLUSION^|664D\r') },
    { t: t0 + 90, dir: 'rx', hex: 'zz' },
  ]
    .map((line) => JSON.stringify(line))
    .join('\n');
}

describe('pumpwatch replay --protocol', () => {
  it('runs a capture of public Alaris frames through the host session and raises downstream-occlusion from the pump alarm', async () => {
    const file = join(dir, 'public.capture');
    await writeFile(file, publicCapture());
    const run = await runCommand(['replay', '--protocol', 'alaris', file]);
    expect(run.code).toBe(0);
    const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual([expect.objectContaining({ condition: 'downstream-occlusion', event: 'raised', pumpId: 'GH-1' })]);
    expect(run.stderr).toContain('replayed 1 samples');
    expect(run.stderr).toContain('skipped 1 capture lines that are not events: line 7:');
  });

  it('refuses a capture recorded in another protocol, and an unknown protocol', async () => {
    const file = join(dir, 'public.capture');
    await writeFile(file, publicCapture());
    const other = await runCommand(['replay', '--protocol', 'fresenius', file]);
    expect(other.code).toBe(4);
    expect(other.stderr).toContain('recorded with protocol alaris, not fresenius');
    const unknown = await runCommand(['replay', '--protocol', 'bbraun', file]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--protocol must be alaris or fresenius');
  });

  it('refuses a file that is not a capture with the line and the reason', async () => {
    const file = join(dir, 'telemetry.jsonl');
    await writeFile(file, '{"pumpId":"A","ts":0,"state":"infusing"}\n');
    const run = await runCommand(['replay', '--protocol', 'alaris', file]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/line 1: not a pumpwatch capture header/);
  });
});

describe.skipIf(socat === undefined)('pumpwatch capture on a pty', () => {
  let pair: PtyPair | undefined;
  let emulator: PumpEmulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    await pair?.stop();
  });

  it('records both directions undecoded, bounded, and replays to the same alarm', { timeout: 40_000 }, async () => {
    pair = await startPtyPair(socat!, dir);
    emulator = await openPumpEmulator({ path: pair.pumpPath, protocol: 'alaris', binding: await loadSystemSerialBinding(), clock: systemClock });
    emulator.update({ pumpId: 'SIM', state: 'infusing', rateMlPerH: 3, volumeInfusedMl: 1, downstreamPressureMmHg: 20 });
    setTimeout(() => emulator?.update({ pumpId: 'SIM', state: 'paused', rateMlPerH: 0, volumeInfusedMl: 1.1, downstreamPressureMmHg: 540, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }), 800);
    const configPath = join(dir, 'ward.yaml');
    await writeFile(configPath, `sources:\n  serial:\n    - { path: "${pair.gatewayPath}", protocol: alaris, pumpId: GH-1, pollIntervalSeconds: 0.2 }\n`);
    const out = join(dir, 'first-day.capture');
    const run = await runCommand(['capture', '--config', configPath, '--port', pair.gatewayPath, '--out', out, '--seconds', '2']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/captured \d+ bytes .*2 s elapsed\); decoded [1-9]\d* samples; rejected: none/);

    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines[0]).toMatchObject({ pumpwatchCapture: 1, protocol: 'alaris', port: { path: pair.gatewayPath, pumpId: 'GH-1' } });
    const wire = (dirName: string) => lines.filter((line) => line.dir === dirName).map((line) => Buffer.from(line.hex!, 'hex').toString('latin1')).join('');
    expect(wire('tx')).toMatch(/^!INST_SERIALNO\|457D\r!COMMS_PROTOCOL\|E8DA\r(!INF\|4961\r)+!ALARM\|50B2\r/);
    expect(wire('rx')).toContain('!INST_SERIALNO^8002-00000|');
    expect(wire('rx')).toMatch(/!INF\^8002-00000\^A\^HLD\^0\.00\^ml\/h/);

    const replay = await runCommand(['replay', '--protocol', 'alaris', out]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('"downstream-occlusion"');

    const bounded = join(dir, 'bounded.capture');
    const small = await runCommand(['capture', '--config', configPath, '--port', pair.gatewayPath, '--out', bounded, '--max-bytes', '200']);
    expect(small.code).toBe(0);
    expect(small.stderr).toMatch(/\(reached 200 bytes\)/);
    const recorded = (await readFile(bounded, 'utf8')).trim().split('\n').slice(1).map((line) => JSON.parse(line) as { hex?: string });
    const bytes = recorded.reduce((sum, line) => sum + (line.hex?.length ?? 0) / 2, 0);
    expect(bytes).toBeLessThan(200 + 200);
  });

  it('refuses a port that is not an alaris or fresenius port of the configuration', async () => {
    const configPath = join(dir, 'ward.yaml');
    await writeFile(configPath, 'sources:\n  serial:\n    - { path: /dev/ttyUSB9, protocol: alaris, pumpId: GH-1 }\n');
    const run = await runCommand(['capture', '--config', configPath, '--port', '/dev/ttyUSB0', '--out', join(dir, 'x')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/dev/ttyUSB0 is not an alaris or fresenius port');
    expect(run.stderr).toContain('/dev/ttyUSB9');
  });
});
