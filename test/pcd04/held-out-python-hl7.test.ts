import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { startDaemon } from '../../src/daemon.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { captureLog } from '../helpers/log-capture.js';
import { clearRetainedUnder, startRecorder } from '../helpers/recorder.js';

const PYTHON = '/usr/bin/python3';
const missing = spawnSync(PYTHON, ['-c', 'import hl7.mllp'], { stdio: 'ignore' }).status === 0 ? undefined : '(Debian python3-hl7 is not installed; .ci/run installs it)';

interface Received {
  checks: Record<string, boolean>;
  fields: Record<string, string>;
  answered: string;
}

let broker: TestBroker;
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await broker.stop();
});

/** Debian's python3-hl7 as the Alert Manager: it parses, checks TF-2 rules, and acknowledges with its own create_ack. */
async function startPythonAlertManager(refuseFirst: number): Promise<{ port: number; received: Received[] }> {
  const child: ChildProcess = spawn(PYTHON, [join(import.meta.dirname, 'python-hl7-am.py'), String(refuseFirst)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    child.kill();
  });
  const received: Received[] = [];
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`python3-hl7 Alert Manager exited with ${code}`)));
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as { listening?: number } & Received;
      if (parsed.listening !== undefined) resolve(parsed.listening);
      else received.push(parsed);
    });
  });
  return { port, received };
}

describe.skipIf(missing !== undefined)(`PCD-04 to python3-hl7's MLLP server as the Alert Manager ${missing ?? ''}`, () => {
  it('delivers a start and an end for a downstream occlusion raised from simulated telemetry, valid per TF-2, honouring its ACKs, placed by the ward roster', async () => {
    const manager = await startPythonAlertManager(1);
    const prefix = uniqueTopicPrefix('pcd04');
    const journalDirectory = await mkdtemp(join(tmpdir(), 'pumpwatch-pcd04-'));
    const config = ConfigSchema.parse({
      gateway: { id: 'gw-pcd04', site: 'st-mary', ward: 'nicu-4' },
      mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}`, sessionExpirySeconds: 0 },
      sources: { mqtt: { topics: [`${prefix}-pumps/+/telemetry`] } },
      journal: { directory: journalDirectory },
      roster: [{ pumpId: 'NICU-01', bed: 'BED7', patientRef: 'MRN^0042' }],
      pcd04: {
        enabled: true,
        port: manager.port,
        eui64: '0012340000000001',
        utcOffset: '+0100',
        locations: { pumps: { 'NICU-01': { pointOfCare: 'NICU', room: 'RM4', bed: 'BED12', facility: 'HOSPITAL' } } },
      },
      ops: { http: { enabled: false } },
    });
    const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, { clock: systemClock, logger: captureLog('info').logger, connect, loadSerialBinding: () => Promise.reject(new Error('no serial')) });
    cleanups.push(async () => {
      await daemon.stop();
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
      await rm(journalDirectory, { recursive: true, force: true });
    });
    const pumps = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [] });
    cleanups.push(() => pumps.stop());
    const sample = (fields: Record<string, unknown>) =>
      pumps.client.publishAsync(`${prefix}-pumps/NICU-01/telemetry`, JSON.stringify({ pumpId: 'NICU-01', ts: Date.now(), state: 'infusing', rateMlPerH: 1, ...fields }));

    await sample({ state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'], downstreamPressureMmHg: 420 });
    await expect.poll(() => manager.received.filter((r) => r.answered === 'CA').map((r) => r.fields.phase), { timeout: 10_000 }).toContain('start');
    await sample({ downstreamPressureMmHg: 20 });
    await expect.poll(() => manager.received.filter((r) => r.answered === 'CA').map((r) => r.fields.phase), { timeout: 10_000 }).toContain('end');

    for (const message of manager.received) {
      for (const [rule, held] of Object.entries(message.checks)) expect(held, `${message.fields.controlId}: ${rule}`).toBe(true);
    }
    const start = manager.received.filter((r) => r.fields.phase === 'start');
    const end = manager.received.find((r) => r.fields.phase === 'end')!;
    // The CE was honoured: the start came again, under the same control id, until it got CA.
    expect(start.map((r) => [r.fields.controlId, r.answered])).toEqual([
      [start[0]!.fields.controlId, 'CE'],
      [start[0]!.fields.controlId, 'CA'],
    ]);
    expect(start[0]!.fields).toMatchObject({ event: '196940', state: 'active', inactivation: 'enabled', type: 'ST', location: 'NICU^RM4^BED7^HOSPITAL', bed: 'BED7', patient: 'MRN^0042', obr29: '' });
    expect(end.fields).toMatchObject({ event: '196940', state: 'inactive', obr29: start[0]!.fields.obr3 });
    expect(end.fields.controlId).not.toBe(start[0]!.fields.controlId);
    await expect.poll(() => daemon.pcd04?.outbox.stats()).toMatchObject({ pending: 0, quarantined: 0 });
  });
});
