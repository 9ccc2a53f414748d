import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { AlarmEventSchema } from '../../src/alarms/event.js';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLog } from '../helpers/log-capture.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { startRecorder } from '../helpers/recorder.js';

/**
 * Topology 1 of docs/scaling.md: pumpwatch on a ward gateway's own Mosquitto, bridged to a
 * central Mosquitto with the bridge configuration the document shows. Stations on the central
 * broker see the gateway, its alarms and its events; their acks travel back over the bridge.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function bridgeConfig(centralPort: number, prefix: string): string {
  return [
    'connection central',
    `address 127.0.0.1:${centralPort}`,
    'bridge_protocol_version mqttv50',
    'remote_clientid bridge-gw-ward3-a',
    'cleansession false',
    `topic ${prefix}/status out 1`,
    `topic ${prefix}/alarms/# out 1`,
    `topic ${prefix}/events out 1`,
    `topic ${prefix}/ack in 1`,
    `notification_topic ${prefix}/bridge`,
  ].join('\n');
}

describe.skipIf(mosquittoMissingReason !== undefined)(`a ward gateway bridged to a central broker ${mosquittoMissingReason ?? ''}`, () => {
  it('carries status, alarms and events out to central stations, and their acks back in', async () => {
    const prefix = 'pumpwatch/v1/st-elsewhere/nicu-3/gw-ward3-a';
    const central = await startMosquitto();
    cleanups.push(() => central.stop());
    const ward = await startMosquitto({ extraConfig: bridgeConfig(central.port, prefix) });
    cleanups.push(() => ward.stop());
    const station = await startRecorder({ url: central.url, protocolVersion: 5, topics: [`${prefix}/#`] });
    cleanups.push(() => station.stop());
    await station.waitFor((m) => m.topic === `${prefix}/bridge` && m.text === '1', { description: 'bridge up' });

    const journal = await mkdtemp(join(tmpdir(), 'pumpwatch-bridge-'));
    cleanups.push(() => rm(journal, { recursive: true, force: true }));
    const config = ConfigSchema.parse({
      gateway: { id: 'gw-ward3-a', site: 'st-elsewhere', ward: 'nicu-3' },
      mqtt: { url: ward.url, protocolVersion: 5 },
      sources: { mqtt: { topics: ['pumps/+/telemetry'] } },
      journal: { directory: journal },
    });
    const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, {
      clock: systemClock,
      logger: captureLog('warn').logger,
      connect,
      loadSerialBinding: () => Promise.reject(new Error('no serial in this test')),
    });
    cleanups.push(() => daemon.stop());
    await station.waitFor((m) => m.topic === `${prefix}/status` && m.text.includes('"online"'), { description: 'gateway online at the central broker' });

    const pumps = await startRecorder({ url: ward.url, protocolVersion: 5, topics: [] });
    cleanups.push(() => pumps.stop());
    await pumps.client.publishAsync('pumps/NICU-01/telemetry', JSON.stringify({ pumpId: 'NICU-01', ts: Date.now(), state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    const alarmTopic = `${prefix}/alarms/NICU-01/1/downstream-occlusion`;
    const retained = await station.waitFor((m) => m.topic === alarmTopic, { description: 'alarm state at the central broker' });
    const raised = AlarmEventSchema.parse(JSON.parse(retained.text));
    await station.waitFor((m) => m.topic === `${prefix}/events` && m.text.includes(raised.eventId), { description: 'raised on the central event stream' });

    await station.client.publishAsync(`${prefix}/ack`, JSON.stringify({ v: 1, alarmId: raised.alarmId, by: 'central-station', at: new Date().toISOString(), ward: 'nicu-3' }), { qos: 1 });
    await station.waitFor((m) => m.topic === `${prefix}/events` && m.text.includes('"event":"acknowledged"'), { description: 'acknowledged, back over the bridge' });
    await station.barrier();
    const eventIds = station.on(`${prefix}/events`).map((m) => AlarmEventSchema.parse(JSON.parse(m.text)).eventId);
    expect(eventIds).toHaveLength(2);
    expect(new Set(eventIds).size).toBe(2);
  });
});
