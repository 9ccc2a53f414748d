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
 * which other work may be loading), with persistence off and Mosquitto's default queue limits.
 * `external` uses a running broker instead.
 */
export async function startBenchBroker(external?: string): Promise<BenchBroker> {
  if (external !== undefined) return { url: external, pid: undefined, stop: () => Promise.resolve() };
  if (mosquittoMissingReason !== undefined) throw new Error(`PW_BENCH_BROKER: ${mosquittoMissingReason}, or pass --broker URL`);
  const broker = await startMosquitto();
  return { url: broker.url, pid: broker.pid, stop: () => broker.stop() };
}
