import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALARM_CONDITIONS, ALARM_EVENT_TYPES, type AlarmCondition, type AlarmEvent } from '../../src/alarms/event.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { escapeText, formatDtm, parseAck, unescapeText } from '../../src/pcd04/hl7.js';
import { alertFacets, buildKeepAlive, buildReportAlert, type ReportAlertSettings } from '../../src/pcd04/message.js';
import { expectValidPcd04, segmentsOf } from './tf2-rules.js';

const GOLDEN = join(import.meta.dirname, 'golden');

function settingsWith(pcd04: Record<string, unknown> = {}): ReportAlertSettings {
  const config = ConfigSchema.parse({
    gateway: { id: 'gw-nicu-4', site: 'st-mary', ward: 'nicu-4' },
    pcd04: {
      enabled: true,
      eui64: '0012340000000001',
      sendingFacility: 'WARD4-NICU',
      receivingApplication: 'AM_VENDOR',
      utcOffset: '+0100',
      locations: { default: { pointOfCare: 'NICU', facility: 'HOSPITAL' }, pumps: { P6013: { pointOfCare: 'NICU', room: 'RM4', bed: 'BED12', facility: 'HOSPITAL', pumpEui64: '0012210000000000' } } },
      ...pcd04,
    },
  });
  return { pcd04: config.pcd04, gateway: config.gateway };
}

const KIND: Record<AlarmCondition, AlarmEvent['kind']> = {
  'downstream-occlusion': 'technical',
  'recurrent-occlusion': 'technical',
  'possible-infiltration': 'advisory',
  'telemetry-lost': 'technical',
  'pressure-signal-invalid': 'technical',
  'delivery-failure': 'technical',
  'storage-failure': 'technical',
  overloaded: 'technical',
  'pump-clock-skew': 'technical',
  'channel-retired': 'technical',
};

function alarmEvent(condition: AlarmCondition, type: AlarmEvent['event'], overrides: Partial<AlarmEvent> = {}): AlarmEvent {
  const seq = ALARM_EVENT_TYPES.indexOf(type) + 1;
  return {
    v: 1,
    eventId: `ev-${condition}-${type}`,
    alarmId: `al-${condition}`,
    event: type,
    condition,
    priority: type === 'escalated' ? 'high' : 'medium',
    kind: KIND[condition],
    pumpId: 'P6013',
    channel: '2',
    site: 'st-mary',
    ward: 'nicu-4',
    gatewayId: 'gw-nicu-4',
    at: '2026-12-03T08:14:58.120Z',
    emittedAt: '2026-12-03T08:15:02.480Z',
    message: 'Possible downstream occlusion: check the line | clamps ^ kinks & the IV site ~ now \\ please',
    evidence: { downstreamPressureMmHg: 212 },
    seq,
    state: { conditionPresent: type !== 'ended', latched: false, acknowledged: type === 'acknowledged', escalations: type === 'escalated' ? 1 : 0 },
    ...overrides,
  };
}

