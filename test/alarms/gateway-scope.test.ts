import { describe, expect, it } from 'vitest';
import { AlarmEventSchema, scopeOf, type AlarmEvent } from '../../src/alarms/event.js';
import { AlarmManager, type AlarmSnapshot } from '../../src/alarms/manager.js';
import { PLAIN_ALARM_POLICY } from '../../src/alarms/policy.js';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createTopics } from '../../src/mqtt/topics.js';
import { buildReportAlert } from '../../src/pcd04/message.js';
import { alarmTopicOf } from '../../src/sinks/mqtt-alarms.js';
import { TelemetrySampleSchema } from '../../src/telemetry/sample.js';

const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const GATEWAY = 'gw-1';

/** A ward where one pump is named exactly like the gateway, and has channels named like gateway parts. */
function ward() {
  const clock = createSettableClock(T0);
  const events: AlarmEvent[] = [];
  const manager = new AlarmManager({
    identity: { gatewayId: GATEWAY, site: 'site', ward: 'ward' },
    clock,
    sinks: [{ deliver: (event) => events.push(event) }],
    priorities: {},
    policy: PLAIN_ALARM_POLICY,
  });
  const pumpFinding = (channel: string, active: boolean) =>
    manager.onFinding({ condition: 'downstream-occlusion', pumpId: GATEWAY, channel, active, atMs: clock.now(), evidence: { channel } });
  return { clock, events, manager, pumpFinding };
}

