import type { MqttClient } from 'mqtt';
import { AlarmEventSchema, type AlarmEvent } from '../alarms/event.js';
import type { MqttConnect } from '../mqtt/client-options.js';
import { formatAlarmLine } from './format.js';

/** Duplicates arrive close together (retained copy + stream copy, or a re-send); old ids can go. */
const MAX_REMEMBERED_EVENT_IDS = 10_000;

export interface ConsoleStationOptions {
  url: string;
  protocolVersion: 4 | 5;
  /** The gateway's topic prefix, e.g. `pumpwatch/v1/site/ward/gw`. */
  prefix: string;
  connect: MqttConnect;
  print: (line: string) => void;
  onEvent?: (event: AlarmEvent) => void;
}

/**
 * A minimal central-station view: the gateway's status, the current alarms from retained topics
 * on connect, then every lifecycle event as it arrives, deduplicated on eventId.
 */
export class ConsoleStation {
  readonly #options: ConsoleStationOptions;
  readonly #seenEventIds = new Set<string>();
  #client: MqttClient | undefined;

  constructor(options: ConsoleStationOptions) {
    this.#options = options;
  }

  start(): Promise<void> {
    const { url, protocolVersion, prefix, connect, print } = this.#options;
    const client = connect(url, { protocolVersion, clientId: `pumpwatch-station-${process.pid}`, clean: true, reconnectPeriod: 1000 });
    this.#client = client;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('error', (error) => print(`station: broker error: ${error.message}`));
    return new Promise((resolve) => {
      client.once('connect', () => {
        client.subscribe([`${prefix}/status`, `${prefix}/alarms/#`, `${prefix}/events`], { qos: 1 }, () => resolve());
      });
    });
  }

  async stop(): Promise<void> {
    await this.#client?.endAsync();
  }

  #onMessage(topic: string, payload: Buffer): void {
    const { prefix, print } = this.#options;
    if (payload.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      print(`station: unreadable message on ${topic}`);
      return;
    }
    if (topic === `${prefix}/status`) {
      const status = value as { state?: string; gatewayId?: string; reason?: string };
      print(`— gateway ${status.gatewayId ?? '?'} is ${status.state ?? '?'}${status.reason === undefined ? '' : ` (${status.reason})`}`);
      return;
    }
    const parsed = AlarmEventSchema.safeParse(value);
    if (!parsed.success) {
      print(`station: message on ${topic} is not an alarm event v1`);
      return;
    }
    const event = parsed.data;
    if (this.#seenEventIds.has(event.eventId)) return;
    this.#seenEventIds.add(event.eventId);
    if (this.#seenEventIds.size > MAX_REMEMBERED_EVENT_IDS) this.#seenEventIds.delete(this.#seenEventIds.values().next().value!);
    print(formatAlarmLine(event));
    this.#options.onEvent?.(event);
  }
}
