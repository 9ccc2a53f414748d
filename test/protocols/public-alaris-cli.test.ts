import { SerialPortStream } from '@serialport/stream';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSystemSerialBinding } from '../../src/sources/serial.js';
import { getText, waitUntil } from '../helpers/ops-http.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { findSocat, startPtyPair, type PtyPair } from '../helpers/pty.js';
import { alarisFrame } from '../helpers/public-frames.js';
import { clearRetainedUnder, startRecorder } from '../helpers/recorder.js';

/**
 * Acceptance for issue 12: an Alaris that answers exactly as the public captures do, on a real
 * pty, read by `pumpwatch run` as shipped (bin/pumpwatch → dist/). The pump here is not
 * pumpwatch's emulator: it is a script that answers each query with the frames of the public
 * record —
 * - while infusing, the running-pump reply of OpenICE's simulator, mode SET, flag "-"
 *   (mdpnp/mdpnp: interop-lab/demo-apps/src/main/java/org/mdpnp/apps/testapp/alaris/SingleSimAlaris.java,
 *   "INF^"+serNum+"^-^SET^"+%.2f+"^ml/h^^"+%.3f+"^ml^17.91^mmHg^24+^EVENT^127904");
 * - then the reply captured from a real GH on hold, byte for byte
 *   `!INF^8002-51733^A^HLD^0.00^ml/h^^0.969^ml^530.15^mmHg^00:04:09^EVENT^214725|DB9D`, and to
 *   `!ALARM|50B2` the answer `ALARM^AL_OCCLU^OCCLUSION^`
 *   (mickeywstahl/MDDT: interop-lab/demo-devices/src/main/java/org/mdpnp/devices/alaris/AlarisMITM.java);
 * - to the identity queries, `!INST_SERIALNO^8002-51733|ACFF` and `!COMMS_PROTOCOL^Asena Rev 2.1.5|661A`
 *   (MDDT AlarisToNeurowave.java, OpenICE SingleSimAlaris.java).
 */

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'pumpwatch');
const socat = findSocat();
const built = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));



const CAPTURED_HOLD = '!INF^8002-51733^A^HLD^0.00^ml/h^^0.969^ml^530.15^mmHg^00:04:09^EVENT^214725|DB9D\r';

/** The public pump: answers each query; `occluded` switches it from the running reply to the captured one. */
function publicAlaris(port: SerialPortStream) {
  const heard: string[] = [];
  let occluded = false;
  let volumeMl = 0;
  let pending = '';
  port.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    for (let end = pending.indexOf('\r'); end >= 0; end = pending.indexOf('\r')) {
      const query = pending.slice(0, end);
      pending = pending.slice(end + 1);
      heard.push(query);
      if (query === '!INST_SERIALNO|457D') port.write('!INST_SERIALNO^8002-51733|ACFF\r');
      else if (query === '!COMMS_PROTOCOL|E8DA') port.write('!COMMS_PROTOCOL^Asena Rev 2.1.5|661A\r');
      else if (query === '!ALARM|50B2') port.write(occluded ? alarisFrame('ALARM^AL_OCCLU^OCCLUSION^') : '!ALARM^AL_NOALM^ ^ |C73B\r');
      else if (query === '!INF|4961') {
        volumeMl += 0.001;
        port.write(occluded ? CAPTURED_HOLD : alarisFrame(`INF^8002-51733^-^SET^${(3.6).toFixed(2)}^ml/h^^${volumeMl.toFixed(3)}^ml^17.91^mmHg^24+^EVENT^127904`));
      }
    }
  });
  return {
    heard,
    occlude() {
      occluded = true;
    },
  };
}

const metric = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? '0');

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.stop();
});

