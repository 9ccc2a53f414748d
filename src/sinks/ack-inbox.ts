import type { MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { MqttSession } from './mqtt-session.js';

/** A station acknowledgement as it arrived on `<prefix>/ack`, before any validation. */
export interface InboundAck {
  payload: Buffer;
  /** Stored retained by the broker: an old ack, never a new one. */
  retained: boolean;
}

/**
 * Station acks in on `<prefix>/ack` and station commands on `<prefix>/cmd`: subscribed on every
 * CONNACK whose session did not keep the subscription, handed to listeners as they arrive. The
 * station's ward roster on `<prefix>/roster` is state, not a request: it is subscribed on every
 * CONNACK, so the broker hands over its retained copy even when the session kept the subscription.
 */
export class AckInbox {
  readonly #topic: string;
  readonly #commandTopic: string;
  readonly #rosterTopic: string;
  readonly #session: MqttSession;
  readonly #logger: Logger;
  readonly #listeners = new Set<(ack: InboundAck) => void>();
  readonly #commandListeners = new Set<(command: InboundAck) => void>();
  readonly #rosterListeners = new Set<(roster: InboundAck) => void>();

  constructor(options: { session: MqttSession; topic: string; commandTopic: string; rosterTopic: string; logger: Logger }) {
    this.#topic = options.topic;
    this.#commandTopic = options.commandTopic;
    this.#rosterTopic = options.rosterTopic;
    this.#session = options.session;
    this.#logger = options.logger.child({ component: 'mqtt-alarms' });
    options.session.onConnected((connack) => {
      const client = this.#session.client;
      if (client === undefined) return;
      if (!connack.sessionPresent) this.#subscribe(client);
      this.#subscribeRoster(client);
    });
    options.session.onMessage((topic, payload, packet) => {
      const listeners = topic === this.#topic ? this.#listeners : topic === this.#commandTopic ? this.#commandListeners : topic === this.#rosterTopic ? this.#rosterListeners : undefined;
      if (listeners === undefined) return;
      for (const listener of listeners) listener({ payload, retained: packet.retain });
    });
  }

  onAck(listener: (ack: InboundAck) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Station commands on `<prefix>/cmd`, as they arrived (same shape and rules as acks). */
  onCommand(listener: (command: InboundAck) => void): () => void {
    this.#commandListeners.add(listener);
    return () => this.#commandListeners.delete(listener);
  }

  /** The station's ward roster on `<prefix>/roster`, retained copies included (they are the current roster). */
  onRoster(listener: (roster: InboundAck) => void): () => void {
    this.#rosterListeners.add(listener);
    return () => this.#rosterListeners.delete(listener);
  }

  #subscribeRoster(client: MqttClient): void {
    client.subscribe(this.#rosterTopic, { qos: 1 }, (error, granted) => {
      if (error !== null && error !== undefined) {
        if (this.#session.connected) this.#logger.warn({ code: 'PW_ACK_SUBSCRIBE_FAILED', error: error.message, topic: this.#rosterTopic }, 'could not subscribe to the station roster');
      } else if (granted?.some((grant) => grant.qos >= 0x80) === true) {
        this.#logger.error({ code: 'PW_ACK_SUBSCRIBE_REFUSED', topic: this.#rosterTopic }, 'the broker refused our subscription to the station roster');
      }
    });
  }

  #subscribe(client: MqttClient): void {
    // Retain As Published (MQTT 5): a retained ack keeps its flag even when sent while we are connected.
    client.subscribe([this.#topic, this.#commandTopic], { qos: 1, rap: true }, (error, granted) => {
      const refused = granted?.some((grant) => grant.qos >= 0x80) === true;
      if (error !== null && error !== undefined) {
        if (this.#session.connected) this.#logger.warn({ code: 'PW_ACK_SUBSCRIBE_FAILED', error: error.message }, 'could not subscribe to station acks');
      } else if (refused) {
        this.#logger.error({ code: 'PW_ACK_SUBSCRIBE_REFUSED', topic: this.#topic }, 'the broker refused our subscription to station acks');
      }
    });
  }
}
