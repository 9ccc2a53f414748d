import { connect as netConnect, type Socket } from 'node:net';
import { createWard } from '../../src/simulate/index.js';
import type { SimSample } from '../../src/simulate/index.js';
import type { ParentMessage, PublisherConfig, PublisherMessage } from './messages.js';
import { connectPacket, isConnackAccepted, publishPacket } from './wire.js';

/**
 * A load-generating publisher in a process of its own: simulated pump channels (src/simulate)
 * published round-robin at the rate the parent sets, plus latency probes. Samples are simulated
 * once into a bank and replayed with time shifted on each cycle, so generating load costs
 * little CPU.
 */

const TS_DIGITS = 13;
const STATS_INTERVAL_MS = 250;
/** Never owe more than this much publishing: a publisher that cannot keep up must not burst. */
const MAX_DEBT_SECONDS = 1;
const MAX_BATCH_BYTES = 256 * 1024;

interface BankedChannel {
  /** PUBLISH packets whose last 14 bytes are 13 ts digits and `}`. */
  packets: Buffer[];
  tsMs: number[];
  spanMs: number;
  next: number;
  cycle: number;
}

function send(message: PublisherMessage): void {
  process.send?.(message);
}

function packetWithTs(topic: string, sample: SimSample): { packet: Buffer; tsMs: number } {
  // ts goes last so each send can write it in place; seq would repeat as the bank cycles.
  const rest: Partial<SimSample> = { ...sample };
  delete rest.ts;
  delete rest.seq;
  const json = JSON.stringify(rest);
  const payload = Buffer.from(`${json.slice(0, -1)},"ts":${'0'.repeat(TS_DIGITS)}}`, 'utf8');
  return { packet: publishPacket(topic, payload), tsMs: Date.parse(sample.ts) };
}

function buildBank(config: PublisherConfig): BankedChannel[] {
  const channelCount = config.pumps * config.channelsPerPump;
  if (channelCount === 0) return [];
  const perChannel = Math.max(2, Math.ceil(config.bankSamples / channelCount));
  // The ward starts now, so a channel sent at 1 Hz keeps the gateway's time, as a pump's clock does.
  const ward = createWard({ pumps: config.pumps, channelsPerPump: config.channelsPerPump, seed: config.seed, startMs: Date.now(), durationMs: 14 * 24 * 3_600_000 });
  const byKey = new Map<string, BankedChannel>();
  let full = 0;
  const maxEmissions = channelCount * perChannel * 40;
  for (let index = 0; index < maxEmissions && full < channelCount; index++) {
    const emission = ward.next();
    if (emission === undefined) break;
    const sample = { ...emission.sample, pumpId: `${config.pumpPrefix}${emission.sample.pumpId}` };
    const key = `${sample.pumpId}\u0000${sample.channel}`;
    let channel = byKey.get(key);
    if (channel === undefined) {
      channel = { packets: [], tsMs: [], spanMs: 0, next: 0, cycle: 0 };
      byKey.set(key, channel);
    }
    if (channel.packets.length >= perChannel) continue;
    const { packet, tsMs } = packetWithTs(`${config.topicRoot}/${sample.pumpId}/telemetry`, sample);
    channel.packets.push(packet);
    channel.tsMs.push(tsMs);
    if (channel.packets.length === perChannel) full++;
  }
  const channels = [...byKey.values()];
  for (const channel of channels) {
    const first = channel.tsMs[0]!;
    const last = channel.tsMs[channel.tsMs.length - 1]!;
    const step = channel.tsMs.length > 1 ? (last - first) / (channel.tsMs.length - 1) : 1000;
    channel.spanMs = last - first + Math.max(1, Math.round(step));
  }
  return channels;
}

function writeTs(target: Buffer, end: number, tsMs: number): void {
  // Digits sit just before the closing brace: end - 1 is `}`.
  let value = tsMs;
  for (let position = end - 2; position >= end - 1 - TS_DIGITS; position--) {
    target[position] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
}

function probePacket(config: PublisherConfig, index: number, alarm: boolean, volumeMl: number): Buffer {
  const pumpId = `${config.probes.pumpPrefix}${index}`;
  const sample = {
    pumpId,
    channel: '1',
    ts: Date.now(),
    state: 'infusing',
    rateMlPerH: 1,
    volumeInfusedMl: volumeMl,
    downstreamPressureMmHg: alarm ? 420 : 10,
    ...(alarm ? { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] } : {}),
  };
  return publishPacket(`${config.topicRoot}/${pumpId}/telemetry`, Buffer.from(JSON.stringify(sample), 'utf8'));
}

async function connectBroker(config: PublisherConfig): Promise<Socket> {
  const url = new URL(config.url);
  const socket = netConnect(Number(url.port || 1883), url.hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(connectPacket(config.clientId));
      socket.once('data', (bytes: Buffer) => {
        socket.off('error', reject);
        if (isConnackAccepted(bytes)) resolve();
        else reject(new Error(`PW_BENCH_CONNACK: broker refused ${config.clientId}`));
      });
    });
  });
  // Nothing more is expected from the broker; a QoS 0 publisher reads nothing.
  socket.on('data', () => undefined);
  socket.on('error', (error) => {
    console.error(`publisher ${config.clientId}: ${error.message}`);
    process.exit(1);
  });
  return socket;
}

