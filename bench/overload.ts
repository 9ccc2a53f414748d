import type { DaemonRuntime } from './lib/daemon-process.js';
import { formatNumber, machineInfo, machineLine, mib, percentile, sleep, table, type MachineInfo } from './lib/report.js';
import { cores, rssOf, sentPerSecond, startRig, type Snapshot } from './lib/rig.js';

/**
 * A ward's telemetry at 10×, 50× and 150× its nominal rate, for minutes with --seconds, through Mosquitto into the real
 * daemon: does the gateway keep alarms flowing (probe sample-to-alarm latency), keep its memory
 * bounded, shed telemetry only when it must, and raise and clear the overloaded alarm?
 *
 * Nominal ward: 60 pumps × 2 channels reporting every 0.2 s = 600 samples/s, the top of the
 * 60–600 frames/s range (60 pumps reporting 1–10 times a second). A flood keeps the same channels and
 * multiplies their rate, as a bridge flushing a backlog or misconfigured pumps would. 150× is
 * past what the shared cores carry, so the overload protection has to act.
 */

export interface OverloadOptions {
  brokerUrl?: string | undefined;
  runtime: DaemonRuntime;
  nominalPerSecond: number;
  channels: number;
  factors: number[];
  /** Length of each flood phase, of the nominal phase first, and of the nominal phase after each flood. */
  seconds: number;
  nominalSeconds: number;
  recoverySeconds: number;
  probes: number;
  probeIntervalMs: number;
}

export const DEFAULT_OVERLOAD: OverloadOptions = {
  runtime: 'dist',
  nominalPerSecond: 600,
  channels: 120,
  factors: [10, 50, 150],
  seconds: 30,
  nominalSeconds: 10,
  recoverySeconds: 20,
  probes: 20,
  probeIntervalMs: 1000,
};

export interface OverloadPhase {
  name: string;
  factor: number;
  offeredPerSecond: number;
  seconds: number;
  publishedPerSecond: number;
  ingestedPerSecond: number;
  processedPerSecond: number;
  shedPerSecond: number;
  /** Samples taken in and then refused for their time (the simulator reorders some, as real links do). */
  timeRefusedPerSecond: number;
  /** Share of the phase the daemon reported itself overloaded (scraped once a second). */
  overloadedShare: number;
  alarmEvents: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  daemonCores: number;
  brokerCores: number;
  rssStartBytes: number;
  rssMaxBytes: number;
  rssEndBytes: number;
  heapMaxBytes: number;
  brokerRssMaxBytes: number;
  maxPending: number;
}

export interface OverloadResult {
  bench: 'overload';
  machine: MachineInfo;
  options: OverloadOptions;
  channels: number;
  phases: OverloadPhase[];
  /** The overloaded technical alarm as the station saw it: event and seconds since the run began. */
  overloadedAlarm: { event: string; atSeconds: number }[];
  /** RSS and V8 heap used every second for the whole run (MiB), to see that memory stays bounded. */
  rssTimelineMiB: number[];
  heapTimelineMiB: number[];
  /** The daemon's counters at the end of the run: accepted = processed + shed + pending + timeRefused, unaccounted should be 0. */
  accounting: { accepted: number; processed: number; shed: number; pending: number; timeRefused: number; unaccounted: number };
}

const SNAPSHOT_INTERVAL_MS = 1000;

