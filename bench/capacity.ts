import { loadavg } from 'node:os';
import { forkChild } from './lib/children.js';
import { COUNT_EVERY } from './lib/node-red.js';
import type { DaemonRuntime } from './lib/daemon-process.js';
import { formatNumber, machineInfo, machineLine, percentile, sleep, table, type MachineInfo } from './lib/report.js';
import { cores, sentPerSecond, startRig, type Consumer, type Rig, type Snapshot } from './lib/rig.js';
import { curveSvg } from './lib/svg.js';

/**
 * Capacity and overload, side by side with peers on one Mosquitto (500 pumps × 2 channels, QoS 0):
 *
 * 1. Blast: 200,000 messages, 3 times, drained by each consumer alone: the consumers are frozen
 *    while the publishers send, so the broker queues the blast for each, then thawed one by one.
 *    Each consumer's rate is what it got through between its first and its last sample:
 *    pumpwatch's samples through the detector, a plain mqtt.js subscriber's parsed messages, a
 *    Node-RED 4.1 flow's function calls.
 * 2. A second rig without Node-RED (pumpwatch, the plain subscriber, latency probes) drains one
 *    more blast: pumpwatch's rate through the detector there is its capacity for the rest.
 * 3. Steady: half that capacity, first alone, then while another process spins on every core.
 *    A gateway that keeps up must shed nothing.
 * 4. Curve: offered load from 0.5× to 3× capacity: samples through the detector, shed, alarm
 *    latency, and the plain subscriber's rate, as a table and an SVG plot.
 *
 * The cores are shared (other work, Mosquitto, the publishers and the peers all run on them), so
 * absolute rates move between runs; the ratios within one run are the figures to quote.
 */

export interface CapacityOptions {
  brokerUrl?: string | undefined;
  runtime: DaemonRuntime;
  channels: number;
  blastMessages: number;
  repetitions: number;
  /** Steady rate as a share of the measured capacity. */
  steadyShare: number;
  steadySeconds: number;
  factors: number[];
  warmupSeconds: number;
  measureSeconds: number;
  probes: number;
  probeIntervalMs: number;
}

export const DEFAULT_CAPACITY: CapacityOptions = {
  runtime: 'dist',
  channels: 1000,
  blastMessages: 200_000,
  repetitions: 3,
  steadyShare: 0.5,
  steadySeconds: 15,
  factors: [0.5, 1, 1.5, 2, 3],
  warmupSeconds: 3,
  measureSeconds: 10,
  probes: 20,
  probeIntervalMs: 1000,
};

export interface BlastRate {
  messages: number;
  seconds: number;
  perSecond: number;
}

export interface BlastRun {
  loadAverage: number[];
  pumpwatch: BlastRate;
  /** Taken off the wire by pumpwatch, through its detector, refused by it, and shed, during the blast. */
  pumpwatchIn: number;
  pumpwatchDone: number;
  pumpwatchRejected: number;
  pumpwatchShed: number;
  plain: BlastRate;
  nodeRed: BlastRate;
  ratioPlain: number;
  ratioNodeRed: number;
  /** Cores each consumer used while it drained (same polls as its rate); the broker's over the whole blast. */
  cores: { daemon: number; plain: number; nodeRed: number; broker: number };
  /** CPU per message while draining: cores × drain time ÷ messages. */
  cpuMicrosPerMessage: { daemon: number; plain: number; nodeRed: number };
}

export interface LoadStep {
  name: string;
  offeredPerSecond: number;
  loadAverage: number[];
  sentPerSecond: number;
  inPerSecond: number;
  processedPerSecond: number;
  shedPerSecond: number;
  shed: number;
  plainPerSecond: number;
  overloadedShare: number;
  alarmEvents: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  daemonCores: number;
  plainCores: number;
}

export interface CapacityResult {
  bench: 'capacity';
  machine: MachineInfo;
  options: CapacityOptions;
  blasts: BlastRun[];
  /** The second rig's blast: pumpwatch's rate through the detector there is its capacity. */
  calibration: BlastRun;
  capacityPerSecond: number;
  steady: LoadStep[];
  curve: (LoadStep & { factor: number; goodputShare: number })[];
}

