import type { IClientOptions, IConnackPacket, IDisconnectPacket, MqttClient } from 'mqtt';
import { systemTimers, type Clock, type TimeoutTimers } from '../clock.js';
import type { Logger } from '../log.js';
import type { MqttClientRole, MqttConnect } from './client-options.js';

export type MqttLinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** While the broker is away mqtt.js reports the same error on every retry; one line a minute is enough. */
const REPEATED_ERROR_LOG_INTERVAL_MS = 60_000;
/** A clean DISCONNECT normally completes in one round trip; past this we just drop the socket. */
const CLOSE_TIMEOUT_MS = 3_000;

export interface MqttLinkOptions {
  role: MqttClientRole;
  url: string;
  clientOptions: IClientOptions;
  connect: MqttConnect;
  logger: Logger;
  clock: Clock;
  /** Bounds the close; the system's unless a test steps it. */
  timers?: TimeoutTimers;
}

/**
 * One mqtt.js client with the bookkeeping both our connections need: a connection state for
 * metrics, CONNACK logging (with `sessionPresent`), rate-limited error logs, and a close that
 * cannot hang on a dead broker.
 */
export class MqttLink {
  readonly #options: MqttLinkOptions;
  readonly #logger: Logger;
  readonly #stateListeners = new Set<(state: MqttLinkState) => void>();
  readonly #connectListeners = new Set<(connack: IConnackPacket) => void>();
  #client: MqttClient | undefined;
  #state: MqttLinkState = 'idle';
  #connects = 0;
  #lastErrorMessage = '';
  #lastErrorLoggedMs = Number.NEGATIVE_INFINITY;
  #errorsSuppressed = 0;

  constructor(options: MqttLinkOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ mqttClient: options.role, clientId: options.clientOptions.clientId });
  }

  get state(): MqttLinkState {
    return this.#state;
  }

  /** The live client, once `open` ran. */
  get client(): MqttClient | undefined {
    return this.#client;
  }

  onState(listener: (state: MqttLinkState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Called on every CONNACK, after mqtt.js has re-sent what its store held. */
  onConnect(listener: (connack: IConnackPacket) => void): () => void {
    this.#connectListeners.add(listener);
    return () => this.#connectListeners.delete(listener);
  }

  open(): MqttClient {
    if (this.#client !== undefined) return this.#client;
    this.#setState('connecting');
    const client = this.#options.connect(this.#options.url, this.#options.clientOptions);
    this.#client = client;
    client.on('connect', (connack) => this.#onConnack(connack));
    client.on('close', () => this.#onLost('connection closed'));
    client.on('offline', () => this.#onLost('client offline'));
    client.on('error', (error) => this.#onError(error));
    client.on('disconnect', (packet: IDisconnectPacket) => {
      this.#logger.warn({ code: 'PW_MQTT_SERVER_DISCONNECT', reasonCode: packet.reasonCode }, 'broker sent DISCONNECT');
    });
    return client;
  }

  /** Clean DISCONNECT when possible (no Last Will), a dropped socket otherwise; resolves once closed. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#setState('stopped');
    if (client === undefined) return;
    // Waiting for unacknowledged publishes could take forever when the broker is gone.
    const force = !client.connected || Object.keys(client.outgoing).length > 0;
    const timers = this.#options.timers ?? systemTimers;
    await new Promise<void>((resolve) => {
      const timer = timers.setTimeout(() => {
        client.stream.destroy();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      client.end(force, () => {
        timers.clearTimeout(timer);
        resolve();
      });
    });
  }

  #setState(state: MqttLinkState): void {
    if (this.#state === state || this.#state === 'stopped') return;
    this.#state = state;
    for (const listener of this.#stateListeners) listener(state);
  }

  #onConnack(connack: IConnackPacket): void {
    if (this.#state === 'stopped') return;
    this.#connects++;
    this.#errorsSuppressed = 0;
    this.#lastErrorMessage = '';
    this.#logger.info(
      { code: 'PW_MQTT_CONNECTED', sessionPresent: connack.sessionPresent, connects: this.#connects, protocolVersion: this.#options.clientOptions.protocolVersion },
      'connected to the MQTT broker',
    );
    this.#setState('connected');
    for (const listener of this.#connectListeners) listener(connack);
  }

  #onLost(why: string): void {
    if (this.#state === 'connected') {
      this.#logger.warn({ code: 'PW_MQTT_DISCONNECTED', why }, 'lost the MQTT broker; reconnecting');
    }
    if (this.#state === 'connected' || this.#state === 'connecting') this.#setState('disconnected');
  }

  #onError(error: Error & { code?: unknown }): void {
    const now = this.#options.clock.now();
    if (error.message === this.#lastErrorMessage && now - this.#lastErrorLoggedMs < REPEATED_ERROR_LOG_INTERVAL_MS) {
      this.#errorsSuppressed++;
      return;
    }
    this.#logger.warn(
      { code: 'PW_MQTT_CLIENT_ERROR', error: error.message, errorCode: error.code, suppressedSinceLastLog: this.#errorsSuppressed },
      'MQTT client error',
    );
    this.#lastErrorMessage = error.message;
    this.#lastErrorLoggedMs = now;
    this.#errorsSuppressed = 0;
  }
}