async function main(config: PublisherConfig): Promise<void> {
  const bank = buildBank(config);
  const socket = await connectBroker(config);
  let ratePerSecond = 0;
  let baselineMs = performance.now();
  let owedAtBaseline = 0;
  let sentSinceBaseline = 0;
  let published = 0;
  let probes = 0;
  let shortfall = 0;
  let cursor = 0;
  let blastRemaining = 0;
  const scratch = Buffer.allocUnsafe(MAX_BATCH_BYTES);
  let stopped = false;
  let waitingForDrain = false;
  const probeAlarm = new Array<boolean>(config.probes.count).fill(false);
  const probeVolume = new Array<number>(config.probes.count).fill(0);
  const probeDueMs = Array.from({ length: config.probes.count }, (_, index) => performance.now() + ((index + 1) * config.probes.intervalMs) / Math.max(1, config.probes.count));

  const setRate = (perSecond: number) => {
    ratePerSecond = perSecond;
    baselineMs = performance.now();
    owedAtBaseline = 0;
    sentSinceBaseline = 0;
  };

  const tick = () => {
    if (stopped || waitingForDrain) return;
    const nowMs = performance.now();
    const parts: Buffer[] = [];
    let bytes = 0;
    if ((ratePerSecond > 0 || blastRemaining > 0) && bank.length > 0) {
      let due = blastRemaining > 0 ? blastRemaining : Math.floor(owedAtBaseline + (ratePerSecond * (nowMs - baselineMs)) / 1000) - sentSinceBaseline;
      const maxDebt = blastRemaining > 0 ? Number.POSITIVE_INFINITY : ratePerSecond * MAX_DEBT_SECONDS;
      if (due > maxDebt) {
        shortfall += due - maxDebt;
        baselineMs = nowMs;
        owedAtBaseline = maxDebt;
        sentSinceBaseline = 0;
        due = maxDebt;
      }
      if (due > 0) {
        // Fill a scratch buffer, then copy out what was used: the socket keeps what it is given.
        let count = 0;
        let size = 0;
        while (count < due) {
          const channel = bank[cursor]!;
          const packet = channel.packets[channel.next]!;
          if (size + packet.length > scratch.length) break;
          packet.copy(scratch, size);
          size += packet.length;
          writeTs(scratch, size, channel.tsMs[channel.next]! + channel.cycle * channel.spanMs);
          channel.next++;
          if (channel.next === channel.packets.length) {
            channel.next = 0;
            channel.cycle++;
          }
          cursor = (cursor + 1) % bank.length;
          count++;
        }
        const batch = Buffer.allocUnsafe(size);
        scratch.copy(batch, 0, 0, size);
        parts.push(batch);
        bytes += size;
        if (blastRemaining > 0) blastRemaining -= count;
        else sentSinceBaseline += count;
        published += count;
      }
    }
    for (let index = 0; index < config.probes.count; index++) {
      const dueMs = probeDueMs[index]!;
      if (nowMs < dueMs) continue;
      // A probe late by more than its interval skips ahead rather than bursting.
      probeDueMs[index] = Math.max(dueMs + config.probes.intervalMs, nowMs);
      probeAlarm[index] = !probeAlarm[index];
      const volumeMl = probeVolume[index]! + 0.01;
      probeVolume[index] = volumeMl;
      const packet = probePacket(config, index, probeAlarm[index]!, volumeMl);
      parts.push(packet);
      bytes += packet.length;
      probes++;
    }
    if (bytes > 0 && !socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes))) {
      waitingForDrain = true;
      socket.once('drain', () => {
        waitingForDrain = false;
        tick();
      });
      return;
    }
    if (blastRemaining > 0) setImmediate(tick);
    else setTimeout(tick, 1);
  };

  const stats = setInterval(() => send({ type: 'stats', published, probes, shortfall, atMs: Date.now() }), STATS_INTERVAL_MS);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(stats);
    send({ type: 'stats', published, probes, shortfall, atMs: Date.now() });
    socket.end(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'rate') setRate(message.perSecond);
    else if (message.type === 'blast') {
      blastRemaining = message.count;
      // After the blast the pacing starts afresh: it owes nothing for the blast's time.
      setRate(ratePerSecond);
    } else stop();
  });
  process.on('disconnect', stop);
  setTimeout(stop, config.maxLifetimeSeconds * 1000).unref();
  send({ type: 'ready', channels: bank.length, bankSamples: bank.reduce((total, channel) => total + channel.packets.length, 0) });
  tick();
}

const config = JSON.parse(process.argv[2] ?? '{}') as PublisherConfig;
main(config).catch((error: unknown) => {
  console.error(`publisher ${config.clientId}: ${(error as Error).message}`);
  process.exit(1);
});
