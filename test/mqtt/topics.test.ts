import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { MqttError } from '../../src/mqtt/errors.js';
import { createTopics } from '../../src/mqtt/topics.js';
import { topicPrefixProblem, topicSegmentProblem } from '../../src/validation/mqtt-topic.js';

const config = ConfigSchema.parse({ gateway: { id: 'gw-7', site: 'stmarys', ward: 'nicu' } });

function thrown(action: () => unknown): MqttError {
  try {
    action();
  } catch (error) {
    if (error instanceof MqttError) return error;
    throw error;
  }
  throw new Error('expected an MqttError');
}

describe('createTopics', () => {
  it('derives the default prefix from site, ward and gateway id', () => {
    const topics = createTopics(config);
    expect(topics.prefix).toBe('pumpwatch/v1/stmarys/nicu/gw-7');
    expect([topics.status, topics.events, topics.ack]).toEqual([
      'pumpwatch/v1/stmarys/nicu/gw-7/status',
      'pumpwatch/v1/stmarys/nicu/gw-7/events',
      'pumpwatch/v1/stmarys/nicu/gw-7/ack',
    ]);
  });

  it('lets mqtt.topicPrefix replace the default prefix', () => {
    const topics = createTopics({ ...config, mqtt: { ...config.mqtt, topicPrefix: 'hospital/a/b' } });
    expect(topics.status).toBe('hospital/a/b/status');
  });

  it('builds the per-condition alarm topic from pump id, channel and condition', () => {
    expect(createTopics(config).alarm('P-01:a', 'B', 'downstream-occlusion')).toBe(
      'pumpwatch/v1/stmarys/nicu/gw-7/alarms/P-01:a/B/downstream-occlusion',
    );
  });

  it.each([
    ['a plus', 'P+1'],
    ['a hash', 'P#1'],
    ['a slash', 'ward/P1'],
    ['NUL', 'P\u00001'],
    ['a newline', 'P\n1'],
    ['nothing', ''],
    ['a lone surrogate', 'P\uD800'],
    ['200 characters', 'P'.repeat(200)],
  ])('refuses a pump id with %s with PW_MQTT_TOPIC_INVALID', (_label, pumpId) => {
    const error = thrown(() => createTopics(config).alarm(pumpId, '1', 'downstream-occlusion'));
    expect(error.code).toBe('PW_MQTT_TOPIC_INVALID');
    expect(error.message).toContain('pumpId');
  });

  it('names the channel when the channel is the bad segment', () => {
    expect(thrown(() => createTopics(config).alarm('P1', '+', 'telemetry-lost')).message).toMatch(/channel "\+" contains a wildcard/);
  });

  it.each([
    ['a wildcard level', 'pumpwatch/+/ward'],
    ['a hash', 'pumpwatch/#'],
    ['a leading slash', '/pumpwatch/ward'],
    ['a trailing slash', 'pumpwatch/ward/'],
    ['an empty level', 'pumpwatch//ward'],
    ['a $ first level', '$SYS/pumpwatch'],
    ['NUL', 'pumpwatch/\u0000'],
  ])('refuses a prefix with %s with PW_MQTT_PREFIX_INVALID', (_label, topicPrefix) => {
    const error = thrown(() => createTopics({ ...config, mqtt: { ...config.mqtt, topicPrefix } }));
    expect(error.code).toBe('PW_MQTT_PREFIX_INVALID');
  });

  it('refuses a default prefix built from unusable gateway names', () => {
    const gateway = { ...config.gateway, ward: 'a/b+' };
    expect(thrown(() => createTopics({ ...config, gateway })).code).toBe('PW_MQTT_PREFIX_INVALID');
  });
});

describe('topicSegmentProblem and topicPrefixProblem', () => {
  it('accept every character the telemetry contract allows in ids', () => {
    expect(topicSegmentProblem('Aa0._:-')).toBeUndefined();
    expect(topicPrefixProblem('pumpwatch/v1/site/ward/gw-1')).toBeUndefined();
  });

  it('accept non-ASCII letters, which are valid UTF-8 topic characters', () => {
    expect(topicSegmentProblem('Station-Süd')).toBeUndefined();
  });

  it('say which level of a prefix is wrong', () => {
    expect(topicPrefixProblem('a//b')).toBe('level 2 ("") is empty');
  });
});

describe('mqtt.topicPrefix in the config schema', () => {
  it('is refused by config validation with the reason, before anything connects', () => {
    const result = ConfigSchema.safeParse({ mqtt: { topicPrefix: 'pumpwatch/+/ward' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['mqtt.topicPrefix', 'level 2 ("+") contains a wildcard or level separator (+ # /)'],
    ]);
  });
});
