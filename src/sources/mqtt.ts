import type { IConnackPacket, ISubscriptionGrant, ISubscriptionMap, MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';
import type { Secrets } from '../config/load.js';
import type { Config, MqttSourceConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { buildClientOptions, type MqttConnect } from '../mqtt/client-options.js';
import { MqttLink, type MqttLinkState } from '../mqtt/link.js';
import { decodeJsonFrame, type DecodeTarget, type JsonDecodeOptions } from '../telemetry/decode.js';
import type { TelemetrySource } from './source.js';

/** Far above any honest batch (100 samples ≈ 30 kB); past it we refuse before parsing. */
export const MAX_TELEMETRY_MESSAGE_BYTES = 1_048_576;
/** SUBACK return code for a refused subscription (3.1.1 0x80; MQTT 5 codes ≥ 0x80). */
const SUBSCRIPTION_REFUSED = 0x80;

export interface MqttTelemetrySourceOptions {
  config: Pick<Config, 'gateway' | 'mqtt'>;
  source: MqttSourceConfig;
  secrets: Secrets;
  connect: MqttConnect;
  logger: Logger;
  clock: Clock;
  credentialsDirectory?: string | undefined;
}

/**
 * Pump telemetry from MQTT topic filters, one sample or an array per message, on a connection of
 * its own (client id `…-telemetry`) so a telemetry flood never delays alarms. Subscribes on every
 * CONNACK that brings no session, so it survives broker restarts.
 */
export class MqttTelemetrySource implements TelemetrySource {
  readonly name = 'mqtt';
  readonly #options: MqttTelemetrySourceOptions;
  readonly #logger: Logger;
  readonly #decodeOptions: JsonDecodeOptions;
  readonly #subscribedListeners = new Set<() => void>();
  #link: MqttLink | undefined;
  #stopped = false;

  constructor(options: MqttTelemetrySourceOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ source: this.name });
    this.#decodeOptions = { maxSamplesPerFrame: options.source.maxSamplesPerMessage };
  }

  get connectionState(): MqttLinkState {
    return this.#link?.state ?? (this.#stopped ? 'stopped' : 'idle');
  }

  /** Called each time the broker has granted the subscriptions (after every session-less CONNACK). */
  onSubscribed(listener: () => void): () => void {
    this.#subscribedListeners.add(listener);
    return () => this.#subscribedListeners.delete(listener);
  }

  /** Starts connecting and resolves without waiting for the broker. Throws `PW_MQTT_TLS_FILE`. */
  async start(into: DecodeTarget): Promise<void> {
    if (this.#link !== undefined || this.#stopped) return;
    const { config, secrets, connect, logger, clock, credentialsDirectory } = this.#options;
    const clientOptions = await buildClientOptions({ config, secrets, role: 'telemetry', credentialsDirectory });
    // stop() (or a second start) may have run while the TLS files were being read.
    if (this.#link !== undefined || this.#stopped) return;
    const link = new MqttLink({ role: 'telemetry', url: config.mqtt.url, clientOptions, connect, logger, clock });
    this.#link = link;
    const client = link.open();
    link.onConnect((connack) => this.#subscribe(client, connack));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload, into));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#link?.close();
  }

  #subscribe(client: MqttClient, connack: IConnackPacket): void {
    if (connack.sessionPresent) {
      this.#notifySubscribed();
      return;
    }
    const { topics, qos } = this.#options.source;
    const request: ISubscriptionMap = {};
    for (const topic of topics) request[topic] = { qos };
    client.subscribe(request, (error, granted) => {
      if (error !== null) {
        this.#logger.error({ code: 'PW_MQTT_SUBSCRIBE_FAILED', topics, error: error.message }, 'telemetry subscription failed');
        return;
      }
      const refused = (granted ?? []).filter((grant: ISubscriptionGrant) => grant.qos >= SUBSCRIPTION_REFUSED);
      if (refused.length > 0) {
        this.#logger.error(
          { code: 'PW_MQTT_SUBSCRIBE_REFUSED', refused: refused.map((grant) => ({ topic: grant.topic, reasonCode: grant.qos })) },
          'the broker refused telemetry subscriptions',
        );
      }
      this.#logger.info({ code: 'PW_MQTT_SUBSCRIBED', granted }, 'subscribed to telemetry');
      this.#notifySubscribed();
    });
  }

  #notifySubscribed(): void {
    for (const listener of this.#subscribedListeners) listener();
  }

  #onMessage(topic: string, payload: Buffer, into: DecodeTarget): void {
    // An empty payload is how a retained message is deleted, not a frame.
    if (payload.byteLength === 0) return;
    if (payload.byteLength > MAX_TELEMETRY_MESSAGE_BYTES) {
      into.reject({ reason: 'frame-too-long', detail: `${payload.byteLength} bytes on ${topic}, more than ${MAX_TELEMETRY_MESSAGE_BYTES}` });
      return;
    }
    try {
      decodeJsonFrame(payload.toString('utf8'), into, this.#decodeOptions);
    } catch (error) {
      // A throwing consumer must not take the MQTT client's packet handling down with it.
      this.#logger.error({ code: 'PW_MQTT_MESSAGE_HANDLER_FAILED', topic, error: (error as Error).message }, 'telemetry message handler threw');
    }
  }
}
