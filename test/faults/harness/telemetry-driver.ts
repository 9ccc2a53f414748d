import { randomBytes } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { MqttSourceSchema } from '../../../src/config/schema.js';
import type { Rng } from './random.js';

/** The daemon's default cap on samples in one MQTT message; the driver never sends more in one. */
export const MAX_SAMPLES_PER_MESSAGE = MqttSourceSchema.parse({}).maxSamplesPerMessage;

export interface TelemetryDriverOptions {
  url: string;
  /** Samples go to `<topicRoot>/ward/telemetry`, every pump's sample in messages of at most `samplesPerMessage`. */
  topicRoot: string;
  pumpIds: readonly string[];
  intervalMs: number;
  /** Chance per pump and tick that its own occlusion alarm switches on or off. */
  toggleProbability: number;
  rng: Rng;
  /** Default: the daemon's default `maxSamplesPerMessage`. */
  samplesPerMessage?: number;
}

/**
 * A ward of pumps publishing telemetry v1 over MQTT (QoS 0, as pumps do), whose occlusion alarm
 * codes switch on and off at random: a steady source of alarm raises and ends. It reconnects on its
 * own after a broker outage; what it publishes meanwhile is lost, as real telemetry would be.
 */
export class TelemetryDriver {
  readonly #options: TelemetryDriverOptions;
  readonly #client: MqttClient;
  readonly #occluded = new Map<string, boolean>();
  #toggleProbability: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #extraPumps = new Set<string>();

  constructor(options: TelemetryDriverOptions) {
    this.#options = options;
    this.#client = connect(options.url, { clientId: `pwdriver-${randomBytes(4).toString('hex')}`, reconnectPeriod: 100, connectTimeout: 2000, queueQoSZero: false });
    for (const pumpId of options.pumpIds) this.#occluded.set(pumpId, false);
    this.#toggleProbability = options.toggleProbability;
  }

  start(): void {
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
  }

  /** A pump that starts with its occlusion alarm on: the "new alarm" of a latency measurement. */
  addOccludedPump(pumpId: string): void {
    this.#occluded.set(pumpId, true);
    this.#extraPumps.add(pumpId);
    this.#tick();
  }

  /** Ends the alarm of a pump added with `addOccludedPump`; it goes on reporting, infusing. */
  clearPump(pumpId: string): void {
    if (this.#occluded.has(pumpId)) this.#occluded.set(pumpId, false);
  }

  /** Stops the random switching; every pump then reports no alarm. */
  settle(): void {
    for (const pumpId of this.#occluded.keys()) this.#occluded.set(pumpId, false);
    this.#toggleProbability = 0;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client.endAsync(true);
  }

  #tick(): void {
    const { rng, topicRoot, samplesPerMessage = MAX_SAMPLES_PER_MESSAGE } = this.#options;
    const toggleProbability = this.#toggleProbability;
    const ts = Date.now();
    const samples = [...this.#occluded.entries()].map(([pumpId, occluded]) => {
      const next = !this.#extraPumps.has(pumpId) && rng.chance(toggleProbability) ? !occluded : occluded;
      this.#occluded.set(pumpId, next);
      return { pumpId, ts, state: next ? 'alarm' : 'infusing', rateMlPerH: 1, pumpAlarms: next ? ['OCCLUSION_DOWNSTREAM'] : [] };
    });
    if (!this.#client.connected) return;
    // A ward that outgrows one message is sent as several, as a bridge batching by group would.
    for (let start = 0; start < samples.length; start += samplesPerMessage) {
      this.#client.publish(`${topicRoot}/ward/telemetry`, JSON.stringify(samples.slice(start, start + samplesPerMessage)), { qos: 0 });
    }
  }
}
