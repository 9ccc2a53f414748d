import { describe, expect, it } from 'vitest';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { buildClientOptions, clientIdFor } from '../../src/mqtt/client-options.js';
import { MqttError } from '../../src/mqtt/errors.js';

function configWith(mqtt: ConfigInput['mqtt'] = {}) {
  return ConfigSchema.parse({ gateway: { id: 'gw-7', site: 'stmarys', ward: 'nicu' }, mqtt });
}

const noFiles = (path: string) => Promise.reject(Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' }));

describe('buildClientOptions', () => {
  it('speaks MQTT 5 by default', async () => {
    expect((await buildClientOptions({ config: configWith(), secrets: {}, role: 'alarms', readFile: noFiles })).protocolVersion).toBe(5);
  });

  it('speaks MQTT 3.1.1 when protocolVersion is 4', async () => {
    const options = await buildClientOptions({ config: configWith({ protocolVersion: 4 }), secrets: {}, role: 'alarms', readFile: noFiles });
    expect(options.protocolVersion).toBe(4);
  });

  it('sets keepalive in seconds and the reconnect period in milliseconds', async () => {
    const options = await buildClientOptions({ config: configWith({ keepaliveSeconds: 12, reconnectSeconds: 2.5 }), secrets: {}, role: 'alarms' });
    expect([options.keepalive, options.reconnectPeriod]).toEqual([12, 2500]);
  });

  it('keeps retrying after a refused CONNACK and never queues QoS 0 while offline', async () => {
    const options = await buildClientOptions({ config: configWith(), secrets: {}, role: 'telemetry' });
    expect([options.reconnectOnConnackError, options.queueQoSZero]).toEqual([true, false]);
  });

  it('gives the alarms client a retained QoS 1 offline Last Will on the status topic', async () => {
    const options = await buildClientOptions({ config: configWith(), secrets: {}, role: 'alarms' });
    expect(options.will).toMatchObject({ topic: 'pumpwatch/v1/stmarys/nicu/gw-7/status', qos: 1, retain: true });
    expect(JSON.parse(String(options.will?.payload))).toEqual({
      v: 1,
      state: 'offline',
      gatewayId: 'gw-7',
      site: 'stmarys',
      ward: 'nicu',
      reason: 'connection-lost',
    });
  });

  it('gives the telemetry client no Last Will, since it does not speak for the gateway', async () => {
    expect((await buildClientOptions({ config: configWith(), secrets: {}, role: 'telemetry' })).will).toBeUndefined();
  });

  it('takes the username from the config and the password from the secrets', async () => {
    const options = await buildClientOptions({ config: configWith({ username: 'gw7' }), secrets: { mqttPassword: 's3cret' }, role: 'alarms' });
    expect([options.username, options.password]).toEqual(['gw7', 's3cret']);
  });

  it('reads TLS files, resolving relative paths against the credentials directory', async () => {
    const read: string[] = [];
    const readFile = (path: string) => {
      read.push(path);
      return Promise.resolve(Buffer.from(`contents of ${path}`));
    };
    const config = configWith({ url: 'mqtts://broker:8883', tls: { caFile: '/etc/ssl/ca.pem', certFile: 'gw.crt', keyFile: 'gw.key', serverName: 'broker.ward' } });
    const options = await buildClientOptions({ config, secrets: {}, role: 'alarms', credentialsDirectory: '/run/credentials/pumpwatch.service', readFile });
    expect(read).toEqual(['/etc/ssl/ca.pem', '/run/credentials/pumpwatch.service/gw.crt', '/run/credentials/pumpwatch.service/gw.key']);
    expect(String(options.key)).toBe('contents of /run/credentials/pumpwatch.service/gw.key');
    expect([options.servername, options.rejectUnauthorized]).toEqual(['broker.ward', true]);
  });

  it('fails with PW_MQTT_TLS_FILE naming the setting when a TLS file cannot be read', async () => {
    const config = configWith({ url: 'mqtts://broker:8883', tls: { caFile: '/nope/ca.pem' } });
    const error = await buildClientOptions({ config, secrets: {}, role: 'alarms', readFile: noFiles }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MqttError);
    expect((error as MqttError).code).toBe('PW_MQTT_TLS_FILE');
    expect((error as MqttError).message).toContain('mqtt.tls.caFile: cannot read /nope/ca.pem (ENOENT)');
  });

  it('checks the broker certificate unless the configuration explicitly allows otherwise', async () => {
    const options = await buildClientOptions({ config: configWith({ url: 'mqtts://broker:8883', tls: {} }), secrets: {}, role: 'alarms', readFile: noFiles });
    expect(options.rejectUnauthorized).toBe(true);
  });

  it('turns certificate checks off only with rejectUnauthorized: false and allowInsecure: true together', async () => {
    const config = configWith({ url: 'mqtts://broker:8883', tls: { rejectUnauthorized: false, allowInsecure: true } });
    expect((await buildClientOptions({ config, secrets: {}, role: 'alarms', readFile: noFiles })).rejectUnauthorized).toBe(false);
  });
});

describe('clientIdFor', () => {
  it('is pumpwatch-<gatewayId> by default, with a suffix for the telemetry client', () => {
    expect([clientIdFor(configWith(), 'alarms'), clientIdFor(configWith(), 'telemetry')]).toEqual(['pumpwatch-gw-7', 'pumpwatch-gw-7-telemetry']);
  });

  it('uses mqtt.clientId when configured', () => {
    expect(clientIdFor(configWith({ clientId: 'ward7-gw' }), 'telemetry')).toBe('ward7-gw-telemetry');
  });
});
