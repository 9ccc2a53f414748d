import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import type { MqttError } from '../../src/mqtt/errors.js';
import type { MqttLinkState } from '../../src/mqtt/link.js';
import { createMqttAlarmSide, type MqttAlarmSide } from '../../src/sinks/mqtt-alarms.js';
import { uniqueTopicPrefix, useTestBroker } from '../helpers/broker.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { clearRetainedUnder, startRecorder, type Recorder } from '../helpers/recorder.js';

const { broker, cleanups } = useTestBroker();

function raised(overrides: Partial<AlarmEvent> = {}): AlarmEvent {
  return {
    v: 1,
    eventId: `ev-${randomBytes(6).toString('hex')}`,
    alarmId: 'alarm-1',
    event: 'raised',
    condition: 'downstream-occlusion',
    priority: 'high',
    kind: 'technical',
    pumpId: 'P-01',
    channel: '1',
    site: 'site',
    ward: 'ward',
    gatewayId: 'gw-test',
    at: '2026-03-01T09:00:00.000Z',
    emittedAt: '2026-03-01T09:00:00.050Z',
    message: 'Downstream occlusion reported by the pump: check the line and the IV site.',
    evidence: { downstreamPressureMmHg: 412 },
    ...overrides,
  };
}

interface Setup {
  side: MqttAlarmSide;
  /** What the journal would say the broker has taken: the state a reconnect republishes. */
  committed: Map<string, AlarmEvent>;
  /** Sends an event as the newest of its alarm and records it as taken, as the outbox does on PUBACK. */
  publish: (event: AlarmEvent) => Promise<void>;
  prefix: string;
  log: CapturedLog;
  /** Every client the publisher created, so a test can kill its connection. */
  clients: MqttClient[];
  recorder: () => Promise<Recorder>;
}

interface SetupOptions {
  maxPayloadBytes?: number;
  maxInFlight?: number;
  eventExpirySeconds?: number;
  sessionExpirySeconds?: number;
  heartbeatSeconds?: number;
  /** The broker as the recorder reaches it, when the publisher goes through a fault proxy. */
  recorderUrl?: string;
}

function setup(url = broker.url, protocolVersion = broker.protocolVersion, options: SetupOptions = {}): Setup {
  const { maxPayloadBytes, maxInFlight, eventExpirySeconds, heartbeatSeconds, sessionExpirySeconds = 0 } = options;
  const prefix = uniqueTopicPrefix('alarms');
  const config = ConfigSchema.parse({
    gateway: { id: 'gw-test', site: 'site', ward: 'ward' },
    mqtt: { url, protocolVersion, topicPrefix: prefix, clientId: `pwtest-${randomBytes(4).toString('hex')}`, reconnectSeconds: 0.1, keepaliveSeconds: 5, sessionExpirySeconds },
  });
  const log = captureLog();
  const clients: MqttClient[] = [];
  const committed = new Map<string, AlarmEvent>();
  const side = createMqttAlarmSide({
    config,
    states: { isLatestEvent: () => true, committedStates: () => [...committed.values()] },
    secrets: {},
    logger: log.logger,
    clock: systemClock,
    connect: (brokerUrl: string, options: IClientOptions) => {
      const client = connect(brokerUrl, options);
      clients.push(client);
      return client;
    },
    ...(maxPayloadBytes === undefined ? {} : { maxPayloadBytes }),
    ...(maxInFlight === undefined ? {} : { maxInFlight }),
    ...(eventExpirySeconds === undefined ? {} : { eventExpirySeconds }),
    ...(heartbeatSeconds === undefined ? {} : { heartbeatSeconds }),
  });
  const recorderUrl = options.recorderUrl ?? url;
  cleanups.push(() => clearRetainedUnder(recorderUrl, protocolVersion, prefix));
  cleanups.push(() => side.stop());
  const recorder = async () => {
    const started = await startRecorder({ url: recorderUrl, protocolVersion, topics: [`${prefix}/#`] });
    cleanups.push(() => started.stop());
    return started;
  };
  const publish = async (event: AlarmEvent) => {
    await side.publisher.sendEvent(event, { retained: true });
    if (event.event === 'ended') committed.delete(event.alarmId);
    else committed.set(event.alarmId, event);
  };
  return { side, committed, publish, prefix, log, clients, recorder };
}

function brokerPort(): number {
  return Number(new URL(broker.url).port);
}

