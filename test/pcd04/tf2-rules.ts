import { expect } from 'vitest';

/** A PCD-04 split into segments and fields, the plain HL7 way (no library of ours). */
export function segmentsOf(message: string): string[][] {
  return message.split('\r').map((line) => line.split('|'));
}

export const FACET_CODES = ['', '68480^MDC_ATTR_ALERT_SOURCE^MDC', '68481^MDC_ATTR_EVENT_PHASE^MDC', '68482^MDC_ATTR_ALARM_STATE^MDC', '68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC', '68484^MDC_ATTR_ALARM_PRIORITY^MDC', '68485^MDC_ATTR_ALERT_TYPE^MDC'];
const PHASES = ['start', 'start_only', 'continue', 'end', 'present', 'update', 'escalate', 'deescalate', 'inactivate', 'acknowledged', 'reset', 'stop', 'tpoint'];
const INACTIVATION = ['enabled', 'audio-paused', 'audio-off', 'alarm-paused', 'alarm-off', 'alert-acknowledged'];

/**
 * The TF-2 rules for one PCD-04, transcribed from the tables (not from our builder): Table
 * 3.4.4.1.2-2 (structure), B.1 (MSH), B.6.1 (PV1), B.7.1 (OBR), B.8 / B.8.5-1 / B.8.5-2 / B.8.6 (OBX).
 */
export function expectValidPcd04(message: string): void {
  const segments = segmentsOf(message);
  const ids = segments.map((fields) => fields[0]);
  expect(ids[0]).toBe('MSH');
  // One alert per message (B.7.1): MSH, optional PID/PV1, one OBR, then its OBX.
  expect(ids.filter((id) => id === 'OBR')).toHaveLength(1);
  expect(ids.join(',')).toMatch(/^MSH(,PID)?(,PV1)?,OBR(,OBX)+$/);
  const msh = segments[0]!;
  expect(msh[1]).toBe('^~\\&');
  expect(msh[8]).toBe('ORU^R40^ORU_R40');
  expect(msh[9]).not.toBe('');
  expect(['P', 'D', 'T']).toContain(msh[10]);
  expect(msh[11]).toBe('2.6');
  expect(msh[12] ?? '').toBe('');
  expect(msh[14]).toBe('AL');
  expect(msh[15]).toBe('NE');
  expect(msh[17]).toBe('UNICODE UTF-8');
  expect(msh[20]?.split('^')[2]).toBe('1.3.6.1.4.1.19376.1.6.1.4.1');
  expect(msh[6]).toMatch(/^\d{14}(\.\d{1,4})?[+-]\d{4}$/);
  const pv1 = segments.find((fields) => fields[0] === 'PV1');
  if (pv1 !== undefined) expect(pv1[3]).not.toBe('');
  const obr = segments.find((fields) => fields[0] === 'OBR')!;
  expect(obr[3]?.split('^')[0]).not.toBe('');
  expect(obr[4]).toBe('196616^MDC_EVT_ALARM^MDC');
  expect(obr[7]).toMatch(/^\d{14}[+-]\d{4}$/);
  const obx = segments.filter((fields) => fields[0] === 'OBX');
  expect(obx.length).toBeGreaterThanOrEqual(7);
  const facets = obx.map((fields) => Number(fields[4]?.split('.')[4]));
  expect(facets.slice(0, 7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  const prefixes = new Set(obx.map((fields) => fields[4]?.split('.').slice(0, 4).join('.')));
  expect(prefixes.size).toBe(1);
  obx.forEach((fields, index) => {
    expect(fields[1]).toBe(String(index + 1));
    expect(fields[11]).toBe('F');
    if (index > 0) expect(fields[3]).toBe(FACET_CODES[index]);
  });
  expect(obx[0]![14]).toMatch(/^\d{14}[+-]\d{4}$/);
  expect(obx[0]![18]).not.toBe('');
  expect(PHASES).toContain(obx[2]![5]);
  expect(['active', 'inactive', 'latched']).toContain(obx[3]![5]);
  for (const value of obx[4]![5]!.split('~')) expect(INACTIVATION).toContain(value);
  expect(['PH', 'PM', 'PL', 'PN']).toContain(obx[5]![5]);
  expect(['SP', 'ST', 'SA']).toContain(obx[6]![5]);
}
