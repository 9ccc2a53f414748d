import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { AlarmEventSchema, type AlarmEvent } from '../src/alarms/event.js';
import { systemClock } from '../src/clock.js';
import { ConfigSchema } from '../src/config/schema.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { uniqueTopicPrefix, useTestBroker } from './helpers/broker.js';
import { captureLog } from './helpers/log-capture.js';
import { clearRetainedUnder, startRecorder, type Recorder } from './helpers/recorder.js';

const { broker, cleanups } = useTestBroker();

interface WardOptions {
  prefix?: string;
  journalDirectory?: string;
}

async function startWard(options: WardOptions = {}) {
  const prefix = options.prefix ?? uniqueTopicPrefix('daemon');
  const telemetryRoot = `${prefix}-pumps`;
  const journalDirectory = options.journalDirectory ?? (await mkdtemp(join(tmpdir(), 'pumpwatch-daemon-')));
  const config = ConfigSchema.parse({
    gateway: { id: 'gw-test' },
    mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}`, sessionExpirySeconds: 0 },
    sources: { mqtt: { topics: [`${telemetryRoot}/+/telemetry`] } },
    detection: { telemetryLostAfterSeconds: 2 },
    journal: { directory: journalDirectory },
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
    if (options.journalDirectory === undefined) await rm(journalDirectory, { recursive: true, force: true });
  });
  await station.waitFor((m) => m.topic === `${prefix}/status` && m.text.includes('"online"'), { description: 'gateway online' });
  const pumps = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [] });
  cleanups.push(() => pumps.stop());
  const publishSample = (pumpId: string, fields: Record<string, unknown> = {}) =>
    pumps.client.publishAsync(`${telemetryRoot}/${encodeURIComponent(pumpId)}/telemetry`, JSON.stringify({ pumpId, ts: Date.now(), state: 'infusing', rateMlPerH: 1, ...fields }));
  return { prefix, daemon, station, log, publishSample, pumps, telemetryRoot, journalDirectory };
}

function eventsOn(recorder: Recorder, prefix: string): AlarmEvent[] {
  return recorder.on(`${prefix}/events`).map((m) => AlarmEventSchema.parse(JSON.parse(m.text)));
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

  it('answers a station ack with an acknowledged event, on the stream and in the retained state', async () => {
    const ward = await startWard();
    await ward.publishSample('NICU-04', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const alarmTopic = `${ward.prefix}/alarms/NICU-04/1/downstream-occlusion`;
    const raised = AlarmEventSchema.parse(JSON.parse((await ward.station.waitFor((m) => m.topic === alarmTopic, { description: 'alarm' })).text));
    await ward.pumps.client.publishAsync(`${ward.prefix}/ack`, JSON.stringify({ v: 1, alarmId: raised.alarmId, by: 'station-1', at: new Date().toISOString(), ward: 'ward' }), { qos: 1 });
    const acked = await ward.station.waitFor((m) => m.topic === alarmTopic && m.text.includes('"event":"acknowledged"'), { description: 'acknowledged retained' });
    expect(JSON.parse(acked.text)).toMatchObject({ alarmId: raised.alarmId, event: 'acknowledged', seq: 2, state: { acknowledged: true }, evidence: { acknowledgedBy: 'station-1' } });
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/events` && m.text.includes('"event":"acknowledged"'), { description: 'acknowledged on the stream' });
    expect(ward.daemon.acks.counts()).toMatchObject({ accepted: 1 });
  });

  it('ignores and counts acks for other wards and for alarms it does not have', async () => {
    const ward = await startWard();
    await ward.publishSample('NICU-05', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const alarmTopic = `${ward.prefix}/alarms/NICU-05/1/downstream-occlusion`;
    const raised = AlarmEventSchema.parse(JSON.parse((await ward.station.waitFor((m) => m.topic === alarmTopic, { description: 'alarm' })).text));
    const ack = (fields: Record<string, unknown>) =>
      ward.pumps.client.publishAsync(`${ward.prefix}/ack`, JSON.stringify({ alarmId: raised.alarmId, by: 's', at: new Date().toISOString(), ...fields }), { qos: 1 });
    await ack({ ward: 'picu' });
    await ack({ alarmId: 'not-an-alarm' });
    await ward.pumps.client.publishAsync(`${ward.prefix}/ack`, '{', { qos: 1 });
    await expect.poll(() => ward.daemon.acks.counts()).toMatchObject({ 'cross-ward': 1, unknown: 1, malformed: 1, accepted: 0 });
    await ward.station.barrier();
    expect(eventsOn(ward.station, ward.prefix).map((e) => e.event)).toEqual(['raised']);
  });

  it('keeps an alarm, and its alarmId, across a restart, from its journal', async () => {
    const journalDirectory = await mkdtemp(join(tmpdir(), 'pumpwatch-daemon-'));
    cleanups.push(() => rm(journalDirectory, { recursive: true, force: true }));
    const first = await startWard({ journalDirectory });
    await first.publishSample('NICU-06', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const alarmTopic = `${first.prefix}/alarms/NICU-06/1/downstream-occlusion`;
    const raised = AlarmEventSchema.parse(JSON.parse((await first.station.waitFor((m) => m.topic === alarmTopic, { description: 'alarm' })).text));
    await first.daemon.stop();
    await clearRetainedUnder(broker.url, broker.protocolVersion, first.prefix);

    const second = await startWard({ journalDirectory, prefix: first.prefix });
    const shown = await second.station.waitFor((m) => m.topic === alarmTopic && m.payload.length > 0, { description: 'alarm shown again after the restart' });
    expect(JSON.parse(shown.text)).toMatchObject({ alarmId: raised.alarmId, event: 'raised' });
    await second.publishSample('NICU-06', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    await second.publishSample('NICU-06', { pumpAlarms: [] });
    const ended = await second.station.waitFor((m) => m.topic === `${second.prefix}/events` && m.text.includes('"event":"ended"'), { description: 'ended' });
    expect(JSON.parse(ended.text)).toMatchObject({ alarmId: raised.alarmId, seq: 2 });
    expect(eventsOn(second.station, second.prefix).filter((e) => e.event === 'raised')).toEqual([]);
  });
});
