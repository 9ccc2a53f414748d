import { randomBytes } from 'node:crypto';
import { forkChild, type BenchChild } from './children.js';
import { startDaemonProcess, type DaemonProcess, type DaemonRuntime, type MetricsText } from './daemon-process.js';
import type { PublisherMessage, SubscriberMessage } from './messages.js';
import { startBenchBroker, type BenchBroker } from './mosquitto.js';
import { startNodeRed, type NodeRedPeer } from './node-red.js';
import { coreShare, readProc, type ProcSample } from './proc.js';
import { startStation, type Station } from './station.js';

/**
 * Everything one benchmark run needs, each part in a process of its own: Mosquitto, the real
 * `pumpwatch run`, optionally a plain mqtt.js subscriber on the same topic filter, and publisher
 * processes. The parent only paces, samples /proc and the metrics endpoint, and listens to
 * alarm events as a station would.
 */
export interface RigOptions {
  brokerUrl?: string | undefined;
  runtime: DaemonRuntime;
  publishers: number;
  channels: number;
  channelsPerPump: number;
  /** Simulated samples banked per publisher. */
  bankSamples: number;
  probes: number;
  probeIntervalMs: number;
  plainSubscriber: boolean;
  /** A Node-RED flow on the same topic filter, as a second peer. */
  nodeRed?: boolean;
  /** Upper bound on the whole run; children exit on their own after it. */
  maxSeconds: number;
  daemonConfig?: Record<string, unknown>;
  /**
   * The broker keeps every message for a consumer that is frozen (see `freeze`), and the daemon's
   * keepalive outlasts a freeze: for blasts that each consumer drains alone.
   */
  drains?: boolean;
}

export type Consumer = 'pumpwatch' | 'plain' | 'nodeRed';

export interface Snapshot {
  atMs: number;
  /** Each publisher's messages sent (samples and probes) and when it counted them. */
  publishers: { sent: number; atMs: number }[];
  shortfall: number;
  plainReceived: number;
  /** Samples the Node-RED flow's function saw (to within its reporting step), 0 without it. */
  nodeRedSeen: number;
  /**
   * Samples validated (taken off the wire, before overload protection), frames or samples refused
   * on the wire, samples through the detector, shed, and refused for their time after validation:
   * accepted = processed + shed + pending + timeRefused.
   */
  accepted: number;
  rejected: number;
  processed: number;
  shed: number;
  timeRefused: number;
  heapUsedBytes: number;
  eventLoopLagSeconds: number;
  overloaded: number;
  pending: number;
  metrics: MetricsText;
  proc: Record<'daemon' | 'plain' | 'nodeRed' | 'broker' | 'publishers', ProcSample[]>;
}

export interface Rig {
  readonly daemon: DaemonProcess;
  readonly station: Station;
  readonly probePrefix: string;
  readonly channels: number;
  setRate(totalPerSecond: number): void;
  /** Publishes `total` messages, split over the publishers, as fast as the broker takes them. */
  blast(total: number): void;
  /** Messages the publishers have sent so far, without asking the daemon (which may be frozen). */
  published(): number;
  /** SIGSTOP: the consumer takes nothing off its socket, so the broker queues for it. */
  freeze(consumer: Consumer): void;
  /** SIGCONT. */
  thaw(consumer: Consumer): void;
  snapshot(): Promise<Snapshot>;
  stop(): Promise<void>;
}

export const PROBE_PREFIX = 'PROBE-';

