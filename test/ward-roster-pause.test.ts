import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StationCommandSchema } from '../src/alarms/commands.js';
import type { AlarmEvent } from '../src/alarms/event.js';
import type { AlarmSnapshot } from '../src/alarms/manager.js';
import { FileRetiredChannels, RETIRED_CHANNELS_FILE } from '../src/alarms/retired-channels.js';
import { Roster, RosterHandler } from '../src/alarms/roster.js';
import { createSettableClock } from '../src/clock.js';
import { ConfigSchema, type ConfigInput } from '../src/config/schema.js';
import { createAlarmManager, Pipeline } from '../src/pipeline.js';
import { createRecordingPipeline, sampleAt } from './helpers/pipeline.js';

const silent = pino({ level: 'silent' });
const T0 = sampleAt(0).ts;
const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

/** A daemon-like pipeline (escalation on, optional roster and retired-channel store) on a settable clock. */
function livePipeline(input: ConfigInput, parts: { roster?: Roster; retiredChannels?: FileRetiredChannels } = {}) {
  const config = ConfigSchema.parse(input);
  const clock = createSettableClock(T0);
  const events: AlarmEvent[] = [];
  const pauseEnds: string[] = [];
  const alarms = createAlarmManager({
    config,
    clock,
    sinks: [{ deliver: (event) => events.push(event) }],
    escalate: true,
    ...(parts.roster === undefined ? {} : { roster: parts.roster }),
    onPauseEnded: (ended) => pauseEnds.push(`${ended.pumpId}/${ended.channel}:${ended.reason}`),
  });
  const pipeline = new Pipeline({ config, clock, logger: silent, alarms, retiredChannels: parts.retiredChannels });
  const at = (seconds: number) => {
    clock.set(T0 + seconds * 1000);
    pipeline.tick();
  };
  const feed = (seconds: number, fields: Parameters<typeof sampleAt>[1] = {}) => {
    clock.set(T0 + seconds * 1000);
    pipeline.accept(sampleAt(seconds, fields));
  };
  return { pipeline, clock, events, pauseEnds, at, feed };
}

