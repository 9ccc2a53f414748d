import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { formatActiveAlarms, formatAlarmLine } from '../../src/station/format.js';

const event: AlarmEvent = {
  v: 1,
  eventId: 'e1',
  alarmId: 'a1',
  event: 'updated',
  condition: 'downstream-occlusion',
  priority: 'high',
  kind: 'technical',
  pumpId: 'P-01',
  channel: '1',
  site: 's',
  ward: 'nicu',
  gatewayId: 'gw',
  at: '2026-01-05T10:00:00.000Z',
  emittedAt: '2026-01-05T10:00:00.000Z',
  message: 'check the line',
  evidence: {},
  bed: '7',
  patientRef: 'ref-1',
  state: { conditionPresent: true, latched: false, acknowledged: false, escalations: 0, paused: true, pausedUntil: '2026-01-05T10:05:00.000Z' },
};

describe('the reference station shows where an alarm is and whether it is paused', () => {
  it('prints the roster bed and patient reference and the pause with its end', () => {
    expect(formatAlarmLine(event).split('\n')[0]).toContain('nicu/P-01/1 bed 7 (ref-1) (paused until 2026-01-05T10:05:00.000Z)');
    expect(formatActiveAlarms([event], 'online')).toContain('nicu/P-01/1 bed 7 (ref-1) since');
    const unplaced: AlarmEvent = { ...event };
    delete unplaced.bed;
    delete unplaced.patientRef;
    expect(formatAlarmLine({ ...unplaced, state: { conditionPresent: true, latched: false, acknowledged: false, escalations: 0 } }).split('\n')[0]).toMatch(/nicu\/P-01\/1$/);
  });
});
