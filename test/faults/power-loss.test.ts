import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlarmJournal } from '../../src/alarms/journal.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { captureLog } from '../helpers/log-capture.js';
import { mosquittoMissingReason, startMosquitto } from '../helpers/mosquitto.js';
import { emptyFacts, spawnDaemon, writeDaemonConfig, type DaemonProcess } from './harness/daemon-process.js';
import { Judge } from './harness/judge.js';
import { countFromEnv, createRng, type Rng } from './harness/random.js';
import { baseDaemonSettings, faultPrefix, report, scratchDirectory, sleep, timeLimitMs, verdictFigures } from './harness/scenario.js';
import { TelemetryDriver } from './harness/telemetry-driver.js';

const CUTS = countFromEnv('FAULT_POWER_CUTS', 12);
const IMAGE_BYTES = 16 * 1024 * 1024;
/** Small, so compaction (write, fsync, rename, directory fsync) falls inside the cuts too. */
const JOURNAL_MAX_BYTES = 32 * 1024;
/** Long enough that neither ext4's journal commit nor the kernel's writeback flushes a cycle's dirty pages on its own. */
const MOUNT_OPTIONS = 'loop,commit=60';
/** A cut that never came (its syscall was not reached) ends with a plain kill -9 this long after the journal check. */
const CUT_DEADLINE_MS = 8_000;
const stracePresent = spawnSync('strace', ['-V'], { stdio: 'ignore' }).error === undefined;
const skipReason = mosquittoMissingReason ?? (stracePresent ? undefined : 'strace is not installed (apt-get install strace)');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Cut = 'write' | 'fdatasync' | 'rename';

/**
 * strace stops the daemon with SIGKILL on entry to the chosen syscall on its journal files: after
 * the bytes before it reached the page cache, before they reached the disk. `when` counts per
 * thread, and fdatasync runs on libuv's pool of four, so its counts stay small.
 */
function straceCut(cut: Cut, directory: string, rng: Rng): string[] {
  const when = cut === 'write' ? Math.floor(rng.between(1, 40)) : cut === 'fdatasync' ? Math.floor(rng.between(1, 4)) : 1;
  const syscalls = cut === 'fdatasync' ? 'fdatasync,fsync' : cut === 'rename' ? 'rename,renameat,renameat2' : 'write,pwrite64';
  const paths = ['journal.jsonl', 'journal.jsonl.compact'].flatMap((file) => ['-P', join(directory, file)]);
  return ['strace', '-f', '-qq', '-o', '/dev/null', ...paths, '-e', `trace=${syscalls}`, '-e', `inject=${syscalls}:signal=SIGKILL:when=${when}`];
}