const POLL_MS = 100;
const QUIET_MS = 2000;
const BLAST_TIMEOUT_MS = 120_000;

function load(): number[] {
  return loadavg().map((value) => Number(value.toFixed(2)));
}

/** A consumer's drain: its rate, and the polls that bound the time it was draining. */
interface Drain {
  rate: BlastRate;
  from: number;
  to: number;
}

/**
 * Messages over time from the poll before `count` first moved to the first poll where it had
 * 99 % of what it got in all: the last percent is left out, so a trickle after the blast (latency
 * probes, Node-RED's count step) does not stretch the time.
 */
function drainOf(polls: readonly { atMs: number; count: number }[]): Drain {
  const start = polls[0]!.count;
  const final = polls[polls.length - 1]!.count;
  const first = polls.findIndex((poll) => poll.count > start);
  const last = polls.findIndex((poll) => poll.count - start >= 0.99 * (final - start));
  if (first < 1 || last < first) return { rate: { messages: final - start, seconds: Number.NaN, perSecond: Number.NaN }, from: 0, to: polls.length - 1 };
  const messages = polls[last]!.count - start;
  const seconds = (polls[last]!.atMs - polls[first - 1]!.atMs) / 1000;
  return { rate: { messages, seconds, perSecond: messages / seconds }, from: first - 1, to: last };
}

function microsPerMessage({ rate, cores: used }: { rate: BlastRate; cores: number }): number {
  return (used * rate.seconds * 1e6) / rate.messages;
}

/** Fewer than this many samples per consumer in QUIET_MS: the blast has passed (probes send 20/s). */
const QUIET_SAMPLES = 200;

/** Polls `count` until it moved by fewer than `quietSamples` in QUIET_MS; returns the polls. */
async function pollUntilQuiet(rig: Rig, count: (snapshot: Snapshot) => number, quietSamples: number): Promise<Snapshot[]> {
  const polls: Snapshot[] = [await rig.snapshot()];
  const deadline = Date.now() + BLAST_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const snapshot = await rig.snapshot();
    polls.push(snapshot);
    const earlier = polls.find((poll) => poll.atMs >= snapshot.atMs - QUIET_MS)!;
    if (snapshot.atMs - polls[0]!.atMs > QUIET_MS && count(snapshot) - count(earlier) < quietSamples) break;
  }
  return polls;
}

/**
 * One blast, drained by each consumer alone: every consumer is frozen (SIGSTOP) while the
 * publishers send, so the broker queues the whole blast for each of them; then they are thawed
 * one after the other and each takes its copy off the broker as fast as it can. Sent while the
 * consumers ran, the blast was paced by the publishers (all three kept up with them), which
 * measured the load generator, not the consumers.
 */
