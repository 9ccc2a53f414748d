import type { DaemonRuntime } from './lib/daemon-process.js';
import { formatNumber, machineInfo, machineLine, mib, percentile, sleep, table, type MachineInfo } from './lib/report.js';
import { openPageStreams, openWardPages, type OpenPages } from './lib/pages.js';
import { cores, rssOf, sentPerSecond, startRig, type Snapshot } from './lib/rig.js';
import type { SeenEvent } from './lib/station.js';

/**
 * End to end through Mosquitto: publisher processes send simulated telemetry at a stepped rate;
 * pumpwatch (the real daemon) and a plain mqtt.js subscriber that only parses JSON take the
 * same stream side by side. Per step: each one's sustained rate, their ratio, sample-to-alarm
 * latency of the probe channels, CPU and memory. With `pageStreams`, each step is measured twice
 * in a row, without and then with the HTTP traffic of that many ward pages (no browser), so what
 * open pages cost alarm latency is read from the same run.
 */

export interface E2eOptions {
  brokerUrl?: string | undefined;
  runtime: DaemonRuntime;
  publishers: number;
  channels: number;
  /** Offered samples per second, all publishers together, one step each. */
  rates: number[];
  warmupSeconds: number;
  measureSeconds: number;
  probes: number;
  probeIntervalMs: number;
  /** Ward pages held open in headless Chromium throughout (0: none). */
  pages: number;
  /** Ward pages' event streams and chart fetches, without a browser, for the second measurement of each step (0: one measurement per step, none). */
  pageStreams: number;
}

export const DEFAULT_E2E: E2eOptions = {
  runtime: 'dist',
  publishers: 2,
  channels: 1000,
  rates: [1000, 10_000, 20_000, 40_000, 60_000, 90_000],
  warmupSeconds: 2,
  measureSeconds: 6,
  probes: 20,
  probeIntervalMs: 1000,
  pages: 0,
  pageStreams: 0,
};

export interface E2eStep {
  offeredPerSecond: number;
  /** Page streams open while this step was measured. */
  pageStreams: number;
  publishedPerSecond: number;
  plainPerSecond: number;
  pumpwatchPerSecond: number;
  /** pumpwatch / plain subscriber, messages taken off the wire per second. */
  ratio: number;
  /** pumpwatch's processed samples / plain subscriber's messages. */
  processedRatio: number;
  /** Samples that went through the detector (ingested minus shed). */
  processedPerSecond: number;
  shedPerSecond: number;
  alarmEvents: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** The two legs at p99: sample sent → event made in pumpwatch, and event made → at the station. */
  ingestLegP99Ms: number;
  deliveryLegP99Ms: number;
  cores: { daemon: number; plain: number; broker: number; publishers: number };
  daemonRssBytes: number;
  daemonHeapUsedBytes: number;
  plainRssBytes: number;
  brokerRssBytes: number;
  eventLoopLagMs: number;
}

export interface E2eResult {
  bench: 'e2e';
  machine: MachineInfo;
  options: E2eOptions;
  channels: number;
  startupMs: number;
  steps: E2eStep[];
  /** The best side-by-side figures over all steps. */
  peak: { pumpwatchPerSecond: number; plainPerSecond: number; ratioAtPeak: number };
}

function step(offered: number, pageStreams: number, from: Snapshot, to: Snapshot, events: SeenEvent[]): E2eStep {
  const latencies = events.map((event) => event.receivedMs - event.atMs);
  const seconds = (to.atMs - from.atMs) / 1000;
  const rate = (a: number, b: number) => (b - a) / seconds;
  const pumpwatch = rate(from.accepted + from.rejected, to.accepted + to.rejected);
  const plain = rate(from.plainReceived, to.plainReceived);
  return {
    offeredPerSecond: offered,
    pageStreams,
    publishedPerSecond: sentPerSecond(from, to),
    plainPerSecond: plain,
    pumpwatchPerSecond: pumpwatch,
    ratio: pumpwatch / plain,
    processedRatio: rate(from.processed, to.processed) / plain,
    processedPerSecond: rate(from.processed, to.processed),
    shedPerSecond: rate(from.shed, to.shed),
    alarmEvents: latencies.length,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP99Ms: percentile(latencies, 0.99),
    latencyMaxMs: percentile(latencies, 1),
    ingestLegP99Ms: percentile(
      events.map((event) => event.emittedMs - event.atMs),
      0.99,
    ),
    deliveryLegP99Ms: percentile(
      events.map((event) => event.receivedMs - event.emittedMs),
      0.99,
    ),
    cores: {
      daemon: cores(from.proc.daemon, to.proc.daemon),
      plain: cores(from.proc.plain, to.proc.plain),
      broker: cores(from.proc.broker, to.proc.broker),
      publishers: cores(from.proc.publishers, to.proc.publishers),
    },
    daemonRssBytes: rssOf(to.proc.daemon),
    daemonHeapUsedBytes: to.heapUsedBytes,
    plainRssBytes: rssOf(to.proc.plain),
    brokerRssBytes: rssOf(to.proc.broker),
    eventLoopLagMs: to.eventLoopLagSeconds * 1000,
  };
}

