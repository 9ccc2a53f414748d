import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSettableClock } from '../src/clock.js';
import { ConfigSchema } from '../src/config/schema.js';
import { createLogger } from '../src/log.js';
import { createAlarmManager, Pipeline } from '../src/pipeline.js';
import { WardFeed, type FeedStream } from '../src/web/feed.js';
import { wardSnapshot, type WardSource } from '../src/web/ward.js';
import type { DaemonRuntime } from './lib/daemon-process.js';
import { openPageStreams, openWardPages } from './lib/pages.js';
import { formatNumber, machineInfo, machineLine, mib, percentile, sleep, table, type MachineInfo } from './lib/report.js';
import { cores, rssOf, startRig } from './lib/rig.js';

/**
 * The ward page under load: the real daemon with N channels at 1 Hz each through Mosquitto,
 * measured with no page open, then with the HTTP traffic of several pages but no browser (what
 * the daemon pays for them), then with those pages open in headless Chromium on the same cores:
 * time to first render of each page, the daemon's CPU and RSS, and probe alarm latency (sample
 * sent → alarm at a station). Plus the memory of the chart ring per channel, measured in process.
 */
export interface WebBenchOptions {
  brokerUrl?: string | undefined;
  runtime: DaemonRuntime;
  channels: number;
  /** Samples per second per channel. */
  hz: number;
  pages: number;
  warmupSeconds: number;
  measureSeconds: number;
  probes: number;
}

export const DEFAULT_WEB_BENCH: WebBenchOptions = { runtime: 'dist', channels: 1000, hz: 1, pages: 5, warmupSeconds: 5, measureSeconds: 20, probes: 10 };

interface Phase {
  pages: number;
  /** How the pages are open: `streams` is their HTTP traffic without a browser; `chromium` is headless Chromium (niced) on the same cores. */
  clients: 'none' | 'streams' | 'chromium';
  daemonCores: number;
  daemonRssBytes: number;
  heapUsedBytes: number;
  alarmEvents: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  eventLoopLagMs: number;
}

export interface WebBenchResult {
  bench: 'web';
  machine: MachineInfo;
  options: WebBenchOptions;
  ring: { pointsPerChannel: number; bytesPerChannel: number; typedArrayBytesPerChannel: number };
  firstRenderMs: number[];
  firstRenderCpuMs: number[];
  /** CPU of the browser with every page open, in cores. */
  browserCores: number | null;
  snapshotBytes: number | null;
  feed: FeedCost;
  phases: Phase[];
}

/** Event-loop time of the page feed's work, in process, median per frame. */
interface FeedCost {
  /** The whole ward built, serialised and encoded for each page: every push before the feed (each second and on every alarm event); now a page's first frame. */
  wholeWardLoopMs: number;
  wholeWardBytes: number;
  /** The once-a-second frame when every row changed (1 Hz telemetry), scan slices included. */
  periodicFrameLoopMs: number;
  periodicFrameBytes: number;
  periodicFrameRows: number;
  /** The frame an alarm event sends: alarm list, event log, the row it touches. */
  alarmFrameLoopMs: number;
  alarmFrameBytes: number;
}

/** Heap and array buffers of a Pipeline with and without chart rings, one sample per channel, after full GCs. */
function measureRingMemory(channels: number): WebBenchResult['ring'] {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const config = ConfigSchema.parse({});
  const settings = config.ops.http.web;
  const footprint = (withTrace: boolean) => {
    gc();
    const before = process.memoryUsage();
    const clock = createSettableClock(Date.UTC(2026, 0, 1));
    const alarms = createAlarmManager({ config, clock, sinks: [] });
    const pipeline = new Pipeline({ config, clock, logger: createLogger('silent'), alarms, trace: withTrace ? settings : undefined });
    for (let index = 0; index < channels; index++) {
      pipeline.accept({ pumpId: `P${index >> 1}`, channel: String(index & 1), ts: clock.now(), state: 'infusing', rateMlPerH: 2, downstreamPressureMmHg: 20 });
    }
    gc();
    const after = process.memoryUsage();
    const bytes = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    return { bytes, pipeline };
  };
  const without = footprint(false);
  const withRings = footprint(true);
  const points = withRings.pipeline.traces!.capacity;
  return {
    pointsPerChannel: points,
    bytesPerChannel: Math.round((withRings.bytes - without.bytes) / channels),
    typedArrayBytesPerChannel: points * (8 + 4 + 4 + 4),
  };
}

