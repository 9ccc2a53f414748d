import { connect } from 'mqtt';
import type { ParentMessage, SubscriberConfig, SubscriberMessage } from './messages.js';

/**
 * The yardstick: a plain mqtt.js subscriber that parses every message as JSON and does nothing
 * else, on the same broker and topic filter as pumpwatch, in a process of its own.
 */

const STATS_INTERVAL_MS = 250;

function send(message: SubscriberMessage): void {
  process.send?.(message);
}

const config = JSON.parse(process.argv[2] ?? '{}') as SubscriberConfig;
let received = 0;
let parsed = 0;
// A keepalive that outlasts the capacity bench's freezes (SIGSTOP while a blast queues at the broker).
const client = connect(config.url, { clientId: config.clientId, protocolVersion: 5, clean: true, reconnectPeriod: 0, keepalive: 600 });
client.on('message', (_topic, payload) => {
  received++;
  const value: unknown = JSON.parse(payload.toString('utf8'));
  if (value !== null && typeof value === 'object') parsed++;
});
client.on('error', (error) => {
  console.error(`plain subscriber: ${error.message}`);
  process.exit(1);
});
client.once('connect', () => {
  client.subscribe(config.topicFilter, { qos: 0 }, (error) => {
    if (error) {
      console.error(`plain subscriber: ${error.message}`);
      process.exit(1);
    }
    send({ type: 'ready' });
  });
});
const stats = setInterval(() => send({ type: 'stats', received, parsed }), STATS_INTERVAL_MS);
const stop = () => {
  clearInterval(stats);
  send({ type: 'stats', received, parsed });
  client.end(true, () => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') stop();
});
process.on('disconnect', stop);
setTimeout(stop, config.maxLifetimeSeconds * 1000).unref();