describe('PCD-04 Report Alert message', () => {
  it.each(ALARM_CONDITIONS.flatMap((condition) => ALARM_EVENT_TYPES.map((type) => [condition, type] as const)))('%s %s matches its golden file and the TF-2 rules', (condition, type) => {
    const message = buildReportAlert(alarmEvent(condition, type), settingsWith());
    expectValidPcd04(message);
    const path = join(GOLDEN, `${condition}-${type}.hl7`);
    const readable = `${message.replaceAll('\r', '\n')}\n`;
    // Written only on request: a missing golden file must fail, not be made from the code under test.
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(path, readable);
    }
    expect(readable).toBe(readFileSync(path, 'utf8'));
  });

  it('sends the occlusion as the TF-2 E.3.2 pump occlusion, with the alert time in OBX-14 and the pump in OBX-18', () => {
    const obx = segmentsOf(buildReportAlert(alarmEvent('downstream-occlusion', 'raised'), settingsWith())).filter((fields) => fields[0] === 'OBX');
    expect(obx[0]![3]).toBe('196616^MDC_EVT_ALARM^MDC');
    expect(obx[0]![5]?.split('^').slice(0, 3)).toEqual(['196940', 'MDC_EVT_FLUID_LINE_OCCL', 'MDC']);
    expect(obx[0]![14]).toBe('20261203091458+0100');
    expect(obx[0]![18]).toBe('0012210000000000^^0012210000000000^EUI-64');
    expect(obx.map((fields) => fields[4])).toEqual(['1.1.2.0.1', '1.1.2.0.2', '1.1.2.0.3', '1.1.2.0.4', '1.1.2.0.5', '1.1.2.0.6', '1.1.2.0.7']);
    expect(obx.slice(2).map((fields) => fields[5])).toEqual(['start', 'active', 'enabled', 'PM', 'ST']);
  });

  it('escapes | ^ ~ \\ & in free text so the structure survives, and the text reads back unchanged', () => {
    const event = alarmEvent('possible-infiltration', 'raised');
    const obx1 = segmentsOf(buildReportAlert(event, settingsWith()))[3]!;
    expect(obx1).toHaveLength(19);
    expect(unescapeText(obx1[5]!.split('^')[8]!)).toBe(event.message);
    expect(escapeText('a|b^c~d\\e&f\rg')).toBe('a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0D\\g');
  });

  it('uses one alert identity convention: Rev 10 CP-151 by default, Rev 9 when configured', () => {
    const obr = (type: AlarmEvent['event'], identity: 'rev9' | 'rev10') =>
      segmentsOf(buildReportAlert(alarmEvent('downstream-occlusion', type), settingsWith({ alertIdentity: identity }))).find((fields) => fields[0] === 'OBR')!;
    expect([obr('raised', 'rev10')[3], obr('raised', 'rev10')[29]]).toEqual(['al-downstream-occlusion^PUMPWATCH^0012340000000001^EUI-64', undefined]);
    expect([obr('ended', 'rev10')[3], obr('ended', 'rev10')[29]]).toEqual(['ev-downstream-occlusion-ended^PUMPWATCH^0012340000000001^EUI-64', '^al-downstream-occlusion&PUMPWATCH&0012340000000001&EUI-64']);
    expect([obr('raised', 'rev9')[3], obr('raised', 'rev9')[29]]).toEqual(['ev-downstream-occlusion-raised^PUMPWATCH^0012340000000001^EUI-64', '^al-downstream-occlusion&PUMPWATCH&0012340000000001&EUI-64']);
  });

  it('maps the lifecycle to phase, state and inactivation as docs/pcd04.md explains', () => {
    const facets = ALARM_EVENT_TYPES.map((type) => alertFacets(alarmEvent('downstream-occlusion', type)));
    expect(facets).toEqual([
      { phase: 'start', state: 'active', inactivation: 'enabled' },
      { phase: 'update', state: 'active', inactivation: 'enabled' },
      { phase: 'escalate', state: 'active', inactivation: 'enabled' },
      { phase: 'acknowledged', state: 'active', inactivation: 'alert-acknowledged' },
      { phase: 'end', state: 'inactive', inactivation: 'enabled' },
    ]);
    const latched = alarmEvent('downstream-occlusion', 'updated', { state: { conditionPresent: false, latched: true, acknowledged: false, escalations: 0 } });
    expect(alertFacets(latched).state).toBe('latched');
  });

  it('places a rostered alarm: the bed in PV1-3.3 over the configured one, the patient reference in PID-3 before PV1', () => {
    const segments = segmentsOf(buildReportAlert(alarmEvent('downstream-occlusion', 'raised', { bed: 'B|7', patientRef: 'MRN-0042' }), settingsWith()));
    expect(segments.map((fields) => fields[0]).slice(0, 3)).toEqual(['MSH', 'PID', 'PV1']);
    expect(segments[1]![3]).toBe('MRN-0042^^^WARD4-NICU');
    expect(segments[2]![3]).toBe('NICU^RM4^B\\F\\7^HOSPITAL');
    expectValidPcd04(buildReportAlert(alarmEvent('downstream-occlusion', 'raised', { bed: 'B7', patientRef: 'MRN-0042' }), settingsWith()));
    const bedOnly = segmentsOf(buildReportAlert(alarmEvent('telemetry-lost', 'raised', { bed: '7', pumpId: 'UNLISTED' }), settingsWith()));
    expect(bedOnly.map((fields) => fields[0])).not.toContain('PID');
    expect(bedOnly[1]![3]).toBe('NICU^^7^HOSPITAL');
  });

  it('reports a paused alarm as alarm-paused in facet 5, beside alert-acknowledged when both hold', () => {
    const state = { conditionPresent: true, latched: false, acknowledged: false, escalations: 0, paused: true as const, pausedUntil: '2026-12-03T08:20:00.000Z' };
    expect(alertFacets(alarmEvent('downstream-occlusion', 'updated', { state })).inactivation).toBe('alarm-paused');
    const both = buildReportAlert(alarmEvent('downstream-occlusion', 'acknowledged', { state: { ...state, acknowledged: true } }), settingsWith());
    expectValidPcd04(both);
    expect(segmentsOf(both).filter((fields) => fields[0] === 'OBX')[4]![5]).toBe('alarm-paused~alert-acknowledged');
  });

  it('takes a site\'s own code for a condition', () => {
    const settings = settingsWith({ conditions: { 'possible-infiltration': { event: { code: '12345', name: 'LOCAL_INFILTRATION', system: '99HOSP' } } } });
    const obx1 = segmentsOf(buildReportAlert(alarmEvent('possible-infiltration', 'raised'), settings))[3]!;
    expect(obx1[5]?.split('^').slice(0, 3)).toEqual(['12345', 'LOCAL_INFILTRATION', '99HOSP']);
  });

  it('stamps every time with the configured zone offset, including a negative one', () => {
    expect(formatDtm(Date.parse('2026-01-09T23:54:17Z'), '-0600')).toBe('20260109175417-0600');
    expect(formatDtm(Date.parse('2026-01-09T23:54:17Z'), '+0000')).toBe('20260109235417+0000');
  });

  it('builds a keep-alive that is itself a valid PCD-04', () => {
    expectValidPcd04(buildKeepAlive('KA-1', Date.parse('2026-12-03T08:00:00Z'), settingsWith()));
  });

  it('reads MSA-1, MSA-2 and the reason from an ACK', () => {
    expect(parseAck('MSH|^~\\&|AM||PW||20261203||ACK^R40^ACK|1|P|2.6\rMSA|CE|ev-1|busy \\T\\ full')).toEqual({ code: 'CE', controlId: 'ev-1', text: 'busy & full' });
    expect(parseAck('not hl7')).toBeUndefined();
  });
});
