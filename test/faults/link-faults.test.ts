import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { emptyFacts, spawnDaemon, writeDaemonConfig } from './harness/daemon-process.js';
import { Judge } from './harness/judge.js';
import { injectLinkFault, LINK_FAULTS, type LinkFault } from './harness/link-faults.js';
import { countFromEnv, createRng } from './harness/random.js';
import { baseDaemonSettings, FAULT_KEEPALIVE_SECONDS, faultPrefix, report, scratchDirectory, sleep, timeLimitMs, verdictFigures } from './harness/scenario.js';
import { TelemetryDriver } from './harness/telemetry-driver.js';

const FAULTS = countFromEnv('FAULT_LINK_FAULTS', 12);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(mosquittoMissingReason !== undefined)(`a TCP fault proxy between daemon and broker ${mosquittoMissingReason ?? ''}`, () => {
  it(`loses no journaled alarm while the link is reset, flapped, refused and blackholed ${FAULTS} times`, async () => {
    const rng = createRng();
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const link = await startFaultProxy(broker.port);
    cleanups.push(() => link.stop());
    const scratch = await scratchDirectory('link');
    cleanups.push(() => scratch.remove());
    const prefix = faultPrefix('link');
    const judge = await Judge.start({ url: broker.url, prefix, ackFraction: 0.2, rng });
    cleanups.push(() => judge.stop());
    const pumpIds = Array.from({ length: 20 }, (_, i) => `L-${String(i + 1).padStart(2, '0')}`);
    const driver = new TelemetryDriver({ url: broker.url, topicRoot: `${prefix}-pumps`, pumpIds, intervalMs: 100, toggleProbability: 0.03, rng });
    driver.start();
    cleanups.push(() => driver.stop());
    const settings = baseDaemonSettings({ url: link.url, prefix, journalDirectory: `${scratch.path}/journal` });
    const configPath = await writeDaemonConfig(scratch.path, settings);
    const facts = emptyFacts();
    const daemon = spawnDaemon(configPath, facts);
    cleanups.push(() => daemon.kill('SIGKILL'));
    await daemon.started;
    await sleep(1_500);

    const injected: Record<LinkFault, number> = { reset: 0, flap: 0, refuse: 0, blackhole: 0 };
    for (let i = 0; i < FAULTS; i++) {
      const fault = LINK_FAULTS[i % LINK_FAULTS.length]!;
      injected[fault]++;
      await injectLinkFault(fault, link, rng, FAULT_KEEPALIVE_SECONDS);
      await sleep(rng.between(1_000, 2_000));
    }
    driver.settle();
    const missing = await judge.waitForAll(facts.intents.values(), 40_000);
    const verdict = judge.verdict(facts.intents.values());
    report('link-faults', rng.seed, {
      faults: FAULTS,
      ...injected,
      ...verdictFigures(verdict),
      nonDurable: [...facts.intents.values()].filter((intent) => !intent.durable).length,
      connections: link.acceptedCount,
      disconnectsSeen: facts.codes.get('PW_MQTT_DISCONNECTED') ?? 0,
    });
    expect(missing).toEqual([]);
    expect(verdict.lost).toEqual([]);
    expect(verdict.divergent).toEqual([]);
    expect(verdict.forks).toEqual([]);
    expect(facts.quarantined).toBe(0);
  }, timeLimitMs(FAULTS, 12_000));
});