async function drainOnce(rig: Rig, messages: number, consumers: readonly Consumer[]): Promise<BlastRun> {
  const loadAverage = load();
  const before = await rig.snapshot();
  for (const consumer of consumers) rig.freeze(consumer);
  const publishedBefore = rig.published();
  rig.blast(messages);
  const deadline = Date.now() + BLAST_TIMEOUT_MS;
  while (rig.published() - publishedBefore < messages && Date.now() < deadline) await sleep(POLL_MS);
  const counts: Record<Consumer, (snapshot: Snapshot) => number> = {
    pumpwatch: (snapshot) => snapshot.processed,
    plain: (snapshot) => snapshot.plainReceived,
    nodeRed: (snapshot) => snapshot.nodeRedSeen,
  };
  const drains = new Map<Consumer, { rate: BlastRate; cores: number }>();
  // pumpwatch first: every snapshot asks the daemon for its metrics.
  for (const consumer of consumers) {
    rig.thaw(consumer);
    const polls = await pollUntilQuiet(rig, counts[consumer], QUIET_SAMPLES + (consumer === 'nodeRed' ? COUNT_EVERY : 0));
    const procOf = (snapshot: Snapshot) => snapshot.proc[consumer === 'pumpwatch' ? 'daemon' : consumer];
    const drain = drainOf(polls.map((snapshot) => ({ atMs: snapshot.atMs, count: counts[consumer](snapshot) })));
    // CPU over the same polls as the rate: until 3 December it ran to the end of the quiet tail
    // (2 s and more after the drain), which read as a consumer idling at 0.3–0.6 of a core.
    drains.set(consumer, { rate: drain.rate, cores: cores(procOf(polls[drain.from]!), procOf(polls[drain.to]!)) });
  }
  const after = await rig.snapshot();
  const none = { rate: { messages: 0, seconds: Number.NaN, perSecond: Number.NaN }, cores: Number.NaN };
  const pumpwatch = drains.get('pumpwatch') ?? none;
  const plain = drains.get('plain') ?? none;
  const nodeRed = drains.get('nodeRed') ?? none;
  return {
    loadAverage,
    pumpwatch: pumpwatch.rate,
    pumpwatchIn: after.accepted - before.accepted,
    pumpwatchDone: after.processed - before.processed,
    pumpwatchRejected: after.rejected - before.rejected,
    pumpwatchShed: after.shed - before.shed,
    plain: plain.rate,
    nodeRed: nodeRed.rate,
    ratioPlain: pumpwatch.rate.perSecond / plain.rate.perSecond,
    ratioNodeRed: pumpwatch.rate.perSecond / nodeRed.rate.perSecond,
    cores: { daemon: pumpwatch.cores, plain: plain.cores, nodeRed: nodeRed.cores, broker: cores(before.proc.broker, after.proc.broker) },
    cpuMicrosPerMessage: { daemon: microsPerMessage(pumpwatch), plain: microsPerMessage(plain), nodeRed: microsPerMessage(nodeRed) },
  };
}

async function measureStep(rig: Rig, name: string, offered: number, warmupSeconds: number, measureSeconds: number): Promise<LoadStep> {
  rig.setRate(offered);
  await sleep(warmupSeconds * 1000);
  const loadAverage = load();
  const snapshots: Snapshot[] = [await rig.snapshot()];
  const deadline = Date.now() + measureSeconds * 1000;
  while (Date.now() < deadline) {
    await sleep(1000);
    snapshots.push(await rig.snapshot());
  }
  const from = snapshots[0]!;
  const to = snapshots[snapshots.length - 1]!;
  const seconds = (to.atMs - from.atMs) / 1000;
  const rate = (pick: (snapshot: Snapshot) => number) => (pick(to) - pick(from)) / seconds;
  const latencies = rig.station.probeLatencies(rig.probePrefix, from.atMs, to.atMs);
  return {
    name,
    offeredPerSecond: offered,
    loadAverage,
    sentPerSecond: sentPerSecond(from, to),
    inPerSecond: rate((snapshot) => snapshot.accepted),
    processedPerSecond: rate((snapshot) => snapshot.processed),
    shedPerSecond: rate((snapshot) => snapshot.shed),
    shed: to.shed - from.shed,
    plainPerSecond: rate((snapshot) => snapshot.plainReceived),
    overloadedShare: snapshots.slice(1).filter((snapshot) => snapshot.overloaded > 0).length / Math.max(1, snapshots.length - 1),
    alarmEvents: latencies.length,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP99Ms: percentile(latencies, 0.99),
    daemonCores: cores(from.proc.daemon, to.proc.daemon),
    plainCores: cores(from.proc.plain, to.proc.plain),
  };
}

function rigOptions(options: CapacityOptions, nodeRed: boolean, maxSeconds: number) {
  // The peers' blasts run without probes; the second rig has them for the latency curve.
  return {
    brokerUrl: options.brokerUrl,
    runtime: options.runtime,
    publishers: 2,
    channels: options.channels,
    channelsPerPump: 2,
    // 20 samples per channel, replayed with time shifted on: enough, and quick to simulate on busy cores.
    bankSamples: 20_000,
    probes: nodeRed ? 0 : options.probes,
    probeIntervalMs: options.probeIntervalMs,
    plainSubscriber: true,
    nodeRed,
    maxSeconds,
    drains: true,
  };
}

