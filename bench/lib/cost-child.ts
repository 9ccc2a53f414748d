import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect } from 'mqtt';
import { createSettableClock } from '../../src/clock.js';
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

interface Consumer {
  work: (payload: Buffer) => void;
  /** Samples that went through the detector (pumpwatch with detection), to check none was refused. */
  detected: () => number | undefined;
}

function consumer(): Consumer {
  const ignore: DecodeTarget = { sample: () => undefined, reject: () => undefined };
  const options = { maxSamplesPerFrame: 100 };
  const none = () => undefined;
  if (mode === 'mqtt.js only') return { work: () => undefined, detected: none };
  if (mode === 'plain: JSON.parse') return { work: (payload) => void JSON.parse(payload.toString('utf8')), detected: none };
  if (mode === 'pumpwatch: decode') return { work: (payload) => decodeJsonFrame(payload.toString('utf8'), ignore, options), detected: none };
  // Shedding off: on a busy machine the overload guard tripped and queued the last samples, and
  // the run died on its own check (199,962 of 200,000 reached the detector). Off, every sample
  // still passes the guard and goes straight through, as in a daemon that is keeping up.
  const config = ConfigSchema.parse({ overload: { shedding: 'off' } });
  const logger = createLogger('silent');
  // The gateway clock follows the samples, as if each arrived when it was taken. Against
  // Date.now() the simulated day's samples are hours old and run ahead faster than real time: the
  // time guard refused 87 % of them (out-of-order) and the bench timed refusals, not detection.
  const clock = createSettableClock();
  const alarms = createAlarmManager({ config, clock, sinks: [{ deliver: () => undefined }] });
  // The daemon keeps the ward page's chart ring per channel whenever the page is on (the default).
  const trace = mode === 'pumpwatch: decode + detect + chart' ? config.ops.http.web : undefined;
  const pipeline = new Pipeline({ config, clock, logger, alarms, trace });
  // As in the daemon: every sample passes the overload guard on its way to the pipeline.
  const guard = new IngestGuard({ settings: config.overload, process: (sample) => pipeline.accept(sample), report: () => undefined, logger });
  const into: DecodeTarget = {
    sample: (sample) => {
      clock.set(sample.ts);
      guard.offer(sample);
    },
    reject: () => undefined,
  };
  return { work: (payload) => decodeJsonFrame(payload.toString('utf8'), into, options), detected: () => pipeline.acceptedCount };
}

const blob = packets();
const { work, detected } = consumer();
/** The first tenth warms up (new channels' state, JIT) and is not measured: the figure is the steady cost. */
const warmup = Math.floor(count / 10);
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
  if (++received === warmup) {
    cpuAtStart = process.cpuUsage();
    wallAtStart = performance.now();
  }
  if (received < count) return;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMicros = cpu.user + cpu.system;
  const through = detected();
  if (through !== undefined && through !== count) throw new Error(`PW_BENCH_COST: ${through} of ${count} samples reached the detector; the bench must time detection, not refusals`);
  process.send?.({ mode, count, cpuMicrosPerMessage: cpuMicros / (count - warmup), wallMs: performance.now() - wallAtStart });
  client.end(true);
  server.close();
});
client.on('connect', () => client.subscribe('pumps/#', { qos: 0 }));
