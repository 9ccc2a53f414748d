import { randomBytes } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { ACK_VERSION, type AlarmAck } from '../alarms/ack.js';
import { AlarmEventSchema, type AlarmEvent } from '../alarms/event.js';
import type { MqttConnect } from '../mqtt/client-options.js';
import { formatAlarmLine, formatStatusLine } from './format.js';

/** Duplicates arrive close together (retained copy + stream copy, or a re-send); old ids can go. */
const MAX_REMEMBERED_EVENT_IDS = 10_000;
/** An ended alarm's older events can still arrive (re-drives go newest first); remember it ended. */
const MAX_REMEMBERED_ENDED_ALARMS = 10_000;
/** No `acknowledged` event this long after an ack: send it again (the gateway may have been away). */
const DEFAULT_ACK_RETRY_MS = 5_000;
const MAX_ACK_SENDS = 4;

export type GatewayState = 'online' | 'offline' | 'unknown';

export interface ConsoleStationOptions {
  url: string;
  protocolVersion: 4 | 5;
  /** The gateway's topic prefix, e.g. `pumpwatch/v1/site/ward/gw`. */
  prefix: string;
  connect: MqttConnect;
  print: (line: string) => void;
  onEvent?: (event: AlarmEvent) => void;
  /** Goes into the `by` field of acks: the station and, where known, the user. */
  stationId?: string;
  /** Credentials, TLS and the like for the broker; client id, clean session and reconnect are set here. */
  clientOptions?: IClientOptions;
  ackRetryMs?: number;
}

interface PendingAck {
  ack: AlarmAck;
  sends: number;
  timer: NodeJS.Timeout | undefined;
}

function remember(set: Set<string>, value: string, max: number): void {
  set.add(value);
  if (set.size > max) set.delete(set.values().next().value!);
}

/**
 * The reference subscriber of the station contract (docs/station-contract.md): it rebuilds the
 * current alarms from the retained per-condition topics, follows the event stream deduplicated on
 * eventId and ordered per alarm by `seq`, shows the gateway offline from its status topic (the
 * Last Will), and acknowledges alarms on `<prefix>/ack`, sending again until the gateway answers
 * with an `acknowledged` event.
 */
export class ConsoleStation {
  readonly #options: ConsoleStationOptions;
  readonly #seenEventIds = new Set<string>();
  readonly #endedAlarmIds = new Set<string>();
  /** alarmId → the newest event seen for an alarm that has not ended. */
  readonly #active = new Map<string, AlarmEvent>();
  /** Retained topic → alarmId shown there, so an empty retained payload can end it. */
  readonly #alarmByTopic = new Map<string, string>();
  readonly #pendingAcks = new Map<string, PendingAck>();
  #gateway: GatewayState = 'unknown';
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #client: MqttClient | undefined;

  constructor(options: ConsoleStationOptions) {
    this.#options = options;
  }

  get gatewayState(): GatewayState {
    return this.#gateway;
  }

