import { scopeOf, type AlarmEvent } from '../alarms/event.js';
import type { AlarmStateView } from '../alarms/journal.js';
import { COMMITTED, STOPPED, connectionLost, refused, type AlarmTransport, type DeliveryOutcome } from '../alarms/transport.js';
import type { Clock } from '../clock.js';
import type { Secrets } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { MqttConnect } from '../mqtt/client-options.js';
import { MqttError } from '../mqtt/errors.js';
import type { MqttLinkState } from '../mqtt/link.js';
import type { GatewayStatus as StatusPayload } from '../mqtt/status.js';
import { createTopics, type MqttTopics } from '../mqtt/topics.js';
import { AckInbox } from './ack-inbox.js';
import { errorCode, errorMessage, GatewayStatus } from './gateway-status.js';
import { MqttSession } from './mqtt-session.js';

/** Alarm events are a few hundred bytes; anything near this is a bug and must not wedge the link. */
export const DEFAULT_MAX_ALARM_PAYLOAD_BYTES = 65_536;
/** The journal cursor of the MQTT transport. */
export const MQTT_TRANSPORT = 'mqtt';
/** Fixed header, topic length, packet id and properties of a PUBLISH, generously. */
const PUBLISH_OVERHEAD_BYTES = 64;
const EMPTY_PAYLOAD = Buffer.alloc(0);

/** The retained topic of an event's alarm: the gateway's own alarms have a level of their own. */
export function alarmTopicOf(topics: MqttTopics, event: AlarmEvent): string {
  return scopeOf(event) === 'gateway' ? topics.gatewayAlarm(event.channel, event.condition) : topics.alarm(event.pumpId, event.channel, event.condition);
}

export interface MqttAlarmPublisherOptions {
  session: MqttSession;
  topics: MqttTopics;
  /** The journal: which event is the latest of its alarm, and what the broker has taken. */
  states: AlarmStateView;
  logger: Logger;
  /** Wall clock for message expiry. */
  clock: Clock;
  maxPayloadBytes?: number;
  /** Events older than this are not sent on the event stream (MQTT 5: message expiry). 0 = never stale. */
  eventExpirySeconds?: number;
}

export interface SendEventOptions {
  /** Also set the event's retained alarm topic: only for the newest event of its alarm. */
  retained: boolean;
}

export interface SendResult {
  /** False when the event was too old for the stream and only its retained state (if any) was sent. */
  streamed: boolean;
}

/** How the outbox must treat an MQTT failure. */
export function outcomeOf(error: unknown): DeliveryOutcome {
  const detail = { code: errorCode(error), message: errorMessage(error), reason: error instanceof MqttError ? error.reasonCode : undefined };
  if (!(error instanceof MqttError)) return refused('rejected', detail);
  switch (error.code) {
    case 'PW_MQTT_TOPIC_INVALID':
    case 'PW_MQTT_PAYLOAD_TOO_LARGE':
    case 'PW_MQTT_PREFIX_INVALID':
      return refused('invalid', detail);
    case 'PW_MQTT_CONNECTION_LOST':
    case 'PW_MQTT_NOT_STARTED':
      return connectionLost(detail);
    case 'PW_MQTT_STOPPED':
      return STOPPED;
    default:
      return refused('rejected', detail);
  }
}

/**
 * Alarm events on MQTT, per the topic tree: every event on the event stream, and the latest event
 * of each active alarm retained on its own topic (cleared with an empty retained payload when it
 * ends). After every CONNACK it republishes the retained state the broker had taken (the journal
 * knows it: a broker without persistence forgets retained messages), then lets the outbox send.
 */
export class MqttAlarmPublisher implements AlarmTransport {
  readonly name = MQTT_TRANSPORT;
  readonly #options: MqttAlarmPublisherOptions;
  readonly #logger: Logger;
  readonly #maxPayloadBytes: number;
  readonly #eventExpiryMs: number;
  readonly #connectedListeners = new Set<() => void>();
  #expired = 0;

