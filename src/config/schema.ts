import { z } from 'zod';
import { CONDITION_DEFAULTS } from '../alarms/conditions.js';
import { ALARM_CONDITIONS, ALARM_PRIORITIES, type AlarmCondition } from '../alarms/event.js';
import { rosterEntries } from '../alarms/roster.js';
import { isLoopbackHost } from '../view/auth.js';
import { Pcd04Schema } from './pcd04.js';
import { DetectorSettingsSchema } from '../detect/settings.js';
import { ALARIS_DEFAULT_STARTUP, ALARIS_STARTUP_STEPS } from '../protocols/mapping.js';
import { SERIAL_DEFAULTS, type ProtocolId } from '../protocols/protocol.js';
import { CHANNEL_PATTERN, PUMP_ID_PATTERN } from '../telemetry/sample.js';
import { topicPrefixProblem } from '../validation/mqtt-topic.js';

const topicSafeName = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 . _ : -');
const mqttUrl = z
  .string()
  .refine((value) => /^mqtts?:\/\/[^/\s]+/.test(value), 'must be a mqtt:// or mqtts:// URL')
  .refine((value) => !/^mqtts?:\/\/[^/@]*:[^/@]*@/.test(value), 'must not carry a password; use mqtt.username and mqtt.passwordFile');
const seconds = (min: number, max: number) => z.number().min(min).max(max);

/** A topic filter may use wildcards, but never an empty level or NUL. */
const topicFilter = z
  .string()
  .min(1)
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL')
  .refine(
    (value) => value.split('/').every((level, index, levels) => !level.includes('#') || (level === '#' && index === levels.length - 1)),
    '# may only stand alone as the last level',
  )
  .refine((value) => value.split('/').every((level) => !level.includes('+') || level === '+'), '+ must fill a whole level');

export const TlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional().describe('CA bundle the broker certificate must chain to; default: the system CAs'),
    certFile: z.string().min(1).optional().describe('client certificate for mutual TLS; needs keyFile'),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe('client key; refused when group or others can read it, unless it is a systemd credential'),
    serverName: z.string().min(1).optional().describe('name the broker certificate must carry, when the URL host differs'),
    rejectUnauthorized: z.boolean().default(true).describe('false turns broker certificate checks off; refused unless allowInsecure is true'),
    allowInsecure: z.boolean().default(false).describe('explicit consent to rejectUnauthorized: false; logged as an error at every start'),
  })
  .superRefine((tls, context) => {
    if (!tls.rejectUnauthorized && !tls.allowInsecure) {
      context.addIssue({
        code: 'custom',
        path: ['rejectUnauthorized'],
        message: 'false turns off broker certificate checks (anyone on the network could pose as the broker); refused unless mqtt.tls.allowInsecure is true',
      });
    }
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      context.addIssue({ code: 'custom', path: [tls.certFile === undefined ? 'certFile' : 'keyFile'], message: 'certFile and keyFile go together (mutual TLS)' });
    }
  });