describe('ward roster', () => {
  it('puts the bed and patient reference on every event of a rostered channel, channel entries before pump-wide ones, and leaves other pumps unplaced', () => {
    const run = createRecordingPipeline({
      roster: [
        { pumpId: 'P1', bed: 'BED-3', patientRef: 'ref-77' },
        { pumpId: 'P1', channel: '2', bed: 'BED-4' },
      ],
    });
    run.feed(sampleAt(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(0, { channel: '2', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(0, { pumpId: 'P9', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    run.feed(sampleAt(10, {}));
    expect(run.events.map((e) => [e.pumpId, e.channel, e.event, e.bed, e.patientRef])).toEqual([
      ['P1', '1', 'raised', 'BED-3', 'ref-77'],
      ['P1', '2', 'raised', 'BED-4', undefined],
      ['P9', '1', 'raised', undefined, undefined],
      ['P1', '1', 'ended', 'BED-3', 'ref-77'],
    ]);
    expect(run.events[2]).not.toHaveProperty('bed');
  });

  it('refuses a configured roster that places the same channel twice, naming the entry', () => {
    const parsed = ConfigSchema.safeParse({ roster: [{ pumpId: 'P1', bed: 'A' }, { pumpId: 'P1', bed: 'B' }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['roster', 1], message: 'P1/* is already placed by entry 0' });
  });

  it("lets a station's roster override the configured one pump by pump, re-sends active alarms whose bed changed, and falls back when cleared", () => {
    const roster = new Roster([
      { pumpId: 'P1', bed: 'BED-1' },
      { pumpId: 'P2', bed: 'BED-2' },
    ]);
    const run = livePipeline({}, { roster });
    run.feed(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    run.feed(0, { pumpId: 'P2', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const audits: unknown[] = [];
    const handler = new RosterHandler({ identity: { gatewayId: 'gw-1', site: 'site', ward: 'ward' }, roster, audit: (entry) => audits.push(entry), logger: silent, clock: run.clock });
    const update = (body: unknown, retained = true) => handler.handle(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), retained);
    const at = new Date(T0).toISOString();

    expect(update({ entries: [{ pumpId: 'P1', bed: 'BED-9', patientRef: 'r-1' }, { pumpId: 'P5', bed: 'BED-5' }], by: 'station-1', at })).toBe('accepted');
    // Only P1's alarm changed place: one updated event, carrying the new bed; P2 keeps the configured bed.
    expect(run.events.slice(2).map((e) => [e.pumpId, e.event, e.bed, e.patientRef])).toEqual([['P1', 'updated', 'BED-9', 'r-1']]);
    expect(roster.placement('P2', '1')).toEqual({ bed: 'BED-2' });

    expect(update('{"entries": [{"pumpId": "P1"}], "by": "s", "at": "x"}')).toBe('malformed');
    expect(update('not json')).toBe('malformed');
    expect(update({ entries: [], by: 's', at, ward: 'other-ward' })).toBe('cross-ward');
    expect(update({ entries: [{ pumpId: 'P1', bed: 'A' }, { pumpId: 'P1', bed: 'B' }], by: 's', at })).toBe('malformed');
    // Nothing refused changed the roster.
    expect(roster.placement('P1', '1')).toEqual({ bed: 'BED-9', patientRef: 'r-1' });
    expect(run.events).toHaveLength(3);

    expect(update('')).toBe('cleared');
    expect(run.events.at(-1)).toMatchObject({ pumpId: 'P1', event: 'updated', bed: 'BED-1' });
    expect(run.events.at(-1)).not.toHaveProperty('patientRef');
    expect(handler.counts()).toEqual({ accepted: 1, cleared: 1, malformed: 3, 'cross-ward': 1 });
    expect(audits).toHaveLength(6);
    expect(audits[1]).toMatchObject({ verdict: 'malformed', detail: expect.stringContaining('entries.0.bed') });
  });
});

describe('channel pause (IEC 60601-1-8 alarm paused)', () => {
  it('marks the channel\'s alarms paused, keeps detecting and sending them, holds escalation, and undoes itself at expiry', () => {
    const run = livePipeline({ detection: { telemetryLostAfterSeconds: 30 }, alarms: { escalation: { afterSeconds: 60 } } });
    run.feed(0, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    expect(run.pipeline.pause('P1', '1', 5, 'station-2')).toEqual({ untilMs: T0 + 5 * 60_000 });
    const paused = run.events.at(-1)!;
    expect(paused).toMatchObject({ condition: 'downstream-occlusion', event: 'updated', state: { paused: true, pausedUntil: new Date(T0 + 5 * 60_000).toISOString() } });
    // A new condition during the pause is still raised (a missed alarm is the worst failure), marked paused.
    run.at(45);
    const lost = run.events.find((e) => e.condition === 'telemetry-lost')!;
    expect(lost).toMatchObject({ event: 'raised', state: { paused: true } });
    // No escalation while paused, though both alarms are unacknowledged past escalation.afterSeconds.
    for (let second = 46; second < 300; second++) run.at(second);
    expect(run.events.filter((e) => e.event === 'escalated')).toEqual([]);
    run.at(300);
    expect(run.pauseEnds).toEqual(['P1/1:expired']);
    const resumed = run.events.filter((e) => e.event === 'updated' && e.state?.paused === undefined);
    expect(resumed.map((e) => e.condition).sort()).toEqual(['downstream-occlusion', 'telemetry-lost']);
    // Escalation counts again from the end of the pause, not from the raise.
    run.at(359);
    expect(run.events.filter((e) => e.event === 'escalated')).toEqual([]);
    run.at(361);
    expect(run.events.filter((e) => e.event === 'escalated').length).toBeGreaterThan(0);
  });

  it('ends a pause early on resume, refuses unknown channels, and caps a pause at 15 minutes', () => {
    const run = livePipeline({});
    expect(run.pipeline.pause('NOPE', '1', 5, 's')).toBeUndefined();
    run.feed(0);
    expect(run.pipeline.resume('P1', '1')).toBe(false);
    expect(run.pipeline.pause('P1', '1', 60, 's')?.untilMs).toBe(T0 + 15 * 60_000);
    expect(run.pipeline.resume('P1', '1')).toBe(true);
    expect(run.pauseEnds).toEqual(['P1/1:resumed']);
    run.feed(1, { pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    expect(run.events.at(-1)?.state).not.toHaveProperty('paused');
  });

  it('validates the station command: default 5 minutes, more than 15 refused with a clear message, exactly one command', () => {
    const base = { by: 'station-2', at: '2026-01-05T10:00:00Z' };
    expect(StationCommandSchema.parse({ pause: { pumpId: 'P1' }, ...base }).pause).toEqual({ pumpId: 'P1', channel: '1', minutes: 5 });
    const tooLong = StationCommandSchema.safeParse({ pause: { pumpId: 'P1', minutes: 20 }, ...base });
    expect(tooLong.error?.issues[0]).toMatchObject({ path: ['pause', 'minutes'], message: expect.stringContaining('at most 15 minutes') });
    expect(StationCommandSchema.safeParse({ pause: { pumpId: 'P1', minutes: 0 }, ...base }).success).toBe(false);
    const two = StationCommandSchema.safeParse({ pause: { pumpId: 'P1' }, retire: { pumpId: 'P1' }, ...base });
    expect(two.error?.issues[0]?.message).toBe('must hold exactly one of retire, pause, resume (found retire, pause)');
    expect(StationCommandSchema.safeParse(base).error?.issues[0]?.message).toContain('found none');
  });

  it('survives a restart through the journaled alarm events, and a pause that ran out meanwhile ends at the first tick', () => {
    const config = ConfigSchema.parse({});
    const clock = createSettableClock(T0);
    const latest = new Map<string, { snapshot: AlarmSnapshot; latest: AlarmEvent }>();
    const before = createAlarmManager({ config, clock, sinks: [{ deliver: (event, snapshot) => (snapshot === undefined ? latest.delete(event.alarmId) : latest.set(event.alarmId, { snapshot, latest: event })) }] });
    before.onFinding({ condition: 'downstream-occlusion', pumpId: 'P1', channel: '1', active: true, atMs: T0, evidence: {} });
    before.pause({ pumpId: 'P1', channel: '1', untilMs: T0 + 300_000, by: 'station-2' });
    const restart = (atMs: number) => {
      const events: AlarmEvent[] = [];
      const ends: string[] = [];
      const after = createAlarmManager({ config, clock: createSettableClock(atMs), sinks: [{ deliver: (event) => events.push(event) }], onPauseEnded: (ended) => ends.push(ended.reason) });
      after.restore([...latest.values()]);
      return { after, events, ends };
    };
    const soon = restart(T0 + 60_000);
    expect(soon.after.pauseOf('P1', '1')?.untilMs).toBe(T0 + 300_000);
    const late = restart(T0 + 600_000);
    late.after.tick(T0 + 600_000);
    expect(late.ends).toEqual(['expired']);
    expect(late.events.map((e) => [e.event, e.state?.paused])).toEqual([['updated', undefined]]);
  });

  it('ends with its channel when the channel is retired', () => {
    const run = livePipeline({});
    run.feed(0);
    run.pipeline.pause('P1', '1', 5, 's');
    run.pipeline.retire('P1', '1', 'station-3');
    expect(run.pauseEnds).toEqual(['P1/1:retired']);
    expect(run.pipeline.alarms.pauseOf('P1', '1')).toBeUndefined();
  });
});

describe('retirement notice and retirement across restarts', () => {
  it('raises one low channel-retired notice per retirement when the site asks for it, never escalated, ended by an acknowledgement', () => {
    const run = livePipeline({ lifecycle: { retireAfterSeconds: 60, noticeOnRetire: true }, alarms: { escalation: { afterSeconds: 60 } } });
    run.feed(0, { state: 'stopped', rateMlPerH: 0 });
    for (let second = 1; second <= 1000; second += 5) run.at(second);
    const notices = run.events.filter((e) => e.condition === 'channel-retired');
    expect(notices.map((e) => [e.event, e.priority, e.kind])).toEqual([['raised', 'low', 'technical']]);
    expect(notices[0]).toMatchObject({ state: { latched: true, conditionPresent: false }, evidence: { lastState: 'stopped' } });
    expect(run.pipeline.alarms.acknowledge(notices[0]!.alarmId, 'nurse', new Date().toISOString())).toBe('accepted');
    expect(run.pipeline.alarms.activeAlarms()).toEqual([]);
  });

  it('retires silently by default', () => {
    const run = livePipeline({ lifecycle: { retireAfterSeconds: 60 } });
    run.feed(0, { state: 'stopped', rateMlPerH: 0 });
    for (let second = 1; second <= 200; second += 5) run.at(second);
    expect(run.events).toEqual([]);
    expect(run.pipeline.channelCount).toBe(0);
  });

  it('keeps a retired serial pump unwatched after a restart until it reports again', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-retired-'));
    directories.push(directory);
    const config = { detection: { telemetryLostAfterSeconds: 30 } };
    const first = livePipeline(config, { retiredChannels: new FileRetiredChannels({ directory, logger: silent }) });
    first.pipeline.watchChannel('P1', '1', 5000);
    first.feed(0);
    expect(first.pipeline.retire('P1', '1', 'station-3')).toBe(true);
    expect(JSON.parse(await readFile(join(directory, RETIRED_CHANNELS_FILE), 'utf8'))).toMatchObject({ v: 1, channels: [{ pumpId: 'P1', channel: '1' }] });

    // The restart: the serial port's configured pump is offered for watching again, and stays silent.
    const second = livePipeline(config, { retiredChannels: new FileRetiredChannels({ directory, logger: silent }) });
    second.pipeline.watchChannel('P1', '1', 5000);
    second.pipeline.watchChannel('P2', '1', 5000);
    second.at(120);
    expect(second.events.map((e) => [e.pumpId, e.condition])).toEqual([['P2', 'telemetry-lost']]);

    // It reports again: watched afresh, and no longer retired for the next restart.
    second.feed(130);
    expect(JSON.parse(await readFile(join(directory, RETIRED_CHANNELS_FILE), 'utf8'))).toMatchObject({ channels: [] });
    second.at(200);
    expect(second.events.filter((e) => e.pumpId === 'P1').map((e) => [e.condition, e.event])).toEqual([['telemetry-lost', 'raised']]);
    const third = livePipeline(config, { retiredChannels: new FileRetiredChannels({ directory, logger: silent }) });
    third.pipeline.watchChannel('P1', '1', 5000);
    third.at(60);
    expect(third.events.map((e) => e.pumpId)).toEqual(['P1']);
  });

  it('treats an unreadable retired-channels file as empty: the pump is watched (it may alarm), never silenced', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-retired-'));
    directories.push(directory);
    await writeFile(join(directory, RETIRED_CHANNELS_FILE), '{"v":1,"channels":[{"pumpId":"P 1"}]}');
    const store = new FileRetiredChannels({ directory, logger: silent });
    expect(store.size).toBe(0);
    const run = livePipeline({ detection: { telemetryLostAfterSeconds: 30 } }, { retiredChannels: store });
    run.pipeline.watchChannel('P1', '1', undefined);
    run.at(60);
    expect(run.events.map((e) => e.condition)).toEqual(['telemetry-lost']);
  });
});