  constructor(options: MqttAlarmPublisherOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'mqtt-alarms' });
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_ALARM_PAYLOAD_BYTES;
    this.#eventExpiryMs = (options.eventExpirySeconds ?? 0) * 1000;
    options.session.onConnected(() => this.#onConnected());
  }

  get connected(): boolean {
    return this.#options.session.connected;
  }

  /** Events that were too old for the stream: only their retained state was sent. */
  get expiredCount(): number {
    return this.#expired;
  }

  onConnected(listener: () => void): () => void {
    this.#connectedListeners.add(listener);
    return () => this.#connectedListeners.delete(listener);
  }

  async deliver(event: AlarmEvent): Promise<DeliveryOutcome> {
    try {
      const { streamed } = await this.sendEvent(event, { retained: this.#options.states.isLatestEvent(event) });
      if (!streamed) {
        this.#expired++;
        this.#logger.warn({ code: 'PW_ALARM_EVENT_EXPIRED', eventId: event.eventId, emittedAt: event.emittedAt }, 'alarm event too old for the event stream; only its retained state was sent');
      }
      return COMMITTED;
    } catch (error) {
      return outcomeOf(error);
    }
  }

  /**
   * Throws `PW_MQTT_TOPIC_INVALID` or `PW_MQTT_PAYLOAD_TOO_LARGE` for an event that could never be
   * published: a bad topic makes brokers drop the connection, an oversized packet too.
   */
  checkEvent(event: AlarmEvent): void {
    const { topics } = this.#options;
    const alarmTopic = alarmTopicOf(topics, event);
    const bytes = Buffer.byteLength(JSON.stringify(event));
    this.#assertPayloadFits(alarmTopic, bytes);
    this.#assertPayloadFits(topics.events, bytes);
  }

  /**
   * Sends one event, QoS 1, to the event stream and, when asked, to its retained alarm topic;
   * resolves on PUBACK of both. Rejects with the `checkEvent` codes before anything is sent,
   * `PW_MQTT_CONNECTION_LOST` when not connected or the connection drops, `PW_MQTT_PUBLISH_FAILED`
   * (with the MQTT 5 reason code) when the broker refuses, `PW_MQTT_STOPPED` on stop.
   */
  async sendEvent(event: AlarmEvent, options: SendEventOptions): Promise<SendResult> {
    const { session, topics } = this.#options;
    session.requireClient();
    this.checkEvent(event);
    const payload = Buffer.from(JSON.stringify(event));
    const sends: Promise<void>[] = [];
    if (options.retained) {
      const alarmTopic = alarmTopicOf(topics, event);
      sends.push(session.send(alarmTopic, event.event === 'ended' ? EMPTY_PAYLOAD : payload, true));
    }
    const expirySeconds = this.#remainingExpirySeconds(event);
    const streamed = expirySeconds === undefined || expirySeconds > 0;
    if (streamed) sends.push(session.send(topics.events, payload, false, expirySeconds));
    await Promise.all(sends);
    return { streamed };
  }

  #onConnected(): void {
    const { session, topics, states } = this.#options;
    const restores: Promise<void>[] = [];
    let republished = 0;
    for (const event of states.committedStates(MQTT_TRANSPORT)) {
      let topic: string;
      try {
        topic = alarmTopicOf(topics, event);
      } catch {
        continue;
      }
      restores.push(session.send(topic, Buffer.from(JSON.stringify(event)), true));
      republished++;
      // Gateways before alarm scopes kept their own alarms under `alarms/<gatewayId>/<part>/…`. No
      // pump raises a gateway-only condition, so that topic can hold only such a leftover: clear it.
      if (scopeOf(event) === 'gateway') restores.push(session.send(topics.alarm(event.gatewayId, event.channel, event.condition), EMPTY_PAYLOAD, true));
    }
    this.#logger.info({ code: 'PW_MQTT_STATE_REPUBLISHED', activeAlarms: republished }, 'republishing online status and active alarm state');
    for (const restore of restores) {
      restore.catch((error: unknown) => {
        this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'retained state not restored');
      });
    }
    for (const listener of this.#connectedListeners) listener();
  }

  /** Mosquitto disconnects on packets over its max_packet_size, and a resend would loop forever. */
  #assertPayloadFits(topic: string, payloadBytes: number): void {
    const serverMaxPacket = this.#options.session.client?.serverProperties?.maximumPacketSize;
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
}

export interface MqttAlarmSideOptions {
  config: Pick<Config, 'gateway' | 'mqtt'>;
  secrets: Secrets;
  connect: MqttConnect;
  logger: Logger;
  clock: Clock;
  states: AlarmStateView;
  credentialsDirectory?: string | undefined;
  maxPayloadBytes?: number;
  /** A cap on publishes awaiting PUBACK below the broker's Receive Maximum (tests use it). */
  maxInFlight?: number;
  eventExpirySeconds?: number;
  heartbeatSeconds?: number;
  /** Added to every online status (version, clock health). */
  statusExtras?: () => Pick<StatusPayload, 'version' | 'clock'>;
}

/** The MQTT side of the gateway: one connection carrying the alarm publisher, the gateway status and the ack inbox. */
export interface MqttAlarmSide {
  readonly topics: MqttTopics;
  readonly session: MqttSession;
  readonly publisher: MqttAlarmPublisher;
  readonly status: GatewayStatus;
  readonly acks: AckInbox;
  readonly connectionState: MqttLinkState;
  start(): Promise<void>;
  /** Publishes the `offline` status, then disconnects. */
  stop(): Promise<void>;
}

/** Throws `PW_MQTT_PREFIX_INVALID` before anything connects when the topic prefix is unusable. */
export function createMqttAlarmSide(options: MqttAlarmSideOptions): MqttAlarmSide {
  const { config, logger, clock } = options;
  const topics = createTopics(config);
  const session = new MqttSession({
    config,
    secrets: options.secrets,
    connect: options.connect,
    logger,
    clock,
    credentialsDirectory: options.credentialsDirectory,
    ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
  });
  // Listeners run in this order on every CONNACK: status first, then the ack subscription, then alarm state and the outbox.
  const status = new GatewayStatus({
    session,
    topic: topics.status,
    config,
    logger,
    clock,
    ...(options.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: options.heartbeatSeconds }),
    ...(options.statusExtras === undefined ? {} : { statusExtras: options.statusExtras }),
  });
  const acks = new AckInbox({ session, topic: topics.ack, commandTopic: topics.cmd, rosterTopic: topics.roster, logger });
  const publisher = new MqttAlarmPublisher({
    session,
    topics,
    states: options.states,
    logger,
    clock,
    ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }),
    ...(options.eventExpirySeconds === undefined ? {} : { eventExpirySeconds: options.eventExpirySeconds }),
  });
  return {
    topics,
    session,
    publisher,
    status,
    acks,
    get connectionState() {
      return session.connectionState;
    },
    start: () => session.start(),
    async stop() {
      await status.stop();
      await session.stop();
    },
  };
}
