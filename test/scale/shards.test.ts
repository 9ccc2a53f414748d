import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmEventSchema, type AlarmEvent } from '../../src/alarms/event.js';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { captureLog } from '../helpers/log-capture.js';
import { clearRetainedUnder, startRecorder, type Recorder } from '../helpers/recorder.js';

/**
 * Scale-out by sharding (docs/scaling.md): two pumpwatch instances against one broker, each
 * subscribed to a disjoint set of telemetry topics, each with its own gateway id (so its own
 * client ids, status topic and Last Will). One station subscribed to every gateway's event
 * stream sees each alarm once, raised by the instance that owns the pump.
 */

let broker: TestBroker;
let base: string;
let station: Recorder;
const gateways: { id: string; shard: string; daemon: Daemon; journal: string }[] = [];

function eventsFrom(recorder: Recorder): AlarmEvent[] {
  return recorder.messages.filter((m) => m.topic.endsWith('/events')).map((m) => AlarmEventSchema.parse(JSON.parse(m.text)));
}

beforeAll(async () => {
  broker = await startTestBroker();
  base = uniqueTopicPrefix('shards');
  station = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${base}/gw/+/events`, `${base}/gw/+/status`] });
  for (const [id, shard] of [
    ['gw-a', 'a'],
    ['gw-b', 'b'],
  ] as const) {
    const journal = await mkdtemp(join(tmpdir(), `pumpwatch-shard-${shard}-`));
    const config = ConfigSchema.parse({
      gateway: { id, site: 'site', ward: 'ward' },
      mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: `${base}/gw/${id}`, sessionExpirySeconds: 0 },
      // The shard: this instance's pumps publish under their own branch of the topic tree.
      sources: { mqtt: { topics: [`${base}/pumps/${shard}/+/telemetry`] } },
      journal: { directory: journal },
    });
    const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, {
      clock: systemClock,
      logger: captureLog('warn').logger,
      connect,
      loadSerialBinding: () => Promise.reject(new Error('no serial in this test')),
    });
    gateways.push({ id, shard, daemon, journal });
    await station.waitFor((m) => m.topic === `${base}/gw/${id}/status` && m.text.includes('"online"'), { description: `${id} online` });
  }
});

afterAll(async () => {
  for (const gateway of gateways) {
    await gateway.daemon.stop();
    await rm(gateway.journal, { recursive: true, force: true });
  }
  await station?.stop();
  if (broker !== undefined) {
    await clearRetainedUnder(broker.url, broker.protocolVersion, base);
    await broker.stop();
  }
});

describe('two pumpwatch instances on disjoint shards of one broker', () => {
  it('deliver every alarm exactly once per eventId to one station, each from the instance that owns the pump', async () => {
    const pumps = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [] });
    const plan = [
      { shard: 'a', pumpId: 'A-01' },
      { shard: 'a', pumpId: 'A-02' },
      { shard: 'b', pumpId: 'B-01' },
      { shard: 'b', pumpId: 'B-02' },
    ];
    try {
      const publish = (shard: string, pumpId: string, alarm: boolean) =>
        pumps.client.publishAsync(
          `${base}/pumps/${shard}/${pumpId}/telemetry`,
          JSON.stringify({ pumpId, ts: Date.now(), state: 'infusing', rateMlPerH: 1, ...(alarm ? { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] } : {}) }),
        );
      for (const { shard, pumpId } of plan) await publish(shard, pumpId, true);
      for (const { pumpId } of plan) {
        await station.waitFor((m) => m.topic.endsWith('/events') && m.text.includes(`"pumpId":"${pumpId}"`) && m.text.includes('"raised"'), { description: `${pumpId} raised` });
      }
      for (const { shard, pumpId } of plan) await publish(shard, pumpId, false);
      for (const { pumpId } of plan) {
        await station.waitFor((m) => m.topic.endsWith('/events') && m.text.includes(`"pumpId":"${pumpId}"`) && m.text.includes('"ended"'), { description: `${pumpId} ended` });
      }
      await station.barrier();
    } finally {
      await pumps.stop();
    }

    const events = eventsFrom(station);
    const ids = events.map((event) => event.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const byPump = (pumpId: string) => events.filter((event) => event.pumpId === pumpId).map((event) => [event.gatewayId, event.condition, event.event]);
    for (const { shard, pumpId } of plan) {
      const owner = `gw-${shard}`;
      expect(byPump(pumpId)).toEqual([
        [owner, 'downstream-occlusion', 'raised'],
        [owner, 'downstream-occlusion', 'ended'],
      ]);
    }
    // Each instance saw only its own shard's channels.
    expect(gateways.map((gateway) => gateway.daemon.pipeline.channelCount)).toEqual([2, 2]);
  });
});
