import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { BrokerTrustWatch, classifyConnectError, type TrustReport } from '../../src/ops/broker-trust.js';
import { captureLog } from '../helpers/log-capture.js';

function tlsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

function setup() {
  const reports: TrustReport[] = [];
  const refusals: string[] = [];
  const watch = new BrokerTrustWatch({ report: (report) => reports.push(report), logger: captureLog().logger, onRefusal: (client, kind) => refusals.push(`${client}:${kind}`) });
  const clients: EventEmitter[] = [];
  const connect = watch.wrap(() => {
    const client = new EventEmitter();
    clients.push(client);
    return client as unknown as MqttClient;
  });
  return { reports, refusals, connect, clients };
}

describe('classifyConnectError', () => {
  it.each([
    ['CERT_HAS_EXPIRED', 'certificate has expired'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
  ])('reads %s as the broker certificate refused', (code, message) => {
    expect(classifyConnectError(tlsError(code, message))?.kind).toBe('broker-certificate-refused');
  });

  it.each(['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'])(
    'reads the TLS alert %s as our certificate refused by the broker',
    (code) => {
      expect(classifyConnectError(tlsError(code, 'SSL alert\nmore'))).toEqual({ kind: 'client-certificate-refused', code, detail: 'SSL alert' });
    },
  );

  it.each([135, 134, 5, 4])('reads CONNACK code %s as not authorised', (code) => {
    expect(classifyConnectError(Object.assign(new Error('Connection refused'), { code }))?.kind).toBe('not-authorized');
  });

  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED'],
    ['ECONNRESET', 'read ECONNRESET'],
    ['ETIMEDOUT', 'timed out'],
  ])('leaves the network error %s to reconnects', (code, message) => {
    expect(classifyConnectError(tlsError(code, message))).toBeUndefined();
  });

  it('leaves a server-busy CONNACK (137) to reconnects', () => {
    expect(classifyConnectError(Object.assign(new Error('Server busy'), { code: 137 }))).toBeUndefined();
  });
});

describe('BrokerTrustWatch', () => {
  it('raises a delivery-failure technical alarm when the alarm connection is refused for security reasons', () => {
    const { reports, connect, clients } = setup();
    connect('mqtts://broker:8883', { clientId: 'pumpwatch-gw-1' });
    clients[0]!.emit('error', tlsError('CERT_HAS_EXPIRED', 'certificate has expired'));
    expect(reports).toEqual([
      expect.objectContaining({
        condition: 'delivery-failure',
        part: 'broker-auth',
        active: true,
        evidence: { client: 'alarms', refusal: 'broker-certificate-refused', code: 'CERT_HAS_EXPIRED', detail: 'certificate has expired' },
      }),
    ]);
  });

  it('reports the same refusal once, however often reconnects repeat it, but counts each', () => {
    const { reports, refusals, connect, clients } = setup();
    connect('mqtts://broker:8883', { clientId: 'pumpwatch-gw-1' });
    for (let attempt = 0; attempt < 3; attempt++) clients[0]!.emit('error', tlsError('CERT_HAS_EXPIRED', 'certificate has expired'));
    expect([reports.length, refusals]).toEqual([1, ['alarms:broker-certificate-refused', 'alarms:broker-certificate-refused', 'alarms:broker-certificate-refused']]);
  });

  it('ends the alarm on the next accepted connection', () => {
    const { reports, connect, clients } = setup();
    connect('mqtts://broker:8883', { clientId: 'pumpwatch-gw-1' });
    clients[0]!.emit('error', Object.assign(new Error('Not authorized'), { code: 135 }));
    clients[0]!.emit('connect', {});
    expect(reports.map((report) => report.active)).toEqual([true, false]);
  });

  it('reports the telemetry connection under a part of its own', () => {
    const { reports, connect, clients } = setup();
    connect('mqtts://broker:8883', { clientId: 'pumpwatch-gw-1-telemetry' });
    clients[0]!.emit('error', tlsError('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'alert certificate expired'));
    expect(reports[0]).toMatchObject({ part: 'telemetry-auth', evidence: { client: 'telemetry', refusal: 'client-certificate-refused' } });
  });

  it('says nothing about ordinary network failures or a first clean connect', () => {
    const { reports, connect, clients } = setup();
    connect('mqtts://broker:8883', { clientId: 'pumpwatch-gw-1' });
    clients[0]!.emit('error', tlsError('ECONNREFUSED', 'connect ECONNREFUSED'));
    clients[0]!.emit('connect', {});
    expect(reports).toEqual([]);
  });
});