export async function runCapacityBench(options: CapacityOptions = DEFAULT_CAPACITY, log: (line: string) => void = console.log): Promise<CapacityResult> {
  const machine = machineInfo();
  const blasts: BlastRun[] = [];
  const blastRig = await startRig(rigOptions(options, true, options.repetitions * 150 + 120));
  try {
    log(`capacity: ${blastRig.channels} channels, blasts of ${formatNumber(options.blastMessages)} messages, pumpwatch + plain mqtt.js subscriber + Node-RED flow`);
    await sleep(2000);
    for (let repetition = 1; repetition <= options.repetitions; repetition++) {
      const run = await drainOnce(blastRig, options.blastMessages, ['pumpwatch', 'plain', 'nodeRed']);
      blasts.push(run);
      log(
        `  blast ${repetition}: pumpwatch ${formatNumber(run.pumpwatch.perSecond)}/s through the detector (shed ${formatNumber(run.pumpwatchShed)}), plain ${formatNumber(run.plain.perSecond)}/s, Node-RED ${formatNumber(run.nodeRed.perSecond)}/s: ×${run.ratioPlain.toFixed(2)} plain, ×${run.ratioNodeRed.toFixed(2)} Node-RED; load ${run.loadAverage.join(' ')}`,
      );
      await sleep(3000);
    }
  } finally {
    await blastRig.stop();
  }
  const curveSeconds = options.factors.length * (options.warmupSeconds + options.measureSeconds);
  const rig = await startRig(rigOptions(options, false, 2 * options.steadySeconds + curveSeconds + 300));
  const steady: LoadStep[] = [];
  const curve: CapacityResult['curve'] = [];
  let calibration: BlastRun;
  let capacity: number;
  try {
    await sleep(2000);
    calibration = await drainOnce(rig, options.blastMessages, ['pumpwatch', 'plain']);
    capacity = calibration.pumpwatch.perSecond;
    const steadyRate = Math.round(capacity * options.steadyShare);
    log(`  capacity (blast through the detector, pumpwatch and plain subscriber only): ${formatNumber(capacity)}/s, plain ${formatNumber(calibration.plain.perSecond)}/s; steady ${formatNumber(steadyRate)}/s`);
    await sleep(3000);
    steady.push(await measureStep(rig, 'steady, alone', steadyRate, options.warmupSeconds, options.steadySeconds));
    const loader = await forkChild<{ type: 'ready' }>('cpu-load-child.ts', { threads: machine.nproc, seconds: options.steadySeconds + options.warmupSeconds + 5 });
    try {
      steady.push(await measureStep(rig, `steady, ${machine.nproc} spinning threads`, steadyRate, options.warmupSeconds, options.steadySeconds));
    } finally {
      await loader.stop();
    }
    for (const step of steady) {
      log(
        `  ${step.name}: in ${formatNumber(step.inPerSecond)}/s, ${formatNumber(step.processedPerSecond)}/s through the detector, shed ${formatNumber(step.shed)}, plain ${formatNumber(step.plainPerSecond)}/s, alarm p99 ${formatNumber(step.latencyP99Ms)} ms, cpu pw ${step.daemonCores.toFixed(2)}`,
      );
    }
    for (const factor of options.factors) {
      const step = await measureStep(rig, `${factor}×`, Math.round(capacity * factor), options.warmupSeconds, options.measureSeconds);
      curve.push({ ...step, factor, goodputShare: step.processedPerSecond / capacity });
      log(
        `  ${factor}× (${formatNumber(step.offeredPerSecond)}/s offered, ${formatNumber(step.sentPerSecond)}/s sent): in ${formatNumber(step.inPerSecond)}/s, ${formatNumber(step.processedPerSecond)}/s through the detector (×${(step.processedPerSecond / capacity).toFixed(2)} capacity), shed ${formatNumber(step.shedPerSecond)}/s, plain ${formatNumber(step.plainPerSecond)}/s, alarm p99 ${formatNumber(step.latencyP99Ms)} ms, cpu pw ${step.daemonCores.toFixed(2)}, overloaded ${Math.round(step.overloadedShare * 100)}%`,
      );
    }
  } finally {
    rig.setRate(0);
    await rig.stop();
  }
  return { bench: 'capacity', machine, options, blasts, calibration, capacityPerSecond: Math.round(capacity), steady, curve };
}