  /** The current alarms, newest first: the latest event of each. */
  activeAlarms(): AlarmEvent[] {
    return [...this.#active.values()].sort((a, b) => Date.parse(b.raisedAt ?? b.at) - Date.parse(a.raisedAt ?? a.at));
  }

  /** Resolves once subscribed; the retained state arrives right after. */
  start(): Promise<void> {
    const { url, protocolVersion, prefix, connect, print } = this.#options;
    const client = connect(url, {
      ...this.#options.clientOptions,
      protocolVersion,
      clientId: `pumpwatch-station-${randomBytes(4).toString('hex')}`,
      // A clean session on every connect: the retained topics, not a broker queue, carry the truth.
      clean: true,
      reconnectPeriod: 1000,
    });
    this.#client = client;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('error', (error) => print(`station: broker error: ${error.message}`));
    client.on('close', () => {
      if (this.#gateway !== 'unknown') print('— station lost the broker; the gateway state is unknown until it is back');
      this.#gateway = 'unknown';
    });
    return new Promise((resolve) => {
      client.on('connect', () => {
        client.subscribe([`${prefix}/status`, `${prefix}/alarms/#`, `${prefix}/events`], { qos: 1 }, () => resolve());
      });
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.#heartbeatTimer);
    for (const pending of this.#pendingAcks.values()) clearTimeout(pending.timer);
    this.#pendingAcks.clear();
    await this.#client?.endAsync();
  }

  /**
   * Publishes an ack for an active alarm and keeps re-sending it until the gateway answers with an
   * `acknowledged` event (or the alarm ends). Returns false for an alarm this station does not show.
   */
  acknowledge(alarmId: string): boolean {
    const alarm = this.#active.get(alarmId);
    const client = this.#client;
    if (alarm === undefined || client === undefined) return false;
    if (alarm.state?.acknowledged === true || this.#pendingAcks.has(alarmId)) return true;
    const ack: AlarmAck = {
      v: ACK_VERSION,
      alarmId,
      by: this.#options.stationId ?? 'pumpwatch-watch',
      at: new Date().toISOString(),
      site: alarm.site,
      ward: alarm.ward,
      gatewayId: alarm.gatewayId,
    };
    const pending: PendingAck = { ack, sends: 0, timer: undefined };
    this.#pendingAcks.set(alarmId, pending);
    this.#sendAck(pending);
    return true;
  }

  #sendAck(pending: PendingAck): void {
    const { print, prefix, ackRetryMs = DEFAULT_ACK_RETRY_MS } = this.#options;
    pending.sends++;
    this.#client?.publish(`${prefix}/ack`, JSON.stringify(pending.ack), { qos: 1 });
    pending.timer = setTimeout(() => {
      if (!this.#pendingAcks.has(pending.ack.alarmId)) return;
      if (pending.sends >= MAX_ACK_SENDS) {
        this.#pendingAcks.delete(pending.ack.alarmId);
        print(`station: the gateway has not confirmed the ack of ${pending.ack.alarmId}; it is still unacknowledged`);
        return;
      }
      this.#sendAck(pending);
    }, ackRetryMs);
    pending.timer.unref();
  }

  #onMessage(topic: string, payload: Buffer): void {
    const { prefix, print } = this.#options;
    if (topic === `${prefix}/status`) {
      this.#onStatus(payload);
      return;
    }
    if (payload.length === 0) {
      // An empty retained payload clears an alarm topic: that alarm is over.
      const alarmId = this.#alarmByTopic.get(topic);
      if (alarmId !== undefined) this.#forget(alarmId, topic);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      print(`station: unreadable message on ${topic}`);
      return;
    }
    const parsed = AlarmEventSchema.safeParse(value);
    if (!parsed.success) {
      print(`station: message on ${topic} is not an alarm event v1`);
      return;
    }
    const event = parsed.data;
    if (topic !== `${prefix}/events`) this.#alarmByTopic.set(topic, event.alarmId);
    if (this.#seenEventIds.has(event.eventId)) return;
    remember(this.#seenEventIds, event.eventId, MAX_REMEMBERED_EVENT_IDS);
    this.#apply(event);
    print(formatAlarmLine(event));
    this.#options.onEvent?.(event);
  }

  #apply(event: AlarmEvent): void {
    if (event.event === 'acknowledged' || event.event === 'ended') {
      const pending = this.#pendingAcks.get(event.alarmId);
      if (pending !== undefined) clearTimeout(pending.timer);
      this.#pendingAcks.delete(event.alarmId);
    }
    if (this.#endedAlarmIds.has(event.alarmId)) return;
    if (event.event === 'ended') {
      this.#forget(event.alarmId, undefined);
      return;
    }
    const known = this.#active.get(event.alarmId);
    // Re-sends after an outage come newest first: an older event must not undo a newer one.
    if (known !== undefined && (event.seq ?? 0) < (known.seq ?? 0)) return;
    this.#active.set(event.alarmId, event);
  }

  #forget(alarmId: string, topic: string | undefined): void {
    this.#active.delete(alarmId);
    remember(this.#endedAlarmIds, alarmId, MAX_REMEMBERED_ENDED_ALARMS);
    if (topic !== undefined) this.#alarmByTopic.delete(topic);
  }

  #onStatus(payload: Buffer): void {
    let status: { state?: unknown; gatewayId?: unknown; reason?: unknown; heartbeatSeconds?: unknown };
    try {
      status = JSON.parse(payload.toString('utf8')) as typeof status;
    } catch {
      this.#options.print('station: unreadable gateway status');
      return;
    }
    const state: GatewayState = status.state === 'online' ? 'online' : status.state === 'offline' ? 'offline' : 'unknown';
    const gatewayId = typeof status.gatewayId === 'string' ? status.gatewayId : '?';
    clearTimeout(this.#heartbeatTimer);
    const heartbeatSeconds = typeof status.heartbeatSeconds === 'number' && status.heartbeatSeconds > 0 ? status.heartbeatSeconds : undefined;
    if (state === 'online' && heartbeatSeconds !== undefined) {
      // A dead gateway's Last Will can take the broker a while; its silence is evidence enough.
      const silentMs = Math.round(1.5 * heartbeatSeconds * 1000);
      this.#heartbeatTimer = setTimeout(() => {
        this.#gateway = 'offline';
        this.#options.print(formatStatusLine(gatewayId, 'offline', `no heartbeat for ${silentMs / 1000} s`));
      }, silentMs);
      this.#heartbeatTimer.unref();
    }
    // Heartbeats repeat the status: only a change is news.
    if (state === this.#gateway && state === 'online') return;
    this.#gateway = state;
    this.#options.print(formatStatusLine(gatewayId, state, typeof status.reason === 'string' ? status.reason : undefined));
  }
}
