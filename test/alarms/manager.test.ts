import { describe, expect, it } from 'vitest';
import { AlarmEventSchema, type AlarmCondition, type AlarmEvent } from '../../src/alarms/event.js';
import { AlarmManager, type AlarmSnapshot, type RestoredAlarm } from '../../src/alarms/manager.js';
import { PLAIN_ALARM_POLICY, type AlarmPolicy } from '../../src/alarms/policy.js';
import { createSettableClock } from '../../src/clock.js';
import type { Finding } from '../../src/alarms/finding.js';

const T0 = 1_767_600_000_000;

interface Delivered {
  event: AlarmEvent;
  snapshot: AlarmSnapshot | undefined;
}

function setup(policy: Partial<AlarmPolicy> = {}, restored: RestoredAlarm[] = []) {
  const clock = createSettableClock(T0);
  const delivered: Delivered[] = [];
  const manager = new AlarmManager({
    identity: { gatewayId: 'gw-1', site: 'site', ward: 'ward' },
    clock,
    sinks: [{ deliver: (event, snapshot) => delivered.push({ event, snapshot }) }],
    priorities: {},
    policy: { ...PLAIN_ALARM_POLICY, ...policy },
  });
  manager.restore(restored);
  const at = (seconds: number) => {
    clock.set(T0 + seconds * 1000);
    manager.tick(T0 + seconds * 1000);
  };
  const finding = (seconds: number, active: boolean, extra: Partial<Finding> = {}): void => {
    clock.set(T0 + seconds * 1000);
    manager.onFinding({ condition: 'downstream-occlusion', pumpId: 'P1', channel: '1', active, atMs: T0 + seconds * 1000, evidence: { s: seconds }, ...extra });
  };
  return {
    manager,
    clock,
    delivered,
    events: () => delivered.map((d) => d.event),
    types: () => delivered.map((d) => d.event.event),
    at,
    finding,
  };
}