export function capacitySvg(result: CapacityResult): string {
  return curveSvg({
    title: `pumpwatch under offered load, capacity ${formatNumber(result.capacityPerSecond)} samples/s (load average ${result.machine.loadAverage[0]})`,
    xLabel: 'offered load (× capacity)',
    x: result.curve.map((step) => step.factor),
    rates: [
      { name: 'offered', values: result.curve.map((step) => step.offeredPerSecond), dashed: true },
      { name: 'sent by the publishers', values: result.curve.map((step) => step.sentPerSecond), dashed: true },
      { name: 'pumpwatch: through the detector', values: result.curve.map((step) => step.processedPerSecond) },
      { name: 'pumpwatch: shed', values: result.curve.map((step) => step.shedPerSecond) },
      { name: 'plain mqtt.js subscriber', values: result.curve.map((step) => step.plainPerSecond) },
    ],
    latencies: [
      { name: 'alarm p50', values: result.curve.map((step) => step.latencyP50Ms) },
      { name: 'alarm p99', values: result.curve.map((step) => step.latencyP99Ms) },
    ],
  });
}

function stepRow(step: LoadStep, label: string): string[] {
  return [
    label,
    formatNumber(step.offeredPerSecond),
    formatNumber(step.sentPerSecond),
    formatNumber(step.inPerSecond),
    formatNumber(step.processedPerSecond),
    formatNumber(step.shedPerSecond),
    formatNumber(step.plainPerSecond),
    `${Math.round(step.overloadedShare * 100)}%`,
    formatNumber(step.latencyP50Ms),
    formatNumber(step.latencyP99Ms),
    step.daemonCores.toFixed(2),
    step.plainCores.toFixed(2),
    step.loadAverage[0]!.toFixed(1),
  ];
}

const STEP_HEADER = ['step', 'offered/s', 'sent/s', 'pw in/s', 'pw done/s', 'pw shed/s', 'plain/s', 'overloaded', 'p50 ms', 'p99 ms', 'cpu pw', 'cpu plain', 'load'];

export function formatCapacityBench(result: CapacityResult): string {
  const blastRows = [
    ['blast', 'pw done/s', 'plain/s', 'Node-RED/s', 'pw ÷ plain', 'pw ÷ Node-RED', 'pw done', 'pw rejected', 'pw shed', 'cpu pw', 'cpu plain', 'cpu Node-RED', 'µs/msg pw', 'plain', 'Node-RED', 'cpu mosq', 'load average'],
    ...result.blasts.map((run, index) => [
      String(index + 1),
      formatNumber(run.pumpwatch.perSecond),
      formatNumber(run.plain.perSecond),
      formatNumber(run.nodeRed.perSecond),
      run.ratioPlain.toFixed(2),
      run.ratioNodeRed.toFixed(2),
      formatNumber(run.pumpwatchDone),
      formatNumber(run.pumpwatchRejected),
      formatNumber(run.pumpwatchShed),
      run.cores.daemon.toFixed(2),
      run.cores.plain.toFixed(2),
      run.cores.nodeRed.toFixed(2),
      run.cpuMicrosPerMessage.daemon.toFixed(1),
      run.cpuMicrosPerMessage.plain.toFixed(1),
      run.cpuMicrosPerMessage.nodeRed.toFixed(1),
      run.cores.broker.toFixed(2),
      run.loadAverage.join(' '),
    ]),
  ];
  return [
    `capacity: ${formatNumber(result.options.blastMessages)}-message blasts, ${result.options.repetitions} repetitions; rate = messages between each consumer's first and last sample; cpu = cores while it drained`,
    table(blastRows),
    `capacity (one more blast without Node-RED, pumpwatch through the detector): ${formatNumber(result.capacityPerSecond)}/s; plain subscriber ${formatNumber(result.calibration.plain.perSecond)}/s`,
    table([STEP_HEADER, ...result.steady.map((step) => stepRow(step, step.name))]),
    table([[...STEP_HEADER, 'done ÷ capacity'], ...result.curve.map((step) => [...stepRow(step, step.name), step.goodputShare.toFixed(2)])]),
    machineLine(result.machine),
  ].join('\n');
}
