import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why Mosquitto-only tests are skipped here, or undefined when the binary is installed. */
export const mosquittoMissingReason: string | undefined =
  spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined ? undefined : 'mosquitto is not installed (apt-get install mosquitto)';

export interface OwnMosquitto {
  url: string;
  port: number;
  /** The running broker's process id (benchmarks read its CPU time), undefined while it is down. */
  readonly pid: number | undefined;
  /** Stops the broker; with `persistence false` every retained message and session is gone. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port, as a broker restart looks to clients. */
  restart(): Promise<void>;
  /**
   * Takes the broker away for `durationMs`, then starts it again on the same port: SIGTERM (it
   * saves its persistence file first) or SIGKILL (it loses what it had not saved).
   */
  outage(durationMs: number, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
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

async function stopProcess(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * A Mosquitto of the test's (or benchmark's) own on a free loopback port, never the machine's broker on 1883, so
 * tests may stop and restart it. Persistence is off unless asked for: a restart then loses
 * retained messages and sessions, which is exactly what the reconnect tests need.
 */
export async function startMosquitto(options: { extraConfig?: string; persistence?: boolean } = {}): Promise<OwnMosquitto> {
  const port = await freeLoopbackPort();
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-mosquitto-'));
  const configPath = join(directory, 'mosquitto.conf');
  // Started as root, Mosquitto drops to its own user: it must be able to write the persistence file.
  if (options.persistence === true) await chmod(directory, 0o777);
  const persistence = options.persistence === true ? ['persistence true', `persistence_location ${directory}/`, 'autosave_interval 3600'] : ['persistence false'];
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...persistence, 'log_dest stderr', 'log_type error', 'log_type warning'];
  await writeFile(configPath, `${lines.join('\n')}\n${options.extraConfig ?? ''}\n`);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const spawned = spawn('mosquitto', ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawned;
    let stderr = '';
    spawned.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (spawned.exitCode !== null) throw new Error(`mosquitto exited with ${spawned.exitCode}: ${stderr}`);
      if (await accepts(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stopProcess(spawned);
    throw new Error(`mosquitto did not listen on ${port} within ${START_TIMEOUT_MS} ms: ${stderr}`);
  };

  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    async stop() {
      if (child !== undefined) await stopProcess(child);
      await rm(directory, { recursive: true, force: true });
    },
    async restart() {
      if (child !== undefined) await stopProcess(child);
      await start();
    },
    async outage(durationMs, signal = 'SIGTERM') {
      if (child !== undefined) await stopProcess(child, signal);
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      await start();
    },
  };
}
