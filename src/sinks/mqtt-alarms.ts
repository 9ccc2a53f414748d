import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import type { AlarmEvent } from '../alarms/event.js';
import type { Clock } from '../clock.js';
import type { Secrets } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { buildClientOptions, type MqttConnect } from '../mqtt/client-options.js';
import { MqttError } from '../mqtt/errors.js';
import { MqttLink, type MqttLinkState } from '../mqtt/link.js';
import { onlineStatus, stoppedStatus, type GatewayStatus } from '../mqtt/status.js';
import { createTopics, type MqttTopics } from '../mqtt/topics.js';

/** Alarm events are a few hundred bytes; anything near this is a bug and must not wedge the link. */
export const DEFAULT_MAX_ALARM_PAYLOAD_BYTES = 65_536;
/** Publishes awaiting PUBACK at once, unless configured; mqtt.js itself ignores Receive Maximum. */
export const DEFAULT_MAX_IN_FLIGHT = 20;
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
  /** Wall clock for the status `since` field, message expiry and log rate limits. */
  clock: Clock;
  credentialsDirectory?: string | undefined;
  maxPayloadBytes?: number;
  /** MQTT publishes awaiting PUBACK at once; also capped by the broker's Receive Maximum. */
  maxInFlight?: number;
  /** Events older than this are not sent on the event stream (MQTT 5: message expiry). 0 = never stale. */
  eventExpirySeconds?: number;
  /** The online status is republished this often; default ⅔ of `mqtt.keepaliveSeconds`. */
  heartbeatSeconds?: number;
  /** Added to every online status (version, clock health). */
  statusExtras?: () => Pick<GatewayStatus, 'version' | 'clock'>;
}

export interface SendEventOptions {
  /** Also set the event's retained alarm topic: only for the newest event of its alarm. */
  retained: boolean;
}

export interface SendResult {
  /** False when the event was too old for the stream and only its retained state (if any) was sent. */
  streamed: boolean;
}

/** A station acknowledgement as it arrived on `<prefix>/ack`, before any validation. */
export interface InboundAck {
  payload: Buffer;
  /** Stored retained by the broker: an old ack, never a new one. */
  retained: boolean;
}

interface Slot {
  resolve: () => void;
  reject: (error: Error) => void;
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

function connectionLost(): MqttError {
  return new MqttError('PW_MQTT_CONNECTION_LOST', 'the connection to the broker closed before the broker acknowledged');
}

/**
 * The MQTT edge for alarms, per the topic tree: the latest event of each active alarm retained on
 * its own topic (cleared with an empty retained payload when it ends), every event on the event
 * stream, the gateway status with a Last Will, and station acks in on `<prefix>/ack`.
 *
 * It is a transport, not a queue: it sends only while connected, at most `maxInFlight` publishes
 * at a time, and when the connection drops it fails what was in flight with
 * `PW_MQTT_CONNECTION_LOST` and removes it from mqtt.js's in-memory store. mqtt.js would otherwise
 * re-send that store one message per round trip after the next CONNACK, ahead of any new alarm,
 * and forever if one of them is poison. The durable outbox decides what to re-send, and in which
 * order. On every CONNACK: `sessionPresent` is checked, the status and every active alarm are
 * republished (a broker without persistence forgets retained messages), the ack topic is
 * subscribed when the session did not keep it, and then `onConnected` listeners run.
 */
export class MqttAlarmPublisher {
  readonly topics: MqttTopics;
  readonly #options: MqttAlarmPublisherOptions;
  readonly #logger: Logger;
  readonly #maxPayloadBytes: number;
  readonly #maxInFlight: number;
  readonly #eventExpiryMs: number;
  /** Alarm topic → latest retained payload of each active alarm; what a reconnect must restore. */
  readonly #retained = new Map<string, Buffer>();
  /** Settlers of publishes awaiting PUBACK; failed when the connection drops or on stop. */
  readonly #inFlight = new Set<(error: Error | undefined) => void>();
  readonly #waiting: Slot[] = [];
  #slotsTaken = 0;
  readonly #stateListeners = new Set<(state: MqttLinkState) => void>();
  readonly #connectedListeners = new Set<(connack: IConnackPacket) => void>();
  readonly #disconnectedListeners = new Set<() => void>();
  readonly #ackListeners = new Set<(ack: InboundAck) => void>();
  readonly #commandListeners = new Set<(command: InboundAck) => void>();
  #link: MqttLink | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #onlineSinceMs = 0;
  #connected = false;
  #connacks = 0;
  #stopped = false;

  /** Throws `PW_MQTT_PREFIX_INVALID` before anything connects when the topic prefix is unusable. */
  constructor(options: MqttAlarmPublisherOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'mqtt-alarms' });
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_ALARM_PAYLOAD_BYTES;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#eventExpiryMs = (options.eventExpirySeconds ?? 0) * 1000;
    this.topics = createTopics(options.config);
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

