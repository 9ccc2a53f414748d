import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { AlarmEventSchema } from '../src/alarms/event.js';
import { systemClock } from '../src/clock.js';
import { ConfigSchema } from '../src/config/schema.js';
import { startDaemon } from '../src/daemon.js';
import { uniqueTopicPrefix, useTestBroker } from './helpers/broker.js';
import { runCommand } from './helpers/cli.js';
import { captureLog } from './helpers/log-capture.js';
import { clearRetainedUnder, startRecorder } from './helpers/recorder.js';

const run = promisify(execFile);
const { broker, cleanups } = useTestBroker();

/** Publishes with Mosquitto's own client, not ours. */
async function mosquittoPub(topic: string, message: string, retain = false): Promise<void> {
  const { hostname, port } = new URL(broker.url);
  await run('mosquitto_pub', ['-h', hostname, '-p', port || '1883', '-V', 'mqttv5', '-q', '1', '-t', topic, '-m', message, ...(retain ? ['-r'] : [])]);
}

async function startWard(options: { beforeStart?: (prefix: string) => Promise<void>; config?: Record<string, unknown> } = {}) {
  const prefix = uniqueTopicPrefix('commands');
  await options.beforeStart?.(prefix);
  const telemetryRoot = `${prefix}-pumps`;
  const journalDirectory = await mkdtemp(join(tmpdir(), 'pumpwatch-commands-'));
  const config = ConfigSchema.parse({
    gateway: { id: 'gw-cmd', site: 'st-elsewhere', ward: 'nicu-3' },
    mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}`, sessionExpirySeconds: 0 },
    sources: { mqtt: { topics: [`${telemetryRoot}/+/telemetry`] } },
    detection: { telemetryLostAfterSeconds: 1 },
    journal: { directory: journalDirectory },
    ...options.config,
  });
  const station = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/#`] });
  const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, { clock: systemClock, logger: captureLog('info').logger, connect, loadSerialBinding: () => Promise.reject(new Error('no serial')) });
  cleanups.push(async () => {
    await daemon.stop();
    await station.stop();
    await mosquittoPub(`${prefix}/ack`, '', true).catch(() => undefined);
    await mosquittoPub(`${prefix}/roster`, '', true).catch(() => undefined);
    await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
    await rm(journalDirectory, { recursive: true, force: true });
  });
  await station.waitFor((m) => m.topic === `${prefix}/status` && m.text.includes('"online"'), { description: 'gateway online' });
  const sample = (pumpId: string, fields: Record<string, unknown> = {}) =>
    mosquittoPub(`${telemetryRoot}/${pumpId}/telemetry`, JSON.stringify({ pumpId, ts: Date.now(), state: 'infusing', rateMlPerH: 1, ...fields }));
  return { prefix, daemon, station, sample, journalDirectory };
}

