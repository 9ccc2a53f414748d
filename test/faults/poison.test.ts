import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoMissingReason, startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { startInProcessDaemon } from './harness/in-process.js';
import { Judge } from './harness/judge.js';
import { createRng } from './harness/random.js';
import { faultPrefix, report, scratchDirectory, sleep } from './harness/scenario.js';

const VALID_PUMPS = 12;
/** A valid alarm reaches the station this soon after it was journaled, poison or not. */
const VALID_ALARM_BUDGET_MS = 1_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runPoison(label: string, broker: OwnMosquitto, protocolVersion: 4 | 5, poisonFields: (feed: (pumpId: string, fields?: object) => void) => void) {
  const rng = createRng();
  const scratch = await scratchDirectory(label);
  cleanups.push(() => scratch.remove());
  const prefix = faultPrefix(label);
  const judge = await Judge.start({ url: broker.url, prefix });
  cleanups.push(() => judge.stop());
  const gateway = await startInProcessDaemon({
    gateway: { id: `gw-${label}` },
    mqtt: { url: broker.url, protocolVersion, topicPrefix: prefix, reconnectSeconds: 0.1, keepaliveSeconds: 5, sessionExpirySeconds: 0 },
    journal: { directory: join(scratch.path, 'journal') },
    delivery: { maxAttempts: 3 },
  });
  cleanups.push(() => gateway.daemon.stop());
  await judge.waitForStatus('online', 0, 5_000);

  const began = Date.now();
  poisonFields((pumpId, fields) => gateway.feed(pumpId, fields));
  // Valid alarms right behind the poison, and more while it is being retried.
  for (let pump = 0; pump < VALID_PUMPS; pump++) {
    gateway.feed(`OK-${pump}`, { state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    await sleep(rng.between(0, 150));
  }
  const failure = await judge.waitForEvent((event) => event.condition === 'delivery-failure' && event.channel === 'quarantine', 15_000, 'the delivery-failure alarm');
  const valid = await Promise.all(
    Array.from({ length: VALID_PUMPS }, (_, pump) => judge.waitForEvent((event) => event.pumpId === `OK-${pump}` && event.event === 'raised', 10_000, `OK-${pump} raised`)),
  );
  const journaled = gateway.journaledAt();
  const latencies = valid.map((received) => received.firstAtMs - (journaled.get(received.event.eventId)?.atMs ?? received.firstAtMs));
  return { rng, failure, latencies, quarantineMs: failure.firstAtMs - began, gateway };
}

describe.skipIf(mosquittoMissingReason !== undefined)(`a poison message followed by valid alarms ${mosquittoMissingReason ?? ''}`, () => {
  it('quarantines an alarm the broker refuses (MQTT 5, not authorized) and never holds the others back', async () => {
    const acl = await scratchDirectory('acl');
    cleanups.push(() => acl.remove());
    await writeFile(join(acl.path, 'acl'), 'topic readwrite #\ntopic deny pwfault/+/alarms/POISON-1/#\n', { mode: 0o644 });
    // Started as root, Mosquitto drops to its own user before it reads the ACL file.
    await chmod(acl.path, 0o755);
    const broker = await startMosquitto({ extraConfig: `acl_file ${join(acl.path, 'acl')}` });
    cleanups.push(() => broker.stop());
    const run = await runPoison('poison-acl', broker, 5, (feed) => feed('POISON-1', { state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] }));
    report('poison-refused', run.rng.seed, {
      validAlarms: VALID_PUMPS,
      validLatencyMsMax: Math.max(...run.latencies),
      quarantineMs: run.quarantineMs,
      reasonCode: String(run.failure.event.evidence.reasonCode),
    });
    expect(run.failure.event.evidence).toMatchObject({ failedPumpId: 'POISON-1', reasonCode: 0x87, errorCode: 'PW_MQTT_PUBLISH_FAILED' });
    expect(Math.max(...run.latencies)).toBeLessThanOrEqual(VALID_ALARM_BUDGET_MS);
    expect(run.gateway.daemon.outbox.stats()).toMatchObject({ quarantined: 1 });
  });

  it('quarantines an alarm whose packet makes the broker drop the connection (MQTT 3.1.1, over max_packet_size), and never holds the others back', async () => {
    const broker = await startMosquitto({ extraConfig: 'max_packet_size 2048' });
    cleanups.push(() => broker.stop());
    // 32 alarm codes of 60 characters: evidence far beyond what the broker takes in one packet.
    const codes = ['OCCLUSION_DOWNSTREAM', ...Array.from({ length: 31 }, (_, i) => `VENDOR_DIAGNOSTIC_${String(i).padStart(2, '0')}_${'X'.repeat(38)}`)];
    const run = await runPoison('poison-size', broker, 4, (feed) => feed('POISON-2', { state: 'alarm', pumpAlarms: codes }));
    report('poison-disconnect', run.rng.seed, {
      validAlarms: VALID_PUMPS,
      validLatencyMsMax: Math.max(...run.latencies),
      quarantineMs: run.quarantineMs,
      disconnects: run.gateway.log.withCode('PW_MQTT_DISCONNECTED').length,
    });
    expect(run.failure.event.evidence).toMatchObject({ failedPumpId: 'POISON-2', errorCode: 'PW_MQTT_CONNECTION_LOST', attempts: 3 });
    expect(Math.max(...run.latencies)).toBeLessThanOrEqual(VALID_ALARM_BUDGET_MS);
    expect(run.gateway.daemon.outbox.stats()).toMatchObject({ quarantined: 1 });
  });
});