describe('alarms scoped to the gateway', () => {
  it('keeps a pump named like the gateway apart from the gateway\'s own alarms on a part of the same name', () => {
    const { events, manager, pumpFinding } = ward();
    manager.reportTechnical({ condition: 'storage-failure', part: 'journal', active: true, evidence: { problem: 'full' } });
    manager.reportTechnical({ condition: 'delivery-failure', part: 'link', active: true, evidence: { waitingSeconds: 40 } });
    pumpFinding('journal', true);
    pumpFinding('link', true);

    expect(manager.activeAlarms()).toHaveLength(4);
    expect(new Set(events.map((event) => event.alarmId)).size).toBe(4);
    const gateway = events.filter((event) => event.scope === 'gateway');
    const pump = events.filter((event) => event.scope === undefined);
    expect(gateway.map((event) => [event.condition, event.channel])).toEqual([
      ['storage-failure', 'journal'],
      ['delivery-failure', 'link'],
    ]);
    expect(pump.map((event) => [event.pumpId, event.channel, event.condition])).toEqual([
      [GATEWAY, 'journal', 'downstream-occlusion'],
      [GATEWAY, 'link', 'downstream-occlusion'],
    ]);
    for (const event of events) expect(AlarmEventSchema.safeParse(event).success).toBe(true);
  });

  it('ends only the pump\'s alarms when that pump\'s channel is retired, never the gateway\'s', () => {
    const { events, manager, pumpFinding } = ward();
    manager.reportTechnical({ condition: 'storage-failure', part: 'journal', active: true, evidence: { problem: 'full' } });
    pumpFinding('journal', true);

    expect(manager.endChannel(GATEWAY, 'journal', T0, { reason: 'channel-retired' })).toBe(1);

    const ended = events.filter((event) => event.event === 'ended');
    expect(ended.map((event) => event.condition)).toEqual(['downstream-occlusion']);
    expect(manager.activeAlarms().map((event) => [event.scope, event.condition])).toEqual([['gateway', 'storage-failure']]);
  });

  it('clears a pump\'s condition without touching the gateway alarm with the same channel name', () => {
    const { events, manager, pumpFinding, clock } = ward();
    manager.reportTechnical({ condition: 'delivery-failure', part: 'link', active: true, evidence: {} });
    pumpFinding('link', true);
    clock.set(T0 + 600_000);
    pumpFinding('link', false);
    manager.reportTechnical({ condition: 'delivery-failure', part: 'link', active: true, evidence: { again: true } });

    expect(events.filter((event) => event.event === 'ended').map((event) => event.condition)).toEqual(['downstream-occlusion']);
    expect(events.filter((event) => event.condition === 'delivery-failure').map((event) => event.event)).toEqual(['raised']);
  });

  it('publishes the gateway\'s alarms under alarms/@gateway/, a level no pump id can take', () => {
    const { events, manager, pumpFinding } = ward();
    manager.reportTechnical({ condition: 'delivery-failure', part: 'link', active: true, evidence: {} });
    pumpFinding('link', true);
    const topics = createTopics(ConfigSchema.parse({ gateway: { id: GATEWAY, site: 'site', ward: 'ward' } }));

    expect(events.map((event) => alarmTopicOf(topics, event))).toEqual([
      'pumpwatch/v1/site/ward/gw-1/alarms/@gateway/link/delivery-failure',
      'pumpwatch/v1/site/ward/gw-1/alarms/gw-1/link/downstream-occlusion',
    ]);
    const sample = { pumpId: '@gateway', ts: '2026-03-01T09:00:00Z', state: 'infusing', rateMlPerH: 1, volumeInfusedMl: 0 };
    expect(TelemetrySampleSchema.safeParse(sample).success).toBe(false);
  });

  it('reports the gateway\'s alarms to PCD-04 at gateway level and at the ward, never at the bed of the pump named like it', () => {
    const { events, manager, pumpFinding } = ward();
    manager.reportTechnical({ condition: 'delivery-failure', part: 'link', active: true, evidence: {} });
    pumpFinding('link', true);
    const config = ConfigSchema.parse({
      gateway: { id: GATEWAY, site: 'site', ward: 'ward' },
      pcd04: { enabled: true, locations: { default: { pointOfCare: 'NICU' }, pumps: { [GATEWAY]: { pointOfCare: 'NICU', room: 'RM4', bed: 'BED12' } } } },
    });
    const [gatewayMessage, pumpMessage] = events.map((event) => buildReportAlert(event, { pcd04: config.pcd04, gateway: config.gateway }).split('\r'));

    expect(gatewayMessage!.find((segment) => segment.startsWith('PV1'))).toBe('PV1||N|NICU');
    expect(gatewayMessage!.find((segment) => segment.startsWith('OBX|1|'))?.split('|')[4]).toBe('1.0.0.0.1');
    expect(pumpMessage!.find((segment) => segment.startsWith('PV1'))).toBe('PV1||N|NICU^RM4^BED12');
    expect(pumpMessage!.find((segment) => segment.startsWith('OBX|1|'))?.split('|')[4]).toBe('1.1.0.0.1');
  });

  it('reads a journaled gateway alarm from before scopes as the gateway\'s, and goes on updating it', () => {
    const clock = createSettableClock(T0);
    const events: AlarmEvent[] = [];
    const legacy: AlarmSnapshot = {
      alarmId: 'legacy-storage',
      condition: 'storage-failure',
      pumpId: GATEWAY,
      channel: 'journal',
      seq: 1,
      activatedAtMs: T0 - 60_000,
      present: true,
      latched: false,
      acknowledged: false,
      escalations: 0,
      notifiedAtMs: T0 - 60_000,
      endAtMs: null,
      latchable: false,
    };
    const latest: AlarmEvent = {
      v: 1, eventId: 'legacy-1', alarmId: 'legacy-storage', event: 'raised', condition: 'storage-failure', priority: 'medium', kind: 'technical',
      pumpId: GATEWAY, channel: 'journal', site: 'site', ward: 'ward', gatewayId: GATEWAY, at: '2026-03-01T08:59:00.000Z',
      emittedAt: '2026-03-01T08:59:00.000Z', message: 'journal', evidence: {}, seq: 1,
    };
    expect(scopeOf(latest)).toBe('gateway');
    const manager = new AlarmManager({ identity: { gatewayId: GATEWAY, site: 'site', ward: 'ward' }, clock, sinks: [{ deliver: (event) => events.push(event) }], priorities: {}, policy: PLAIN_ALARM_POLICY });
    manager.restore([{ snapshot: legacy, latest }]);

    manager.onFinding({ condition: 'downstream-occlusion', pumpId: GATEWAY, channel: 'journal', active: true, atMs: T0, evidence: {} });
    expect(manager.endChannel(GATEWAY, 'journal', T0, {})).toBe(1);
    manager.reportTechnical({ condition: 'storage-failure', part: 'journal', active: false, evidence: { problem: null } });

    const storage = events.filter((event) => event.condition === 'storage-failure');
    expect(storage.map((event) => [event.alarmId, event.event, event.scope])).toEqual([['legacy-storage', 'ended', 'gateway']]);
  });
});
