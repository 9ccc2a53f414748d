import type { Config } from '../config/schema.js';
import { topicPrefixProblem, topicSegmentProblem } from '../validation/mqtt-topic.js';
import { MqttError } from './errors.js';

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

/** The gateway's topic tree (docs/station-contract.md). Fixed topics are computed once. */
export interface MqttTopics {
  readonly prefix: string;
  /** Retained `online`/`offline` JSON; also the Last Will. */
  readonly status: string;
  /** Every alarm lifecycle event, QoS 1, not retained. */
  readonly events: string;
  /** Station acknowledgements, inbound. */
  readonly ack: string;
  /** Station commands (retire, pause, resume a channel), inbound. */
  readonly cmd: string;
  /** The station's ward roster, inbound and retained. */
  readonly roster: string;
  /**
   * Retained per-condition alarm state. Throws `PW_MQTT_TOPIC_INVALID` when a part cannot be a
   * topic level, so a hostile pump id never reaches the broker (a `+` there makes brokers drop
   * the connection, and mqtt.js would then resend the poison message forever).
   */
  alarm(pumpId: string, channel: string, condition: string): string;
  /**
   * Retained state of one of the gateway's own alarms: `<prefix>/alarms/@gateway/<part>/<condition>`,
   * the same depth as a pump's, under the `alarms/#` stations subscribe to. `@` is outside the
   * pump-id alphabet, so no pump's topic can be this one.
   */
  gatewayAlarm(part: string, condition: string): string;
}

/** The level that stands for the gateway where a pump id stands in a pump's alarm topic. */
export const GATEWAY_ALARM_LEVEL = '@gateway';

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
    roster: `${prefix}/roster`,
    alarm(pumpId, channel, condition) {
      assertTopicSegment('pumpId', pumpId);
      assertTopicSegment('channel', channel);
      assertTopicSegment('condition', condition);
      return `${prefix}/alarms/${pumpId}/${channel}/${condition}`;
    },
    gatewayAlarm(part, condition) {
      assertTopicSegment('part', part);
      assertTopicSegment('condition', condition);
      return `${prefix}/alarms/${GATEWAY_ALARM_LEVEL}/${part}/${condition}`;
    },
  };
}
