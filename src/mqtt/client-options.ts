import { readFile as readFileFromDisk } from 'node:fs/promises';
import type { IClientOptions, MqttClient } from 'mqtt';
import { readTlsFile, type Secrets, type TlsFileSetting } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { MqttError } from './errors.js';
import { lastWillStatus } from './status.js';
import { createTopics } from './topics.js';

/** mqtt.js's `connect`, injected wherever a client is made so tests can wrap or replace it. */
export type MqttConnect = (brokerUrl: string, options: IClientOptions) => MqttClient;

/**
 * `alarms` publishes alarms and status and carries the Last Will; `telemetry` subscribes to pump
 * data on its own connection so a telemetry flood never queues in front of an alarm.
 */
export type MqttClientRole = 'alarms' | 'telemetry';

export const TELEMETRY_CLIENT_ID_SUFFIX = '-telemetry';
/** Station acks are a few hundred bytes. */
export const MAX_INBOUND_PACKET_BYTES = 16_384;
/** A half-open TCP connect should not hold the reconnect loop for mqtt.js's default 30 s. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface ClientOptionsInput {
  config: Pick<Config, 'gateway' | 'mqtt'>;
  secrets: Secrets;
  role: MqttClientRole;
  /** Relative TLS file paths resolve here when set (systemd `LoadCredential=`), as `passwordFile` does. */
  credentialsDirectory?: string | undefined;
  readFile?: (path: string) => Promise<Buffer>;
}

/** Deterministic, so a restarted daemon takes over its own session instead of leaving a ghost. */
export function clientIdFor(config: Pick<Config, 'gateway' | 'mqtt'>, role: MqttClientRole): string {
  const base = config.mqtt.clientId ?? `pumpwatch-${config.gateway.id}`;
  return role === 'telemetry' ? `${base}${TELEMETRY_CLIENT_ID_SUFFIX}` : base;
}

async function readTls(
  setting: TlsFileSetting,
  path: string,
  credentialsDirectory: string | undefined,
  readFile: (path: string) => Promise<Buffer>,
): Promise<Buffer> {
  const read = await readTlsFile(setting, path, credentialsDirectory, readFile);
  if (!read.ok) throw new MqttError('PW_MQTT_TLS_FILE', read.problem, { cause: read.cause });
  return read.value;
}

/**
 * Builds mqtt.js options from the validated config. Throws `PW_MQTT_TLS_FILE` when a TLS file
 * cannot be read and `PW_MQTT_PREFIX_INVALID` when the topic prefix is unusable.
 */
export async function buildClientOptions(input: ClientOptionsInput): Promise<IClientOptions> {
  const { config, secrets, role } = input;
  const { mqtt } = config;
  const readFile = input.readFile ?? readFileFromDisk;
  const options: IClientOptions = {
    clientId: clientIdFor(config, role),
    protocolVersion: mqtt.protocolVersion,
    clean: true,
    keepalive: mqtt.keepaliveSeconds,
    reconnectPeriod: Math.round(mqtt.reconnectSeconds * 1000),
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A refused CONNACK (broker restarting, expired credentials being fixed) must not end retries for good.
    reconnectOnConnackError: true,
    // We subscribe ourselves on every CONNACK without a session, so mqtt.js must not do it twice.
    resubscribe: false,
    // QoS 0 published while offline would pile up in memory without bound.
    queueQoSZero: false,
  };
  if (role === 'telemetry' && process.env.DEBUG?.includes('mqttjs') !== true) {
    // mqtt.js calls its debug logger several times per packet even when it is off: about 5 % of
    // the daemon's CPU at tens of thousands of telemetry messages a second (CPU profile).
    options.log = () => undefined;
  }
  if (mqtt.username !== undefined) options.username = mqtt.username;
  if (secrets.mqttPassword !== undefined) options.password = secrets.mqttPassword;
  if (role === 'alarms' && mqtt.sessionExpirySeconds > 0) {
    // A kept session holds our ack subscription and queues station acks while we are away.
    options.clean = false;
    if (mqtt.protocolVersion === 5) options.properties = { sessionExpiryInterval: mqtt.sessionExpirySeconds };
  }
  if (role === 'alarms' && mqtt.protocolVersion === 5) {
    // Nothing we subscribe to (station acks) is ever this large; the broker drops bigger ones.
    options.properties = { ...options.properties, maximumPacketSize: MAX_INBOUND_PACKET_BYTES };
  }
  if (role === 'alarms') {
    const topics = createTopics(config);
    options.will = {
      topic: topics.status,
      payload: Buffer.from(JSON.stringify(lastWillStatus(config.gateway))),
      qos: 1,
      retain: true,
    };
  }
  const tls = mqtt.tls;
  if (tls !== undefined) {
    // Only both flags together turn checks off; the schema refuses one without the other.
    options.rejectUnauthorized = tls.rejectUnauthorized || !tls.allowInsecure;
    if (tls.caFile !== undefined) options.ca = await readTls('caFile', tls.caFile, input.credentialsDirectory, readFile);
    if (tls.certFile !== undefined) options.cert = await readTls('certFile', tls.certFile, input.credentialsDirectory, readFile);
    if (tls.keyFile !== undefined) options.key = await readTls('keyFile', tls.keyFile, input.credentialsDirectory, readFile);
    if (tls.serverName !== undefined) options.servername = tls.serverName;
  }
  return options;
}
