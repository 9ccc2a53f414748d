import { randomBytes } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { AlarmEventSchema, type AlarmEvent } from '../../../src/alarms/event.js';
import type { IntentRecord } from './daemon-process.js';
import type { Rng } from './random.js';

export interface ReceivedEvent {
  event: AlarmEvent;
  /**
   * Every payload seen for this eventId, without `durable`: a copy re-sent from the journal may lack
   * the `durable: false` its first copy had. More than one means a re-send changed the content.
   */
  payloads: Set<string>;
  count: number;
  firstAtMs: number;
}

export interface StatusChange {
  state: string;
  reason: string | undefined;
  atMs: number;
}

export interface Verdict {
  expected: number;
  received: number;
  lost: IntentRecord[];
  /** Extra deliveries of an eventId already received (QoS 1 re-sends, re-drives). */
  duplicates: number;
  /** eventIds received with different payloads: never allowed. */
  divergent: string[];
  /**
   * (alarmId, seq) pairs received under different eventIds: a history that forked after a restart.
   * Events flagged `durable: false` count too: a station orders on seq whatever the flag says, and
   * the gateway moves restored alarms past what it sent non-durable (the `unjournaled` count).
   */
  forks: string[];
}

export interface JudgeOptions {
  url: string;
  prefix: string;
  /** Acknowledge this fraction of the alarms raised, as stations would. */
  ackFraction?: number;
  rng?: Rng;
}

/**
 * The independent judge of the fault tests: a station-like subscriber outside the fault domain,
 * with a fixed client id and a persistent MQTT 5 session, so what the broker queued while it was
 * away still reaches it. It records every alarm event and status change with its arrival time and
 * holds the daemon's journaled events (its intent) to them.
 */
export class Judge {
  readonly received = new Map<string, ReceivedEvent>();
  readonly statuses: StatusChange[] = [];
  readonly #options: JudgeOptions;
  readonly #waiters = new Set<() => void>();
  readonly #client: MqttClient;
  acksSent = 0;

  private constructor(options: JudgeOptions, client: MqttClient) {
    this.#options = options;
    this.#client = client;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
  }

  static async start(options: JudgeOptions): Promise<Judge> {
    const client = connect(options.url, {
      clientId: `pwjudge-${randomBytes(4).toString('hex')}`,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 100,
      connectTimeout: 2000,
    });
    const judge = new Judge(options, client);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync([`${options.prefix}/events`, `${options.prefix}/status`], { qos: 1 });
    return judge;
  }

  get client(): MqttClient {
    return this.#client;
  }

  /** Resolves with the time the first event matching `predicate` arrived. */
  waitForEvent(predicate: (event: AlarmEvent) => boolean, timeoutMs: number, description: string): Promise<ReceivedEvent> {
    return this.#wait(() => [...this.received.values()].find((received) => predicate(received.event)), timeoutMs, description);
  }

  waitForStatus(state: string, sinceMs: number, timeoutMs: number): Promise<StatusChange> {
    return this.#wait(() => this.statuses.find((status) => status.state === state && status.atMs >= sinceMs), timeoutMs, `status ${state}`);
  }

  /** Waits until every intended event has arrived, or the time is up; returns what is still missing. */
  async waitForAll(intents: Iterable<IntentRecord>, timeoutMs: number): Promise<IntentRecord[]> {
    const wanted = [...intents].filter((intent) => intent.durable);
    const missing = () => wanted.filter((intent) => !this.received.has(intent.eventId));
    try {
      await this.#wait(() => (missing().length === 0 ? true : undefined), timeoutMs, 'all journaled events');
    } catch {
      // The verdict names what is missing.
    }
    return missing();
  }

  verdict(intents: Iterable<IntentRecord>): Verdict {
    const wanted = [...intents].filter((intent) => intent.durable);
    const lost = wanted.filter((intent) => !this.received.has(intent.eventId));
    let duplicates = 0;
    const divergent: string[] = [];
    const bySeq = new Map<string, Set<string>>();
    for (const [eventId, received] of this.received) {
      duplicates += received.count - 1;
      if (received.payloads.size > 1) divergent.push(eventId);
      const key = `${received.event.alarmId}#${received.event.seq ?? '?'}`;
      const ids = bySeq.get(key) ?? new Set<string>();
      ids.add(eventId);
      bySeq.set(key, ids);
    }
    const forks = [...bySeq.entries()].filter(([, ids]) => ids.size > 1).map(([key]) => key);
    return { expected: wanted.length, received: this.received.size, lost, duplicates, divergent, forks };
  }

  async stop(): Promise<void> {
    // Leave no session behind on the broker.
    await this.#client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  }

  #onMessage(topic: string, payload: Buffer): void {
    const { prefix } = this.#options;
    const now = Date.now();
    if (topic === `${prefix}/status`) {
      const status = JSON.parse(payload.toString('utf8')) as { state: string; reason?: string };
      this.statuses.push({ state: status.state, reason: status.reason, atMs: now });
    } else {
      const event = AlarmEventSchema.parse(JSON.parse(payload.toString('utf8')));
      const text = JSON.stringify({ ...event, durable: undefined });
      const known = this.received.get(event.eventId);
      if (known === undefined) {
        this.received.set(event.eventId, { event, payloads: new Set([text]), count: 1, firstAtMs: now });
        this.#maybeAck(event);
      } else {
        known.count++;
        known.payloads.add(text);
      }
    }
    for (const waiter of this.#waiters) waiter();
  }

  #maybeAck(event: AlarmEvent): void {
    const { ackFraction = 0, rng, prefix } = this.#options;
    if (event.event !== 'raised' || ackFraction <= 0 || rng === undefined || !rng.chance(ackFraction)) return;
    this.acksSent++;
    const ack = { v: 1, alarmId: event.alarmId, by: 'fault-judge', at: new Date().toISOString(), ward: event.ward };
    this.#client.publish(`${prefix}/ack`, JSON.stringify(ack), { qos: 1 });
  }

  #wait<T>(find: () => T | undefined, timeoutMs: number, description: string): Promise<T> {
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = find();
        if (match === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(match);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`judge: timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/**
 * Counts what the broker itself dropped (`$SYS/broker/publish/messages/dropped`: queue and in-flight
 * limits), summed over the broker's restarts, so a run can tell the broker's losses from the
 * daemon's. The broker must publish $SYS often (`sys_interval 1`).
 */
export function watchBrokerDrops(url: string): { dropped(): number; stop(): Promise<void> } {
  const client = connect(url, { clientId: `pwdrops-${randomBytes(4).toString('hex')}`, reconnectPeriod: 100, connectTimeout: 2000 });
  let earlierLives = 0;
  let thisLife = 0;
  client.on('connect', () => {
    earlierLives += thisLife;
    thisLife = 0;
    client.subscribe('$SYS/broker/publish/messages/dropped');
  });
  client.on('message', (_topic, payload) => {
    thisLife = Number(payload.toString('utf8'));
  });
  return { dropped: () => earlierLives + thisLife, stop: () => client.endAsync(true) };
}
