import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { MqttError, type MqttErrorCode } from '../mqtt/errors.js';
import { onlineStatus, stoppedStatus, type GatewayStatus as StatusPayload } from '../mqtt/status.js';
import type { MqttSession } from './mqtt-session.js';

/** How long a clean stop waits for the broker to take the `offline` status. */
const STOP_STATUS_TIMEOUT_MS = 2_000;

export interface GatewayStatusOptions {
  session: MqttSession;
  /** Where the status is retained: `<prefix>/status` (the Last Will, set on the session's client, goes there too). */
  topic: string;
  config: Pick<Config, 'gateway' | 'mqtt'>;
  logger: Logger;
  clock: Clock;
  /** The online status is republished this often; default ⅔ of `mqtt.keepaliveSeconds`. */
  heartbeatSeconds?: number;
  /** Added to every online status (version, clock health). */
  statusExtras?: () => Pick<StatusPayload, 'version' | 'clock'>;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function errorCode(error: unknown): MqttErrorCode {
  return error instanceof MqttError ? error.code : 'PW_MQTT_PUBLISH_FAILED';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The retained gateway status: `online` on every CONNACK (first thing in the window), a heartbeat
 * while connected, `offline` on a clean stop (which fires no Last Will).
 */
export class GatewayStatus {
  readonly #options: GatewayStatusOptions;
  readonly #logger: Logger;
  #heartbeat: NodeJS.Timeout | undefined;
  #onlineSinceMs = 0;

  constructor(options: GatewayStatusOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'mqtt-alarms' });
    options.session.onConnected(() => this.#onConnected());
    options.session.onDisconnected(() => clearInterval(this.#heartbeat));
  }

  /** Publishes the retained `offline` status while the connection still stands. */
  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    const { session, config, clock, topic } = this.#options;
    if (!session.connected) return;
    const status = Buffer.from(JSON.stringify(stoppedStatus(config.gateway, clock.now())));
    try {
      await withTimeout(session.send(topic, status, true), STOP_STATUS_TIMEOUT_MS, 'offline status');
    } catch (error) {
      this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'offline status not published on stop');
    }
  }

  #onConnected(): void {
    this.#onlineSinceMs = this.#options.clock.now();
    this.#options.session.send(this.#options.topic, this.#onlinePayload(), true).catch((error: unknown) => {
      this.#logger.warn({ code: errorCode(error), error: errorMessage(error) }, 'retained state not restored');
    });
    this.#startHeartbeat();
  }

  /**
   * The Last Will fires only when the broker notices a dead link, and brokers check keepalives
   * coarsely (Mosquitto 2.0 scans every few seconds). Stations that miss these heartbeats for
   * 1.5 × their interval show the gateway offline, whatever the broker does: with a heartbeat
   * every ⅔ keepalive that is one keepalive after the last one, inside the promised 1.5 ×.
   */
  #startHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      if (!this.#options.session.connected) return;
      this.#options.session.send(this.#options.topic, this.#onlinePayload(), true).catch((error: unknown) => {
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
}
