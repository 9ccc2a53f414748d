import { mosquittoMissingReason, startMosquitto } from '../../test/helpers/mosquitto.js';

// One Mosquitto launcher serves tests and benchmarks; it imports nothing from vitest.
export { freeLoopbackPort } from '../../test/helpers/mosquitto.js';

/** A broker for one benchmark run: the bench's own Mosquitto, or one it was pointed at. */
export interface BenchBroker {
  url: string;
  /** Undefined for a broker the bench did not start (its CPU is then not measured). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * A Mosquitto of the bench's own on a free loopback port (never the machine's shared broker,
 * which other work may be loading), with persistence off and Mosquitto's default queue limits,
 * unless `unlimitedQueues`: then a stopped consumer's QoS 0 messages wait for it instead of being
 * dropped past 1,000 (max_queued_messages also bounds QoS 0 packets waiting for a live client).
 * `external` uses a running broker instead.
 */
export async function startBenchBroker(external?: string, options: { unlimitedQueues?: boolean } = {}): Promise<BenchBroker> {
  if (external !== undefined) return { url: external, pid: undefined, stop: () => Promise.resolve() };
  if (mosquittoMissingReason !== undefined) throw new Error(`PW_BENCH_BROKER: ${mosquittoMissingReason}, or pass --broker URL`);
  const broker = await startMosquitto(options.unlimitedQueues === true ? { extraConfig: 'max_queued_messages 0\nmax_queued_bytes 0' } : {});
  return { url: broker.url, pid: broker.pid, stop: () => broker.stop() };
}
