import { connectAsync, type MqttClient } from 'mqtt';

/** One alarm event as a station saw it. */
export interface SeenEvent {
  condition: string;
  event: string;
  pumpId: string;
  channel: string;
  eventId: string;
  /** Sample time that triggered the event (epoch ms). */
  atMs: number;
  /** When pumpwatch made the event (its wall clock). */
  emittedMs: number;
  receivedMs: number;
}

/**
 * A station on the gateway's event stream. Probe channels stamp their samples with the wall
 * clock, so for their events `receivedMs − atMs` is the sample-to-alarm latency through the
 * publisher, the broker, pumpwatch, its journal and the broker again.
 */
export interface Station {
  readonly events: readonly SeenEvent[];
  /** Probe events received in [sinceMs, untilMs). */
  probeEvents(probePrefix: string, sinceMs: number, untilMs?: number): SeenEvent[];
  /** Latencies (ms) of probe events received in [sinceMs, untilMs). */
  probeLatencies(probePrefix: string, sinceMs: number, untilMs?: number): number[];
  stop(): Promise<void>;
}

export async function startStation(url: string, topicPrefix: string, clientId: string): Promise<Station> {
  const client: MqttClient = await connectAsync(url, { clientId, protocolVersion: 5, clean: true, reconnectPeriod: 0 });
  const events: SeenEvent[] = [];
  client.on('message', (_topic, payload) => {
    const receivedMs = Date.now();
    const event = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    events.push({
      condition: String(event.condition),
      event: String(event.event),
      pumpId: String(event.pumpId),
      channel: String(event.channel),
      eventId: String(event.eventId),
      atMs: Date.parse(String(event.at)),
      emittedMs: Date.parse(String(event.emittedAt)),
      receivedMs,
    });
  });
  await client.subscribeAsync(`${topicPrefix}/events`, { qos: 1 });
  const probeEvents = (probePrefix: string, sinceMs: number, untilMs = Number.POSITIVE_INFINITY) =>
    events.filter((event) => event.pumpId.startsWith(probePrefix) && event.condition === 'downstream-occlusion' && event.receivedMs >= sinceMs && event.receivedMs < untilMs);
  return {
    events,
    probeEvents,
    probeLatencies: (probePrefix, sinceMs, untilMs) => probeEvents(probePrefix, sinceMs, untilMs).map((event) => event.receivedMs - event.atMs),
    async stop() {
      await client.endAsync();
    },
  };
}
