import { afterAll, afterEach, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startEmbeddedBroker } from '../../src/demo/embedded-broker.js';

export interface TestBroker {
  url: string;
  /** 5 for Mosquitto, 4 (MQTT 3.1.1) for aedes, which does not speak MQTT 5. */
  protocolVersion: 4 | 5;
  kind: 'external' | 'aedes';
  stop(): Promise<void>;
}

/**
 * The broker integration tests run against: the one in `MQTT_URL` (CI points it at Mosquitto),
 * otherwise an in-process aedes on an ephemeral loopback port.
 */
export async function startTestBroker(): Promise<TestBroker> {
  const external = process.env.MQTT_URL;
  if (external !== undefined && external !== '') {
    return { url: external, protocolVersion: 5, kind: 'external', stop: () => Promise.resolve() };
  }
  const broker = await startEmbeddedBroker();
  return { url: broker.url, protocolVersion: 4, kind: 'aedes', stop: () => broker.stop() };
}

/** A topic prefix no other test (or other engineer's run on a shared Mosquitto) uses. */
export function uniqueTopicPrefix(label: string): string {
  return `pwtest/${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * The lifecycle most MQTT test files share: one broker for the file, and a stack of cleanups run
 * after each test, newest first. `broker` is filled in before the first test runs.
 */
export function useTestBroker(): { broker: TestBroker; cleanups: (() => Promise<void>)[] } {
  const broker = {} as TestBroker;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    Object.assign(broker, await startTestBroker());
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await broker.stop();
  });
  return { broker, cleanups };
}