  /** For metrics and health: called on every change of `connectionState`. */
  onConnectionState(listener: (state: MqttLinkState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** After every CONNACK, once the status and retained state are on their way. */
  onConnected(listener: (connack: IConnackPacket) => void): () => void {
    this.#connectedListeners.add(listener);
    return () => this.#connectedListeners.delete(listener);
  }

  /** When a connection closes; whatever was in flight has been failed with PW_MQTT_CONNECTION_LOST. */
  onDisconnected(listener: () => void): () => void {
    this.#disconnectedListeners.add(listener);
    return () => this.#disconnectedListeners.delete(listener);
  }

  onAck(listener: (ack: InboundAck) => void): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  /** Station commands on `<prefix>/cmd`, as they arrived (same shape and rules as acks). */
  onCommand(listener: (command: InboundAck) => void): () => void {
    this.#commandListeners.add(listener);
    return () => this.#commandListeners.delete(listener);
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
      const listeners = topic === this.topics.ack ? this.#ackListeners : topic === this.topics.cmd ? this.#commandListeners : undefined;
      if (listeners === undefined) return;
      for (const listener of listeners) listener({ payload, retained: packet.retain });
    });
  }

  /**
   * Throws `PW_MQTT_TOPIC_INVALID` or `PW_MQTT_PAYLOAD_TOO_LARGE` for an event that could never be
   * published: a bad topic makes brokers drop the connection, an oversized packet too.
   */
  checkEvent(event: AlarmEvent): void {
    const alarmTopic = this.topics.alarm(event.pumpId, event.channel, event.condition);
    const bytes = Buffer.byteLength(JSON.stringify(event));
    this.#assertPayloadFits(alarmTopic, bytes);
    this.#assertPayloadFits(this.topics.events, bytes);
  }

  /** Records the state a reconnect republishes: the event for an active alarm, nothing once it ended. */
  setRetainedState(event: AlarmEvent): void {
    let topic: string;
    try {
      topic = this.topics.alarm(event.pumpId, event.channel, event.condition);
    } catch {
      return;
    }
    if (event.event === 'ended') this.#retained.delete(topic);
    else this.#retained.set(topic, Buffer.from(JSON.stringify(event)));
  }

