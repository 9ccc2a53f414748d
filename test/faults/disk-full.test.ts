import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlarmJournal } from '../../src/alarms/journal.js';
import { captureLog } from '../helpers/log-capture.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { fillUp, mountTmpfs, unmountLazily } from './harness/disk.js';
import { startInProcessDaemon } from './harness/in-process.js';
import { Judge } from './harness/judge.js';
import { createRng } from './harness/random.js';
import { faultPrefix, report, scratchDirectory } from './harness/scenario.js';

const TMPFS_BYTES = 64 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(mosquittoMissingReason !== undefined)(`the journal on a tiny tmpfs that fills up ${mosquittoMissingReason ?? ''}`, () => {
  it('keeps alarms going out, flagged non-durable, with a storage-failure alarm, and becomes durable again when space returns', async (context) => {
    const rng = createRng();
    const scratch = await scratchDirectory('disk');
    cleanups.push(() => scratch.remove());
    const mountPoint = join(scratch.path, 'state');
    mkdirSync(mountPoint);
    const refused = mountTmpfs(mountPoint, TMPFS_BYTES);
    if (refused !== undefined) {
      context.skip(refused);
      return;
    }
    cleanups.push(() => unmountLazily(mountPoint));
    const journalDirectory = join(mountPoint, 'journal');

    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const prefix = faultPrefix('disk');
    const judge = await Judge.start({ url: broker.url, prefix });
    cleanups.push(() => judge.stop());
    const gateway = await startInProcessDaemon({
      gateway: { id: 'gw-disk' },
      mqtt: { url: broker.url, protocolVersion: 5, topicPrefix: prefix, reconnectSeconds: 0.1, sessionExpirySeconds: 0 },
      journal: { directory: journalDirectory },
    });
    cleanups.push(() => gateway.daemon.stop());
    const raise = (pumpId: string) => gateway.feed(pumpId, { state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    const raisedAt = (pumpId: string) => judge.waitForEvent((event) => event.pumpId === pumpId && event.event === 'raised', 10_000, `${pumpId} raised`);

    raise('BEFORE-1');
    expect((await raisedAt('BEFORE-1')).event.durable).toBeUndefined();

    const filler = fillUp(mountPoint);
    const fullAt = Date.now();
    const whileFull = Array.from({ length: 8 }, (_, i) => `FULL-${i}`);
    for (const pumpId of whileFull) raise(pumpId);
    const sent = await Promise.all(whileFull.map(raisedAt));
    const storageAlarm = await judge.waitForEvent((event) => event.condition === 'storage-failure' && event.event === 'raised', 10_000, 'storage-failure raised');

    unlinkSync(filler);
    const freedAt = Date.now();
    const storageEnded = await judge.waitForEvent((event) => event.condition === 'storage-failure' && event.event === 'ended', 15_000, 'storage-failure ended');
    raise('AFTER-1');
    const after = await raisedAt('AFTER-1');
    await gateway.daemon.stop();

    const reopened = AlarmJournal.open({ directory: journalDirectory, maxBytes: 8_388_608, logger: captureLog().logger });
    const restoredPumps = reopened.restoredAlarms().map((alarm) => alarm.snapshot.pumpId);
    reopened.close();
    report('disk-full', rng.seed, {
      tmpfsBytes: TMPFS_BYTES,
      sentNonDurable: sent.filter((received) => received.event.durable === false).length,
      storageAlarmMs: storageAlarm.firstAtMs - fullAt,
      durableAgainMs: storageEnded.firstAtMs - freedAt,
      restoredAfterRecovery: restoredPumps.length,
    });
    expect(sent.map((received) => received.event.durable)).toEqual(whileFull.map(() => false));
    expect(storageAlarm.event.evidence).toMatchObject({ problem: 'full' });
    expect(after.event.durable).toBeUndefined();
    // What went out while the disk was full was written once space came back.
    expect(restoredPumps).toEqual(expect.arrayContaining(['BEFORE-1', ...whileFull, 'AFTER-1']));
  }, 120_000);
});
