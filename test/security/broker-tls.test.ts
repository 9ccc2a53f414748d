import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { mosquittoMissingReason } from '../helpers/mosquitto.js';
import { createTestPki, opensslMissingReason, type IssuedCertificate, type TestPki } from '../helpers/pki.js';
import { connectWithCertificate, startSecureMosquitto, TEST_ADMIN, type SecureMosquitto } from '../helpers/secure-broker.js';

// S-1 and S-2 (reliability.md §7): mutual TLS and the reference ACL (config/mosquitto/) against a
// real Mosquitto, with certificates made at test time.
const skipReason = mosquittoMissingReason ?? opensslMissingReason;
const SITE = 'st-elsewhere';
const WARD = 'nicu-3';
const GATEWAY = 'gw-nicu3-a';
const OWN_PREFIX = `pumpwatch/v1/${SITE}/${WARD}/${GATEWAY}`;
const OTHER_WARD_PREFIX = `pumpwatch/v1/${SITE}/nicu-4/${GATEWAY}`;

let pki: TestPki;
let otherPki: TestPki;
let broker: SecureMosquitto;
let certificates: {
  gateway: IssuedCertificate;
  expiredGateway: IssuedCertificate;
  station: IssuedCertificate;
  bridge: IssuedCertificate;
  admin: IssuedCertificate;
};
const cleanups: (() => Promise<void>)[] = [];

const LOCAL_NAMES = ['localhost', '127.0.0.1'];

beforeAll(async () => {
  if (skipReason !== undefined) return;
  pki = await createTestPki();
  otherPki = await createTestPki('some-other-ca');
  const [server, gateway, expiredGateway, station, bridge, admin] = await Promise.all([
    pki.issue('localhost', { altNames: LOCAL_NAMES }),
    pki.issue(GATEWAY),
    pki.issue(GATEWAY, { expired: true }),
    pki.issue('station-nicu-3'),
    pki.issue('bridge-nicu-3'),
    pki.issue(TEST_ADMIN),
  ]);
  certificates = { gateway, expiredGateway, station, bridge, admin };
  broker = await startSecureMosquitto(pki, server);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  if (skipReason !== undefined) return;
  await broker.stop();
  await pki.stop();
  await otherPki.stop();
});

interface RunningGateway {
  daemon: Daemon;
  log: CapturedLog;
}

async function startGateway(url: string, mqtt: ConfigInput['mqtt'] = {}, identity: IssuedCertificate = certificates.gateway): Promise<RunningGateway> {
  const journal = await mkdtemp(join(tmpdir(), 'pw-tls-journal-'));
  const config = ConfigSchema.parse({
    gateway: { id: GATEWAY, site: SITE, ward: WARD },
    mqtt: { url, protocolVersion: 5, reconnectSeconds: 0.2, tls: { caFile: pki.caFile, certFile: identity.certFile, keyFile: identity.keyFile }, ...mqtt },
    sources: { mqtt: { topics: [`pumps/${WARD}/+/telemetry`] } },
    journal: { directory: journal },
  });
  const log = captureLog('debug');
  const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, { clock: systemClock, logger: log.logger, connect, loadSerialBinding: () => Promise.reject(new Error('no serial here')) });
  cleanups.push(async () => {
    await daemon.stop();
    await rm(journal, { recursive: true, force: true });
  });
  return { daemon, log };
}

async function client(identity: IssuedCertificate): Promise<MqttClient> {
  const connected = await connectWithCertificate(broker.tlsUrl, pki.caFile, identity);
  cleanups.push(() => connected.endAsync());
  return connected;
}

