import type { IClientOptions, MqttClient } from 'mqtt';
import type { AlarmEvidence } from '../alarms/event.js';
import type { Logger } from '../log.js';
import { TELEMETRY_CLIENT_ID_SUFFIX, type MqttConnect } from '../mqtt/client-options.js';

export type RefusalKind = 'broker-certificate-refused' | 'client-certificate-refused' | 'not-authorized';

export interface BrokerRefusal {
  kind: RefusalKind;
  /** The TLS or MQTT code, e.g. CERT_HAS_EXPIRED or 135. */
  code: string;
  detail: string;
}

/** Node's names for OpenSSL verification failures of the broker's certificate (X509_V_ERR_*). */
const CERTIFICATE_VERIFY_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * CONNACK refusals that mean "not you": MQTT 3.1.1 4 (bad user name or password) and 5 (not
 * authorised); MQTT 5 134, 135, 138 (banned) and 140 (bad authentication method).
 */
const AUTH_REFUSAL_CODES = new Set([4, 5, 134, 135, 138, 140]);

/**
 * Sorts a connection error into a refusal a person must fix (certificates, credentials, ACL
 * identity), or undefined for the ordinary network trouble reconnects take care of.
 */
export function classifyConnectError(error: Error & { code?: unknown }): BrokerRefusal | undefined {
  const { code } = error;
  if (typeof code === 'number') {
    return AUTH_REFUSAL_CODES.has(code) ? { kind: 'not-authorized', code: String(code), detail: error.message } : undefined;
  }
  if (typeof code !== 'string') return undefined;
  if (CERTIFICATE_VERIFY_CODES.has(code)) return { kind: 'broker-certificate-refused', code, detail: error.message.trim() };
  // A TLS alert from the broker during the handshake: it refused our certificate (expired,
  // unknown CA, revoked, missing).
  if (code.startsWith('ERR_SSL_') && code.includes('_ALERT_')) return { kind: 'client-certificate-refused', code, detail: error.message.split('\n', 1)[0]!.trim() };
  return undefined;
}

/** Shaped like the alarm manager's gateway-level technical report. */
export interface TrustReport {
  condition: 'delivery-failure';
  part: string;
  active: boolean;
  message?: string;
  evidence: AlarmEvidence;
}

export interface BrokerTrustWatchOptions {
  report: (report: TrustReport) => void;
  logger: Logger;
  /** For metrics: every refusal, not only the first of a run. */
  onRefusal?: (client: 'alarms' | 'telemetry', kind: RefusalKind) => void;
}

const MESSAGES: Record<RefusalKind, string> = {
  'broker-certificate-refused':
    "The gateway refused the broker's certificate and cannot connect securely: alarms wait on the gateway. Check the broker certificate (expiry, name, CA).",
  'client-certificate-refused':
    "The broker refused the gateway's certificate: alarms wait on the gateway. Check the gateway certificate (expiry, CA, revocation).",
  'not-authorized': 'The broker refused the gateway as not authorised: alarms wait on the gateway. Check its certificate name, user name and password, and the broker ACL.',
};

/**
 * Turns a broker connection that is refused for security reasons into a `delivery-failure`
 * technical alarm, per client (`broker-auth` for alarms, `telemetry-auth` for telemetry), ended
 * by the next successful CONNACK. Plain network failures are left to reconnects and to the
 * outbox's stalled-delivery alarm. The alarm cannot travel over the refused connection; it is
 * journaled, counted in metrics, logged, and delivered once the connection is fixed.
 */
export class BrokerTrustWatch {
  readonly #options: BrokerTrustWatchOptions;
  readonly #logger: Logger;

  constructor(options: BrokerTrustWatchOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'broker-trust' });
  }

  /** An `MqttConnect` that watches every client it makes. */
  wrap(connect: MqttConnect): MqttConnect {
    return (url: string, options: IClientOptions) => {
      const client = connect(url, options);
      const role = typeof options.clientId === 'string' && options.clientId.endsWith(TELEMETRY_CLIENT_ID_SUFFIX) ? 'telemetry' : 'alarms';
      this.#watch(role, client);
      return client;
    };
  }

  #watch(role: 'alarms' | 'telemetry', client: MqttClient): void {
    const part = role === 'alarms' ? 'broker-auth' : 'telemetry-auth';
    let active: RefusalKind | undefined;
    client.on('error', (error: Error & { code?: unknown }) => {
      const refusal = classifyConnectError(error);
      if (refusal === undefined) return;
      this.#options.onRefusal?.(role, refusal.kind);
      if (active === refusal.kind) return;
      active = refusal.kind;
      this.#logger.error({ code: 'PW_MQTT_CONNECT_REFUSED', client: role, kind: refusal.kind, cause: refusal.code, detail: refusal.detail }, 'the broker connection is refused for security reasons');
      this.#options.report({
        condition: 'delivery-failure',
        part,
        active: true,
        message: MESSAGES[refusal.kind],
        evidence: { client: role, refusal: refusal.kind, code: refusal.code, detail: refusal.detail.slice(0, 200) },
      });
    });
    client.on('connect', () => {
      if (active === undefined) return;
      active = undefined;
      this.#logger.info({ code: 'PW_MQTT_CONNECT_ACCEPTED', client: role }, 'the broker connection is accepted again');
      this.#options.report({ condition: 'delivery-failure', part, active: false, evidence: { client: role } });
    });
  }
}
