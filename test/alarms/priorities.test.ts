import { describe, expect, it } from 'vitest';
import { ALARM_CONDITIONS, type AlarmCondition, type AlarmEvent, type AlarmPriority } from '../../src/alarms/event.js';
import { AlarmManager } from '../../src/alarms/manager.js';
import { PLAIN_ALARM_POLICY } from '../../src/alarms/policy.js';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';

/** The rule as docs/alarm-priorities.md documents it: default priority, kind and ceiling. */
const DOCUMENTED: Record<AlarmCondition, { kind: string; priority: AlarmPriority; ceiling: AlarmPriority; escalates?: false }> = {
  'downstream-occlusion': { kind: 'technical', priority: 'high', ceiling: 'high' },
  'possible-infiltration': { kind: 'advisory', priority: 'low', ceiling: 'medium' },
  'recurrent-occlusion': { kind: 'technical', priority: 'medium', ceiling: 'high' },
  'telemetry-lost': { kind: 'technical', priority: 'medium', ceiling: 'high' },
  'pressure-signal-invalid': { kind: 'technical', priority: 'low', ceiling: 'medium' },
  'delivery-failure': { kind: 'technical', priority: 'high', ceiling: 'high' },
  'storage-failure': { kind: 'technical', priority: 'medium', ceiling: 'high' },
  overloaded: { kind: 'technical', priority: 'medium', ceiling: 'high' },
  'pump-clock-skew': { kind: 'technical', priority: 'low', ceiling: 'low' },
  // A notice: said once, never re-notified.
  'channel-retired': { kind: 'technical', priority: 'low', ceiling: 'low', escalates: false },
};
const RANK: Record<AlarmPriority, number> = { low: 0, medium: 1, high: 2 };
const T0 = 1_767_600_000_000;

function run(condition: AlarmCondition, findingPriority?: AlarmPriority): AlarmEvent[] {
  const clock = createSettableClock(T0);
  const events: AlarmEvent[] = [];
  const manager = new AlarmManager({
    identity: { gatewayId: 'gw-1', site: 'site', ward: 'ward' },
    clock,
    sinks: [{ deliver: (event) => events.push(event) }],
    priorities: {},
    policy: { ...PLAIN_ALARM_POLICY, escalateAfterMs: 60_000, maxEscalations: 10 },
  });
  manager.onFinding({ condition, pumpId: 'P1', channel: '1', active: true, atMs: T0, evidence: {}, ...(findingPriority === undefined ? {} : { priority: findingPriority }) });
  for (let minute = 1; minute <= 12; minute++) {
    clock.set(T0 + minute * 60_000);
    manager.tick(T0 + minute * 60_000);
  }
  return events;
}

describe('alarm priorities as documented (docs/alarm-priorities.md)', () => {
  it('covers every condition', () => {
    expect(Object.keys(DOCUMENTED).sort()).toEqual([...ALARM_CONDITIONS].sort());
  });

  for (const condition of ALARM_CONDITIONS) {
    const rule = DOCUMENTED[condition];
    it(`${condition}: raised ${rule.priority} (${rule.kind}), never above ${rule.ceiling} however long it goes unacknowledged`, () => {
      const events = run(condition);
      expect(events[0]).toMatchObject({ event: 'raised', priority: rule.priority, kind: rule.kind });
      if (rule.escalates === false) {
        expect(events).toHaveLength(1);
        return;
      }
      expect(events.length).toBeGreaterThan(1);
      for (const event of events) expect(RANK[event.priority]).toBeLessThanOrEqual(RANK[rule.ceiling]);
      expect(events.at(-1)?.priority).toBe(rule.ceiling);
    });

    it(`${condition}: a finding asking for high is held to ${rule.ceiling}`, () => {
      expect(run(condition, 'high')[0]?.priority).toBe(rule.ceiling);
    });

    it(`${condition}: a configured priority above ${rule.ceiling} is refused`, () => {
      const parsed = ConfigSchema.safeParse({ alarms: { priorities: { [condition]: 'high' } } });
      expect(parsed.success).toBe(rule.ceiling === 'high');
      if (!parsed.success) expect(parsed.error.issues[0]?.message).toContain(`never above ${rule.ceiling}`);
    });
  }
});
