import type { Readable, Writable } from 'node:stream';

/** Everything a command touches of its process, injected so tests can run commands in-process. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM in the real process). */
  stopSignal: AbortSignal;
  /**
   * Subscribes to reload requests (SIGHUP in the real process); returns the unsubscriber. Only
   * commands that reload listen, so SIGHUP keeps its default (terminate) everywhere else.
   */
  onReload?: (listener: () => void) => () => void;
}

/** Documented exit codes (README, "Exit codes"). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  configInvalid: 3,
  inputUnreadable: 4,
} as const;

export function writeLine(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}
