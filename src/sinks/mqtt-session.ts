import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';
import type { Secrets } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { buildClientOptions, type MqttConnect } from '../mqtt/client-options.js';
import { MqttError } from '../mqtt/errors.js';
import { MqttLink, type MqttLinkState } from '../mqtt/link.js';

export interface MqttSessionOptions {
  config: Pick<Config, 'gateway' | 'mqtt'>;
  secrets: Secrets;
  connect: MqttConnect;
  logger: Logger;
  clock: Clock;
  credentialsDirectory?: string | undefined;
  /**
   * A cap on publishes awaiting PUBACK, below the broker's Receive Maximum; unset, only the
   * broker's limit applies. The outbox's window is what paces alarm events.
   */
  maxInFlight?: number;
}

interface Slot {
  resolve: () => void;
  reject: (error: Error) => void;
}

export function connectionLost(): MqttError {
  return new MqttError('PW_MQTT_CONNECTION_LOST', 'the connection to the broker closed before the broker acknowledged');
}

/**
 * The gateway's `alarms` connection to the broker, shared by the alarm publisher, the gateway
 * status and the ack inbox. It sends only while connected, QoS 1, never more publishes awaiting
 * PUBACK than the broker's Receive Maximum (mqtt.js itself ignores it), and when the connection
 * drops it fails what was in flight with `PW_MQTT_CONNECTION_LOST` and removes it from mqtt.js's
 * in-memory store: mqtt.js would otherwise re-send that store one message per round trip after
 * the next CONNACK, ahead of any new alarm, and forever if one of them is poison. On every
 * CONNACK `sessionPresent` is checked, then `onConnected` listeners run in the order they were added.
 */
export class MqttSession {
  readonly #options: MqttSessionOptions;
  readonly #logger: Logger;
  /** Settlers of publishes awaiting PUBACK; failed when the connection drops or on stop. */
  readonly #inFlight = new Set<(error: Error | undefined) => void>();
  readonly #waiting: Slot[] = [];
  #slotsTaken = 0;
  readonly #stateListeners = new Set<(state: MqttLinkState) => void>();
  readonly #connectedListeners = new Set<(connack: IConnackPacket) => void>();
  readonly #disconnectedListeners = new Set<() => void>();
  readonly #messageListeners = new Set<(topic: string, payload: Buffer, packet: IPublishPacket) => void>();
  #link: MqttLink | undefined;
  #connected = false;
  #connacks = 0;
  #stopped = false;

  constructor(options: MqttSessionOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'mqtt-alarms' });
  }

  get connectionState(): MqttLinkState {
    return this.#link?.state ?? (this.#stopped ? 'stopped' : 'idle');
  }

  /** True between a CONNACK and the connection closing: the only time anything is sent. */
  get connected(): boolean {
    return this.#connected && !this.#stopped;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  get client(): MqttClient | undefined {
    return this.#link?.client;
  }

  /** For metrics and health: called on every change of `connectionState`. */
  onConnectionState(listener: (state: MqttLinkState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  onConnected(listener: (connack: IConnackPacket) => void): () => void {
    this.#connectedListeners.add(listener);
    return () => this.#connectedListeners.delete(listener);
  }

  /** When a connection closes; whatever was in flight has been failed with PW_MQTT_CONNECTION_LOST. */
  onDisconnected(listener: () => void): () => void {
    this.#disconnectedListeners.add(listener);
    return () => this.#disconnectedListeners.delete(listener);
  }

  onMessage(listener: (topic: string, payload: Buffer, packet: IPublishPacket) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
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
    link.onConnect((connack) => this.#onConnack(connack));
    const client = link.open();
    client.on('close', () => this.#onClose(client));
    client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      for (const listener of this.#messageListeners) listener(topic, payload, packet);
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#connected = false;
    await this.#link?.close();
    this.#failAll(new MqttError('PW_MQTT_STOPPED', 'the publisher stopped before the broker acknowledged'));
  }

  /** The client to publish with; throws the code that says why there is none. */
  requireClient(): MqttClient {
    if (this.#stopped) throw new MqttError('PW_MQTT_STOPPED', 'the publisher is stopped');
    const client = this.#link?.client;
    if (client === undefined) throw new MqttError('PW_MQTT_NOT_STARTED', 'start the publisher before publishing');
    if (!this.#connected) throw connectionLost();
    return client;
  }

  /**
   * Publishes QoS 1 once a slot in the window is free (FIFO, so what was queued first goes first);
   * resolves on PUBACK, rejects with `PW_MQTT_PUBLISH_FAILED` (and the MQTT 5 reason code) when the
   * broker refuses, `PW_MQTT_CONNECTION_LOST` when the connection drops.
   */
  async send(topic: string, payload: Buffer, retain: boolean, expirySeconds?: number): Promise<void> {
    const client = this.requireClient();
    await this.#acquireSlot();
    if (!this.#connected || this.#stopped) {
      this.#releaseSlot();
      throw connectionLost();
    }
    const properties = this.#options.config.mqtt.protocolVersion === 5 && expirySeconds !== undefined ? { messageExpiryInterval: expirySeconds } : undefined;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined) => {
        if (settled) return;
        settled = true;
        this.#inFlight.delete(settle);
        this.#releaseSlot();
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#inFlight.add(settle);
      client.publish(topic, payload, { qos: 1, retain, ...(properties === undefined ? {} : { properties }) }, (error) => {
        if (error === undefined || error === null) {
          settle(undefined);
          return;
        }
        const reasonCode = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : undefined;
        settle(new MqttError('PW_MQTT_PUBLISH_FAILED', `${topic}: ${error.message}`, { cause: error, reasonCode }));
      });
    });
  }

  #windowSize(): number {
    const receiveMaximum = this.#link?.client?.serverProperties?.receiveMaximum;
    return Math.max(1, Math.min(this.#options.maxInFlight ?? Number.POSITIVE_INFINITY, receiveMaximum ?? Number.POSITIVE_INFINITY));
  }

  #acquireSlot(): Promise<void> | undefined {
    if (this.#slotsTaken < this.#windowSize() && this.#waiting.length === 0) {
      this.#slotsTaken++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  #releaseSlot(): void {
    this.#slotsTaken--;
    while (this.#waiting.length > 0 && this.#slotsTaken < this.#windowSize()) {
      this.#slotsTaken++;
      this.#waiting.shift()!.resolve();
    }
  }

  #failAll(error: Error): void {
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    for (const settle of [...this.#inFlight]) settle(error);
  }

  #onClose(client: MqttClient): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#failAll(connectionLost());
    // Left in mqtt.js's store they would be re-sent stop-and-wait ahead of everything after the next CONNACK.
    for (const messageId of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(messageId));
    for (const listener of this.#disconnectedListeners) listener();
  }

  #onConnack(connack: IConnackPacket): void {
    if (this.#link?.client === undefined || this.#stopped) return;
    this.#connacks++;
    this.#connected = true;
    const keepsSession = this.#options.config.mqtt.sessionExpirySeconds > 0;
    if (keepsSession && !connack.sessionPresent && this.#connacks > 1) {
      this.#logger.warn({ code: 'PW_MQTT_SESSION_LOST' }, 'the broker kept no session for us: resubscribing; acks sent meanwhile are gone');
    } else if (!keepsSession && connack.sessionPresent) {
      this.#logger.warn({ code: 'PW_MQTT_SESSION_UNEXPECTED' }, 'the broker resumed a session we asked it not to keep');
    }
    for (const listener of this.#connectedListeners) listener(connack);
  }
}