export async function runE2eBench(options: E2eOptions = DEFAULT_E2E, log: (line: string) => void = console.log): Promise<E2eResult> {
  const machine = machineInfo();
  const stepSeconds = options.warmupSeconds + options.measureSeconds;
  const rig = await startRig({
    brokerUrl: options.brokerUrl,
    runtime: options.runtime,
    publishers: options.publishers,
    channels: options.channels,
    channelsPerPump: 2,
    bankSamples: 60_000,
    probes: options.probes,
    probeIntervalMs: options.probeIntervalMs,
    plainSubscriber: true,
    maxSeconds: options.rates.length * stepSeconds * (options.pageStreams > 0 ? 2 : 1) + 120,
  });
  const steps: E2eStep[] = [];
  let pages: OpenPages | undefined;
  try {
    log(`e2e: ${rig.channels} channels + ${options.probes} probes, pumpwatch ready in ${Math.round(rig.daemon.startupMs)} ms (${options.runtime})`);
    if (options.pages > 0) {
      // The pages need every channel on screen before the steps begin, so the ward is fed a little first.
      rig.setRate(options.rates[0] ?? 1000);
      pages = await openWardPages(rig.daemon.port, options.pages, Math.min(rig.channels, options.channels));
      log(`  ${options.pages} ward pages open (first render ${pages?.firstRenderMs.map((ms) => Math.round(ms)).join(', ') ?? '–'} ms)`);
    }
    const measure = async (offered: number, pageStreams: number) => {
      const streams = pageStreams > 0 ? await openPageStreams(rig.daemon.port, pageStreams) : undefined;
      try {
        await sleep(options.warmupSeconds * 1000);
        const from = await rig.snapshot();
        await sleep(options.measureSeconds * 1000);
        const to = await rig.snapshot();
        const result = step(offered, pageStreams, from, to, rig.station.probeEvents(rig.probePrefix, from.atMs, to.atMs));
        steps.push(result);
        log(
          `  offered ${formatNumber(offered)}/s, ${pageStreams} page streams: plain ${formatNumber(result.plainPerSecond)}/s, pumpwatch ${formatNumber(result.pumpwatchPerSecond)}/s (×${result.ratio.toFixed(2)}), alarm p99 ${formatNumber(result.latencyP99Ms)} ms, loop lag ${formatNumber(result.eventLoopLagMs)} ms`,
        );
      } finally {
        streams?.close();
      }
    };
    for (const offered of options.rates) {
      rig.setRate(offered);
      await measure(offered, 0);
      if (options.pageStreams > 0) await measure(offered, options.pageStreams);
    }
  } finally {
    await pages?.close();
    rig.setRate(0);
    await rig.stop();
  }
  const peakStep = steps.reduce((best, entry) => (entry.pumpwatchPerSecond > best.pumpwatchPerSecond ? entry : best), steps[0]!);
  return {
    bench: 'e2e',
    machine,
    options,
    channels: rig.channels,
    startupMs: Math.round(rig.daemon.startupMs),
    steps,
    peak: {
      pumpwatchPerSecond: Math.round(peakStep.pumpwatchPerSecond),
      plainPerSecond: Math.round(Math.max(...steps.map((entry) => entry.plainPerSecond))),
      ratioAtPeak: Number(peakStep.ratio.toFixed(3)),
    },
  };
}

export function formatE2eBench(result: E2eResult): string {
  const rows = [
    ['offered/s', 'pages', 'sent/s', 'plain/s', 'pw in/s', 'ratio', 'pw done/s', 'ratio', 'alarms', 'p50 ms', 'p99 ms', 'max ms', 'in→pw p99', 'pw→stn p99', 'lag ms', 'cpu pw', 'cpu plain', 'cpu mosq', 'cpu pubs', 'pw RSS', 'pw heap'],
    ...result.steps.map((entry) => [
      formatNumber(entry.offeredPerSecond),
      String(entry.pageStreams),
      formatNumber(entry.publishedPerSecond),
      formatNumber(entry.plainPerSecond),
      formatNumber(entry.pumpwatchPerSecond),
      entry.ratio.toFixed(2),
      formatNumber(entry.processedPerSecond),
      entry.processedRatio.toFixed(2),
      String(entry.alarmEvents),
      formatNumber(entry.latencyP50Ms),
      formatNumber(entry.latencyP99Ms),
      formatNumber(entry.latencyMaxMs),
      formatNumber(entry.ingestLegP99Ms),
      formatNumber(entry.deliveryLegP99Ms),
      formatNumber(entry.eventLoopLagMs),
      entry.cores.daemon.toFixed(2),
      entry.cores.plain.toFixed(2),
      entry.cores.broker.toFixed(2),
      entry.cores.publishers.toFixed(2),
      mib(entry.daemonRssBytes),
      mib(entry.daemonHeapUsedBytes),
    ]),
  ];
  return [
    `e2e through Mosquitto: ${result.channels} channels, ${result.options.publishers} publisher processes, QoS 0; ${result.options.warmupSeconds} s warm-up + ${result.options.measureSeconds} s measured per step; cpu in cores; ${result.options.pages} ward pages open in Chromium; pages: ward page streams (no browser) open during the step`,
    table(rows),
    `peak: pumpwatch ${formatNumber(result.peak.pumpwatchPerSecond)}/s, plain subscriber ${formatNumber(result.peak.plainPerSecond)}/s, ratio at pumpwatch's peak ${result.peak.ratioAtPeak}; start-up to ready ${result.startupMs} ms (${result.options.runtime})`,
    machineLine(result.machine),
  ].join('\n');
}