export const MqttSchema = z.strictObject({
  url: mqttUrl.default('mqtt://127.0.0.1:1883'),
  protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5).describe('5 = MQTT 5, 4 = MQTT 3.1.1'),
  clientId: z.string().min(1).max(64).optional().describe('default: pumpwatch-<gatewayId>'),
  username: z.string().min(1).optional(),
  passwordFile: z
    .string()
    .min(1)
    .optional()
    .describe('file holding the password; relative paths resolve against $CREDENTIALS_DIRECTORY when set'),
  keepaliveSeconds: seconds(5, 600).default(15),
  reconnectSeconds: seconds(0.1, 300).default(1),
  sessionExpirySeconds: z
    .number()
    .int()
    .min(0)
    .max(604_800)
    .default(3600)
    .describe('the alarm connection keeps its broker session this long, so station acks sent while the gateway is away wait for it; 0 = clean session'),
  topicPrefix: z
    .string()
    .min(1, { abort: true })
    .superRefine((value, context) => {
      const problem = topicPrefixProblem(value);
      if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe('default: pumpwatch/v1/<site>/<ward>/<gatewayId>'),
  tls: TlsSchema.optional().describe('needs an mqtts:// URL'),
});

export const MqttSourceSchema = z.strictObject({
  topics: z.array(topicFilter).min(1).default(['pumps/+/telemetry']),
  qos: z.union([z.literal(0), z.literal(1)]).default(0),
  maxSamplesPerMessage: z.number().int().min(1).max(10_000).default(100),
});

const serialLine = (protocol: ProtocolId) => {
  const defaults = SERIAL_DEFAULTS[protocol];
  return {
    baudRate: z.number().int().positive().default(defaults.baudRate),
    dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(defaults.dataBits),
    parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default(defaults.parity),
    stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(defaults.stopBits),
  };
};
const serialPortCommon = {
  path: z.string().min(1).describe('prefer /dev/serial/by-id/... so the name survives re-plugging'),
  reopenInitialSeconds: seconds(0.05, 60).default(1),
  reopenMaxSeconds: seconds(0.1, 3600).default(30),
};
const frameCap = (defaultBytes: number) => z.number().int().min(64).max(1_048_576).default(defaultBytes);
const pumpType = z.enum(['syringe', 'volumetric']);
const pollIntervalSeconds = seconds(0.2, 60).default(1).describe('how often the pump is asked for its status');
const linkDeadline = seconds(1, 3600);
const LINK_DEADLINE_DESCRIPTION = "silence on this port after which its pumps raise telemetry-lost (also pumps that never answered)";

function pollFitsDeadline(port: { pollIntervalSeconds: number; linkDeadlineSeconds: number }, context: z.RefinementCtx): void {
  if (port.linkDeadlineSeconds < 2 * port.pollIntervalSeconds) {
    context.addIssue({ code: 'custom', path: ['linkDeadlineSeconds'], message: 'must be at least twice pollIntervalSeconds, or one late reply raises telemetry-lost' });
  }
}

export const JsonLinesPortSchema = z.strictObject({
  protocol: z.literal('json-lines').default('json-lines'),
  ...serialPortCommon,
  ...serialLine('json-lines'),
  pumpId: z.string().regex(PUMP_ID_PATTERN).optional().describe('overrides pumpId in every frame from this port'),
  channel: z.string().regex(CHANNEL_PATTERN).optional(),
  maxFrameBytes: frameCap(4096),
  linkDeadlineSeconds: linkDeadline.optional().describe(`${LINK_DEADLINE_DESCRIPTION}; default detection.telemetryLostAfterSeconds`),
});

export const AlarisPortSchema = z
  .strictObject({
    protocol: z.literal('alaris').describe('Alaris Asena family (GH, CC, PK): 38400 8N1, polled with the INF status query'),
    ...serialPortCommon,
    ...serialLine('alaris'),
    pumpId: z.string().regex(PUMP_ID_PATTERN).describe('the pump on this port (its frames carry no id)'),
    channel: z.string().regex(CHANNEL_PATTERN).default('1'),
    pumpType: pumpType.default('syringe'),
    pollIntervalSeconds,
    linkDeadlineSeconds: linkDeadline.default(5).describe(LINK_DEADLINE_DESCRIPTION),
    maxFrameBytes: frameCap(512),
    startup: z
      .array(z.enum(ALARIS_STARTUP_STEPS))
      .max(ALARIS_STARTUP_STEPS.length)
      .refine((steps) => new Set(steps).size === steps.length, 'each step may appear once')
      .refine((steps) => !steps.includes('REMOTE_CTRL') || steps.indexOf('INST_SERIALNO') > -1 && steps.indexOf('INST_SERIALNO') < steps.indexOf('REMOTE_CTRL'), 'REMOTE_CTRL needs INST_SERIALNO before it (its security code is the CRC of the serial number)')
      .default([...ALARIS_DEFAULT_STARTUP])
      .describe('queries sent once when the port opens, before INF polling; REMOTE_CTRL opens the remote-control session (docs/protocols.md)'),
  })
  .superRefine(pollFitsDeadline);

export const FreseniusModuleSchema = z.strictObject({
  module: z.number().int().min(1).max(9).describe('slot of the module in the rack (the frame origin digit)'),
  pumpId: z.string().regex(PUMP_ID_PATTERN),
  channel: z.string().regex(CHANNEL_PATTERN).default('1'),
  pumpType: pumpType.optional(),
});

export const FreseniusPortSchema = z
  .strictObject({
    protocol: z.literal('fresenius').describe('Fresenius Base A family: 19200 7E1, STX/ETX frames, ENQ/DC4 keep-alive'),
    ...serialPortCommon,
    ...serialLine('fresenius'),
    modules: z
      .array(FreseniusModuleSchema)
      .min(1)
      .max(9)
      .refine((modules) => new Set(modules.map((entry) => entry.module)).size === modules.length, 'each module number may appear once')
      .describe('which pump channel sits in which module of the rack'),
    pollIntervalSeconds,
    linkDeadlineSeconds: linkDeadline.default(5).describe(LINK_DEADLINE_DESCRIPTION),
    maxFrameBytes: frameCap(256),
  })
  .superRefine(pollFitsDeadline);

/** One serial port; `protocol` picks the framing and the line settings' defaults. */
export const SerialPortSchema = z.discriminatedUnion('protocol', [JsonLinesPortSchema, AlarisPortSchema, FreseniusPortSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? 'must be json-lines (the default), alaris or fresenius' : undefined),
});

