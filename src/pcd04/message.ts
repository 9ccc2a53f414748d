import { scopeOf, type AlarmEvent, type AlarmKind, type AlarmPriority } from '../alarms/event.js';
import { DEFAULT_CONDITION_CODES, type Coded, type Pcd04Config, type Pcd04Location } from '../config/pcd04.js';
import { components, escapeText, formatDtm, segment, SEGMENT_SEPARATOR, subComponents } from './hl7.js';

/** MSH-21 for PCD-04: the profile OID assigned in TF-2 Table B.1-2 (the E.3 examples' `…1.6.4.4.1` contradicts it; the table rules). */
export const PCD04_PROFILE = components('IHE_PCD_ACM_001', 'IHE PCD', '1.3.6.1.4.1.19376.1.6.1.4.1', 'ISO');
/** OBR-4 of every PCD-04 (TF-2 B.7.1); `ALARM^ALARM` is deprecated. */
const MDC_EVT_ALARM: Coded = { code: '196616', name: 'MDC_EVT_ALARM', system: 'MDC' };
/** Keep-alive event (TF-2 Appendix L has no code of its own; the HL7 UTG device-alert list gives 196614). */
const MDC_EVT_ACTIVE: Coded = { code: '196614', name: 'MDC_EVT_ACTIVE', system: 'MDC' };
/** Facet 2 for a pump channel: the infusion-pump VMD (TF-2 A.9 / E.3.2 codes). */
const MDC_DEV_PUMP_INFUS_VMD: Coded = { code: '69986', name: 'MDC_DEV_PUMP_INFUS_VMD', system: 'MDC' };
/** Facet 2 for an alarm about the gateway itself (no pump involved): a local code. */
const GATEWAY_SOURCE: Coded = { code: 'PW-GATEWAY', name: 'pumpwatch gateway', system: '99PW' };

/** Facets 2–7 with the official IEEE 11073-10101a codes (TF-2 Table B.8.5-1; the pre-official 681xx codes are legacy). */
const FACET = {
  source: { code: '68480', name: 'MDC_ATTR_ALERT_SOURCE', system: 'MDC' },
  phase: { code: '68481', name: 'MDC_ATTR_EVENT_PHASE', system: 'MDC' },
  state: { code: '68482', name: 'MDC_ATTR_ALARM_STATE', system: 'MDC' },
  inactivation: { code: '68483', name: 'MDC_ATTR_ALARM_INACTIVATION_STATE', system: 'MDC' },
  priority: { code: '68484', name: 'MDC_ATTR_ALARM_PRIORITY', system: 'MDC' },
  type: { code: '68485', name: 'MDC_ATTR_ALERT_TYPE', system: 'MDC' },
} as const satisfies Record<string, Coded>;

/** An alarm about the gateway, not a pump channel: reported at MDS level (OBX-4 `1.0.0.0.n`) with the gateway as equipment. */
function aboutGateway(event: AlarmEvent): boolean {
  return scopeOf(event) === 'gateway';
}

/** Facet 6 values (TF-2 Table B.8.5-2; IEC 60601-1-8 high/medium/low per Table B.8.5-3). */
const PRIORITY: Record<AlarmPriority, string> = { high: 'PH', medium: 'PM', low: 'PL' };
/** Facet 7 values (TF-2 Table B.8.5-2 / B.8.5-3: physiological SP, technical ST, information SA). */
const ALERT_TYPE: Record<AlarmKind, string> = { physiological: 'SP', technical: 'ST', advisory: 'SA' };

export type EventPhase = 'start' | 'update' | 'escalate' | 'acknowledged' | 'end' | 'present';
export type AlertState = 'active' | 'inactive' | 'latched';

/** Facets 3–5 for one alarm event: see docs/pcd04.md for why each mapping was chosen. */
export interface AlertFacets {
  phase: EventPhase;
  state: AlertState;
  inactivation: string;
}

