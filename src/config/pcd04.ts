import { z } from 'zod';
import { ALARM_CONDITIONS } from '../alarms/event.js';

/** A coded element as HL7 CWE components 1–3: identifier ^ text ^ coding system. */
const CodedSchema = z.strictObject({
  code: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  system: z.string().min(1).max(32).describe('MDC for the IEEE 11073-10101 nomenclature; 99xxx for a code agreed locally (HL7 table 0396)'),
});
export type Coded = z.output<typeof CodedSchema>;

const pointOfCare = z.string().min(1).max(64);

/** HL7 PL components for PV1-3 (TF-2 B.6.1): point of care ^ room ^ bed ^ facility. */
const LocationSchema = z.strictObject({
  pointOfCare,
  room: z.string().min(1).max(64).optional(),
  bed: z.string().min(1).max(64).optional(),
  facility: z.string().min(1).max(64).optional(),
  /** The pump's own EUI-64, when the site knows it, for OBX-18 (TF-2 B.8, Equipment Instance Identifier). */
  pumpEui64: z
    .string()
    .regex(/^[0-9A-F]{16}$/, 'must be 16 upper-case hex digits')
    .optional(),
});
export type Pcd04Location = z.output<typeof LocationSchema>;

const ConditionCodeSchema = z.strictObject({
  event: CodedSchema.describe('OBX-5 of facet 1: the specific alert (TF-2 Table B.8.5-2)'),
});

/**
 * What each condition is sent as. Downstream and recurrent occlusion map to the MDC event the TF
 * itself uses for a pump occlusion (TF-2 E.3.2); no MDC term was found for the others, so they go
 * as local codes (coding system 99PW, HL7 table 0396) until the site and the Alert Manager agree
 * on better ones.
 */
export const DEFAULT_CONDITION_CODES: Record<(typeof ALARM_CONDITIONS)[number], { event: Coded }> = {
  'downstream-occlusion': { event: { code: '196940', name: 'MDC_EVT_FLUID_LINE_OCCL', system: 'MDC' } },
  'recurrent-occlusion': { event: { code: '196940', name: 'MDC_EVT_FLUID_LINE_OCCL', system: 'MDC' } },
  'possible-infiltration': { event: { code: 'PW-POSSIBLE-INFILTRATION', name: 'Possible infiltration', system: '99PW' } },
  'telemetry-lost': { event: { code: 'PW-TELEMETRY-LOST', name: 'Pump telemetry lost', system: '99PW' } },
  'pressure-signal-invalid': { event: { code: 'PW-PRESSURE-SIGNAL-INVALID', name: 'Pressure signal invalid', system: '99PW' } },
  'delivery-failure': { event: { code: 'PW-DELIVERY-FAILURE', name: 'Alarm delivery failure', system: '99PW' } },
  'storage-failure': { event: { code: 'PW-STORAGE-FAILURE', name: 'Alarm journal storage failure', system: '99PW' } },
  overloaded: { event: { code: 'PW-OVERLOADED', name: 'Gateway overloaded', system: '99PW' } },
  'pump-clock-skew': { event: { code: 'PW-PUMP-CLOCK-SKEW', name: 'Pump clock skew', system: '99PW' } },
  'channel-retired': { event: { code: 'PW-CHANNEL-RETIRED', name: 'Pump channel retired', system: '99PW' } },
};

export const Pcd04Schema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('send IHE PCD-04 Report Alert messages to an Alert Manager over MLLP'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(1).max(65_535).default(2575),
    tls: z
      .strictObject({
        caFile: z.string().min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        serverName: z.string().min(1).optional(),
      })
      .optional()
      .describe('MLLP over TLS (the certificate of the Alert Manager is always checked)'),
    sendingApplication: z.string().min(1).max(20).default('PUMPWATCH').describe('MSH-3.1'),
    sendingFacility: z.string().min(1).max(64).optional().describe('MSH-4; default: gateway.site'),
    receivingApplication: z.string().min(1).max(64).optional().describe('MSH-5'),
    receivingFacility: z.string().min(1).max(64).optional().describe('MSH-6'),
    eui64: z
      .string()
      .regex(/^[0-9A-F]{16}$/, 'must be 16 upper-case hex digits')
      .optional()
      .describe('EUI-64 of this gateway for MSH-3 and identifiers (TF-2 B.1 prefers it); default: gateway.id as a local id'),
    processingId: z.enum(['P', 'D', 'T']).default('P').describe('MSH-11: P production, D debugging, T training'),
    utcOffset: z
      .string()
      .regex(/^(local|[+-](0\d|1[0-4])[0-5]\d)$/, 'must be local or +HHMM / -HHMM')
      .default('local')
      .describe('zone offset on every time stamp (TF-2 B.1 requires one on MSH-7)'),
    alertIdentity: z
      .enum(['rev10', 'rev9'])
      .default('rev10')
      .describe('rev10: OBR-3 is the alert id on start, later updates point at it in OBR-29 (CP-151); rev9: OBR-3 per update, OBR-29 always the alert id'),
    locations: z
      .strictObject({
        default: LocationSchema.optional().describe('default: point of care = gateway.ward'),
        pumps: z.record(z.string(), LocationSchema).default({}).describe('by pump id'),
      })
      .prefault({})
      .describe('PV1-3 per pump (TF-2 B.6.1)'),
    conditions: z.partialRecord(z.enum(ALARM_CONDITIONS), ConditionCodeSchema).default({}).describe('override the code sent for a condition'),
    ackTimeoutSeconds: z.number().min(0.5).max(120).default(10).describe('no ACK within this: the connection is dropped and the message sent again'),
    reconnectMinSeconds: z.number().min(0.05).max(60).default(1),
    reconnectMaxSeconds: z.number().min(0.1).max(600).default(30),
    tcpKeepAliveSeconds: z.number().int().min(1).max(3600).default(30),
    maxFrameBytes: z.number().int().min(1024).max(16_777_216).default(1_048_576).describe('largest ACK frame read; more is discarded and counted'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe('refusals (CE, CR, AE, AR) before an event is set aside, with a delivery-failure alarm'),
    keepAlive: z
      .strictObject({
        enabled: z.boolean().default(false).describe('TF-2 Appendix L: a short periodic PCD-04 the Alert Manager must acknowledge'),
        intervalSeconds: z.number().min(1).max(3600).default(30),
      })
      .prefault({}),
  })
  .superRefine((pcd04, context) => {
    if (pcd04.reconnectMaxSeconds < pcd04.reconnectMinSeconds) {
      context.addIssue({ code: 'custom', path: ['reconnectMaxSeconds'], message: 'must not be below reconnectMinSeconds' });
    }
    if ((pcd04.tls?.certFile === undefined) !== (pcd04.tls?.keyFile === undefined)) {
      context.addIssue({ code: 'custom', path: ['tls'], message: 'certFile and keyFile go together (mutual TLS)' });
    }
  });
export type Pcd04Config = z.output<typeof Pcd04Schema>;
