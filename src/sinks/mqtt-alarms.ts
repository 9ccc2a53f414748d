import type { MqttClient } from 'mqtt';
import type { AlarmEvent } from '../alarms/event.js';
import type { AlarmSink } from '../alarms/manager.js';
import type { Clock } from '../clock.js';
import type { Secrets } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { buildClientOptions, type MqttConnect } from '../mqtt/client-options.js';
import { MqttError } from '../mqtt/errors.js';
import { MqttLink, type MqttLinkState } from '../mqtt/link.js';
import { onlineStatus, stoppedStatus } from '../mqtt/status.js';
import { createTopics, type MqttTopics } from '../mqtt/topics.js';

/** Alarm events are a few hundred bytes; anything near this is a bug and must not wedge the link. */
export const DEFAULT_MAX_ALARM_PAYLOAD_BYTES = 65_536;
/** Fixed header, topic length, packet id and properties of a PUBLISH, generously. */
const PUBLISH_OVERHEAD_BYTES = 64;
/** How long a clean stop waits for the broker to take the `offline` status. */
const STOP_STATUS_TIMEOUT_MS = 2_000;
const EMPTY_PAYLOAD = Buffer.alloc(0);

export interface MqttAlarmPublisherOptions {
  config: Pick<Config, 'gateway' | 'mqtt'>;
  secrets: Secrets;
  connect: MqttConnect;
  logger: Logger;
  /** Wall clock for the status `since` field and log rate limits. */
  clock: Clock;
  credentialsDirectory?: string | undefined;
  maxPayloadBytes?: number;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorCode(error: unknown): string {
  return error instanceof MqttError ? error.code : 'PW_MQTT_PUBLISH_FAILED';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Publishes alarm events per the topic tree: the latest event of each active alarm retained on its
 * own topic (cleared with an empty retained payload when it ends), every event on the event
 * stream, and the gateway status with a Last Will. Status and every active alarm are republished
 * on each CONNACK, because a broker without persistence forgets retained messages on restart.
 *
 * `publish` is the seam for the durable journal: one event in, resolved on PUBACK of both
 * messages, rejected with an `MqttError` otherwise. `deliver` is the fire-and-log `AlarmSink`.
 */
export class MqttAlarmPublisher implements AlarmSink {
  readonly topics: MqttTopics;
  readonly #options: MqttAlarmPublisherOptions;
  readonly #logger: Logger;
  readonly #maxPayloadBytes: number;
  /** Alarm topic → latest retained payload of each active alarm; what a reconnect must restore. */
  readonly #retained = new Map<string, Buffer>();
  /** Rejecters of publishes still waiting for PUBACK, failed on stop so no caller waits forever. */
  readonly #pending = new Set<(error: Error) => void>();
  readonly #stateListeners = new Set<(state: MqttLinkState) => void>();
  #link: MqttLink | undefined;
  #stopped = false;

  /** Throws `PW_MQTT_PREFIX_INVALID` before anything connects when the topic prefix is unusable. */
  constructor(options: MqttAlarmPublisherOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'mqtt-alarms' });
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_ALARM_PAYLOAD_BYTES;
    this.topics = createTopics(options.config);
  }

  get connectionState(): MqttLinkState {
    return this.#link?.state ?? (this.#stopped ? 'stopped' : 'idle');
  }