const priorityByCondition = z.partialRecord(z.enum(ALARM_CONDITIONS), z.enum(ALARM_PRIORITIES));

export const ConfigSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    gateway: z
      .strictObject({
        id: topicSafeName.default('gw-1'),
        site: topicSafeName.default('site'),
        ward: topicSafeName.default('ward'),
      })
      .prefault({}),
    mqtt: MqttSchema.prefault({}),
    sources: z
      .strictObject({
        mqtt: MqttSourceSchema.optional(),
        serial: z.array(SerialPortSchema).default([]),
      })
      .prefault({}),
    detection: z
      .strictObject({
        occlusionAlarmCodes: z
          .array(z.string().min(1))
          .min(1)
          .default(['OCCLUSION_DOWNSTREAM', 'DOWNSTREAM_OCCLUSION'])
          .describe("the pump's own alarm codes that mean a downstream occlusion"),
        telemetryLostAfterSeconds: seconds(1, 3600).default(60),
        ...DetectorSettingsSchema.shape,
      })
      .prefault({}),
    time: z
      .strictObject({
        maxSkewSeconds: seconds(5, 86_400)
          .default(120)
          .describe("a sample dated further than this from the gateway clock (live) or the channel's own timeline (replay) is refused as time-future or time-past, unless several in a row agree on the new time"),
        resyncSamples: z
          .number()
          .int()
          .min(2)
          .max(10)
          .default(3)
          .describe('this many consecutive samples that agree on a new pump time resynchronise the channel to it (a clock jump, not an outlier); a pump off by more than maxSkewSeconds then raises pump-clock-skew and is judged on arrival time'),
      })
      .prefault({})
      .describe('trust in pump clocks: checks upstream of the detector'),
    lifecycle: z
      .strictObject({
        retireAfterSeconds: seconds(1, 86_400)
          .default(300)
          .describe('a channel whose last sample said stopped or paused and that stays silent this long is retired with no alarm; one that was infusing raises telemetry-lost as before'),
        noticeOnRetire: z
          .boolean()
          .default(false)
          .describe('site policy: raise one low-priority channel-retired notice (latched until acknowledged, never escalated) when a channel is retired for silence after it stopped; off: retire silently'),
      })
      .prefault({})
      .describe('pump channels that come and go'),
    roster: rosterEntries
      .default([])
      .describe('ward roster: which bed (and, if the site wants, which opaque patient reference) each pump or pump channel serves; alarm events carry them. A station can override it pump by pump on <prefix>/roster'),
    alarms: z
      .strictObject({
        priorities: priorityByCondition.default({}).describe('override the default priority per condition (never above the condition\'s ceiling: advisories at most medium)'),
        latching: z
          .array(z.enum(ALARM_CONDITIONS))
          .default([])
          .describe('conditions whose alarms stay active after the condition ends, until a station acknowledges (a site decision)'),
        holdOffSeconds: seconds(0, 86_400)
          .default(0)
          .describe('at most one activation per channel and condition per window: an alarm whose condition clears sooner stays active until the window ends'),
        escalation: z
          .strictObject({
            afterSeconds: seconds(0, 86_400).default(300).describe('unacknowledged this long: priority up and re-notified; 0 = never'),
            maxSteps: z.number().int().min(0).max(10).default(2),
          })
          .prefault({}),
        restoreGraceSeconds: seconds(5, 86_400)
          .default(120)
          .describe('after a restart, a journaled alarm no detector confirms within this is treated as cleared; keep it above detection.telemetryLostAfterSeconds'),
      })
      .prefault({}),
    journal: z
      .strictObject({
        directory: z.string().min(1).default('/var/lib/pumpwatch').describe("alarm journal; systemd's StateDirectory=pumpwatch"),
        maxBytes: z
          .number()
          .int()
          .min(4096)
          .max(1_073_741_824)
          .default(8_388_608)
          .describe('compacted at half this; when live alarms alone exceed it, alarms go out non-durable with a storage-failure alarm'),
        auditMaxBytes: z
          .number()
          .int()
          .min(4096)
          .max(1_073_741_824)
          .default(16_777_216)
          .describe('audit trail (audit.jsonl beside the journal: every alarm event, command and retired channel, for `pumpwatch history`); rotated once past this'),
      })
      .prefault({}),
    delivery: z
      .strictObject({
        maxInFlight: z.number().int().min(1).max(100).default(10).describe("alarm events awaiting PUBACK at once (also capped by the broker's Receive Maximum)"),
        maxAttempts: z.number().int().min(1).max(20).default(3).describe('a message refused or dropping the connection this often is quarantined, with a delivery-failure alarm'),
        maxPayloadBytes: z.number().int().min(1024).max(268_435_455).default(65_536),
        eventExpirySeconds: z
          .number()
          .int()
          .min(0)
          .max(604_800)
          .default(3600)
          .describe('MQTT 5 message expiry on the event stream (never on retained state); 0 = none'),
        stalledAfterSeconds: seconds(1, 3600).default(30).describe('an alarm undelivered this long raises delivery-failure'),
      })
      .prefault({}),
    pcd04: Pcd04Schema.prefault({}).describe('IHE PCD-04 alert reports over MLLP to the hospital Alert Manager; off by default'),
    overload: z
      .strictObject({
        shedding: z
          .enum(['auto', 'off'])
          .default('auto')
          .describe('auto: while overloaded, shed samples the gateway cannot keep up with (oldest first per channel); off: never shed, the backlog stays in the broker'),
        enterCpuShare: z
          .number()
          .min(0.5)
          .max(1)
          .default(0.9)
          .describe('share of one CPU core the gateway\'s own thread spent working (CPU time, not wall-clock event-loop utilisation) at or above which, held for enterAfterSeconds, it raises overloaded'),
        enterAfterSeconds: seconds(0.5, 600).default(2),
        exitCpuShare: z
          .number()
          .min(0.1)
          .max(1)
          .default(0.7)
          .describe('demand (own CPU share plus the cost of what was shed) at or below which, held for exitAfterSeconds, overloaded ends'),
        exitAfterSeconds: seconds(1, 3600).default(10),
        maxDelaySeconds: seconds(0.05, 60)
          .default(0.5)
          .describe('while overloaded with shedding auto, a sample that waited longer than this is shed if a newer sample of its channel waits too'),
        maxPendingSamples: z
          .number()
          .int()
          .min(100)
          .max(1_000_000)
          .default(20_000)
          .describe('samples waiting while overloaded; past it the oldest is shed'),
      })
      .refine((overload) => overload.exitCpuShare < overload.enterCpuShare, {
        path: ['exitCpuShare'],
        message: 'must be below enterCpuShare, or the gateway would flap in and out of overload',
      })
      .prefault({})
      .describe('overload protection: telemetry is shed (oldest first, per channel) only when the gateway cannot keep up, alarms never'),
    ops: z
      .strictObject({
        http: z
          .strictObject({
            enabled: z.boolean().default(true),
            host: z.string().min(1).default('127.0.0.1').describe('no authentication: keep it on loopback or a management network'),
            port: z.number().int().min(0).max(65_535).default(9464),
            web: z
              .strictObject({
                enabled: z.boolean().default(true).describe('the live ward page at / on the same server'),
                tokenFile: z
                  .string()
                  .min(1)
                  .optional()
                  .describe('file holding the access token the page needs when host is not loopback; relative paths resolve against $CREDENTIALS_DIRECTORY when set'),
                allowAck: z.boolean().default(false).describe('let the page acknowledge alarms (same path as station acks; `by` is recorded)'),
                historyMinutes: z.number().int().min(5).max(24 * 60).default(120).describe('chart history kept per channel'),
                pointSeconds: seconds(1, 600).default(4).describe('one chart point per channel per this many seconds (mean pressure)'),
              })
              .prefault({})
              .describe('live ward page: read-only unless allowAck; beyond loopback it needs tokenFile'),
          })
          .superRefine((http, context) => {
            if (http.enabled && http.web.enabled && http.web.tokenFile === undefined && !isLoopbackHost(http.host)) {
              context.addIssue({
                code: 'custom',
                path: ['web', 'tokenFile'],
                message: `the ward page is bound beyond loopback (host ${http.host}) and needs an access token: set ops.http.web.tokenFile, or web.enabled: false`,
              });
            }
          })
          .prefault({})
          .describe('GET /metrics (Prometheus), /healthz, /readyz and the ward page'),
        watchdog: z
          .strictObject({
            maxEventLoopLagSeconds: seconds(0.05, 60).default(2).describe('a longer stall withholds the systemd watchdog ping'),
            maxTickAgeSeconds: seconds(2, 600).default(10).describe('the detector must have ticked within this'),
          })
          .prefault({}),
      })
      .prefault({}),
    logging: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        rejectLogIntervalSeconds: seconds(0, 3600).default(10),
      })
      .prefault({}),
  })
  .superRefine((config, context) => {
    for (const [condition, priority] of Object.entries(config.alarms.priorities)) {
      const ceiling = CONDITION_DEFAULTS[condition as AlarmCondition].maxPriority;
      if (ALARM_PRIORITIES.indexOf(priority) < ALARM_PRIORITIES.indexOf(ceiling)) {
        context.addIssue({
          code: 'custom',
          path: ['alarms', 'priorities', condition],
          message: `${condition} is never above ${ceiling} priority (${CONDITION_DEFAULTS[condition as AlarmCondition].kind}); the setting would be ignored`,
        });
      }
    }
    if (config.mqtt.tls !== undefined && !config.mqtt.url.startsWith('mqtts://')) {
      context.addIssue({
        code: 'custom',
        path: ['mqtt', 'tls'],
        message: 'TLS settings need an mqtts:// URL; with mqtt:// they would be ignored and the link left in plain text',
      });
    }
  })
  .meta({ title: 'pumpwatch configuration v1' });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type SerialPortConfig = Config['sources']['serial'][number];
export type MqttSourceConfig = NonNullable<Config['sources']['mqtt']>;
