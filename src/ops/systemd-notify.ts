import { execFile as execFileFromNode } from 'node:child_process';
import type { Logger } from '../log.js';

/**
 * `child_process.execFile`, narrowed to what the notifier uses, so tests can record calls or run
 * a stub binary instead.
 */
export type ExecFile = (
  file: string,
  args: readonly string[],
  options: { timeout: number; env: NodeJS.ProcessEnv },
  callback: (error: Error | null) => void,
) => void;

export const nodeExecFile: ExecFile = (file, args, options, callback) => {
  execFileFromNode(file, args, options, (error) => callback(error));
};

/**
 * The service manager's side of our lifecycle (sd_notify(3) messages). Every method resolves
 * when the message was handed over or failed; failures are logged, never thrown, because a
 * daemon must keep watching pumps even when systemd cannot hear it.
 */
export interface SystemdNotifier {
  /** False when no service manager listens ($NOTIFY_SOCKET unset): every call is a no-op. */
  readonly active: boolean;
  /**
   * Half of systemd's `WatchdogSec=` (sd_watchdog_enabled(3) semantics), or undefined when the
   * watchdog is off or meant for another process.
   */
  readonly watchdogIntervalMs: number | undefined;
  ready(status: string): Promise<void>;
  status(status: string): Promise<void>;
  reloading(status: string): Promise<void>;
  stopping(status: string): Promise<void>;
  /**
   * One `WATCHDOG=1`; resolves true once sent. Dropped (false) while an earlier message is still
   * being sent, and false when the command failed.
   */
  watchdog(): Promise<boolean>;
}

export interface CliNotifierOptions {
  env: NodeJS.ProcessEnv;
  /** Our own pid, to honour `WATCHDOG_PID`. */
  pid: number;
  execFile?: ExecFile;
  logger: Logger;
  /** Name or path of the CLI; `systemd-notify` is looked up on the PATH of `env`. */
  command?: string;
}

export const SYSTEMD_NOTIFY_COMMAND = 'systemd-notify';
/**
 * systemd-notify waits up to 5 s for PID 1 to confirm the message (BARRIER=1, systemd ≥ 246);
 * past twice that the child is stuck and is killed.
 */
const EXEC_TIMEOUT_MS = 10_000;
/** STATUS= is shown by `systemctl status`; keep it one readable line. */
const MAX_STATUS_CHARS = 200;

function oneLine(status: string): string {
  const flat = status.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_STATUS_CHARS ? `${flat.slice(0, MAX_STATUS_CHARS - 1)}…` : flat;
}

/** sd_watchdog_enabled(3): WATCHDOG_USEC, and WATCHDOG_PID when set must be ours. */
export function watchdogIntervalFromEnv(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

const noOpNotifier: SystemdNotifier = {
  active: false,
  watchdogIntervalMs: undefined,
  ready: () => Promise.resolve(),
  status: () => Promise.resolve(),
  reloading: () => Promise.resolve(),
  stopping: () => Promise.resolve(),
  watchdog: () => Promise.resolve(false),
};

/**
 * Talks to systemd through the `systemd-notify` command, because Node cannot send AF_UNIX
 * datagrams and native add-ons do not build on the gateways. The sender is a child process, so
 * the unit needs `NotifyAccess=all`. Messages go out one at a time in order; a watchdog ping that
 * finds the previous message still in flight is dropped rather than queued, so a hung child can
 * never pile up processes.
 */
export function createSystemdNotifier(options: CliNotifierOptions): SystemdNotifier {
  const { env, logger } = options;
  if (env.NOTIFY_SOCKET === undefined || env.NOTIFY_SOCKET === '') return noOpNotifier;
  const execFile = options.execFile ?? nodeExecFile;
  const command = options.command ?? SYSTEMD_NOTIFY_COMMAND;
  const log = logger.child({ component: 'systemd-notify' });
  let inFlight = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let lastFailure = '';

  const run = (assignments: readonly string[]): Promise<boolean> =>
    new Promise((resolve) => {
      execFile(command, assignments, { timeout: EXEC_TIMEOUT_MS, env }, (error) => {
        if (error !== null) {
          // One line per distinct failure: a missing binary would otherwise log every ping.
          if (error.message !== lastFailure) {
            log.warn({ code: 'PW_SYSTEMD_NOTIFY_FAILED', message: assignments[0], error: error.message }, 'systemd-notify failed');
          }
          lastFailure = error.message;
          resolve(false);
          return;
        }
        lastFailure = '';
        resolve(true);
      });
    });

  const send = (assignments: readonly string[]): Promise<boolean> => {
    inFlight++;
    const sent = queue.then(() => run(assignments)).finally(() => inFlight--);
    queue = sent;
    return sent;
  };
  const sendQuietly = async (assignments: readonly string[]): Promise<void> => {
    await send(assignments);
  };

  return {
    active: true,
    watchdogIntervalMs: watchdogIntervalFromEnv(env, options.pid),
    ready: (status) => sendQuietly(['READY=1', `STATUS=${oneLine(status)}`]),
    status: (status) => sendQuietly([`STATUS=${oneLine(status)}`]),
    reloading: (status) => sendQuietly(['RELOADING=1', `STATUS=${oneLine(status)}`]),
    stopping: (status) => sendQuietly(['STOPPING=1', `STATUS=${oneLine(status)}`]),
    watchdog: () => (inFlight > 0 ? Promise.resolve(false) : send(['WATCHDOG=1'])),
  };
}