/** strace's own children: killing strace alone would leave its tracee running, detached. */
function killTracees(daemon: DaemonProcess): void {
  const pid = daemon.child.pid;
  if (pid === undefined) return;
  let children: string[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return;
  }
  for (const child of children) {
    try {
      process.kill(Number(child), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${(result.stderr || String(result.error)).trim()}`);
}

describe.skipIf(skipReason !== undefined)(`power cut inside journal writes on a loop-mounted ext4 ${skipReason ?? ''}`, () => {
  it(`recovers every record acknowledged durable after ${CUTS} power cuts`, async (context) => {
    const rng = createRng();
    const scratch = await scratchDirectory('power');
    cleanups.push(() => scratch.remove());
    const mountPoint = join(scratch.path, 'state');
    mkdirSync(mountPoint);
    let image = join(scratch.path, 'disk-0.img');
    run('truncate', ['-s', String(IMAGE_BYTES), image]);
    run('mkfs.ext4', ['-q', '-F', image]);
    const firstMount = spawnSync('mount', ['-o', MOUNT_OPTIONS, image, mountPoint], { encoding: 'utf8' });
    if (firstMount.status !== 0) {
      context.skip(`mount -o loop refused (needs root and a loop device): ${(firstMount.stderr || String(firstMount.error)).trim()}`);
      return;
    }
    cleanups.push(() => void spawnSync('umount', [mountPoint]));
    const journalDirectory = join(mountPoint, 'journal');

    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    // Every other life the broker is out of reach: nothing is delivered, so every event acknowledged
    // durable must come back from the disk itself, not from the broker having taken it in time.
    const link = await startFaultProxy(broker.port);
    cleanups.push(() => link.stop());
    const prefix = faultPrefix('power');
    const judge = await Judge.start({ url: broker.url, prefix, ackFraction: 0.2, rng });
    cleanups.push(() => judge.stop());
    const pumpIds = Array.from({ length: 16 }, (_, i) => `W-${String(i + 1).padStart(2, '0')}`);
    const driver = new TelemetryDriver({ url: broker.url, topicRoot: `${prefix}-pumps`, pumpIds, intervalMs: 40, toggleProbability: 0.05, rng });
    driver.start();
    cleanups.push(() => driver.stop());
    const settings = baseDaemonSettings({ url: link.url, prefix, journalDirectory });
    const configPath = await writeDaemonConfig(scratch.path, { ...settings, journal: { directory: journalDirectory, maxBytes: JOURNAL_MAX_BYTES } });

    const facts = emptyFacts();
    const cuts: Record<Cut | 'deadline', number> = { write: 0, fdatasync: 0, rename: 0, deadline: 0 };
    const unaccounted: string[] = [];
    let tornTailBytes = 0;
    let corruptRecords = 0;
    let recoveredUndelivered = 0;
    let recoveredOffline = 0;
    for (let cycle = 0; cycle < CUTS; cycle++) {
      const cut: Cut = cycle % 8 === 7 ? 'rename' : rng.pick(['write', 'fdatasync'] as const);
      const offline = cycle % 2 === 0;
      link.set(offline ? 'refuse' : 'pass');
      const daemon = spawnDaemon(configPath, facts, undefined, straceCut(cut, journalDirectory, rng));
      // Counted from the journal check, not the spawn: on a busy machine node's start-up alone takes seconds.
      await Promise.race([daemon.journalChecked, daemon.exited.catch(() => undefined)]);
      const deadline = setTimeout(() => {
        cuts.deadline++;
        killTracees(daemon);
      }, CUT_DEADLINE_MS);
      await daemon.exited.catch(() => undefined);
      clearTimeout(deadline);
      cuts[cut]++;
      // The power cut: the disk as it stands now, without the page cache the dead mount still holds.
      const next = join(scratch.path, `disk-${cycle + 1}.img`);
      copyFileSync(image, next);
      run('umount', [mountPoint]);
      rmSync(image);
      image = next;
      // ext4 replays its own journal here, as after a real power loss.
      run('mount', ['-o', MOUNT_OPTIONS, image, mountPoint]);
      // Anything the broker took before the cut is on its way to the judge; give it a moment.
      await sleep(500);
      const journal = AlarmJournal.open({ directory: journalDirectory, maxBytes: JOURNAL_MAX_BYTES, logger: captureLog('warn').logger });
      const recovered = new Set(journal.undelivered().map((entry) => entry.event.eventId));
      tornTailBytes += journal.integrity.tornTailBytes;
      corruptRecords += journal.integrity.corruptRecords;
      recoveredUndelivered += recovered.size;
      journal.close();
      // Acknowledged durable means: delivered already, or still in the journal to be re-sent.
      for (const intent of facts.intents.values()) {
        if (intent.durable && !judge.received.has(intent.eventId) && !recovered.has(intent.eventId)) unaccounted.push(`cut ${cycle} (${cut}): ${intent.eventId}`);
      }
      if (offline) recoveredOffline += recovered.size;
    }

    link.set('pass');
    driver.settle();
    const last = spawnDaemon(configPath, facts);
    cleanups.push(() => last.kill('SIGKILL'));
    await last.started;
    const missing = await judge.waitForAll(facts.intents.values(), 60_000);
    await last.kill('SIGTERM');
    const verdict = judge.verdict(facts.intents.values());
    report('power-loss', rng.seed, {
      cuts: CUTS,
      ...cuts,
      ...verdictFigures(verdict),
      recoveredUndelivered,
      recoveredOffline,
      tornTailBytes,
      corruptRecords,
      unaccounted: unaccounted.length,
      redrives: facts.redrives,
    });
    expect(unaccounted).toEqual([]);
    expect(missing).toEqual([]);
    expect(verdict.lost).toEqual([]);
    expect(verdict.divergent).toEqual([]);
    expect(verdict.forks).toEqual([]);
    expect(corruptRecords).toBe(0);
    // The run proves something only if alarms flowed, and some cuts left work for the journal to hand back.
    expect(verdict.expected).toBeGreaterThan(CUTS);
    expect(recoveredOffline).toBeGreaterThan(0);
  }, timeLimitMs(CUTS, 20_000));
});
