import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlarmEventSchema } from '../src/alarms/event.js';
import { systemClock } from '../src/clock.js';
import { ConfigSchema } from '../src/config/schema.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from './helpers/broker.js';
import { captureLog } from './helpers/log-capture.js';
import { clearRetainedUnder, startRecorder, type Recorder } from './helpers/recorder.js';

let broker: TestBroker;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await broker.stop();
});

async function startWard() {
  const prefix = uniqueTopicPrefix('daemon');
  const telemetryRoot = `${prefix}-pumps`;
  const config = ConfigSchema.parse({
    gateway: { id: 'gw-test' },
    mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}` },
    sources: { mqtt: { topics: [`${telemetryRoot}/+/telemetry`] } },
    detection: { telemetryLostAfterSeconds: 2 },
  });
  const log = captureLog('info');
  const station: Recorder = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/#`] });
  const daemon: Daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, {
    clock: systemClock,
    logger: log.logger,
    connect,
    loadSerialBinding: () => Promise.reject(new Error('no serial in this test')),
  });
  cleanups.push(async () => {
    await daemon.stop();
    await station.stop();
    await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
  });
  await station.waitFor((m) => m.topic === `${prefix}/status` && m.text.includes('"online"'), { description: 'gateway online' });
  const pumps = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [] });
  cleanups.push(() => pumps.stop());
  const publishSample = (pumpId: string, fields: Record<string, unknown> = {}) =>
    pumps.client.publishAsync(`${telemetryRoot}/${encodeURIComponent(pumpId)}/telemetry`, JSON.stringify({ pumpId, ts: Date.now(), state: 'infusing', rateMlPerH: 1, ...fields }));
  return { prefix, daemon, station, log, publishSample, pumps, telemetryRoot };
}

describe('the daemon, end to end through a real broker', () => {
  it("turns a pump's occlusion code into a retained downstream-occlusion alarm for stations", async () => {
    const ward = await startWard();
    await ward.publishSample('NICU-01', { state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'], downstreamPressureMmHg: 420 });
    const retained = await ward.station.waitFor((m) => m.topic === `${ward.prefix}/alarms/NICU-01/1/downstream-occlusion`, { description: 'occlusion alarm' });
    const event = AlarmEventSchema.parse(JSON.parse(retained.text));
    expect(event).toMatchObject({ event: 'raised', condition: 'downstream-occlusion', priority: 'high', pumpId: 'NICU-01' });
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/events` && m.text.includes(event.eventId), { description: 'event on the stream' });
  });

  it('raises telemetry-lost for a pump that goes silent, and ends it when data returns', async () => {
    const ward = await startWard();
    await ward.publishSample('NICU-02');
    const lostTopic = `${ward.prefix}/alarms/NICU-02/1/telemetry-lost`;
    await ward.station.waitFor((m) => m.topic === lostTopic && m.text.includes('"raised"'), { timeoutMs: 6000, description: 'telemetry-lost raised' });
    const mark = ward.station.messages.length;
    await ward.publishSample('NICU-02');
    await ward.station.waitFor((m) => m.topic === lostTopic && m.payload.length === 0, { fromIndex: mark, description: 'telemetry-lost cleared' });
  });

  it('rejects hostile and malformed telemetry with counted reasons, publishes nothing under a wrong topic, and keeps running', async () => {
    const ward = await startWard();
    const topic = `${ward.telemetryRoot}/x/telemetry`;
    await ward.pumps.client.publishAsync(topic, '{"pumpId": "P1", "ts": ');
    await ward.pumps.client.publishAsync(topic, '{"pumpId":"P1","ts":1,"state":"infusing","rateMlPerH":NaN}');
    await ward.pumps.client.publishAsync(topic, JSON.stringify({ pumpId: 'P1', ts: 1, state: 'infusing', rateMlPerH: '1' }));
    for (const pumpId of ['P+1', 'P#1', 'ward/P1']) {
      await ward.pumps.client.publishAsync(topic, JSON.stringify({ pumpId, ts: Date.now(), state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    }
    await ward.publishSample('NICU-03', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/alarms/NICU-03/1/downstream-occlusion`, { description: 'the valid pump still alarms' });
    expect(ward.daemon.pipeline.rejects.totals()).toEqual({ 'invalid-json': 2, schema: 1, 'bad-id': 3 });
    const alarmTopics = ward.station.messages.filter((m) => m.topic.startsWith(`${ward.prefix}/alarms/`)).map((m) => m.topic);
    expect(new Set(alarmTopics)).toEqual(new Set([`${ward.prefix}/alarms/NICU-03/1/downstream-occlusion`]));
  });

  it('publishes offline on a clean stop', async () => {
    const ward = await startWard();
    const mark = ward.station.messages.length;
    await ward.daemon.stop();
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/status` && m.text.includes('"offline"'), { fromIndex: mark, description: 'offline status' });
  });
});