  /** For metrics and health: called on every change of `connectionState`. */
  onConnectionState(listener: (state: MqttLinkState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Reads TLS files and starts connecting; resolves without waiting for the broker, so the
   * daemon keeps detecting while the broker is away. Throws `PW_MQTT_TLS_FILE` on unreadable files.
   */
  async start(): Promise<void> {
    if (this.#link !== undefined || this.#stopped) return;
    const { config, secrets, connect, logger, clock, credentialsDirectory } = this.#options;
    const clientOptions = await buildClientOptions({ config, secrets, role: 'alarms', credentialsDirectory });
    // stop() (or a second start) may have run while the TLS files were being read.
    if (this.#link !== undefined || this.#stopped) return;
    const link = new MqttLink({ role: 'alarms', url: config.mqtt.url, clientOptions, connect, logger, clock });
    this.#link = link;
    link.onState((state) => {
      for (const listener of this.#stateListeners) listener(state);
    });
    link.onConnect(() => this.#restoreRetainedState());
    link.open();
  }

  deliver(event: AlarmEvent): void {
    this.publish(event).catch((error: unknown) => {
      this.#logger.error(
        {
          code: errorCode(error),
          reasonCode: error instanceof MqttError ? error.reasonCode : undefined,
          alarmId: event.alarmId,
          eventId: event.eventId,
          event: event.event,
          condition: event.condition,
          pumpId: event.pumpId,
          channel: event.channel,
          error: errorMessage(error),
        },
        'alarm event not published',
      );
    });
  }

  /**
   * Publishes one event to its retained alarm topic and to the event stream, both QoS 1.
   * Rejects with `PW_MQTT_TOPIC_INVALID` or `PW_MQTT_PAYLOAD_TOO_LARGE` before anything is sent,
   * `PW_MQTT_PUBLISH_FAILED` when the broker or connection refuses, `PW_MQTT_STOPPED` on stop.
   * While the broker is away the promise waits in mqtt.js's in-memory store.
   */
  async publish(event: AlarmEvent): Promise<void> {
    const client = this.#requireClient();
    const alarmTopic = this.topics.alarm(event.pumpId, event.channel, event.condition);
    const payload = Buffer.from(JSON.stringify(event));
    this.#assertPayloadFits(client, alarmTopic, payload);
    this.#assertPayloadFits(client, this.topics.events, payload);
    const ended = event.event === 'ended';
    if (ended) this.#retained.delete(alarmTopic);
    else this.#retained.set(alarmTopic, payload);
    await Promise.all([
      this.#send(client, alarmTopic, ended ? EMPTY_PAYLOAD : payload, true),
      this.#send(client, this.topics.events, payload, false),
    ]);
  }

  /** Publishes the retained `offline` status (a clean stop fires no Last Will), then disconnects. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const link = this.#link;
    if (link === undefined) return;
    const client = link.client;
    if (link.state === 'connected' && client !== undefined) {
      const status = Buffer.from(JSON.stringify(stoppedStatus(this.#options.config.gateway, this.#options.clock.now())));
      try {
        await withTimeout(this.#send(client, this.topics.status, status, true), STOP_STATUS_TIMEOUT_MS, 'offline status');
      } catch (error) {
        this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'offline status not published on stop');
      }
    }
    await link.close();
    const stopped = new MqttError('PW_MQTT_STOPPED', 'the publisher stopped before the broker acknowledged');
    for (const fail of this.#pending) fail(stopped);
    this.#pending.clear();
  }

  #requireClient(): MqttClient {
    if (this.#stopped) throw new MqttError('PW_MQTT_STOPPED', 'the publisher is stopped');
    const client = this.#link?.client;
    if (client === undefined) throw new MqttError('PW_MQTT_NOT_STARTED', 'start the publisher before publishing');
    return client;
  }

  /** Mosquitto disconnects on packets over its max_packet_size, and mqtt.js would resend them forever. */
  #assertPayloadFits(client: MqttClient, topic: string, payload: Buffer): void {
    const serverMaxPacket = client.serverProperties?.maximumPacketSize;
    const serverLimit = serverMaxPacket === undefined ? Number.POSITIVE_INFINITY : serverMaxPacket - Buffer.byteLength(topic) - PUBLISH_OVERHEAD_BYTES;
    const limit = Math.min(this.#maxPayloadBytes, serverLimit);
    if (payload.byteLength > limit) {
      throw new MqttError('PW_MQTT_PAYLOAD_TOO_LARGE', `${payload.byteLength} bytes for ${topic} exceed the limit of ${limit}`);
    }
  }

  #send(client: MqttClient, topic: string, payload: Buffer, retain: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.add(reject);
      client.publish(topic, payload, { qos: 1, retain }, (error) => {
        this.#pending.delete(reject);
        if (error === undefined || error === null) {
          resolve();
          return;
        }
        const reasonCode = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : undefined;
        reject(new MqttError('PW_MQTT_PUBLISH_FAILED', `${topic}: ${error.message}`, { cause: error, reasonCode }));
      });
    });
  }

  #restoreRetainedState(): void {
    const client = this.#link?.client;
    if (client === undefined || this.#stopped) return;
    const online = Buffer.from(JSON.stringify(onlineStatus(this.#options.config.gateway, this.#options.clock.now())));
    const restores: Promise<void>[] = [this.#send(client, this.topics.status, online, true)];
    for (const [topic, payload] of this.#retained) restores.push(this.#send(client, topic, payload, true));
    this.#logger.info({ code: 'PW_MQTT_STATE_REPUBLISHED', activeAlarms: this.#retained.size }, 'republishing online status and active alarm state');
    for (const restore of restores) {
      restore.catch((error: unknown) => {
        this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'retained state not restored');
      });
    }
  }
}
