import { connect } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleStation } from '../../src/station/console-station.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { emptyFacts, spawnDaemon, writeDaemonConfig, type DaemonProcess } from './harness/daemon-process.js';
import { Judge } from './harness/judge.js';
import { createRng } from './harness/random.js';
import { baseDaemonSettings, faultPrefix, report, scratchDirectory, sleep } from './harness/scenario.js';

const KEEPALIVE_SECONDS = 5;
/** What stations are promised: a gateway that dies is shown offline within 1.5 × keepalive. */
const OFFLINE_BUDGET_MS = 1.5 * KEEPALIVE_SECONDS * 1000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(mosquittoMissingReason !== undefined)(`a gateway that dies is shown offline to stations ${mosquittoMissingReason ?? ''}`, () => {
  it(`within 1.5 × keepalive (${OFFLINE_BUDGET_MS} ms) by the reference station: power loss, a frozen process, kill -9`, async () => {
    const rng = createRng();
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const link = await startFaultProxy(broker.port);
    cleanups.push(() => link.stop());
    const scratch = await scratchDirectory('loss');
    cleanups.push(() => scratch.remove());
    const prefix = faultPrefix('loss');
    // The judge records when the broker fires the Last Will; the station shows what a nurse sees.
    const judge = await Judge.start({ url: broker.url, prefix });
    cleanups.push(() => judge.stop());
    const stationLines: { line: string; atMs: number }[] = [];
    const station = new ConsoleStation({ url: broker.url, protocolVersion: 5, prefix, connect, print: (line) => stationLines.push({ line, atMs: Date.now() }) });
    await station.start();
    cleanups.push(() => station.stop());
    const settings = baseDaemonSettings({ url: link.url, prefix, journalDirectory: `${scratch.path}/journal` });
    const configPath = await writeDaemonConfig(scratch.path, { ...settings, mqtt: { ...(settings.mqtt as object), keepaliveSeconds: KEEPALIVE_SECONDS } });
    const facts = emptyFacts();
    let daemon: DaemonProcess | undefined;
    cleanups.push(async () => {
      daemon?.child.kill('SIGCONT');
      await daemon?.kill('SIGKILL');
    });

    let recoveredAt = 0;
    const online = async () => {
      daemon ??= spawnDaemon(configPath, facts);
      await judge.waitForStatus('online', recoveredAt, 15_000);
      await expect.poll(() => station.gatewayState, { timeout: 5_000 }).toBe('online');
      // Die at any point of the heartbeat and keepalive cycle.
      await sleep(rng.between(500, KEEPALIVE_SECONDS * 1000));
    };
    const shownOffline = async (fault: () => void): Promise<{ stationMs: number; lastWillMs: number }> => {
      const began = Date.now();
      fault();
      await expect.poll(() => station.gatewayState, { timeout: 3 * OFFLINE_BUDGET_MS, interval: 50 }).toBe('offline');
      const stationMs = (stationLines.findLast((entry) => entry.line.includes('offline'))?.atMs ?? Date.now()) - began;
      const lastWill = await judge.waitForStatus('offline', began, 4 * OFFLINE_BUDGET_MS);
      return { stationMs, lastWillMs: lastWill.atMs - began };
    };

    await online();
    // Power loss or a pulled cable: no FIN, no RST; the broker has only its keepalive check.
    const powerLoss = await shownOffline(() => link.set('blackhole'));
    recoveredAt = Date.now();
    link.set('pass');
    link.reset();

    await online();
    // A frozen process (SIGSTOP): connected, but silent.
    const frozen = await shownOffline(() => daemon!.child.kill('SIGSTOP'));
    recoveredAt = Date.now();
    daemon!.child.kill('SIGCONT');

    await online();
    // kill -9: the kernel closes the socket, so the broker hears of it at once.
    const killed = await shownOffline(() => daemon!.child.kill('SIGKILL'));
    await daemon!.exited.catch(() => undefined);
    daemon = undefined;

    report('gateway-loss', rng.seed, {
      keepaliveSeconds: KEEPALIVE_SECONDS,
      budgetMs: OFFLINE_BUDGET_MS,
      powerLossStationMs: powerLoss.stationMs,
      powerLossLastWillMs: powerLoss.lastWillMs,
      frozenStationMs: frozen.stationMs,
      frozenLastWillMs: frozen.lastWillMs,
      killedStationMs: killed.stationMs,
      killedLastWillMs: killed.lastWillMs,
    });
    for (const loss of [powerLoss, frozen, killed]) expect(loss.stationMs).toBeLessThanOrEqual(OFFLINE_BUDGET_MS);
  }, 180_000);
});