function parse(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

async function startedAndOnline({ side, recorder }: Setup): Promise<Recorder> {
  const watcher = await recorder();
  await side.start();
  await watcher.waitFor((m) => m.topic === side.topics.status && m.text.includes('"online"'), { description: 'online status' });
  return watcher;
}

describe(`MqttAlarmPublisher (${process.env.MQTT_URL === undefined ? 'in-process aedes, MQTT 3.1.1' : `broker at ${process.env.MQTT_URL}`})`, () => {
  it('publishes a raised alarm on the event stream and retained on its condition topic', async () => {
    const s = setup();
    const watcher = await startedAndOnline(s);
    const event = raised();
    await s.publish(event);
    const alarmTopic = `${s.prefix}/alarms/P-01/1/downstream-occlusion`;
    await watcher.waitFor((m) => m.topic === `${s.prefix}/events` && parse(m.text).eventId === event.eventId, { description: 'event on the stream' });
    const late = await s.recorder();
    const retained = await late.waitFor((m) => m.topic === alarmTopic, { description: 'retained alarm' });
    expect(retained.retain).toBe(true);
    expect(parse(retained.text)).toEqual(event);
  });

  it('does not retain the event stream', async () => {
    const s = setup();
    await startedAndOnline(s);
    await s.publish(raised());
    const late = await s.recorder();
    await late.barrier();
    expect(late.on(`${s.prefix}/events`)).toEqual([]);
  });

  it('clears the retained alarm with an empty payload when the alarm ends, so a new subscriber sees nothing', async () => {
    const s = setup();
    const watcher = await startedAndOnline(s);
    const alarmTopic = `${s.prefix}/alarms/P-01/1/downstream-occlusion`;
    await s.publish(raised());
    await s.publish(raised({ event: 'ended', eventId: 'ev-ended' }));
    const cleared = await watcher.waitFor((m) => m.topic === alarmTopic && m.payload.byteLength === 0, { description: 'empty retained payload' });
    expect(cleared.payload.byteLength).toBe(0);
    const late = await s.recorder();
    await late.barrier();
    expect(late.on(alarmTopic)).toEqual([]);
    expect(watcher.on(`${s.prefix}/events`).map((m) => parse(m.text).event)).toEqual(['raised', 'ended']);
  });

  it('republishes its online status as a heartbeat that says how often it comes', async () => {
    const s = setup(broker.url, broker.protocolVersion, { heartbeatSeconds: 0.1 });
    const watcher = await startedAndOnline(s);
    await expect.poll(() => watcher.on(`${s.prefix}/status`).length).toBeGreaterThanOrEqual(3);
    const beats = watcher.on(`${s.prefix}/status`).map((m) => parse(m.text));
    expect(beats.at(-1)).toMatchObject({ state: 'online', heartbeatSeconds: 0.1, since: beats[0]!.since });
    expect(beats.at(-1)!.at).not.toBe(beats[0]!.at);
  });

  it('keeps a JSON online status retained while connected', async () => {
    const s = setup();
    await startedAndOnline(s);
    const late = await s.recorder();
    const status = await late.waitFor((m) => m.topic === `${s.prefix}/status`, { description: 'retained status' });
    expect(status.retain).toBe(true);
    expect(parse(status.text)).toMatchObject({ v: 1, state: 'online', gatewayId: 'gw-test', site: 'site', ward: 'ward' });
    expect(Date.parse(String(parse(status.text).since))).not.toBeNaN();
  });

  it('publishes a retained offline status on a clean stop', async () => {
    const s = setup();
    await startedAndOnline(s);
    await s.side.stop();
    const late = await s.recorder();
    const status = await late.waitFor((m) => m.topic === `${s.prefix}/status`, { description: 'retained status' });
    expect(parse(status.text)).toMatchObject({ state: 'offline', reason: 'stopped' });
    expect(s.side.connectionState).toBe('stopped');
  });

  it('makes the broker publish the offline Last Will when its connection dies abruptly', async () => {
    const s = setup();
    const watcher = await startedAndOnline(s);
    const from = watcher.messages.length;
    // end(true) destroys the socket without DISCONNECT, as a crash or a pulled cable would.
    s.clients[0]!.end(true);
    const will = await watcher.waitFor((m) => m.topic === `${s.prefix}/status`, { fromIndex: from, description: 'Last Will' });
    expect(parse(will.text)).toEqual({ v: 1, state: 'offline', gatewayId: 'gw-test', site: 'site', ward: 'ward', reason: 'connection-lost' });
  });

  it('refuses a pump id that would make a bad topic, publishes nothing for it and keeps publishing others', async () => {
    const s = setup();
    const watcher = await startedAndOnline(s);
    for (const pumpId of ['P+1', 'P#1', 'ward/P1', 'P\u00001']) {
      const error = await s.publish(raised({ pumpId, eventId: `bad-${pumpId}` })).catch((caught: unknown) => caught);
      expect((error as MqttError).code).toBe('PW_MQTT_TOPIC_INVALID');
    }
    const good = raised();
    await s.publish(good);
    await watcher.waitFor((m) => m.topic === `${s.prefix}/events` && parse(m.text).eventId === good.eventId, { description: 'the valid event' });
    await watcher.barrier();
    const topics = new Set(watcher.messages.map((m) => m.topic).filter((topic) => topic.startsWith(s.prefix)));
    expect([...topics].sort()).toEqual([`${s.prefix}/alarms/P-01/1/downstream-occlusion`, `${s.prefix}/events`, `${s.prefix}/status`]);
    expect(watcher.on(`${s.prefix}/events`).map((m) => parse(m.text).eventId)).toEqual([good.eventId]);
  });

  it('refuses to send while not connected, instead of queueing the event in memory', async () => {
    const proxy = await startFaultProxy(brokerPort());
    cleanups.push(() => proxy.stop());
    proxy.set('refuse');
    const s = setup(proxy.url, broker.protocolVersion, { recorderUrl: broker.url });
    await s.side.start();
    const error = await s.side.publisher.sendEvent(raised(), { retained: true }).catch((caught: unknown) => caught);
    expect((error as MqttError).code).toBe('PW_MQTT_CONNECTION_LOST');
  });

  it('fails what is in flight when the connection drops, and leaves nothing for mqtt.js to re-send', async () => {
    const proxy = await startFaultProxy(brokerPort());
    cleanups.push(() => proxy.stop());
    const s = setup(proxy.url, broker.protocolVersion, { recorderUrl: broker.url });
    const watcher = await startedAndOnline(s);
    proxy.set('blackhole');
    const lost = raised();
    const sending = s.side.publisher.sendEvent(lost, { retained: true }).catch((caught: unknown) => caught);
    proxy.reset();
    expect(((await sending) as MqttError).code).toBe('PW_MQTT_CONNECTION_LOST');
    expect(Object.keys(s.clients[0]!.outgoing)).toEqual([]);
    const mark = watcher.messages.length;
    proxy.set('pass');
    await watcher.waitFor((m) => m.topic === s.side.topics.status && m.text.includes('"online"'), { fromIndex: mark, description: 'online again' });
    await watcher.barrier();
    expect(watcher.messages.filter((m) => m.text.includes(lost.eventId))).toEqual([]);
  });

  it('keeps at most maxInFlight publishes awaiting PUBACK', async () => {
    const proxy = await startFaultProxy(brokerPort());
    cleanups.push(() => proxy.stop());
    const s = setup(proxy.url, broker.protocolVersion, { recorderUrl: broker.url, maxInFlight: 3 });
    await startedAndOnline(s);
    proxy.set('blackhole');
    const sends = Array.from({ length: 4 }, (_, i) => s.side.publisher.sendEvent(raised({ alarmId: `a${i}` }), { retained: true }).catch(() => undefined));
    await expect.poll(() => s.side.session.inFlightCount).toBe(3);
    proxy.reset();
    await Promise.all(sends);
    expect(s.side.session.inFlightCount).toBe(0);
  });

  it('hands station acks from the ack topic to its listeners, saying which were retained', async () => {
    const s = setup();
    const acks: [string, boolean][] = [];
    s.side.acks.onAck((ack) => acks.push([ack.payload.toString('utf8'), ack.retained]));
    const station = await s.recorder();
    await station.client.publishAsync(s.side.topics.ack, 'left over', { qos: 1, retain: true });
    cleanups.push(() => station.client.publishAsync(s.side.topics.ack, '', { qos: 1, retain: true }).then(() => undefined));
    await s.side.start();
    await expect.poll(() => acks).toEqual([['left over', true]]);
    await station.client.publishAsync(s.side.topics.ack, 'live', { qos: 1 });
    await expect.poll(() => acks).toEqual([
      ['left over', true],
      ['live', false],
    ]);
  });

  it('republishes the retained state it was given on connect, before anything is sent', async () => {
    const s = setup();
    const restored = raised({ alarmId: 'restored' });
    s.committed.set(restored.alarmId, restored);
    await startedAndOnline(s);
    const late = await s.recorder();
    const retained = await late.waitFor((m) => m.topic === `${s.prefix}/alarms/P-01/1/downstream-occlusion`, { description: 'restored alarm' });
    expect(parse(retained.text)).toEqual(restored);
  });

  it('keeps the gateway\'s own alarm on alarms/@gateway/, apart from a pump named like the gateway with a channel named like the part', async () => {
    const s = setup();
    await startedAndOnline(s);
    const gateway = raised({ alarmId: 'gateway-link', condition: 'delivery-failure', scope: 'gateway', pumpId: 'gw-test', channel: 'link' });
    const pump = raised({ alarmId: 'pump-link', pumpId: 'gw-test', channel: 'link' });
    await s.publish(gateway);
    await s.publish(pump);
    const late = await s.recorder();
    const gatewayRetained = await late.waitFor((m) => m.topic === `${s.prefix}/alarms/@gateway/link/delivery-failure`, { description: 'gateway alarm' });
    const pumpRetained = await late.waitFor((m) => m.topic === `${s.prefix}/alarms/gw-test/link/downstream-occlusion`, { description: 'pump alarm' });
    expect(parse(gatewayRetained.text)).toEqual(gateway);
    expect(parse(pumpRetained.text)).toEqual(pump);
    await late.barrier();
    expect(late.on(`${s.prefix}/alarms/gw-test/link/delivery-failure`)).toEqual([]);
  });

  it('moves a gateway alarm journaled before scopes to alarms/@gateway/ on connect, and clears the topic the older gateway left it on', async () => {
    const s = setup();
    const legacyTopic = `${s.prefix}/alarms/gw-test/journal/storage-failure`;
    const legacy = raised({ alarmId: 'legacy-journal', condition: 'storage-failure', priority: 'medium', pumpId: 'gw-test', channel: 'journal' });
    const seeder = connect(broker.url, { protocolVersion: broker.protocolVersion });
    cleanups.push(() => seeder.endAsync());
    await seeder.publishAsync(legacyTopic, JSON.stringify(legacy), { qos: 1, retain: true });
    s.committed.set(legacy.alarmId, legacy);
    const watcher = await startedAndOnline(s);
    await watcher.waitFor((m) => m.topic === legacyTopic && m.payload.byteLength === 0, { description: 'old topic cleared' });
    const late = await s.recorder();
    const moved = await late.waitFor((m) => m.topic === `${s.prefix}/alarms/@gateway/journal/storage-failure`, { description: 'gateway alarm on its own topic' });
    expect(parse(moved.text)).toEqual(legacy);
    await late.barrier();
    expect(late.on(legacyTopic)).toEqual([]);
  });

  it('refuses a payload over the size limit before publishing', async () => {
    const s = setup(broker.url, broker.protocolVersion, { maxPayloadBytes: 256 });
    await startedAndOnline(s);
    const error = await s.publish(raised({ evidence: { note: 'x'.repeat(300) } })).catch((caught: unknown) => caught);
    expect((error as MqttError).code).toBe('PW_MQTT_PAYLOAD_TOO_LARGE');
  });

  it('logs sessionPresent from the CONNACK', async () => {
    const s = setup();
    await startedAndOnline(s);
    expect(s.log.withCode('PW_MQTT_CONNECTED')[0]).toMatchObject({ sessionPresent: false, mqttClient: 'alarms' });
  });

  it('refuses to publish before start', async () => {
    const s = setup();
    const error = await s.publish(raised()).catch((caught: unknown) => caught);
    expect((error as MqttError).code).toBe('PW_MQTT_NOT_STARTED');
  });
});

describe.skipIf(mosquittoMissingReason !== undefined)(`MqttAlarmPublisher against a Mosquitto of its own ${mosquittoMissingReason ?? ''}`, () => {
  it('republishes its status and active alarms by itself after the broker restarts without persistence', async () => {
    const own = await startMosquitto();
    cleanups.push(() => own.stop());
    const s = setup(own.url, 5);
    const states: MqttLinkState[] = [];
    await startedAndOnline(s);
    s.side.session.onConnectionState((state) => states.push(state));
    const active = raised();
    await s.publish(active);
    await s.publish(raised({ alarmId: 'alarm-2', pumpId: 'P-02', eventId: 'ev-2' }));
    await s.publish(raised({ alarmId: 'alarm-2', pumpId: 'P-02', eventId: 'ev-2-ended', event: 'ended' }));

    const control = await startRecorder({ url: own.url, protocolVersion: 5, topics: [] });
    await control.client.publishAsync(`${s.prefix}/control`, 'retained before restart', { qos: 1, retain: true });
    await control.stop();
    await own.restart();

    await expect.poll(() => states, { timeout: 5_000 }).toEqual(['disconnected', 'connected']);
    const late = await startRecorder({ url: own.url, protocolVersion: 5, topics: [`${s.prefix}/#`] });
    cleanups.push(() => late.stop());
    const status = await late.waitFor((m) => m.topic === `${s.prefix}/status`, { description: 'republished status' });
    const alarm = await late.waitFor((m) => m.topic === `${s.prefix}/alarms/P-01/1/downstream-occlusion`, { description: 'republished alarm' });
    await late.barrier();
    expect(parse(status.text).state).toBe('online');
    expect(parse(alarm.text)).toEqual(active);
    // The broker really forgot: what nobody republished is gone, including the ended alarm.
    expect(late.on(`${s.prefix}/control`)).toEqual([]);
    expect(late.on(`${s.prefix}/alarms/P-02/1/downstream-occlusion`)).toEqual([]);
  });

  it('surfaces a refusal by the broker as PW_MQTT_PUBLISH_FAILED with the MQTT 5 reason code', async () => {
    const aclDir = await mkdtemp(join(tmpdir(), 'pumpwatch-acl-'));
    cleanups.push(() => rm(aclDir, { recursive: true, force: true }));
    await writeFile(join(aclDir, 'acl'), 'topic readwrite #\ntopic deny pwtest/+/alarms/DENIED/#\n', { mode: 0o644 });
    // Started as root, Mosquitto drops to its own user before it reads the ACL file.
    await chmod(aclDir, 0o755);
    const own = await startMosquitto({ extraConfig: `acl_file ${join(aclDir, 'acl')}` });
    cleanups.push(() => own.stop());
    const s = setup(own.url, 5);
    await startedAndOnline(s);
    const error = await s.side.publisher.sendEvent(raised({ pumpId: 'DENIED' }), { retained: true }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'PW_MQTT_PUBLISH_FAILED', reasonCode: 0x87 });
    await s.side.publisher.sendEvent(raised(), { retained: true });
  });

  it('sets MQTT 5 message expiry on the event stream, never on retained alarm state', async () => {
    const own = await startMosquitto();
    cleanups.push(() => own.stop());
    const s = setup(own.url, 5, { eventExpirySeconds: 600 });
    const watcher = await startedAndOnline(s);
    const event = raised({ emittedAt: new Date(Date.now() - 100_000).toISOString() });
    await s.publish(event);
    const streamed = await watcher.waitFor((m) => m.topic === `${s.prefix}/events`, { description: 'event on the stream' });
    const retained = await watcher.waitFor((m) => m.topic === `${s.prefix}/alarms/P-01/1/downstream-occlusion`, { description: 'retained alarm' });
    expect(streamed.properties.messageExpiryInterval).toBeGreaterThan(490);
    expect(streamed.properties.messageExpiryInterval).toBeLessThanOrEqual(500);
    expect(retained.properties.messageExpiryInterval).toBeUndefined();
  });

  it('does not put an event older than the expiry on the stream, but still sets its retained state', async () => {
    const own = await startMosquitto();
    cleanups.push(() => own.stop());
    const s = setup(own.url, 5, { eventExpirySeconds: 60 });
    const watcher = await startedAndOnline(s);
    const stale = raised({ emittedAt: new Date(Date.now() - 120_000).toISOString() });
    expect(await s.side.publisher.sendEvent(stale, { retained: true })).toEqual({ streamed: false });
    await watcher.waitFor((m) => m.topic === `${s.prefix}/alarms/P-01/1/downstream-occlusion`, { description: 'retained alarm' });
    await watcher.barrier();
    expect(watcher.on(`${s.prefix}/events`)).toEqual([]);
  });

  it('resumes its broker session after a dropped connection, and says so when the broker lost it', async () => {
    const own = await startMosquitto();
    cleanups.push(() => own.stop());
    const s = setup(own.url, 5, { sessionExpirySeconds: 300 });
    const acks: string[] = [];
    s.side.acks.onAck((ack) => acks.push(ack.payload.toString('utf8')));
    await startedAndOnline(s);
    s.clients[0]!.stream.destroy();
    await expect.poll(() => s.log.withCode('PW_MQTT_CONNECTED').map((line) => line.sessionPresent)).toEqual([false, true]);
    expect(s.log.withCode('PW_MQTT_SESSION_LOST')).toEqual([]);
    await own.restart();
    await expect.poll(() => s.log.withCode('PW_MQTT_SESSION_LOST'), { timeout: 5_000 }).toHaveLength(1);
    const station = await startRecorder({ url: own.url, protocolVersion: 5, topics: [] });
    cleanups.push(() => station.stop());
    await expect.poll(async () => {
      await station.client.publishAsync(s.side.topics.ack, 'after restart', { qos: 1 });
      return acks.includes('after restart');
    }).toBe(true);
  });
});