describe.skipIf(process.env.MQTT_URL === undefined || process.env.MQTT_URL === '')('station commands and acks through Mosquitto, sent with mosquitto_pub', () => {
  it('retires a channel on <prefix>/cmd: its alarm ends for stations, the command is counted in /metrics and audited for `pumpwatch history`', async () => {
    const ward = await startWard();
    await ward.sample('BED-7', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const lostTopic = `${ward.prefix}/alarms/BED-7/1/telemetry-lost`;
    await ward.station.waitFor((m) => m.topic === lostTopic && m.payload.length > 0, { timeoutMs: 6000, description: 'telemetry-lost raised' });
    const retire = (fields: Record<string, unknown>) => mosquittoPub(`${ward.prefix}/cmd`, JSON.stringify({ retire: { pumpId: 'BED-7', channel: '1' }, by: 'station-2/nurse-k', at: new Date().toISOString(), ...fields }));
    await retire({ ward: 'picu' });
    await retire({});
    const mark = ward.station.messages.length;
    await ward.station.waitFor((m) => m.topic === lostTopic && m.payload.length === 0, { description: 'telemetry-lost cleared' });
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/alarms/BED-7/1/downstream-occlusion` && m.payload.length === 0, { fromIndex: 0, description: 'occlusion cleared' });
    const ended = ward.station.messages.slice(mark).filter((m) => m.topic === `${ward.prefix}/events`).map((m) => AlarmEventSchema.parse(JSON.parse(m.text)));
    expect(ended.map((e) => [e.condition, e.event, e.evidence['retiredBy']])).toEqual(
      expect.arrayContaining([
        ['telemetry-lost', 'ended', 'station-2/nurse-k'],
        ['downstream-occlusion', 'ended', 'station-2/nurse-k'],
      ]),
    );
    expect(ward.daemon.commands.counts()).toMatchObject({ accepted: 1, 'cross-ward': 1 });
    const metrics = (await ward.daemon.ops.metrics.scrape()).body;
    expect(metrics).toContain('pumpwatch_station_commands_total{verdict="accepted"} 1');
    expect(metrics).toContain('pumpwatch_station_commands_total{verdict="cross-ward"} 1');
    expect(metrics).toContain('pumpwatch_station_acks_total{verdict="accepted"} 0');

    const history = await runCommand(['history', '--dir', ward.journalDirectory, '--since', new Date(Date.now() - 60_000).toISOString(), '--format', 'csv']);
    expect(history.code).toBe(0);
    const rows = history.stdout.trim().split('\n');
    expect(rows[0]).toBe('time,kind,event,alarmId,condition,priority,pumpId,channel,by,at,detail');
    expect(rows.some((row) => row.includes(',command,retire:accepted,') && row.includes('station-2/nurse-k'))).toBe(true);
    expect(rows.some((row) => row.includes(',command,retire:cross-ward,'))).toBe(true);
    expect(rows.some((row) => row.includes(',retire,retired,') && row.includes('BED-7'))).toBe(true);
    expect(rows.filter((row) => row.includes(',event,raised,'))).toHaveLength(2);
    const jsonl = await runCommand(['history', '--dir', ward.journalDirectory, '--since', '2000-01-01', '--until', '2000-01-02']);
    expect(jsonl.stdout).toBe('');
  });

  it('refuses a retained ack even when it is published while the gateway is connected, and counts acks in /metrics', async () => {
    const ward = await startWard();
    await ward.sample('BED-8', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const alarmTopic = `${ward.prefix}/alarms/BED-8/1/downstream-occlusion`;
    const raised = AlarmEventSchema.parse(JSON.parse((await ward.station.waitFor((m) => m.topic === alarmTopic, { description: 'alarm' })).text));
    const ack = JSON.stringify({ alarmId: raised.alarmId, by: 'station-1', at: new Date().toISOString() });
    await mosquittoPub(`${ward.prefix}/ack`, ack, true);
    await expect.poll(() => ward.daemon.acks.counts().replayed, { timeout: 5000 }).toBe(1);
    await mosquittoPub(`${ward.prefix}/ack`, ack);
    await ward.station.waitFor((m) => m.topic === alarmTopic && m.text.includes('"acknowledged"'), { description: 'acknowledged' });
    const metrics = (await ward.daemon.ops.metrics.scrape()).body;
    expect(metrics).toContain('pumpwatch_station_acks_total{verdict="replayed"} 1');
    expect(metrics).toContain('pumpwatch_station_acks_total{verdict="accepted"} 1');
  });

  it('pauses a channel from <prefix>/cmd: its alarm stays published with state.paused, a pause over 15 min is refused and counted, resume ends it, all audited', async () => {
    const ward = await startWard({ config: { detection: { telemetryLostAfterSeconds: 60 } } });
    await ward.sample('BED-9');
    // The sample and the command reach the gateway on different connections: a pause that
    // overtook the sample would be refused as unknown, rightly.
    await expect.poll(() => ward.daemon.pipeline.acceptedCount, { timeout: 5000 }).toBe(1);
    const alarmTopic = `${ward.prefix}/alarms/BED-9/1/downstream-occlusion`;
    const command = (body: Record<string, unknown>) => mosquittoPub(`${ward.prefix}/cmd`, JSON.stringify({ by: 'station-2/nurse-k', at: new Date().toISOString(), ...body }));
    await command({ pause: { pumpId: 'BED-9', channel: '1' } });
    await expect.poll(() => ward.daemon.commands.counts().accepted, { timeout: 5000 }).toBe(1);
    await command({ pause: { pumpId: 'BED-9', channel: '1', minutes: 20 } });
    await expect.poll(() => ward.daemon.commands.counts().malformed, { timeout: 5000 }).toBe(1);

    // Detection goes on while paused: the occlusion is raised and published, marked paused.
    await ward.sample('BED-9', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const paused = await ward.station.waitFor((m) => m.topic === alarmTopic && m.payload.length > 0, { description: 'occlusion raised' });
    const pausedEvent = AlarmEventSchema.parse(JSON.parse(paused.text));
    expect(pausedEvent).toMatchObject({ event: 'raised', state: { paused: true, conditionPresent: true } });
    const pausedForMs = Date.parse(pausedEvent.state!.pausedUntil!) - Date.parse(pausedEvent.emittedAt);
    expect(pausedForMs).toBeGreaterThan(4.9 * 60_000);
    expect(pausedForMs).toBeLessThanOrEqual(5 * 60_000);

    await command({ resume: { pumpId: 'BED-9', channel: '1' } });
    const resumed = await ward.station.waitFor((m) => m.topic === alarmTopic && m.index > paused.index && m.payload.length > 0, { description: 'alarm shown unpaused' });
    const resumedEvent = AlarmEventSchema.parse(JSON.parse(resumed.text));
    expect(resumedEvent.event).toBe('updated');
    expect(resumedEvent.state).not.toHaveProperty('paused');
    expect(ward.daemon.commands.counts()).toMatchObject({ accepted: 2, malformed: 1 });

    const history = await runCommand(['history', '--dir', ward.journalDirectory, '--since', new Date(Date.now() - 60_000).toISOString(), '--format', 'csv']);
    const rows = history.stdout.trim().split('\n');
    expect(rows.some((row) => row.includes(',command,pause:malformed,') && row.includes('at most 15 minutes'))).toBe(true);
    expect(rows.some((row) => row.includes(',command,pause:accepted,') && row.includes('station-2/nurse-k'))).toBe(true);
    expect(rows.some((row) => row.includes(',pause,pause:started,') && row.includes('BED-9'))).toBe(true);
    expect(rows.some((row) => row.includes(',pause,pause:resumed,') && row.includes('BED-9'))).toBe(true);
  });

  it('takes the retained <prefix>/roster a station left before the gateway started, places alarms by it, refuses a malformed one with a count, and audits both', async () => {
    const ward = await startWard({
      config: { roster: [{ pumpId: 'BED-10', bed: 'cfg-bed' }, { pumpId: 'BED-11', bed: 'bed-11' }] },
      beforeStart: (prefix) =>
        mosquittoPub(`${prefix}/roster`, JSON.stringify({ entries: [{ pumpId: 'BED-10', bed: 'bed-10A', patientRef: 'ref-4711' }], by: 'station-1', at: new Date().toISOString() }), true),
    });
    await expect.poll(() => ward.daemon.rosterUpdates.counts().accepted, { timeout: 5000 }).toBe(1);
    await ward.sample('BED-10', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    await ward.sample('BED-11', { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const placed = async (pumpId: string) =>
      AlarmEventSchema.parse(JSON.parse((await ward.station.waitFor((m) => m.topic === `${ward.prefix}/alarms/${pumpId}/1/downstream-occlusion` && m.payload.length > 0, { description: pumpId })).text));
    expect(await placed('BED-10')).toMatchObject({ bed: 'bed-10A', patientRef: 'ref-4711' });
    expect(await placed('BED-11')).toMatchObject({ bed: 'bed-11' });

    await mosquittoPub(`${ward.prefix}/roster`, JSON.stringify({ entries: [{ pumpId: 'BED-10', bed: 'x'.repeat(40) }], by: 'station-1', at: new Date().toISOString() }), true);
    await expect.poll(() => ward.daemon.rosterUpdates.counts().malformed, { timeout: 5000 }).toBe(1);
    const metrics = (await ward.daemon.ops.metrics.scrape()).body;
    expect(metrics).toContain('pumpwatch_station_roster_updates_total{verdict="accepted"} 1');
    expect(metrics).toContain('pumpwatch_station_roster_updates_total{verdict="malformed"} 1');

    // A station moves BED-11's pump: its active alarm is re-sent with the new bed.
    await mosquittoPub(`${ward.prefix}/roster`, JSON.stringify({ entries: [{ pumpId: 'BED-11', bed: 'bed-12' }], by: 'station-1', at: new Date().toISOString() }), true);
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/alarms/BED-11/1/downstream-occlusion` && m.text.includes('"bed":"bed-12"'), { description: 'BED-11 moved' });
    // The new station roster no longer names BED-10: it is placed by the configuration again.
    await ward.station.waitFor((m) => m.topic === `${ward.prefix}/alarms/BED-10/1/downstream-occlusion` && m.text.includes('"bed":"cfg-bed"'), { description: 'BED-10 back to the configured bed' });

    const history = await runCommand(['history', '--dir', ward.journalDirectory, '--since', new Date(Date.now() - 60_000).toISOString(), '--format', 'csv']);
    const rows = history.stdout.trim().split('\n');
    expect(rows.filter((row) => row.includes(',roster,roster:accepted,'))).toHaveLength(2);
    expect(rows.some((row) => row.includes(',roster,roster:malformed,') && row.includes('entries.0.bed'))).toBe(true);
  });
});