/** Collects what `identity` receives on `filter`, confirmed by a marker it publishes to itself. */
async function observe(identity: IssuedCertificate, filter: string) {
  const observer = await client(identity);
  const received: { topic: string; text: string }[] = [];
  observer.on('message', (topic, payload) => received.push({ topic, text: payload.toString('utf8') }));
  await observer.subscribeAsync(filter, { qos: 1 });
  return { observer, received };
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function occlusionSample(pumpId: string): string {
  return JSON.stringify({ pumpId, ts: Date.now(), state: 'alarm', rateMlPerH: 1, pumpAlarms: ['OCCLUSION_DOWNSTREAM'], downstreamPressureMmHg: 450 });
}

const active = (gateway: RunningGateway, part: string) =>
  gateway.daemon.pipeline.alarms.activeAlarms().find((alarm) => alarm.condition === 'delivery-failure' && alarm.channel === part);

describe.skipIf(skipReason !== undefined)('the gateway against Mosquitto with mutual TLS and the reference ACL', () => {
  it('connects with its certificate, reads its pumps and delivers alarms to its ward station', async () => {
    const station = await observe(certificates.station, `pumpwatch/v1/${SITE}/${WARD}/+/alarms/#`);
    const gateway = await startGateway(broker.tlsUrl);
    const bridge = await client(certificates.bridge);
    await waitUntil('the telemetry subscription', () => gateway.log.withCode('PW_MQTT_SUBSCRIBED').length > 0);
    await bridge.publishAsync(`pumps/${WARD}/NICU-01/telemetry`, occlusionSample('NICU-01'));
    await waitUntil('the alarm at the station', () => station.received.some((message) => message.topic === `${OWN_PREFIX}/alarms/NICU-01/1/downstream-occlusion`));
    // The delivery is timed at the broker's PUBACK, which can reach the gateway after the station has the message.
    await expect.poll(async () => (await gateway.daemon.ops.metrics.scrape()).body, { timeout: 5000 }).toMatch(/^pumpwatch_alarm_delivery_latency_seconds_count [1-9]\d*$/m);
    const { body } = await gateway.daemon.ops.metrics.scrape();
    expect(body).toMatch(/^pumpwatch_mqtt_connected\{client="alarms"\} 1$/m);
  });

  it('lets a station acknowledge but not write alarm state, events or status', async () => {
    const station = await client(certificates.station);
    await expect(station.publishAsync(`${OWN_PREFIX}/ack`, '{}', { qos: 1 })).resolves.not.toThrow();
    for (const topic of [`${OWN_PREFIX}/alarms/NICU-01/1/downstream-occlusion`, `${OWN_PREFIX}/events`, `${OWN_PREFIX}/status`]) {
      await expect(station.publishAsync(topic, '{}', { qos: 1 }), topic).rejects.toMatchObject({ code: 135 });
    }
  });

  it("refuses a gateway's publish into another ward, which surfaces as delivery-failure, and nothing arrives there", async () => {
    const admin = await observe(certificates.admin, `pumpwatch/v1/${SITE}/nicu-4/#`);
    const gateway = await startGateway(broker.tlsUrl, { topicPrefix: OTHER_WARD_PREFIX });
    const bridge = await client(certificates.bridge);
    await waitUntil('the telemetry subscription', () => gateway.log.withCode('PW_MQTT_SUBSCRIBED').length > 0);
    await bridge.publishAsync(`pumps/${WARD}/NICU-02/telemetry`, occlusionSample('NICU-02'));
    await waitUntil('a delivery-failure alarm', () => active(gateway, 'quarantine') !== undefined);
    await admin.observer.publishAsync(`pumpwatch/v1/${SITE}/nicu-4/marker`, 'marker', { qos: 1 });
    await waitUntil('the marker', () => admin.received.some((message) => message.text === 'marker'));
    expect(admin.received.filter((message) => message.text !== 'marker')).toEqual([]);
    expect(gateway.log.lines.some((line) => line.reasonCode === 135)).toBe(true);
    expect((await gateway.daemon.ops.metrics.scrape()).body).toMatch(/^pumpwatch_alarm_delivery_failures_total\{code="PW_MQTT_PUBLISH_FAILED"\} [1-9]\d*$/m);
  });

  it('refuses a client without a certificate', async () => {
    const attempt = connect(broker.tlsUrl, { protocolVersion: 5, reconnectPeriod: 0, ca: await readFile(pki.caFile) });
    const error = await new Promise<Error & { code?: unknown }>((resolve) => attempt.once('error', (refused) => resolve(refused)));
    attempt.end(true);
    expect(error.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });

  it('is refused with an expired client certificate, and raises a technical alarm', async () => {
    const gateway = await startGateway(broker.tlsUrl, {}, certificates.expiredGateway);
    await waitUntil('the technical alarm', () => active(gateway, 'broker-auth') !== undefined);
    // OpenSSL names the alert SSLV3 in Node 20's build and SSL/TLS in Node 22's and 24's.
    expect(active(gateway, 'broker-auth')?.evidence).toMatchObject({
      refusal: 'client-certificate-refused',
      code: expect.stringMatching(/^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_CERTIFICATE_EXPIRED$/),
    });
    expect(gateway.daemon.publisher.connectionState).not.toBe('connected');
  });
});

describe.skipIf(skipReason !== undefined)("the gateway refuses a broker whose certificate it cannot trust, with a technical alarm", () => {
  const refusedBy = async (server: () => Promise<IssuedCertificate>, expectedCode: string) => {
    const untrusted = await startSecureMosquitto(pki, await server());
    cleanups.push(() => untrusted.stop());
    const gateway = await startGateway(untrusted.tlsUrl);
    await waitUntil('the technical alarm', () => active(gateway, 'broker-auth') !== undefined);
    expect(active(gateway, 'broker-auth')).toMatchObject({ kind: 'technical', evidence: { refusal: 'broker-certificate-refused', code: expectedCode } });
    expect(gateway.daemon.publisher.connectionState).not.toBe('connected');
    expect((await gateway.daemon.ops.metrics.scrape()).body).toMatch(/^pumpwatch_mqtt_connect_refusals_total\{client="alarms",kind="broker-certificate-refused"\} [1-9]\d*$/m);
    return gateway;
  };

  it('an expired broker certificate', async () => {
    await refusedBy(() => pki.issue('localhost', { altNames: LOCAL_NAMES, expired: true }), 'CERT_HAS_EXPIRED');
  });

  it('a broker certificate from another CA', async () => {
    await refusedBy(() => otherPki.issue('localhost', { altNames: LOCAL_NAMES }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a broker certificate for another host name', async () => {
    await refusedBy(() => pki.issue('wrong.example', { altNames: ['wrong.example'] }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('connects to such a broker only with the explicit insecure flag, and says so loudly', async () => {
    const untrusted = await startSecureMosquitto(pki, await otherPki.issue('localhost', { altNames: LOCAL_NAMES }));
    cleanups.push(() => untrusted.stop());
    const gateway = await startGateway(untrusted.tlsUrl, {
      tls: { caFile: pki.caFile, certFile: certificates.gateway.certFile, keyFile: certificates.gateway.keyFile, rejectUnauthorized: false, allowInsecure: true },
    });
    await waitUntil('the connection', () => gateway.daemon.publisher.connectionState === 'connected');
    expect(gateway.log.withCode('PW_TLS_INSECURE')).toEqual([expect.objectContaining({ level: 50 })]);
  });
});
