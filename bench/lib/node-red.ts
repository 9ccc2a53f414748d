import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';

/**
 * The peer the issue names: a Node-RED 4.1 flow `mqtt in → json → function → mqtt out` on the
 * same broker and topic filter, in a process of its own, with the editor, admin API, telemetry and
 * update checks off. It is installed on first use into out/peers/ (git-ignored), outside the
 * project's dependency tree: its own dependencies (i18next wants TypeScript 5 as a peer) would
 * otherwise make `npm sbom` refuse the tree. The function does what a
 * minimal home-made watcher would: it counts every sample and flags a downstream pressure over a
 * limit; every COUNT_EVERY samples it publishes its running count, which the bench reads.
 */

export interface NodeRedPeer {
  readonly pid: number;
  /** Samples the flow's function has seen, as last published (to within COUNT_EVERY). */
  count(): number;
  stop(): Promise<void>;
}

export const COUNT_EVERY = 500;
/** Node-RED 5 needs Node.js 22; 4.1 runs on every Node.js pumpwatch supports. */
export const NODE_RED_VERSION = '4.1.8';
const PEERS_DIRECTORY = join(import.meta.dirname, '..', '..', 'out', 'peers');
const READY_TIMEOUT_MS = 180_000;

function functionBody(countTopic: string, alarmTopic: string): string {
  return `
const seen = (context.get('seen') || 0) + 1;
context.set('seen', seen);
const sample = msg.payload;
const out = [];
if (sample !== null && typeof sample === 'object' && sample.downstreamPressureMmHg > 300) {
  out.push({ topic: ${JSON.stringify(alarmTopic)}, payload: JSON.stringify({ pumpId: sample.pumpId, channel: sample.channel, pressure: sample.downstreamPressureMmHg }) });
}
if (seen % ${COUNT_EVERY} === 0) out.push({ topic: ${JSON.stringify(countTopic)}, payload: String(seen) });
return [out];
`;
}

function flow(broker: URL, clientId: string, topicFilter: string, countTopic: string, alarmTopic: string): unknown[] {
  // Flow nodes carry editor coordinates: Node-RED takes a node without x and y for a config node.
  return [
    { id: 'tab', type: 'tab', label: 'pumpwatch bench peer', env: [] },
    {
      id: 'broker',
      type: 'mqtt-broker',
      name: 'bench broker',
      broker: broker.hostname,
      port: broker.port || '1883',
      clientid: clientId,
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      // Outlasts the capacity bench's freezes (SIGSTOP while a blast queues at the broker).
      keepalive: '600',
      cleansession: true,
      birthTopic: '',
      closeTopic: '',
      willTopic: '',
    },
    { id: 'in', type: 'mqtt in', z: 'tab', x: 100, y: 100, name: 'telemetry', topic: topicFilter, qos: '0', datatype: 'utf8', broker: 'broker', nl: false, rap: false, rh: 0, inputs: 0, wires: [['json']] },
    { id: 'json', type: 'json', z: 'tab', x: 300, y: 100, name: '', property: 'payload', action: 'obj', pretty: false, wires: [['fn']] },
    {
      id: 'fn',
      type: 'function',
      z: 'tab',
      x: 500,
      y: 100,
      name: 'watch',
      func: functionBody(countTopic, alarmTopic),
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      wires: [['out']],
    },
    { id: 'out', type: 'mqtt out', z: 'tab', x: 700, y: 100, name: '', topic: '', qos: '0', retain: 'false', broker: 'broker', wires: [] },
  ];
}

const SETTINGS = `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: 0,
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  credentialSecret: false,
  flowFilePretty: false,
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false, updateNotification: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
  functionExternalModules: false,
  editorTheme: { palette: {}, projects: { enabled: false } },
};
`;

export async function startNodeRed(options: { brokerUrl: string; runId: string; topicFilter: string }): Promise<NodeRedPeer> {
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-bench-node-red-'));
  const broker = new URL(options.brokerUrl);
  const countTopic = `bench-${options.runId}/node-red/count`;
  const alarmTopic = `bench-${options.runId}/node-red/alarms`;
  await writeFile(join(directory, 'settings.js'), SETTINGS);
  await writeFile(join(directory, 'flows.json'), JSON.stringify(flow(broker, `bench-node-red-${options.runId}`, options.topicFilter, countTopic, alarmTopic)));
  const redJs = join(PEERS_DIRECTORY, 'node_modules', 'node-red', 'red.js');
  if (!existsSync(redJs)) {
    execFileSync('npm', ['install', '--prefix', PEERS_DIRECTORY, '--no-save', '--no-audit', '--no-fund', `node-red@${NODE_RED_VERSION}`], { stdio: 'inherit' });
  }
  const listener: MqttClient = await connectAsync(options.brokerUrl, { clientId: `bench-node-red-count-${options.runId}`, protocolVersion: 5, clean: true, reconnectPeriod: 0 });
  let latest = 0;
  let connected = false;
  listener.on('message', (_topic, payload) => {
    latest = Math.max(latest, Number(payload.toString('utf8')));
  });
  await listener.subscribeAsync(countTopic, { qos: 0 });
  const child: ChildProcess = spawn(process.execPath, [redJs, '--userDir', directory, '--settings', join(directory, 'settings.js'), join(directory, 'flows.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const capture = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  // Ready once the flow answers: rounds of COUNT_EVERY probe samples until a count comes back.
  // Probes sent before it subscribed are lost, so the count is known to within COUNT_EVERY.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const probeTopic = options.topicFilter.replace('+', '__node_red_ready__');
  while (!connected) {
    if (child.exitCode !== null) throw new Error(`PW_BENCH_NODE_RED: Node-RED exited with ${child.exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`PW_BENCH_NODE_RED: Node-RED not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    const payload = Buffer.from('{"pumpId":"__node_red_ready__","channel":"1"}');
    for (let index = 0; index < COUNT_EVERY; index++) listener.publish(probeTopic, payload, { qos: 0 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    connected = latest > 0;
  }
  const baseline = latest;
  return {
    pid: child.pid!,
    count: () => latest - baseline,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await listener.endAsync();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
