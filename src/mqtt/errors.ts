import type { LogCode } from '../log-codes.js';

/** Stable codes for everything that can go wrong on the MQTT edges; logs, metrics and tests match on them. */
export const MQTT_ERROR_CODES = [
  'PW_MQTT_TOPIC_INVALID',
  'PW_MQTT_PREFIX_INVALID',
  'PW_MQTT_PAYLOAD_TOO_LARGE',
  'PW_MQTT_PUBLISH_FAILED',
  'PW_MQTT_CONNECTION_LOST',
  'PW_MQTT_NOT_STARTED',
  'PW_MQTT_STOPPED',
  'PW_MQTT_TLS_FILE',
] as const satisfies readonly LogCode[];
export type MqttErrorCode = (typeof MQTT_ERROR_CODES)[number];

export class MqttError extends Error {
  override readonly name = 'MqttError';
  readonly code: MqttErrorCode;
  /** MQTT 5 reason code from the broker (PUBACK ≥ 0x80, DISCONNECT), when there was one. */
  readonly reasonCode: number | undefined;

  constructor(code: MqttErrorCode, message: string, options: { cause?: unknown; reasonCode?: number | undefined } = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reasonCode = options.reasonCode;
  }
}
