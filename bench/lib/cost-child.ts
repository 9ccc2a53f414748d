import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect } from 'mqtt';
import { ConfigSchema } from '../../src/config/schema.js';
import { IngestGuard } from '../../src/ingest/guard.js';
import { createLogger } from '../../src/log.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import { createWard } from '../../src/simulate/index.js';
import { decodeJsonFrame, type DecodeTarget } from '../../src/telemetry/decode.js';
import type { CostMode } from './messages.js';
import { publishPacket } from './wire.js';

/**
 * One measurement of `npm run bench -- cost`, in a process of its own: a loopback socket plays
 * the broker and hands an mqtt.js client N simulated telemetry messages at once; the client does
 * one mode's work per message. CPU time, not wall time, so other work on the machine does not
 * change the figure.
 */

const mode = process.argv[2] as CostMode;
const count = Number(process.argv[3] ?? 200_000);

function packets(): Buffer {
  const ward = createWard({ pumps: 500, channelsPerPump: 2, seed: 'cost', durationMs: 24 * 3_600_000 });
  const parts: Buffer[] = [];
  for (let emission = ward.next(); emission !== undefined && parts.length < count; emission = ward.next()) {
    const payload = Buffer.from(JSON.stringify({ ...emission.sample, ts: emission.atMs }), 'utf8');
    parts.push(publishPacket(`pumps/${emission.sample.pumpId}/telemetry`, payload));
  }
  if (parts.length < count) throw new Error(`PW_BENCH_COST: the simulator gave ${parts.length} samples, fewer than ${count}`);
  return Buffer.concat(parts);
}

function consumer(): (payload: Buffer) => void {
  const ignore: DecodeTarget = { sample: () => undefined, reject: () => undefined };
  const options = { maxSamplesPerFrame: 100 };
  if (mode === 'mqtt.js only') return () => undefined;
  if (mode === 'plain: JSON.parse') return (payload) => void JSON.parse(payload.toString('utf8'));
  if (mode === 'pumpwatch: decode') return (payload) => decodeJsonFrame(payload.toString('utf8'), ignore, options);
  const config = ConfigSchema.parse({});
  const logger = createLogger('silent');
  const clock = { now: () => Date.now() };
  const alarms = createAlarmManager({ config, clock, sinks: [{ deliver: () => undefined }] });
  const pipeline = new Pipeline({ config, clock, logger, alarms });
  // As in the daemon: every sample passes the overload guard on its way to the pipeline.
  const guard = new IngestGuard({ settings: config.overload, process: (sample) => pipeline.accept(sample), report: () => undefined, logger });
  const into: DecodeTarget = { sample: (sample) => guard.offer(sample), reject: () => undefined };
  return (payload) => decodeJsonFrame(payload.toString('utf8'), into, options);
}

const blob = packets();
const work = consumer();
let cpuAtStart = process.cpuUsage();
let wallAtStart = 0;
// The socket answers CONNECT and SUBSCRIBE (MQTT 3.1.1), then sends every message in one write.
const server = createServer((socket: Socket) => {
  let stage = 0;
  socket.on('data', (bytes: Buffer) => {
    if (stage === 0) {
      stage = 1;
      socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    } else if (stage === 1 && bytes[0] === 0x82) {
      stage = 2;
      socket.write(Buffer.from([0x90, 0x03, bytes[2]!, bytes[3]!, 0x00]));
      cpuAtStart = process.cpuUsage();
      wallAtStart = performance.now();
      socket.write(blob);
    }
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
// pumpwatch's telemetry connection gives mqtt.js a no-op logger (src/mqtt/client-options.ts); a plain subscriber does not.
const quiet = mode.startsWith('pumpwatch') ? { log: () => undefined } : {};
const client = connect(`mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, { protocolVersion: 4, reconnectPeriod: 0, ...quiet });
let received = 0;
client.on('message', (_topic, payload) => {
  work(payload);
  if (++received < count) return;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMicros = cpu.user + cpu.system;
  process.send?.({ mode, count, cpuMicrosPerMessage: cpuMicros / count, wallMs: performance.now() - wallAtStart });
  client.end(true);
  server.close();
});
client.on('connect', () => client.subscribe('pumps/#', { qos: 0 }));
