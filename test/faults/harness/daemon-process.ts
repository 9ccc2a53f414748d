import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'pumpwatch.js');

/** What the daemon said it journaled: the ground truth a fault test holds the recorder to. */
export interface IntentRecord {
  eventId: string;
  alarmId: string;
  seq: number;
  event: string;
  condition: string;
  pumpId: string;
  durable: boolean;
  /** Harness clock when the log line was read. */
  loggedAtMs: number;
}

/** The journal and delivery facts a run reports, summed over every daemon process. */
export interface DaemonFacts {
  intents: Map<string, IntentRecord>;
  starts: number;
  tornTails: number;
  corruptRecords: number;
  redrives: number;
  quarantined: number;
  /** Log lines by code, for checks that need more. */
  codes: Map<string, number>;
}

export function emptyFacts(): DaemonFacts {
  return { intents: new Map(), starts: 0, tornTails: 0, corruptRecords: 0, redrives: 0, quarantined: 0, codes: new Map() };
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** The last log lines and stderr, for a failing test to print. */
  diagnostics(): string;
  readonly exited: Promise<void>;
  /** Resolves once the daemon logged PW_STARTED. */
  readonly started: Promise<void>;
  /** Resolves once the daemon checked its journal (PW_JOURNAL_OPENED, or PW_JOURNAL_OPEN when it could not). */
  readonly journalChecked: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Writes the config for a daemon child; `settings` is merged over the fault tests' defaults. */
export async function writeDaemonConfig(directory: string, settings: Record<string, unknown>): Promise<string> {
  const path = join(directory, 'pumpwatch.yaml');
  await writeFile(path, stringify(settings));
  return path;
}

let spawned = 0;

/**
 * The real daemon, `pumpwatch run --config FILE` over the built dist/, as systemd would start it.
 * Its JSON log lines are read as they come: a `PW_ALARM_EVENT` line with `durable: true` is written
 * only after the event was fsync'd to the journal, so it is a promise the recorder must see kept.
 * The log goes to a file the harness tails, not a pipe: a busy test process must never make the
 * daemon wait on a full pipe. `wrapper` runs it under another command (strace for syscall faults).
 */
export function spawnDaemon(configPath: string, facts: DaemonFacts, onLine?: (line: Record<string, unknown>) => void, wrapper: readonly string[] = []): DaemonProcess {
  const logPath = `${configPath}.${process.pid}.${++spawned}.log`;
  const logFd = openSync(logPath, 'w');
  const command = [...wrapper, process.execPath, BIN, 'run', '--config', configPath];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', logFd, 'pipe'], cwd: ROOT });
  closeSync(logFd);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString('utf8');
  });
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let markJournalChecked: () => void = () => undefined;
  const journalChecked = new Promise<void>((resolve) => (markJournalChecked = resolve));
  const recent: string[] = [];
  const onText = (text: string) => {
    recent.push(text.slice(0, 400));
    if (recent.length > 60) recent.shift();
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const code = typeof line.code === 'string' ? line.code : '';
    facts.codes.set(code, (facts.codes.get(code) ?? 0) + 1);
    switch (code) {
      case 'PW_ALARM_EVENT':
        facts.intents.set(String(line.eventId), {
          eventId: String(line.eventId),
          alarmId: String(line.alarmId),
          seq: Number(line.seq),
          event: String(line.event),
          condition: String(line.condition),
          pumpId: String(line.pumpId),
          durable: line.durable === true,
          loggedAtMs: Date.now(),
        });
        break;
      case 'PW_STARTED':
        facts.starts++;
        markStarted();
        break;
      case 'PW_JOURNAL_OPENED':
      case 'PW_JOURNAL_OPEN':
        markJournalChecked();
        break;
      case 'PW_JOURNAL_TORN_TAIL':
        facts.tornTails++;
        break;
      case 'PW_JOURNAL_CORRUPT':
        facts.corruptRecords += Number(line.corruptRecords);
        break;
      case 'PW_OUTBOX_REDRIVE':
        facts.redrives++;
        break;
      case 'PW_ALARM_QUARANTINED':
        facts.quarantined++;
        break;
    }
    onLine?.(line);
  };
  const readFd = openSync(logPath, 'r');
  const chunk = Buffer.alloc(65_536);
  let offset = 0;
  let partial = '';
  const tail = () => {
    for (;;) {
      const read = readSync(readFd, chunk, 0, chunk.length, offset);
      if (read <= 0) return;
      offset += read;
      const lines = (partial + chunk.toString('utf8', 0, read)).split('\n');
      partial = lines.pop()!;
      for (const text of lines) onText(text);
    }
  };
  const tailer = setInterval(tail, 20);
  const exited = once(child, 'exit').then(() => {
    if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`daemon exited with ${child.exitCode}: ${stderr}`);
  });
  // The last lines after a kill must be read before anyone looks at the facts.
  const drained = exited
    .catch(() => undefined)
    .then(() => {
      clearInterval(tailer);
      tail();
      closeSync(readFd);
      unlinkSync(logPath);
    });
  return {
    child,
    diagnostics: () =>
      [`exit code ${child.exitCode ?? 'none'}, signal ${child.signalCode ?? 'none'}`, `stderr: ${stderr || '(empty)'}`, 'last log lines:', ...recent].join('\n'),
    exited: exited.then(() => drained),
    started,
    journalChecked,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited.catch(() => undefined);
      await drained;
    },
  };
}