/**
 * pumpwatch lifecycle → TF-2 Table B.8.5-4 phases and the B.8.5 alert and inactivation states.
 * raised → start/active; ended → end/inactive (as the TF's own E.3.2 occlusion pair); escalated →
 * escalate (priority changed at the source); updated → update (a change other than a transition);
 * acknowledged → acknowledged, with `alert-acknowledged` in facet 5, held until the alarm ends.
 * A latched alarm whose condition has cleared is `latched`.
 */
export function alertFacets(event: AlarmEvent): AlertFacets {
  const acknowledged = event.event === 'acknowledged' || event.state?.acknowledged === true;
  // A station's pause silences visual and aural signals alike: `alarm-paused` (B.8.5), repeated with `~` beside an acknowledgement.
  const paused = event.state?.paused === true;
  const inactivation = [...(paused ? ['alarm-paused'] : []), ...(acknowledged ? ['alert-acknowledged'] : [])].join('~') || 'enabled';
  if (event.event === 'ended') return { phase: 'end', state: 'inactive', inactivation };
  const state: AlertState = event.state !== undefined && event.state.latched && !event.state.conditionPresent ? 'latched' : 'active';
  const phase: Record<Exclude<AlarmEvent['event'], 'ended'>, EventPhase> = { raised: 'start', updated: 'update', escalated: 'escalate', acknowledged: 'acknowledged' };
  return { phase: phase[event.event], state, inactivation };
}

export interface ReportAlertSettings {
  pcd04: Pcd04Config;
  gateway: { id: string; site: string; ward: string };
}

function coded(value: Coded, originalText?: string): string {
  // CWE-9 original text carries the human words, as TF-2 E.3.2 does ("Occlusion").
  return components(value.code, value.name, value.system, undefined, undefined, undefined, undefined, undefined, originalText);
}

/** MSH-3 (HD): application ^ EUI-64 ^ `EUI-64`, as TF-2 B.1 prefers; without one, the gateway id as a local id. */
function sendingApplication(settings: ReportAlertSettings): string {
  const { pcd04, gateway } = settings;
  return pcd04.eui64 === undefined ? components(pcd04.sendingApplication, gateway.id, 'L') : components(pcd04.sendingApplication, pcd04.eui64, 'EUI-64');
}

/** EI naming an identifier of ours: id ^ our application ^ our EUI-64 (or gateway id) ^ its type. */
function ourIdentifier(id: string, settings: ReportAlertSettings, join: (...values: (string | undefined)[]) => string): string {
  const { pcd04, gateway } = settings;
  return pcd04.eui64 === undefined ? join(id, pcd04.sendingApplication, gateway.id, 'L') : join(id, pcd04.sendingApplication, pcd04.eui64, 'EUI-64');
}

/** Where the alert is: the pump's configured bed, or the ward's default; the gateway's own alarms never take a pump's bed. */
function locationOf(event: AlarmEvent, settings: ReportAlertSettings): Pcd04Location {
  const { locations } = settings.pcd04;
  const pump = aboutGateway(event) ? undefined : locations.pumps[event.pumpId];
  return pump ?? locations.default ?? { pointOfCare: settings.gateway.ward };
}

/** OBX-4 prefix `<MDS>.<VMD>.<CHAN>.<METRIC>` (TF-2 B.8): a numeric pump channel becomes CHAN; the gateway is the MDS itself. */
function observationPrefix(event: AlarmEvent): string {
  if (aboutGateway(event)) return '1.0.0.0';
  const channel = /^\d{1,5}$/.test(event.channel) ? Number(event.channel) : 0;
  return `1.1.${channel}.0`;
}