function procs(pids: readonly (number | undefined)[]): ProcSample[] {
  return pids.flatMap((pid) => {
    if (pid === undefined) return [];
    const sample = readProc(pid);
    return sample === undefined ? [] : [sample];
  });
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const runId = randomBytes(4).toString('hex');
  const topicRoot = `bench-${runId}/pumps`;
  const telemetryFilter = `${topicRoot}/+/telemetry`;
  const topicPrefix = `pumpwatch-bench/${runId}`;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((error: unknown) => console.error(`bench cleanup: ${(error as Error).message}`));
  };
  try {
    const broker: BenchBroker = await startBenchBroker(options.brokerUrl, { unlimitedQueues: options.drains === true });
    stops.push(() => broker.stop());
    const daemon = await startDaemonProcess({
      brokerUrl: broker.url,
      gatewayId: `bench-${runId}`,
      topicPrefix,
      telemetryFilter,
      runtime: options.runtime,
      ...(options.daemonConfig === undefined ? {} : { extraConfig: options.daemonConfig }),
      ...(options.drains === true ? { keepaliveSeconds: 600 } : {}),
    });
    stops.push(() => daemon.stop());
    const station = await startStation(broker.url, topicPrefix, `bench-station-${runId}`);
    stops.push(() => station.stop());
    let plain: BenchChild<SubscriberMessage> | undefined;
    if (options.plainSubscriber) {
      plain = await forkChild<SubscriberMessage>('plain-subscriber-child.ts', {
        url: broker.url,
        clientId: `bench-plain-${runId}`,
        topicFilter: telemetryFilter,
        maxLifetimeSeconds: options.maxSeconds,
      });
      stops.push(() => plain!.stop());
    }
    let nodeRed: NodeRedPeer | undefined;
    if (options.nodeRed === true) {
      nodeRed = await startNodeRed({ brokerUrl: broker.url, runId, topicFilter: telemetryFilter });
      stops.push(() => nodeRed!.stop());
    }
    const perPublisher = Math.ceil(options.channels / options.publishers);
    const publisherConfig = (index: number, pumps: number, probes: number) => ({
      url: broker.url,
      clientId: `bench-pub-${runId}-${index}`,
      topicRoot,
      pumpPrefix: `W${index}-`,
      pumps,
      channelsPerPump: options.channelsPerPump,
      seed: `bench-${index}`,
      bankSamples: options.bankSamples,
      probes: { count: probes, intervalMs: options.probeIntervalMs, pumpPrefix: `${PROBE_PREFIX}${index}-` },
      maxLifetimeSeconds: options.maxSeconds,
    });
    const publishers = await Promise.all(
      Array.from({ length: options.publishers }, (_, index) =>
        forkChild<PublisherMessage>('publisher-child.ts', publisherConfig(index, Math.ceil(perPublisher / options.channelsPerPump), 0)),
      ),
    );
    // Probes have a connection of their own, as a pump does: an alarm sample does not queue behind
    // the flood in the flooding publisher's own socket, only wherever pumpwatch makes it wait.
    if (options.probes > 0) publishers.push(await forkChild<PublisherMessage>('publisher-child.ts', publisherConfig(options.publishers, 0, options.probes)));
    for (const publisher of publishers) stops.push(() => publisher.stop());
    const channels = publishers.reduce((total, publisher) => total + (publisher.latest('ready')?.channels ?? 0), 0);
    const consumerPids: Record<Consumer, number | undefined> = { pumpwatch: daemon.pid, plain: plain?.pid, nodeRed: nodeRed?.pid };
    const signal = (consumer: Consumer, name: 'SIGSTOP' | 'SIGCONT') => {
      const pid = consumerPids[consumer];
      if (pid === undefined) throw new Error(`PW_BENCH_RIG: this rig runs no ${consumer}`);
      process.kill(pid, name);
    };
    // A consumer left frozen by a failed run would hang its own stop.
    stops.push(() => {
      for (const pid of Object.values(consumerPids)) if (pid !== undefined) process.kill(pid, 'SIGCONT');
      return Promise.resolve();
    });

    return {
      daemon,
      station,
      probePrefix: PROBE_PREFIX,
      channels,
      setRate(totalPerSecond) {
        for (const publisher of publishers.slice(0, options.publishers)) publisher.send({ type: 'rate', perSecond: totalPerSecond / options.publishers });
      },
      blast(total) {
        for (const publisher of publishers.slice(0, options.publishers)) publisher.send({ type: 'blast', count: Math.ceil(total / options.publishers) });
      },
      published: () => publishers.reduce((total, publisher) => total + (publisher.latest('stats')?.published ?? 0), 0),
      freeze: (consumer) => signal(consumer, 'SIGSTOP'),
      thaw: (consumer) => signal(consumer, 'SIGCONT'),
      async snapshot() {
        const atMs = Date.now();
        const proc = {
          daemon: procs([daemon.pid]),
          plain: procs([plain?.pid]),
          nodeRed: procs([nodeRed?.pid]),
          broker: procs([broker.pid]),
          publishers: procs(publishers.map((publisher) => publisher.pid)),
        };
        const metrics = await daemon.metrics();
        const stats = publishers.map((publisher) => publisher.latest('stats'));
        return {
          atMs,
          publishers: stats.map((entry) => ({ sent: (entry?.published ?? 0) + (entry?.probes ?? 0), atMs: entry?.atMs ?? atMs })),
          shortfall: stats.reduce((total, entry) => total + (entry?.shortfall ?? 0), 0),
          plainReceived: plain?.latest('stats')?.received ?? 0,
          nodeRedSeen: nodeRed?.count() ?? 0,
          accepted: metrics.sum('pumpwatch_samples_accepted_total'),
          // Samples the time guard refuses passed validation first and are in `accepted` already.
          rejected: metrics.sum('pumpwatch_samples_rejected_total') - metrics.sum('pumpwatch_samples_rejected_total', { source: 'time-guard' }),
          timeRefused: metrics.sum('pumpwatch_samples_rejected_total', { source: 'time-guard' }),
          processed: metrics.sum('pumpwatch_samples_processed_total'),
          shed: metrics.sum('pumpwatch_samples_shed_total'),
          heapUsedBytes: metrics.sum('nodejs_heap_size_used_bytes'),
          eventLoopLagSeconds: metrics.sum('pumpwatch_event_loop_lag_seconds'),
          overloaded: metrics.sum('pumpwatch_overloaded'),
          pending: metrics.sum('pumpwatch_ingest_pending_samples'),
          metrics,
          proc,
        };
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** CPU of a group of processes between two snapshots, in cores. */
/**
 * Messages per second the publishers sent between two snapshots, each over its own counting
 * times: their counts arrive up to 250 ms late, and timed by the snapshots a flood phase lost up
 * to its last quarter second of sending (the overload bench showed 0.3–0.5 % more taken in than
 * sent).
 */
export function sentPerSecond(from: Snapshot, to: Snapshot): number {
  let total = 0;
  for (let index = 0; index < Math.min(from.publishers.length, to.publishers.length); index++) {
    const [before, after] = [from.publishers[index]!, to.publishers[index]!];
    if (after.atMs > before.atMs) total += ((after.sent - before.sent) * 1000) / (after.atMs - before.atMs);
  }
  return total;
}

export function cores(from: ProcSample[], to: ProcSample[]): number {
  let total = 0;
  for (let index = 0; index < Math.min(from.length, to.length); index++) total += coreShare(from[index], to[index]);
  return from.length === 0 ? Number.NaN : total;
}

export function rssOf(samples: ProcSample[]): number {
  return samples.reduce((total, sample) => total + sample.rssBytes, 0);
}
