import { randomBytes } from 'node:crypto';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { MqttTelemetrySource } from '../../src/sources/mqtt.js';
import type { Rejection } from '../../src/telemetry/decode.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { uniqueTopicPrefix, useTestBroker } from '../helpers/broker.js';
import { captureLog } from '../helpers/log-capture.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';

const { broker, cleanups } = useTestBroker();

const valid = { pumpId: 'P-01', ts: '2026-03-01T09:00:00.000Z', state: 'infusing', rateMlPerH: 1.5 };

interface Setup {
  source: MqttTelemetrySource;
  samples: TelemetrySample[];
  rejections: Rejection[];
  /** A plain client playing the pumps' side. */
  pumps: Recorder;
  topicFor(pumpId: string): string;
  /** Resolves on the next time the broker grants the subscriptions. */
  nextSubscribed(): Promise<void>;
}

async function setup(url = broker.url, protocolVersion = broker.protocolVersion, maxSamplesPerMessage = 10): Promise<Setup> {
  const prefix = uniqueTopicPrefix('telemetry');
  const config = ConfigSchema.parse({
    mqtt: { url, protocolVersion, clientId: `pwtest-${randomBytes(4).toString('hex')}`, reconnectSeconds: 0.1 },
    sources: { mqtt: { topics: [`${prefix}/pumps/+/telemetry`], qos: 1, maxSamplesPerMessage } },
  });
  const samples: TelemetrySample[] = [];
  const rejections: Rejection[] = [];
  const source = new MqttTelemetrySource({
    config,
    source: config.sources.mqtt!,
    secrets: {},
    connect,
    logger: captureLog().logger,
    clock: systemClock,
  });
  const nextSubscribed = () =>
    new Promise<void>((resolve) => {
      const off = source.onSubscribed(() => {
        off();
        resolve();
      });
    });
  const subscribed = nextSubscribed();
  await source.start({ sample: (sample) => samples.push(sample), reject: (rejection) => rejections.push(rejection) });
  cleanups.push(() => source.stop());
  await subscribed;
  const pumps = await startRecorder({ url, protocolVersion, topics: [] });
  cleanups.push(() => pumps.stop());
  return { source, samples, rejections, pumps, topicFor: (pumpId) => `${prefix}/pumps/${pumpId}/telemetry`, nextSubscribed };
}

async function send(s: Setup, payload: string, pumpId = 'P-01'): Promise<void> {
  await s.pumps.client.publishAsync(s.topicFor(pumpId), payload, { qos: 1 });
}

describe(`MqttTelemetrySource (${process.env.MQTT_URL === undefined ? 'in-process aedes, MQTT 3.1.1' : `broker at ${process.env.MQTT_URL}`})`, () => {
  it('hands a sample published on a subscribed topic to the pipeline', async () => {
    const s = await setup();
    await send(s, JSON.stringify(valid));
    await expect.poll(() => s.samples).toEqual([{ pumpId: 'P-01', channel: '1', ts: Date.UTC(2026, 2, 1, 9), state: 'infusing', rateMlPerH: 1.5 }]);
  });

  it('decodes an array payload into one sample per element', async () => {
    const s = await setup();
    await send(s, JSON.stringify([valid, { ...valid, channel: 'B' }, { ...valid, pumpId: 'P-02' }]));
    await expect.poll(() => s.samples.map((sample) => `${sample.pumpId}/${sample.channel}`)).toEqual(['P-01/1', 'P-01/B', 'P-02/1']);
  });

  it('takes the first maxSamplesPerMessage samples of a longer array and refuses the rest as too-many-samples', async () => {
    const s = await setup(broker.url, broker.protocolVersion, 2);
    await send(s, JSON.stringify([valid, { ...valid, pumpId: 'P-02' }, { ...valid, pumpId: 'P-03' }]));
    await send(s, JSON.stringify({ ...valid, pumpId: 'P-04' }));
    await expect.poll(() => s.samples.map((sample) => sample.pumpId)).toEqual(['P-01', 'P-02', 'P-04']);
    expect(s.rejections.map((rejection) => rejection.reason)).toEqual(['too-many-samples']);
  });

  it.each([
    ['invalid JSON', '{"pumpId":"P-01",', 'invalid-json'],
    ['a bare NaN', '{"pumpId":"P-01","ts":1,"state":"infusing","rateMlPerH":NaN}', 'invalid-json'],
    ['a number in a string', JSON.stringify({ ...valid, rateMlPerH: '1.5' }), 'schema'],
    ['a pump id with +', JSON.stringify({ ...valid, pumpId: 'P+1' }), 'bad-id'],
    ['a pump id with #', JSON.stringify({ ...valid, pumpId: 'P#1' }), 'bad-id'],
    ['a pump id with /', JSON.stringify({ ...valid, pumpId: 'ward/P1' }), 'bad-id'],
    ['a JSON number', '42', 'not-an-object'],
  ])('rejects %s as %s and keeps running', async (_label, payload, reason) => {
    const s = await setup();
    await send(s, payload);
    await send(s, JSON.stringify(valid));
    await expect.poll(() => s.samples).toHaveLength(1);
    expect(s.rejections.map((rejection) => rejection.reason)).toEqual([reason]);
  });

  it('ignores empty payloads, which only delete retained messages', async () => {
    const s = await setup();
    await send(s, '');
    await send(s, JSON.stringify(valid));
    await expect.poll(() => s.samples).toHaveLength(1);
    expect(s.rejections).toEqual([]);
  });

  it('connects with its own client id, apart from the alarm publisher', async () => {
    const gatewayId = `gw-${randomBytes(4).toString('hex')}`;
    const seenIds: string[] = [];
    const probe = new MqttTelemetrySource({
      config: ConfigSchema.parse({ gateway: { id: gatewayId }, mqtt: { url: broker.url, protocolVersion: broker.protocolVersion } }),
      source: ConfigSchema.parse({ sources: { mqtt: {} } }).sources.mqtt!,
      secrets: {},
      connect: (url, options) => {
        seenIds.push(options.clientId ?? '');
        return connect(url, options);
      },
      logger: captureLog().logger,
      clock: systemClock,
    });
    await probe.start({ sample: () => undefined, reject: () => undefined });
    await probe.stop();
    expect(seenIds).toEqual([`pumpwatch-${gatewayId}-telemetry`]);
  });
});

describe.skipIf(mosquittoMissingReason !== undefined)(`MqttTelemetrySource against a Mosquitto of its own ${mosquittoMissingReason ?? ''}`, () => {
  it('subscribes again after the broker restarts and keeps receiving samples', async () => {
    const own = await startMosquitto();
    cleanups.push(() => own.stop());
    const s = await setup(own.url, 5);
    const resubscribed = s.nextSubscribed();
    await own.restart();
    await resubscribed;
    // The pumps' own client died with the broker; a fresh one plays them after the restart.
    const pumps = await startRecorder({ url: own.url, protocolVersion: 5, topics: [] });
    cleanups.push(() => pumps.stop());
    await pumps.client.publishAsync(s.topicFor('P-03'), JSON.stringify({ ...valid, pumpId: 'P-03' }), { qos: 1 });
    await expect.poll(() => s.samples.map((sample) => sample.pumpId)).toEqual(['P-03']);
  });
});