/** Time the main thread spent running code (not waiting), in ms: the feed's own work, without the garbage collector's helper threads. */
const busyMs = (): number => performance.eventLoopUtilization().active;

/**
 * The page feed's cost on the daemon's thread, as the time the event loop was busy, on a real pipeline of `channels` channels with `pages` pages open: the whole-ward push
 * as it was, the periodic frame with every row changed, and an alarm frame.
 */
async function measureFeedCost(channels: number, pages: number): Promise<FeedCost> {
  const config = ConfigSchema.parse({});
  const startMs = Date.UTC(2026, 0, 1);
  const clock = createSettableClock(startMs);
  const pipeline = new Pipeline({ config, clock, logger: createLogger('silent'), alarms: createAlarmManager({ config, clock, sinks: [] }), trace: config.ops.http.web });
  const traces = pipeline.traces!;
  const source: WardSource = {
    nowMs: () => clock.now(),
    gateway: { id: 'bench', site: 'bench', ward: 'ward' },
    allowAck: false,
    telemetryLostAfterSeconds: config.detection.telemetryLostAfterSeconds,
    channels: () => traces.statuses(),
    channel: (pumpId, channel) => traces.status(pumpId, channel),
    placement: () => undefined,
    activeAlarms: () => pipeline.alarms.activeAlarms(),
    recentEvents: () => traces.recentEvents(),
    health: () => ({ sources: [], broker: 'connected', rejects: {}, journal: null, ingest: null }),
  };
  const second = (at: number) => {
    clock.set(startMs + at * 1000);
    for (let index = 0; index < channels; index++) {
      pipeline.accept({ pumpId: `P${index >> 1}`, channel: String(index & 1), ts: clock.now(), state: 'infusing', rateMlPerH: 2, downstreamPressureMmHg: 20 + ((at + index) % 5) });
    }
  };
  second(0);
  const median = (values: number[]) => percentile(values, 0.5);

  /** Before the feed, every push: the whole ward built, serialised, and encoded for each page. */
  const wholeWardPush = () => {
    const frame = `event: ward\ndata: ${JSON.stringify(wardSnapshot(source))}\n\n`;
    let bytes = 0;
    for (let page = 0; page < pages; page++) bytes = Buffer.from(frame).length;
    return bytes;
  };

  /** Pages that read every frame; the next frame's arrival resolves `next`. */
  const openFeed = (intervalMs: number) => {
    const feed = new WardFeed(source, { intervalMs, alarmFrameGapMs: 250, sliceMs: 1 });
    let arrived: ((frame: Buffer) => void) | undefined;
    const streams: FeedStream[] = Array.from({ length: pages }, (_, index) => ({
      writableLength: 0,
      write: (chunk: Buffer) => {
        if (index === pages - 1) arrived?.(chunk);
        return true;
      },
      end: () => undefined,
    }));
    for (const stream of streams) feed.open(stream);
    const next = () => new Promise<Buffer>((resolve) => (arrived = resolve));
    return { feed, next };
  };
  const rowsIn = (frame: Buffer) => (JSON.parse(frame.toString('utf8').split('data: ')[1]!) as { rows: unknown[] }).rows.length;

  // The feed's timers do not hold the process open (a daemon's would not want them to); this does, meanwhile.
  const holdOpen = setInterval(() => undefined, 1000);
  const periodic = openFeed(200);
  const whole: number[] = [];
  let wholeWardBytes = 0;
  const periodicLoop: number[] = [];
  let periodicFrameBytes = 0;
  let periodicFrameRows = 0;
  await periodic.next();
  // Alternate rounds, each right after a second of samples, so both pay the same garbage-collector
  // debt and run equally compiled; the first rounds warm up.
  for (let round = 1; round <= 60; round++) {
    second(round);
    const before = busyMs();
    if (round % 2 === 0) wholeWardBytes = wholeWardPush();
    const wholeMs = busyMs() - before;
    const frame = await periodic.next();
    const frameLoopMs = busyMs() - before;
    if (round <= 10) continue;
    if (round % 2 === 0) {
      whole.push(wholeMs);
      continue;
    }
    periodicLoop.push(frameLoopMs);
    periodicFrameBytes = frame.length;
    periodicFrameRows = rowsIn(frame);
  }
  periodic.feed.stop();

  // No periodic frame in this part: every frame is an alarm frame. A channel's occlusion, raised then ended.
  const alarmsOnly = openFeed(3_600_000);
  traces.listen(() => alarmsOnly.feed.alarmChanged());
  const alarmLoop: number[] = [];
  let alarmFrameBytes = 0;
  for (let round = 0; round < 20; round++) {
    const occluded = round % 2 === 0;
    clock.set(clock.now() + 1000);
    pipeline.accept({ pumpId: 'P0', channel: '0', ts: clock.now(), state: occluded ? 'alarm' : 'infusing', rateMlPerH: 2, downstreamPressureMmHg: occluded ? 410 : 20, pumpAlarms: occluded ? ['OCCLUSION_DOWNSTREAM'] : [] });
    const before = busyMs();
    const frame = await alarmsOnly.next();
    alarmLoop.push(busyMs() - before);
    alarmFrameBytes = frame.length;
    await sleep(300);
  }
  alarmsOnly.feed.stop();
  clearInterval(holdOpen);
  return {
    wholeWardLoopMs: median(whole),
    wholeWardBytes,
    periodicFrameLoopMs: median(periodicLoop),
    periodicFrameBytes,
    periodicFrameRows,
    alarmFrameLoopMs: median(alarmLoop),
    alarmFrameBytes,
  };
}