  /**
   * Sends one event, QoS 1, to the event stream and, when asked, to its retained alarm topic;
   * resolves on PUBACK of both. Rejects with the `checkEvent` codes before anything is sent,
   * `PW_MQTT_CONNECTION_LOST` when not connected or the connection drops, `PW_MQTT_PUBLISH_FAILED`
   * (with the MQTT 5 reason code) when the broker refuses, `PW_MQTT_STOPPED` on stop.
   */
  async sendEvent(event: AlarmEvent, options: SendEventOptions): Promise<SendResult> {
    const client = this.#requireClient();
    this.checkEvent(event);
    const payload = Buffer.from(JSON.stringify(event));
    const sends: Promise<void>[] = [];
    if (options.retained) {
      const alarmTopic = this.topics.alarm(event.pumpId, event.channel, event.condition);
      sends.push(this.#send(client, alarmTopic, event.event === 'ended' ? EMPTY_PAYLOAD : payload, true));
    }
    const expirySeconds = this.#remainingExpirySeconds(event);
    const streamed = expirySeconds === undefined || expirySeconds > 0;
    if (streamed) sends.push(this.#send(client, this.topics.events, payload, false, expirySeconds));
    await Promise.all(sends);
    return { streamed };
  }

  /** `setRetainedState` and `sendEvent` in one, for callers without an outbox. */
  async publish(event: AlarmEvent): Promise<void> {
    this.#requireClient();
    this.checkEvent(event);
    this.setRetainedState(event);
    await this.sendEvent(event, { retained: true });
  }

  /** Publishes the retained `offline` status (a clean stop fires no Last Will), then disconnects. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    const link = this.#link;
    const client = link?.client;
    if (link !== undefined && client !== undefined && this.#connected) {
      const status = Buffer.from(JSON.stringify(stoppedStatus(this.#options.config.gateway, this.#options.clock.now())));
      try {
        await withTimeout(this.#send(client, this.topics.status, status, true), STOP_STATUS_TIMEOUT_MS, 'offline status');
      } catch (error) {
        this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'offline status not published on stop');
      }
    }
    this.#stopped = true;
    this.#connected = false;
    clearInterval(this.#heartbeat);
    await link?.close();
    this.#failAll(new MqttError('PW_MQTT_STOPPED', 'the publisher stopped before the broker acknowledged'));
  }

  #requireClient(): MqttClient {
    if (this.#stopped) throw new MqttError('PW_MQTT_STOPPED', 'the publisher is stopped');
    const client = this.#link?.client;
    if (client === undefined) throw new MqttError('PW_MQTT_NOT_STARTED', 'start the publisher before publishing');
    if (!this.#connected) throw connectionLost();
    return client;
  }

  /** Mosquitto disconnects on packets over its max_packet_size, and a resend would loop forever. */
  #assertPayloadFits(topic: string, payloadBytes: number): void {
    const serverMaxPacket = this.#link?.client?.serverProperties?.maximumPacketSize;
    const serverLimit = serverMaxPacket === undefined ? Number.POSITIVE_INFINITY : serverMaxPacket - Buffer.byteLength(topic) - PUBLISH_OVERHEAD_BYTES;
    const limit = Math.min(this.#maxPayloadBytes, serverLimit);
    if (payloadBytes > limit) {
      throw new MqttError('PW_MQTT_PAYLOAD_TOO_LARGE', `${payloadBytes} bytes for ${topic} exceed the limit of ${limit}`);
    }
  }

  /** Whole seconds the event may still live on the stream; undefined when events never go stale. */
  #remainingExpirySeconds(event: AlarmEvent): number | undefined {
    if (this.#eventExpiryMs <= 0) return undefined;
    const ageMs = this.#options.clock.now() - Date.parse(event.emittedAt);
    return Math.ceil((this.#eventExpiryMs - Math.max(0, ageMs)) / 1000);
  }

  #windowSize(): number {
    const receiveMaximum = this.#link?.client?.serverProperties?.receiveMaximum;
    return Math.max(1, Math.min(this.#maxInFlight, receiveMaximum ?? Number.POSITIVE_INFINITY));
  }

  async #send(client: MqttClient, topic: string, payload: Buffer, retain: boolean, expirySeconds?: number): Promise<void> {
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

  /** Resolves once one more publish may await its PUBACK; FIFO, so the status and retained state go first. */
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
    clearInterval(this.#heartbeat);
    this.#failAll(connectionLost());
    // Left in mqtt.js's store they would be re-sent stop-and-wait ahead of everything after the next CONNACK.
    for (const messageId of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(messageId));
    for (const listener of this.#disconnectedListeners) listener();
  }

  #onConnack(connack: IConnackPacket): void {
    const client = this.#link?.client;
    if (client === undefined || this.#stopped) return;
    this.#connacks++;
    this.#connected = true;
    const keepsSession = this.#options.config.mqtt.sessionExpirySeconds > 0;
    const sessionPresent = connack.sessionPresent;
    if (keepsSession && !sessionPresent && this.#connacks > 1) {
      this.#logger.warn({ code: 'PW_MQTT_SESSION_LOST' }, 'the broker kept no session for us: resubscribing; acks sent meanwhile are gone');
    } else if (!keepsSession && sessionPresent) {
      this.#logger.warn({ code: 'PW_MQTT_SESSION_UNEXPECTED' }, 'the broker resumed a session we asked it not to keep');
    }
    this.#onlineSinceMs = this.#options.clock.now();
    this.#restoreRetainedState(client);
    this.#startHeartbeat(client);
    if (!sessionPresent) this.#subscribeAcks(client);
    for (const listener of this.#connectedListeners) listener(connack);
  }

  #subscribeAcks(client: MqttClient): void {
    // Retain As Published (MQTT 5): a retained ack keeps its flag even when sent while we are connected.
    client.subscribe([this.topics.ack, this.topics.cmd], { qos: 1, rap: true }, (error, granted) => {
      const refused = granted?.some((grant) => grant.qos >= 0x80) === true;
      if (error !== null && error !== undefined) {
        if (this.#connected) this.#logger.warn({ code: 'PW_ACK_SUBSCRIBE_FAILED', error: error.message }, 'could not subscribe to station acks');
      } else if (refused) {
        this.#logger.error({ code: 'PW_ACK_SUBSCRIBE_REFUSED', topic: this.topics.ack }, 'the broker refused our subscription to station acks');
      }
    });
  }

  /**
   * The Last Will fires only when the broker notices a dead link, and brokers check keepalives
   * coarsely (Mosquitto 2.0 scans every few seconds). Stations that miss these heartbeats for
   * 1.5 × their interval show the gateway offline, whatever the broker does: with a heartbeat
   * every ⅔ keepalive that is one keepalive after the last one, inside the promised 1.5 ×.
   */
  #startHeartbeat(client: MqttClient): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      if (!this.#connected) return;
      this.#send(client, this.topics.status, this.#onlinePayload(), true).catch((error: unknown) => {
        this.#logger.debug({ code: errorCode(error), error: errorMessage(error) }, 'heartbeat not published');
      });
    }, this.#heartbeatSeconds() * 1000);
    this.#heartbeat.unref();
  }

  #heartbeatSeconds(): number {
    return this.#options.heartbeatSeconds ?? Math.round((this.#options.config.mqtt.keepaliveSeconds * 20) / 3) / 10;
  }

  #onlinePayload(): Buffer {
    const now = this.#options.clock.now();
    const status = onlineStatus(this.#options.config.gateway, this.#onlineSinceMs, { atMs: now, heartbeatSeconds: this.#heartbeatSeconds() });
    return Buffer.from(JSON.stringify({ ...status, ...this.#options.statusExtras?.() }));
  }

  #restoreRetainedState(client: MqttClient): void {
    const restores: Promise<void>[] = [this.#send(client, this.topics.status, this.#onlinePayload(), true)];
    for (const [topic, payload] of this.#retained) restores.push(this.#send(client, topic, payload, true));
    this.#logger.info({ code: 'PW_MQTT_STATE_REPUBLISHED', activeAlarms: this.#retained.size }, 'republishing online status and active alarm state');
    for (const restore of restores) {
      restore.catch((error: unknown) => {
        this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'retained state not restored');
      });
    }
  }
}