export async function runOverloadBench(options: OverloadOptions = DEFAULT_OVERLOAD, log: (line: string) => void = console.log): Promise<OverloadResult> {
  const machine = machineInfo();
  const plan = [
    { name: 'nominal', factor: 1, seconds: options.nominalSeconds },
    ...options.factors.flatMap((factor) => [
      { name: `${factor}× flood`, factor, seconds: options.seconds },
      // Long enough for the backlog to drain and the overloaded alarm's exitAfterSeconds (10 s) to pass.
      { name: `after ${factor}×`, factor: 1, seconds: options.recoverySeconds },
    ]),
  ];
  const totalSeconds = plan.reduce((total, phase) => total + phase.seconds, 0);
  const rig = await startRig({
    brokerUrl: options.brokerUrl,
    runtime: options.runtime,
    publishers: 2,
    channels: options.channels,
    channelsPerPump: 2,
    bankSamples: 60_000,
    probes: options.probes,
    probeIntervalMs: options.probeIntervalMs,
    plainSubscriber: false,
    maxSeconds: totalSeconds + 120,
  });
  const phases: OverloadPhase[] = [];
  const rssTimelineMiB: number[] = [];
  const heapTimelineMiB: number[] = [];
  const runStartMs = Date.now();
  let accounting: OverloadResult['accounting'] = { accepted: 0, processed: 0, shed: 0, pending: 0, timeRefused: 0, unaccounted: 0 };
  try {
    log(`overload: ${rig.channels} channels + ${options.probes} probes, nominal ${formatNumber(options.nominalPerSecond)}/s, ${totalSeconds} s in all`);
    for (const phase of plan) {
      const offered = options.nominalPerSecond * phase.factor;
      rig.setRate(offered);
      const snapshots: Snapshot[] = [await rig.snapshot()];
      const deadline = Date.now() + phase.seconds * 1000;
      while (Date.now() < deadline) {
        await sleep(SNAPSHOT_INTERVAL_MS);
        const snapshot = await rig.snapshot();
        snapshots.push(snapshot);
        rssTimelineMiB.push(Number((rssOf(snapshot.proc.daemon) / 2 ** 20).toFixed(1)));
        heapTimelineMiB.push(Number((snapshot.heapUsedBytes / 2 ** 20).toFixed(1)));
      }
      const first = snapshots[0]!;
      const last = snapshots[snapshots.length - 1]!;
      const seconds = (last.atMs - first.atMs) / 1000;
      const rate = (pick: (snapshot: Snapshot) => number) => (pick(last) - pick(first)) / seconds;
      const latencies = rig.station.probeLatencies(rig.probePrefix, first.atMs, last.atMs);
      const result: OverloadPhase = {
        name: phase.name,
        factor: phase.factor,
        offeredPerSecond: offered,
        seconds: Math.round(seconds),
        publishedPerSecond: sentPerSecond(first, last),
        ingestedPerSecond: rate((snapshot) => snapshot.accepted + snapshot.rejected),
        processedPerSecond: rate((snapshot) => snapshot.processed),
        shedPerSecond: rate((snapshot) => snapshot.shed),
        timeRefusedPerSecond: rate((snapshot) => snapshot.timeRefused),
        overloadedShare: snapshots.slice(1).filter((snapshot) => snapshot.overloaded > 0).length / Math.max(1, snapshots.length - 1),
        alarmEvents: latencies.length,
        latencyP50Ms: percentile(latencies, 0.5),
        latencyP99Ms: percentile(latencies, 0.99),
        latencyMaxMs: percentile(latencies, 1),
        daemonCores: cores(first.proc.daemon, last.proc.daemon),
        brokerCores: cores(first.proc.broker, last.proc.broker),
        rssStartBytes: rssOf(first.proc.daemon),
        rssMaxBytes: Math.max(...snapshots.map((snapshot) => rssOf(snapshot.proc.daemon))),
        rssEndBytes: rssOf(last.proc.daemon),
        heapMaxBytes: Math.max(...snapshots.map((snapshot) => snapshot.heapUsedBytes)),
        brokerRssMaxBytes: Math.max(...snapshots.map((snapshot) => rssOf(snapshot.proc.broker))),
        maxPending: Math.max(...snapshots.map((snapshot) => snapshot.pending)),
      };
      phases.push(result);
      const { accepted, processed, shed, pending, timeRefused } = last;
      accounting = { accepted, processed, shed, pending, timeRefused, unaccounted: accepted - processed - shed - pending - timeRefused };
      log(
        `  ${result.name}: in ${formatNumber(result.ingestedPerSecond)}/s, processed ${formatNumber(result.processedPerSecond)}/s, shed ${formatNumber(result.shedPerSecond)}/s, alarm p99 ${formatNumber(result.latencyP99Ms)} ms, RSS max ${mib(result.rssMaxBytes)}`,
      );
    }
  } finally {
    rig.setRate(0);
    await rig.stop();
  }
  const overloadedAlarm = rig.station.events
    .filter((event) => event.condition === 'overloaded')
    .map((event) => ({ event: event.event, atSeconds: Math.round((event.receivedMs - runStartMs) / 100) / 10 }));
  return { bench: 'overload', machine, options, channels: rig.channels, phases, overloadedAlarm, rssTimelineMiB, heapTimelineMiB, accounting };
}

export function formatOverloadBench(result: OverloadResult): string {
  const rows = [
    ['phase', 'offered/s', 'sent/s', 'in/s', 'done/s', 'shed/s', 'time-refused/s', 'overloaded', 'alarms', 'p50 ms', 'p99 ms', 'max ms', 'cpu pw', 'RSS start', 'RSS max', 'RSS end', 'heap max', 'mosq RSS'],
    ...result.phases.map((phase) => [
      phase.name,
      formatNumber(phase.offeredPerSecond),
      formatNumber(phase.publishedPerSecond),
      formatNumber(phase.ingestedPerSecond),
      formatNumber(phase.processedPerSecond),
      formatNumber(phase.shedPerSecond),
      formatNumber(phase.timeRefusedPerSecond),
      `${Math.round(phase.overloadedShare * 100)}%`,
      String(phase.alarmEvents),
      formatNumber(phase.latencyP50Ms),
      formatNumber(phase.latencyP99Ms),
      formatNumber(phase.latencyMaxMs),
      phase.daemonCores.toFixed(2),
      mib(phase.rssStartBytes),
      mib(phase.rssMaxBytes),
      mib(phase.rssEndBytes),
      mib(phase.heapMaxBytes),
      mib(phase.brokerRssMaxBytes),
    ]),
  ];
  const alarm = result.overloadedAlarm.map((entry) => `${entry.event} at ${entry.atSeconds} s`).join(', ') || 'never raised';
  return [
    `overload: ${result.channels} channels, nominal ${formatNumber(result.options.nominalPerSecond)}/s, floods of ${result.options.factors.map((factor) => `${factor}×`).join(' and ')} for ${result.options.seconds} s each; latency = probe sample to alarm event at a station`,
    table(rows),
    `overloaded alarm: ${alarm}`,
    `samples at the end: accepted ${formatNumber(result.accounting.accepted)} = through the detector ${formatNumber(result.accounting.processed)} + shed ${formatNumber(result.accounting.shed)} + pending ${formatNumber(result.accounting.pending)} + refused for their time ${formatNumber(result.accounting.timeRefused)}; unaccounted ${formatNumber(result.accounting.unaccounted)}`,
    machineLine(result.machine),
  ].join('\n');
}
