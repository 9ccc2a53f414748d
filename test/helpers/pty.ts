import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The socat executable on PATH, or undefined: pty tests skip without it (CI installs it). */
export function findSocat(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'socat');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface PtyPair {
  /** The pump's end: what the test writes here arrives at `gatewayPath`. */
  readonly pumpPath: string;
  /** The end pumpwatch opens, as it would open /dev/ttyUSB0. */
  readonly gatewayPath: string;
  /** Writes to the pump end; resolves when the kernel has taken every byte. */
  writeFromPump(data: string | Uint8Array): Promise<void>;
  /** Ends the pair. SIGTERM lets socat remove its links; SIGKILL leaves them dangling, like a yanked adapter. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

const READY_LINE = 'starting data transfer loop';

async function linksExist(paths: readonly string[]): Promise<boolean> {
  try {
    // stat follows the link, so this also proves the pty behind it exists.
    await Promise.all(paths.map((path) => stat(path)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `socat -d -d pty,raw,echo=0,link=DIR/pump pty,raw,echo=0,link=DIR/gateway` and waits until
 * socat says it is relaying and both links resolve. Starting a new pair in the same `dir` after
 * `stop()` gives the same paths backed by new ptys: a device that vanished and came back.
 */
export async function startPtyPair(socat: string, dir: string, timeoutMs = 5000): Promise<PtyPair> {
  const pumpPath = join(dir, 'pump');
  const gatewayPath = join(dir, 'gateway');
  const child: ChildProcess = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${pumpPath}`, `pty,raw,echo=0,link=${gatewayPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
  });

  const deadline = Date.now() + timeoutMs;
  while (!(stderr.includes(READY_LINE) && (await linksExist([pumpPath, gatewayPath])))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not set up a pty pair in ${dir}${exited ? ' (it exited)' : ''}:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  let pumpEnd: FileHandle | undefined;
  return {
    pumpPath,
    gatewayPath,
    async writeFromPump(data) {
      pumpEnd ??= await open(pumpPath, 'w');
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let offset = 0; offset < bytes.length; ) {
        const { bytesWritten } = await pumpEnd.write(bytes, offset);
        offset += bytesWritten;
      }
    },
    async stop(signal = 'SIGTERM') {
      await pumpEnd?.close();
      pumpEnd = undefined;
      if (!exited) child.kill(signal);
      await exit;
    },
  };
}