function header(settings: ReportAlertSettings, controlId: string, atMs: number): string {
  const { pcd04, gateway } = settings;
  return segment([
    'MSH',
    '^~\\&',
    sendingApplication(settings),
    components(pcd04.sendingFacility ?? gateway.site),
    components(pcd04.receivingApplication),
    components(pcd04.receivingFacility),
    formatDtm(atMs, pcd04.utcOffset), // MSH-7, zone offset required (B.1)
    '',
    'ORU^R40^ORU_R40', // MSH-9, all three components required (B.1)
    escapeText(controlId), // MSH-10, echoed in MSA-2
    pcd04.processingId, // MSH-11
    '2.6', // MSH-12
    '', // MSH-13: sequence numbers not used (B.1)
    '',
    'AL', // MSH-15 accept acknowledgement always (B.1)
    'NE', // MSH-16 never: no PCD-05 expected (B.1; Rev 10 CP-150)
    '',
    'UNICODE UTF-8', // MSH-18: pump and ward names may be non-ASCII (B.1)
    '',
    '',
    PCD04_PROFILE, // MSH-21 (B.1)
  ]);
}

/**
 * PV1-3 Assigned Patient Location (PL) is the alert location (TF-2 B.6.1); PV1-2 `N` (not
 * applicable) since no visit is known. The ward roster's bed, when the event carries one, is
 * PL.3 (bed) and wins over a configured one.
 */
function visit(event: AlarmEvent, settings: ReportAlertSettings): string {
  const location = locationOf(event, settings);
  return segment(['PV1', '', 'N', components(location.pointOfCare, location.room, event.bed ?? location.bed, location.facility)]);
}

/**
 * PID-3 Patient Identifier List (CX, TF-2 B.5.1), only when the ward roster gives a patient
 * reference: CX.1 the reference as the site chose it, CX.4 the assigning authority (the sending
 * facility, or the site). Without one no PID is sent and the alert stays location based (use case A1).
 */
function patient(event: AlarmEvent, settings: ReportAlertSettings): string[] {
  if (event.patientRef === undefined) return [];
  return [segment(['PID', '', '', components(event.patientRef, undefined, undefined, settings.pcd04.sendingFacility ?? settings.gateway.site)])];
}

/**
 * OBR-3 and OBR-29 (TF-2 B.7.1). rev10 (CP-151, TF-2 Rev 10 Table B.7-2): on `start` OBR-3 is the
 * alert instance id and OBR-29 is empty; every later message gets its own OBR-3 (the event id)
 * and carries the start's OBR-3 in OBR-29.2 as sub-components. rev9: OBR-3 per update, OBR-29.2
 * the alert instance id on every message, start included (TF-2 Rev 9 E.3.2).
 */
function alertIdentity(event: AlarmEvent, settings: ReportAlertSettings): { obr3: string; obr29: string } {
  const parent = `^${ourIdentifier(event.alarmId, settings, subComponents)}`;
  if (settings.pcd04.alertIdentity === 'rev9') return { obr3: ourIdentifier(event.eventId, settings, components), obr29: parent };
  if (event.event === 'raised') return { obr3: ourIdentifier(event.alarmId, settings, components), obr29: '' };
  return { obr3: ourIdentifier(event.eventId, settings, components), obr29: parent };
}

function request(obr3: string, obr29: string, atMs: number, settings: ReportAlertSettings): string {
  const fields = ['OBR', '1', '', obr3, coded(MDC_EVT_ALARM), '', '', formatDtm(atMs, settings.pcd04.utcOffset)];
  while (fields.length < 29) fields.push('');
  fields.push(obr29);
  return segment(fields);
}

/** OBX-18 (TF-2 B.8): the pump's EUI-64 when known, else the pump id as named by this gateway. */
function equipment(event: AlarmEvent, settings: ReportAlertSettings): string {
  if (aboutGateway(event)) return ourIdentifier(settings.gateway.id, settings, components);
  const eui64 = settings.pcd04.locations.pumps[event.pumpId]?.pumpEui64;
  return eui64 === undefined ? ourIdentifier(event.pumpId, settings, components) : components(eui64, undefined, eui64, 'EUI-64');
}

interface FacetValues {
  prefix: string;
  event: Coded;
  text: string;
  source: Coded;
  facets: AlertFacets;
  priority: string;
  type: string;
  onsetMs: number;
  equipment: string;
}