export async function runWebBench(options: WebBenchOptions = DEFAULT_WEB_BENCH, log: (line: string) => void = console.log): Promise<WebBenchResult> {
  const machine = machineInfo();
  const ring = measureRingMemory(options.channels);
  log(`web: chart ring ${ring.pointsPerChannel} points/channel, ${formatNumber(ring.bytesPerChannel)} B/channel measured (typed arrays ${formatNumber(ring.typedArrayBytesPerChannel)} B)`);
  const feed = await measureFeedCost(options.channels, options.pages);
  log(`web: page feed, loop time per frame: whole ward ${feed.wholeWardLoopMs.toFixed(2)} ms, periodic ${feed.periodicFrameLoopMs.toFixed(2)} ms, alarm ${feed.alarmFrameLoopMs.toFixed(2)} ms`);
  const rig = await startRig({
    brokerUrl: options.brokerUrl,
    runtime: options.runtime,
    publishers: 1,
    channels: options.channels,
    channelsPerPump: 2,
    bankSamples: 20_000,
    probes: options.probes,
    probeIntervalMs: 1000,
    plainSubscriber: false,
    maxSeconds: 4 * (options.warmupSeconds + options.measureSeconds) + 180,
  });
  const phases: Phase[] = [];
  let firstRenderMs: number[] = [];
  let firstRenderCpuMs: number[] = [];
  let browserCores: number | null = null;
  let snapshotBytes: number | null = null;
  const measure = async (pages: number, clients: Phase['clients']) => {
    await sleep(options.warmupSeconds * 1000);
    const from = await rig.snapshot();
    await sleep(options.measureSeconds * 1000);
    const to = await rig.snapshot();
    const latencies = rig.station.probeEvents(rig.probePrefix, from.atMs, to.atMs).map((event) => event.receivedMs - event.atMs);
    const phase: Phase = {
      pages,
      clients,
      daemonCores: cores(from.proc.daemon, to.proc.daemon),
      daemonRssBytes: rssOf(to.proc.daemon),
      heapUsedBytes: to.heapUsedBytes,
      alarmEvents: latencies.length,
      latencyP50Ms: percentile(latencies, 0.5),
      latencyP99Ms: percentile(latencies, 0.99),
      eventLoopLagMs: to.eventLoopLagSeconds * 1000,
    };
    phases.push(phase);
    log(`  ${pages} pages (${clients}): daemon ${phase.daemonCores.toFixed(3)} cores, RSS ${mib(phase.daemonRssBytes)}, alarm p50/p99 ${formatNumber(phase.latencyP50Ms)}/${formatNumber(phase.latencyP99Ms)} ms`);
  };
  try {
    rig.setRate(options.channels * options.hz);
    log(`web: ${rig.channels} channels at ${options.hz} Hz, pumpwatch ready in ${Math.round(rig.daemon.startupMs)} ms`);
    await measure(0, 'none');
    const streams = await openPageStreams(rig.daemon.port, options.pages);
    try {
      await measure(options.pages, 'streams');
    } finally {
      streams.close();
    }
    const pages = await openWardPages(rig.daemon.port, options.pages, options.channels);
    if (pages !== undefined) {
      try {
        firstRenderMs = pages.firstRenderMs;
        firstRenderCpuMs = pages.firstRenderCpuMs;
        snapshotBytes = pages.snapshotBytes;
        log(`  first render (navigation → ${options.channels} rows and a chart): ${firstRenderMs.map((ms) => Math.round(ms)).join(', ')} ms wall, ${firstRenderCpuMs.map((ms) => Math.round(ms)).join(', ')} ms browser CPU`);
        const [cores] = await Promise.all([pages.browserCores(options.warmupSeconds + options.measureSeconds), measure(options.pages, 'chromium')]);
        browserCores = cores;
      } finally {
        await pages.close();
      }
    }
  } finally {
    rig.setRate(0);
    await rig.stop();
  }
  return { bench: 'web', machine, options, ring, firstRenderMs, firstRenderCpuMs, browserCores, snapshotBytes, feed, phases };
}