describe('alarm lifecycle', () => {
  it('raises once for repeated findings and ends when the condition clears', () => {
    const run = setup();
    run.finding(0, true);
    run.finding(5, true);
    run.finding(10, false);
    expect(run.types()).toEqual(['raised', 'ended']);
    expect(run.events()[1]?.alarmId).toBe(run.events()[0]?.alarmId);
  });

  it('numbers the events of an alarm and says its state in each', () => {
    const run = setup();
    run.finding(0, true);
    run.finding(10, false);
    expect(run.events().map((e) => [e.seq, e.state?.conditionPresent])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(run.events()[1]?.raisedAt).toBe(new Date(T0).toISOString());
    for (const event of run.events()) expect(AlarmEventSchema.safeParse(event).success).toBe(true);
  });

  it('escalates an unacknowledged alarm one priority step per interval, up to the configured steps', () => {
    const run = setup({ escalateAfterMs: 60_000, maxEscalations: 2 });
    run.finding(0, true, { condition: 'pressure-signal-invalid' });
    run.at(59);
    expect(run.types()).toEqual(['raised']);
    run.at(60);
    run.at(120);
    run.at(600);
    expect(run.events().map((e) => [e.event, e.priority, e.state?.escalations])).toEqual([
      ['raised', 'low', 0],
      ['escalated', 'medium', 1],
      ['escalated', 'medium', 2],
    ]);
  });

  it('re-notifies an unacknowledged advisory but never lifts it above medium', () => {
    const run = setup({ escalateAfterMs: 60_000, maxEscalations: 5 });
    run.finding(0, true, { condition: 'possible-infiltration' });
    for (let minute = 1; minute <= 6; minute++) run.at(minute * 60);
    expect(run.events().map((e) => e.priority)).toEqual(['low', 'medium', 'medium', 'medium', 'medium', 'medium']);
  });

  it('stops escalating once a station acknowledges, and answers the ack with an acknowledged event', () => {
    const run = setup({ escalateAfterMs: 60_000, maxEscalations: 5 });
    run.finding(0, true);
    const { alarmId } = run.events()[0]!;
    run.at(30);
    expect(run.manager.acknowledge(alarmId, 'station-3', '2026-01-05T08:00:30Z')).toBe('accepted');
    run.at(600);
    expect(run.types()).toEqual(['raised', 'acknowledged']);
    expect(run.events()[1]).toMatchObject({ evidence: { acknowledgedBy: 'station-3', ackAt: '2026-01-05T08:00:30Z' }, state: { acknowledged: true } });
  });

  it('calls a second ack of the same alarm replayed and an ack of an unknown alarm unknown', () => {
    const run = setup();
    run.finding(0, true);
    const { alarmId } = run.events()[0]!;
    expect(run.manager.acknowledge(alarmId, 's', '2026-01-05T08:00:00Z')).toBe('accepted');
    expect(run.manager.acknowledge(alarmId, 's', '2026-01-05T08:00:00Z')).toBe('replayed');
    expect(run.manager.acknowledge('no-such-alarm', 's', '2026-01-05T08:00:00Z')).toBe('unknown');
    expect(run.types()).toEqual(['raised', 'acknowledged']);
  });

  it('ends an acknowledged alarm when its condition clears', () => {
    const run = setup();
    run.finding(0, true);
    run.manager.acknowledge(run.events()[0]!.alarmId, 's', '2026-01-05T08:00:00Z');
    run.finding(20, false);
    expect(run.types()).toEqual(['raised', 'acknowledged', 'ended']);
  });

  it('keeps a latching alarm after its condition clears, as latched, until a station acknowledges', () => {
    const run = setup({ latching: new Set<AlarmCondition>(['downstream-occlusion']) });
    run.finding(0, true);
    run.finding(10, false);
    expect(run.events().at(-1)).toMatchObject({ event: 'updated', state: { conditionPresent: false, latched: true } });
    expect(run.manager.activeAlarms()).toHaveLength(1);
    run.manager.acknowledge(run.events()[0]!.alarmId, 's', '2026-01-05T08:00:00Z');
    expect(run.types()).toEqual(['raised', 'updated', 'acknowledged', 'ended']);
    expect(run.manager.activeAlarms()).toEqual([]);
  });

  it('tells stations when the condition of a latched alarm comes back', () => {
    const run = setup({ latching: new Set<AlarmCondition>(['downstream-occlusion']) });
    run.finding(0, true);
    run.finding(10, false);
    run.finding(20, true);
    expect(run.events().map((e) => [e.event, e.state?.conditionPresent, e.state?.latched])).toEqual([
      ['raised', true, false],
      ['updated', false, true],
      ['updated', true, false],
    ]);
  });

  it('does not latch conditions the site did not choose', () => {
    const run = setup({ latching: new Set<AlarmCondition>(['possible-infiltration']) });
    run.finding(0, true);
    run.finding(10, false);
    expect(run.types()).toEqual(['raised', 'ended']);
  });

  it('holds a flapping condition to one activation per hold-off window', () => {
    const run = setup({ holdOffMs: 300_000 });
    for (let second = 0; second < 280; second += 20) {
      run.finding(second, true);
      run.finding(second + 10, false);
      run.at(second + 15);
    }
    expect(run.types()).toEqual(['raised']);
    run.at(300);
    expect(run.types()).toEqual(['raised', 'ended']);
    expect(new Set(run.events().map((e) => e.alarmId)).size).toBe(1);
  });

  it('dates the deferred end at the moment the condition cleared', () => {
    const run = setup({ holdOffMs: 300_000 });
    run.finding(0, true);
    run.finding(42, false);
    run.at(300);
    expect(run.events()[1]).toMatchObject({ event: 'ended', at: new Date(T0 + 42_000).toISOString(), emittedAt: new Date(T0 + 300_000).toISOString() });
  });

  it('ends an alarm at once when its condition clears after the hold-off window', () => {
    const run = setup({ holdOffMs: 60_000 });
    run.finding(0, true);
    run.finding(90, false);
    run.finding(91, true);
    expect(run.types()).toEqual(['raised', 'ended', 'raised']);
  });

  it('escalates when a finding raises the priority of an active alarm, and updates when it lowers it', () => {
    const run = setup();
    run.finding(0, true, { priority: 'medium' });
    run.finding(5, true, { priority: 'high' });
    run.finding(9, true, { priority: 'low' });
    expect(run.events().map((e) => [e.event, e.priority])).toEqual([
      ['raised', 'medium'],
      ['escalated', 'high'],
      ['updated', 'low'],
    ]);
  });

  it('gives every event a distinct id and the same ids for the same input and clock', () => {
    const ids = () => {
      const run = setup({ escalateAfterMs: 10_000, maxEscalations: 3 });
      run.finding(0, true);
      run.at(10);
      run.at(20);
      run.finding(25, false);
      return run.events().map((e) => e.eventId);
    };
    const first = ids();
    expect(new Set(first).size).toBe(first.length);
    expect(ids()).toEqual(first);
  });

  it('hands each event to the sinks with the alarm state needed to restore it, none once ended', () => {
    const run = setup();
    run.finding(0, true);
    run.finding(10, false);
    expect(run.delivered[0]?.snapshot).toMatchObject({ alarmId: run.events()[0]!.alarmId, seq: 1, present: true, acknowledged: false });
    expect(run.delivered[1]?.snapshot).toBeUndefined();
  });
});

describe('technical alarms about the gateway', () => {
  it('raise a one-shot report latched, update it on repeats, and end it on acknowledgement', () => {
    const run = setup();
    const report = (count: number) =>
      run.manager.reportTechnical({ condition: 'delivery-failure', part: 'quarantine', active: true, oneShot: true, evidence: { quarantined: count } });
    report(1);
    report(2);
    expect(run.events().map((e) => [e.event, e.pumpId, e.channel, e.state?.latched, e.evidence.quarantined])).toEqual([
      ['raised', 'gw-1', 'quarantine', true, 1],
      ['updated', 'gw-1', 'quarantine', true, 2],
    ]);
    run.manager.acknowledge(run.events()[0]!.alarmId, 's', '2026-01-05T08:00:00Z');
    expect(run.types()).toEqual(['raised', 'updated', 'acknowledged', 'ended']);
  });

  it('raise a state report while it holds and end it when it clears', () => {
    const run = setup();
    run.manager.reportTechnical({ condition: 'storage-failure', part: 'journal', active: true, evidence: { problem: 'full' } });
    run.manager.reportTechnical({ condition: 'storage-failure', part: 'journal', active: false, evidence: { problem: null } });
    expect(run.events().map((e) => [e.event, e.condition, e.kind])).toEqual([
      ['raised', 'storage-failure', 'technical'],
      ['ended', 'storage-failure', 'technical'],
    ]);
  });
});

describe('alarms restored after a restart', () => {
  function restoredFrom(policy: Partial<AlarmPolicy> = {}) {
    const before = setup(policy);
    before.finding(0, true);
    const last = before.delivered.at(-1)!;
    return { alarmId: last.event.alarmId, restored: [{ snapshot: last.snapshot!, latest: last.event }] };
  }

  it('keep their alarmId when the detector reports the condition again', () => {
    const { alarmId, restored } = restoredFrom();
    const after = setup({ restoreGraceMs: 120_000 }, restored);
    after.finding(30, true);
    after.finding(40, false);
    expect(after.events().map((e) => [e.event, e.alarmId, e.seq])).toEqual([['ended', alarmId, 2]]);
  });

  it('are shown as active before any finding arrives', () => {
    const { alarmId, restored } = restoredFrom();
    const after = setup({}, restored);
    expect(after.manager.activeAlarms().map((e) => e.alarmId)).toEqual([alarmId]);
  });

  it('end when no detector confirms them within the grace period', () => {
    const { alarmId, restored } = restoredFrom();
    const after = setup({ restoreGraceMs: 120_000 }, restored);
    after.at(119);
    expect(after.types()).toEqual([]);
    after.at(120);
    expect(after.events().map((e) => [e.event, e.alarmId, e.evidence.reason])).toEqual([['ended', alarmId, 'not-reconfirmed-after-restart']]);
  });

  it('can be acknowledged with the id stations already know', () => {
    const { alarmId, restored } = restoredFrom();
    const after = setup({}, restored);
    expect(after.manager.acknowledge(alarmId, 's', '2026-01-05T08:00:00Z')).toBe('accepted');
  });
});