/** The seven facet OBX segments, all required (TF-2 Table B.8.5-2), in ascending facet order; OBX-11 always `F` (B.8.6). */
function observations(values: FacetValues, settings: ReportAlertSettings): string[] {
  const obx = (index: number, type: string, code: Coded, value: string, extra: { onset?: string; equipment?: string } = {}) => {
    const fields = ['OBX', String(index), type, coded(code), `${values.prefix}.${index}`, value, '', '', '', '', '', 'F'];
    if (extra.onset !== undefined || extra.equipment !== undefined) {
      fields.push('', '', extra.onset ?? '', '', '', '', extra.equipment ?? '');
    }
    return segment(fields);
  };
  return [
    // Facet 1: OBX-3 MDC_EVT_ALARM for technical and advisory alerts, the specific alert in OBX-5; OBX-14 the alert time (B.8.5).
    obx(1, 'CWE', values.type === 'SP' ? values.event : MDC_EVT_ALARM, coded(values.event, values.text), {
      onset: formatDtm(values.onsetMs, settings.pcd04.utcOffset),
      equipment: values.equipment,
    }),
    obx(2, 'CWE', FACET.source, coded(values.source)),
    obx(3, 'ST', FACET.phase, values.facets.phase),
    obx(4, 'ST', FACET.state, values.facets.state),
    obx(5, 'ST', FACET.inactivation, values.facets.inactivation),
    obx(6, 'ST', FACET.priority, values.priority),
    obx(7, 'ST', FACET.type, values.type),
  ];
}

/**
 * One IHE PCD-04 Report Alert (`ORU^R40^ORU_R40`, TF-2 3.4.4.1.2, static definition in Table
 * 3.4.4.1.2-2) for one pumpwatch alarm event: MSH, PID only when the ward roster names a patient
 * reference (otherwise the alert is location-based, TF-2 use case A1), PV1, one OBR, seven facet OBX. The MSH-10 is the
 * event id and MSH-7 its `emittedAt`, so a message re-sent after a lost ACK is byte-identical and
 * the Alert Manager can drop the duplicate by its control id.
 */
export function buildReportAlert(event: AlarmEvent, settings: ReportAlertSettings): string {
  const code = settings.pcd04.conditions[event.condition]?.event ?? DEFAULT_CONDITION_CODES[event.condition].event;
  const emittedMs = Date.parse(event.emittedAt);
  const { obr3, obr29 } = alertIdentity(event, settings);
  return [
    header(settings, event.eventId, emittedMs),
    ...patient(event, settings),
    visit(event, settings),
    request(obr3, obr29, emittedMs, settings),
    ...observations(
      {
        prefix: observationPrefix(event),
        event: code,
        text: event.message,
        source: aboutGateway(event) ? GATEWAY_SOURCE : MDC_DEV_PUMP_INFUS_VMD,
        facets: alertFacets(event),
        priority: PRIORITY[event.priority],
        type: ALERT_TYPE[event.kind],
        onsetMs: Date.parse(event.at),
        equipment: equipment(event, settings),
      },
      settings,
    ),
  ].join(SEGMENT_SEPARATOR);
}

/**
 * The TF-2 Appendix L keep-alive: a short PCD-04 the Alert Manager can process minimally and
 * acknowledge. TF-2 defines no code for it; this sends MDC_EVT_ACTIVE as a `present`, no-priority
 * (`PN`) technical alert from the gateway, which the site's Alert Manager must be told to treat as
 * a watchdog and not dispatch.
 */
export function buildKeepAlive(controlId: string, atMs: number, settings: ReportAlertSettings): string {
  return [
    header(settings, controlId, atMs),
    request(ourIdentifier(controlId, settings, components), '', atMs, settings),
    ...observations(
      {
        prefix: '1.0.0.0',
        event: MDC_EVT_ACTIVE,
        text: 'pumpwatch keep-alive',
        source: GATEWAY_SOURCE,
        facets: { phase: 'present', state: 'active', inactivation: 'enabled' },
        priority: 'PN',
        type: 'ST',
        onsetMs: atMs,
        equipment: ourIdentifier(settings.gateway.id, settings, components),
      },
      settings,
    ),
  ].join(SEGMENT_SEPARATOR);
}
