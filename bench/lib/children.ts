import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const STOP_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 180_000;

/** A bench child process (publisher or subscriber) running TypeScript through tsx. */
export interface BenchChild<Message extends { type: string }> {
  readonly pid: number;
  readonly process: ChildProcess;
  /** The latest message of each type the child sent. */
  latest<Type extends Message['type']>(type: Type): Extract<Message, { type: Type }> | undefined;
  send(message: unknown): void;
  stop(): Promise<void>;
}

export async function forkChild<Message extends { type: string }>(script: string, config: unknown): Promise<BenchChild<Message>> {
  const child = fork(join(import.meta.dirname, script), [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const latest = new Map<string, Message>();
  child.on('message', (message: Message) => latest.set(message.type, message));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`PW_BENCH_CHILD: ${script} not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`PW_BENCH_CHILD: ${script} exited with ${code} before it was ready`));
    });
    child.on('message', (message: Message) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    pid: child.pid!,
    process: child,
    latest: (type) => latest.get(type) as never,
    send(message) {
      if (child.connected) child.send(message as never);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
