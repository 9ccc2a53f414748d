import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A broker for one benchmark run: the bench's own Mosquitto, or one it was pointed at. */
export interface BenchBroker {
  url: string;
  /** Undefined for a broker the bench did not start (its CPU is then not measured). */
  pid: number | undefined;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 3_000;

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * A Mosquitto of the bench's own on a free loopback port (never the machine's shared broker,
 * which other work may be loading), with persistence off and Mosquitto's default queue limits.
 * `external` uses a running broker instead.
 */
export async function startBenchBroker(external?: string): Promise<BenchBroker> {
  if (external !== undefined) return { url: external, pid: undefined, stop: () => Promise.resolve() };
  const port = await freeLoopbackPort();
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-bench-mosquitto-'));
  const configPath = join(directory, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning'];
  await writeFile(configPath, `${lines.join('\n')}\n`);
  const child = spawn('mosquitto', ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  const spawnError = once(child, 'error').then(([error]) => error as Error);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PW_BENCH_BROKER: mosquitto exited with ${child.exitCode}: ${stderr}`);
    const started = await Promise.race([accepts(port), spawnError]);
    if (started instanceof Error) throw new Error(`PW_BENCH_BROKER: cannot run mosquitto (${started.message}); install it or pass --broker URL`);
    if (started) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`PW_BENCH_BROKER: mosquitto did not listen on ${port} within ${START_TIMEOUT_MS} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
