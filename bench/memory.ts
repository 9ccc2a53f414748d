import type { DaemonRuntime } from './lib/daemon-process.js';
import { formatNumber, machineInfo, machineLine, mib, sleep, table, type MachineInfo } from './lib/report.js';
import { rssOf, startRig, type Snapshot } from './lib/rig.js';

/**
 * Memory of the real daemon at 100, 1,000 and 10,000 pump channels, each channel reporting once a
 * second through Mosquitto: resident set and V8 heap once every channel has been seen for a
 * while. A fresh daemon per size, so each figure stands alone.
 */

export interface MemoryOptions {
  brokerUrl?: string | undefined;
  runtime: DaemonRuntime;
  channelCounts: number[];
  /** Samples per channel per second. */
  perChannelHz: number;
  seconds: number;
}

export const DEFAULT_MEMORY: MemoryOptions = { runtime: 'dist', channelCounts: [100, 1000, 10_000], perChannelHz: 1, seconds: 20 };

export interface MemoryPoint {
  channels: number;
  samplesPerSecond: number;
  /** Channels the daemon's detector watches at the end (`pumpwatch_channels{state="watched"}`). */
  watchedChannels: number;
  idleRssBytes: number;
  rssBytes: number;
  maxRssBytes: number;
  /** Lowest heap-used reading over the last scrapes: the live heap plus the least garbage. */
  heapUsedBytes: number;
  startupMs: number;
}

export interface MemoryResult {
  bench: 'memory';
  machine: MachineInfo;
  options: MemoryOptions;
  points: MemoryPoint[];
  /** Heap and RSS growth per channel between the smallest and the largest size. */
  heapBytesPerChannel: number;
  rssBytesPerChannel: number;
}

const SCRAPE_INTERVAL_MS = 1000;
const TAIL_SCRAPES = 5;

async function measure(channels: number, options: MemoryOptions): Promise<MemoryPoint> {
  const rig = await startRig({
    brokerUrl: options.brokerUrl,
    runtime: options.runtime,
    publishers: 2,
    channels,
    channelsPerPump: 2,
    bankSamples: Math.max(20_000, channels * 4),
    probes: 0,
    probeIntervalMs: 1000,
    plainSubscriber: false,
    maxSeconds: options.seconds + 120,
  });
  try {
    const idle = await rig.snapshot();
    const rate = rig.channels * options.perChannelHz;
    rig.setRate(rate);
    const snapshots: Snapshot[] = [];
    const deadline = Date.now() + options.seconds * 1000;
    while (Date.now() < deadline) {
      await sleep(SCRAPE_INTERVAL_MS);
      snapshots.push(await rig.snapshot());
    }
    const tail = snapshots.slice(-TAIL_SCRAPES);
    const last = snapshots[snapshots.length - 1]!;
    return {
      channels: rig.channels,
      samplesPerSecond: rate,
      watchedChannels: last.metrics.sum('pumpwatch_channels', { state: 'watched' }),
      idleRssBytes: rssOf(idle.proc.daemon),
      rssBytes: rssOf(last.proc.daemon),
      maxRssBytes: Math.max(...snapshots.map((snapshot) => rssOf(snapshot.proc.daemon))),
      heapUsedBytes: Math.min(...tail.map((snapshot) => snapshot.heapUsedBytes)),
      startupMs: Math.round(rig.daemon.startupMs),
    };
  } finally {
    rig.setRate(0);
    await rig.stop();
  }
}

export async function runMemoryBench(options: MemoryOptions = DEFAULT_MEMORY, log: (line: string) => void = console.log): Promise<MemoryResult> {
  const machine = machineInfo();
  const points: MemoryPoint[] = [];
  for (const channels of options.channelCounts) {
    const point = await measure(channels, options);
    points.push(point);
    log(`  ${formatNumber(point.channels)} channels: RSS ${mib(point.rssBytes)}, heap ${mib(point.heapUsedBytes)}, ${formatNumber(point.watchedChannels)} watched`);
  }
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const span = last.channels - first.channels;
  return {
    bench: 'memory',
    machine,
    options,
    points,
    heapBytesPerChannel: span > 0 ? Math.round((last.heapUsedBytes - first.heapUsedBytes) / span) : Number.NaN,
    rssBytesPerChannel: span > 0 ? Math.round((last.rssBytes - first.rssBytes) / span) : Number.NaN,
  };
}

export function formatMemoryBench(result: MemoryResult): string {
  const rows = [
    ['channels', 'samples/s', 'watched', 'RSS idle', 'RSS', 'RSS max', 'heap used', 'ready ms'],
    ...result.points.map((point) => [
      formatNumber(point.channels),
      formatNumber(point.samplesPerSecond),
      formatNumber(point.watchedChannels),
      mib(point.idleRssBytes),
      mib(point.rssBytes),
      mib(point.maxRssBytes),
      mib(point.heapUsedBytes),
      formatNumber(point.startupMs),
    ]),
  ];
  return [
    `memory: the daemon with every channel reporting at ${result.options.perChannelHz} Hz for ${result.options.seconds} s (fresh daemon per size)`,
    table(rows),
    `growth per channel: heap ${formatNumber(result.heapBytesPerChannel)} B, RSS ${formatNumber(result.rssBytesPerChannel)} B (all per-channel state: detector, silence watch, alarm manager, maps)`,
    machineLine(result.machine),
  ].join('\n');
}
