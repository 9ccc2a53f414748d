import type { Config } from '../config/schema.js';
import { MqttError } from './errors.js';

/**
 * A pump id is the longest thing that ends up in a segment (64 chars); anything much longer is a
 * bug, not a name.
 */
export const MAX_TOPIC_SEGMENT_BYTES = 128;
/**
 * MQTT allows 65535-byte topics; ours stay under 1 KiB (prefix + `alarms` + three segments), far
 * from any broker limit.
 */
export const MAX_TOPIC_PREFIX_BYTES = 512;

const WILDCARD_OR_SEPARATOR = /[+#/]/;
/** C0 and C1 controls (includes NUL): MQTT forbids NUL and says controls SHOULD NOT appear. */
const CONTROL_CHARACTER = /\p{Cc}/u;
/** In a `u` regex this matches only unpaired surrogates, which have no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why `value` cannot be one topic level, or undefined when it can. */
export function topicSegmentProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (WILDCARD_OR_SEPARATOR.test(value)) return 'contains a wildcard or level separator (+ # /)';
  if (value.includes('\u0000')) return 'contains NUL';
  if (CONTROL_CHARACTER.test(value)) return 'contains a control character';
  if (LONE_SURROGATE.test(value)) return 'is not valid UTF-8 (lone surrogate)';
  if (Buffer.byteLength(value, 'utf8') > MAX_TOPIC_SEGMENT_BYTES) return `is longer than ${MAX_TOPIC_SEGMENT_BYTES} bytes`;
  return undefined;
}

/** Why `prefix` cannot lead our topics, or undefined when it can. Also used by the config schema. */
export function topicPrefixProblem(prefix: string): string | undefined {
  const levels = prefix.split('/');
  for (const [index, level] of levels.entries()) {
    const problem = topicSegmentProblem(level);
    if (problem !== undefined) return `level ${index + 1} ("${level}") ${problem}`;
  }
  // `$` topics are the broker's own ($SYS); `#` subscribers would never see ours.
  if (prefix.startsWith('$')) return 'must not start with $ (reserved for the broker)';
  if (Buffer.byteLength(prefix, 'utf8') > MAX_TOPIC_PREFIX_BYTES) return `is longer than ${MAX_TOPIC_PREFIX_BYTES} bytes`;
  return undefined;
}

function showValue(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

export function assertTopicSegment(label: string, value: string): void {
  const problem = topicSegmentProblem(value);
  if (problem !== undefined) {
    throw new MqttError('PW_MQTT_TOPIC_INVALID', `${label} ${showValue(value)} ${problem}; it cannot be a topic level`);
  }
}

export function defaultTopicPrefix(gateway: Config['gateway']): string {
  return `pumpwatch/v1/${gateway.site}/${gateway.ward}/${gateway.id}`;
}

/** The gateway's topic tree (ARCHITECTURE.md §3). Fixed topics are computed once. */
export interface MqttTopics {
  readonly prefix: string;
  /** Retained `online`/`offline` JSON; also the Last Will. */
  readonly status: string;
  /** Every alarm lifecycle event, QoS 1, not retained. */
  readonly events: string;
  /** Station acknowledgements, inbound. */
  readonly ack: string;
  /** Station commands (retire a channel), inbound. */
  readonly cmd: string;
  /**
   * Retained per-condition alarm state. Throws `PW_MQTT_TOPIC_INVALID` when a part cannot be a
   * topic level, so a hostile pump id never reaches the broker (a `+` there makes brokers drop
   * the connection, and mqtt.js would then resend the poison message forever).
   */
  alarm(pumpId: string, channel: string, condition: string): string;
}

/** Throws `PW_MQTT_PREFIX_INVALID` when the configured or derived prefix is unusable. */
export function createTopics(config: Pick<Config, 'gateway' | 'mqtt'>): MqttTopics {
  const prefix = config.mqtt.topicPrefix ?? defaultTopicPrefix(config.gateway);
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new MqttError('PW_MQTT_PREFIX_INVALID', `topic prefix ${showValue(prefix)}: ${problem}`);
  return {
    prefix,
    status: `${prefix}/status`,
    events: `${prefix}/events`,
    ack: `${prefix}/ack`,
    cmd: `${prefix}/cmd`,
    alarm(pumpId, channel, condition) {
      assertTopicSegment('pumpId', pumpId);
      assertTopicSegment('channel', channel);
      assertTopicSegment('condition', condition);
      return `${prefix}/alarms/${pumpId}/${channel}/${condition}`;
    },
  };
}
