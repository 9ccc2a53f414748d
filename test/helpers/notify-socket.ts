import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Receives sd_notify datagrams as PID 1 would, so the real `systemd-notify` binary can be tested.
 * Node has no AF_UNIX datagram sockets, so a few lines of Python hold the socket. It closes the
 * file descriptor that BARRIER=1 passes, which is how systemd confirms receipt.
 */
const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("listening"), flush=True)
while True:
    msg, ancillary, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(64))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps(msg.decode("utf-8", "replace")), flush=True)
`;

function works(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/** Why the real-binary notify tests are skipped here, or undefined when they can run. */
export const notifySocketMissingReason: string | undefined = !works('systemd-notify', ['--version'])
  ? 'systemd-notify is not installed'
  : !works('python3', ['-c', 'import socket; socket.AF_UNIX'])
    ? 'python3 is not installed'
    : undefined;

export interface NotifySocket {
  path: string;
  /** Every datagram received so far, e.g. "READY=1\nSTATUS=…". */
  readonly messages: readonly string[];
  waitFor(predicate: (message: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startNotifySocket(): Promise<NotifySocket> {
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-notify-'));
  const path = join(directory, 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  const lines = createInterface({ input: child.stdout! });
  let listening: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  lines.on('line', (line) => {
    const message = JSON.parse(line) as string;
    if (message === 'listening') {
      listening();
      return;
    }
    messages.push(message);
    for (const waiter of waiters) waiter();
  });
  await ready;
  return {
    path,
    messages,
    waitFor(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching notify message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
