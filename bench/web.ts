import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSettableClock } from '../src/clock.js';
import { ConfigSchema } from '../src/config/schema.js';
import { createLogger } from '../src/log.js';
import { createAlarmManager, Pipeline } from '../src/pipeline.js';
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
  phases: Phase[];
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

export async function runWebBench(options: WebBenchOptions = DEFAULT_WEB_BENCH, log: (line: string) => void = console.log): Promise<WebBenchResult> {
  const machine = machineInfo();
  const ring = measureRingMemory(options.channels);
  log(`web: chart ring ${ring.pointsPerChannel} points/channel, ${formatNumber(ring.bytesPerChannel)} B/channel measured (typed arrays ${formatNumber(ring.typedArrayBytesPerChannel)} B)`);
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
  return { bench: 'web', machine, options, ring, firstRenderMs, firstRenderCpuMs, browserCores, snapshotBytes, phases };
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
    `one ward snapshot (sent to each page every second): ${result.snapshotBytes === null ? '–' : `${formatNumber(result.snapshotBytes / 1024)} KiB`}`,
    `chart ring: ${result.ring.pointsPerChannel} points per channel; ${formatNumber(result.ring.bytesPerChannel)} B per channel measured (typed arrays alone ${formatNumber(result.ring.typedArrayBytesPerChannel)} B), plus up to 64 markers`,
    machineLine(result.machine),
  ].join('\n');
}