describe.skipIf(socat === undefined || !built)('an Alaris answering as the public captures, read by the built `pumpwatch run` over a pty', () => {
  // A process, a pty and a broker on a 2-core machine shared with the rest of the suite: allow a minute.
  it('gives samples while it infuses (SET, flag -), raises downstream-occlusion from the pump alarm (HLD, flag A, AL_OCCLU), and never telemetry-lost', { timeout: 60_000 }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'pw-public-alaris-'));
    const prefix = uniqueTopicPrefix('publicalaris');
    let pair: PtyPair | undefined;
    let pumpPort: SerialPortStream | undefined;
    let child: ChildProcess | undefined;
    const station = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/#`] });
    try {
      pair = await startPtyPair(socat!, directory);
      pumpPort = new SerialPortStream({ binding: await loadSystemSerialBinding(), path: pair.pumpPath, baudRate: 38_400, autoOpen: false });
      await new Promise<void>((resolve, reject) => pumpPort!.open((error) => (error ? reject(error) : resolve())));
      const pump = publicAlaris(pumpPort);
      const configPath = join(directory, 'config.yaml');
      await writeFile(
        configPath,
        [
          `mqtt: { url: "${broker.url}", protocolVersion: ${broker.protocolVersion}, topicPrefix: "${prefix}" }`,
          'ops: { http: { port: 0 } }',
          `journal: { directory: "${join(directory, 'journal')}" }`,
          'sources:',
          '  serial:',
          `    - { path: "${pair.gatewayPath}", protocol: alaris, pumpId: GH-1, pollIntervalSeconds: 0.25, linkDeadlineSeconds: 2 }`,
        ].join('\n'),
      );
      let output = '';
      child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const logLines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      const httpPort = await waitUntil('the ops HTTP port', () => logLines().find((line) => line.code === 'PW_OPS_HTTP_LISTENING')?.port as number | undefined);
      const accepted = /^pumpwatch_samples_accepted_total\{source="serial:[^"]+"\} (\d+)/m;

      // Infusing: SET with flag "-" must give samples, and no ALARM query is needed.
      await waitUntil('ten accepted samples', async () => (metric(await getText(httpPort, '/metrics'), accepted) >= 10 ? true : undefined));
      expect(pump.heard.slice(0, 3)).toEqual(['!INST_SERIALNO|457D', '!COMMS_PROTOCOL|E8DA', '!INF|4961']);
      expect(pump.heard).not.toContain('!ALARM|50B2');

      // The occlusion: the captured HLD reply with flag A; the pump alarm must reach the station.
      pump.occlude();
      const raised = await station.waitFor((message) => message.text.includes('"downstream-occlusion"') && message.text.includes('"raised"'), {
        timeoutMs: 10_000,
        description: 'downstream-occlusion raised',
      });
      expect(JSON.parse(raised.text)).toMatchObject({ condition: 'downstream-occlusion', pumpId: 'GH-1', evidence: { source: 'pump-alarm', pumpAlarms: 'OCCLUSION_DOWNSTREAM', downstreamPressureMmHg: 530.15 } });
      expect(pump.heard).toContain('!ALARM|50B2');

      // Keep the link up for longer than its 2 s deadline: still no telemetry-lost.
      const before = metric(await getText(httpPort, '/metrics'), accepted);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const metrics = await getText(httpPort, '/metrics');
      expect(metric(metrics, accepted)).toBeGreaterThan(before);
      expect(metrics).not.toMatch(/condition="telemetry-lost"[^\n]* [1-9]/);
      expect(station.messages.some((message) => message.text.includes('"telemetry-lost"'))).toBe(false);
      const rejected = [...metrics.matchAll(/^pumpwatch_samples_rejected_total\{source="serial:[^"]+",reason="[^"]+"\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
      expect(rejected).toBe(0);
      // Everything the gateway said to the pump was a query of the public record.
      expect(new Set(pump.heard)).toEqual(new Set(['!INST_SERIALNO|457D', '!COMMS_PROTOCOL|E8DA', '!INF|4961', '!ALARM|50B2']));
    } finally {
      if (child !== undefined && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (pumpPort?.isOpen === true) await new Promise((resolve) => pumpPort!.close(resolve));
      await pair?.stop();
      await station.stop();
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
      await rm(directory, { recursive: true, force: true });
    }
  });
});