export function formatWebBench(result: WebBenchResult): string {
  const rows = [
    ['pages open', 'as', 'daemon cpu', 'daemon RSS', 'heap', 'probe alarms', 'p50 ms', 'p99 ms', 'loop lag ms'],
    ...result.phases.map((phase) => [
      String(phase.pages),
      phase.clients,
      phase.daemonCores.toFixed(3),
      mib(phase.daemonRssBytes),
      mib(phase.heapUsedBytes),
      String(phase.alarmEvents),
      formatNumber(phase.latencyP50Ms),
      formatNumber(phase.latencyP99Ms),
      formatNumber(phase.eventLoopLagMs),
    ]),
  ];
  const render = result.firstRenderMs.length === 0 ? 'not measured (no Chromium)' : `${result.firstRenderMs.map((ms) => Math.round(ms)).join(', ')} ms (median ${Math.round(percentile(result.firstRenderMs, 0.5))} ms)`;
  return [
    `ward page: ${result.options.channels} channels × ${result.options.hz} Hz through Mosquitto; ${result.options.measureSeconds} s measured per phase; cpu in cores`,
    table(rows),
    `first render of each page (navigation → every row and a chart drawn): ${render}; browser CPU spent on it ${result.firstRenderCpuMs.map((ms) => Math.round(ms)).join(', ')} ms`,
    `Chromium with the ${result.options.pages} pages open: ${result.browserCores === null ? '–' : `${result.browserCores.toFixed(3)} cores`}`,
    `one ward snapshot (/api/state, and a page's first frame): ${result.snapshotBytes === null ? '–' : `${formatNumber(result.snapshotBytes / 1024)} KiB`}`,
    `page feed, event-loop time per frame on the daemon's thread (in process, ${result.options.pages} pages, medians): the whole ward built, serialised and encoded per page ${result.feed.wholeWardLoopMs.toFixed(2)} ms (${formatNumber(result.feed.wholeWardBytes / 1024)} KiB; every push before the feed, once a second and on every alarm event); the periodic frame with all ${result.feed.periodicFrameRows} rows changed ${result.feed.periodicFrameLoopMs.toFixed(2)} ms (${formatNumber(result.feed.periodicFrameBytes / 1024)} KiB, in slices of ≤ 1 ms); an alarm frame ${result.feed.alarmFrameLoopMs.toFixed(2)} ms (${formatNumber(result.feed.alarmFrameBytes / 1024, 1)} KiB)`,
    `chart ring: ${result.ring.pointsPerChannel} points per channel; ${formatNumber(result.ring.bytesPerChannel)} B per channel measured (typed arrays alone ${formatNumber(result.ring.typedArrayBytesPerChannel)} B), plus up to 64 markers`,
    machineLine(result.machine),
  ].join('\n');
}
