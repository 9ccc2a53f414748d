import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from './mosquitto.js';

/** How the daemon is run: from source through tsx (no build needed) or the built `bin/pumpwatch.js`. */
export type DaemonRuntime = 'tsx' | 'dist';

export interface DaemonProcessOptions {
  brokerUrl: string;
  gatewayId: string;
  topicPrefix: string;
  telemetryFilter: string;
  runtime: DaemonRuntime;
  /** Extra configuration merged at the top level (e.g. `ingest`). */
  extraConfig?: Record<string, unknown>;
  /** Longer than pumpwatch's 15 s default where the bench freezes the daemon for a while (capacity's drains). */
  keepaliveSeconds?: number;
}

/** The real `pumpwatch run` in a process of its own, watched through its ops HTTP endpoint. */
export interface DaemonProcess {
  readonly pid: number;
  /** The ops HTTP port (metrics, health, the ward page). */
  readonly port: number;
  /** From spawning the process to the first 200 from /readyz. */
  readonly startupMs: number;
  readonly logPath: string;
  metrics(): Promise<MetricsText>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const repoRoot = join(import.meta.dirname, '..', '..');

/** A Prometheus exposition, read by metric name and label values. */
export interface MetricsText {
  text: string;
  /** Sum over every series of `name` whose labels include all of `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

export function parseMetrics(text: string): MetricsText {
  const series: { name: string; labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    series.push({ name: match[1]!, labels: match[2] ?? '', value: Number(match[3]) });
  }
  return {
    text,
    sum(name, labels = {}) {
      let total = 0;
      for (const entry of series) {
        if (entry.name !== name) continue;
        if (Object.entries(labels).every(([key, value]) => entry.labels.includes(`${key}="${value}"`))) total += entry.value;
      }
      return total;
    },
  };
}

async function ready(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function startDaemonProcess(options: DaemonProcessOptions): Promise<DaemonProcess> {
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-bench-daemon-'));
  const port = await freeLoopbackPort();
  const config = {
    gateway: { id: options.gatewayId, site: 'bench', ward: 'ward' },
    mqtt: {
      url: options.brokerUrl,
      clientId: `pw-${options.gatewayId}`,
      topicPrefix: options.topicPrefix,
      sessionExpirySeconds: 0,
      ...(options.keepaliveSeconds === undefined ? {} : { keepaliveSeconds: options.keepaliveSeconds }),
    },
    sources: { mqtt: { topics: [options.telemetryFilter], qos: 0 } },
    journal: { directory: join(directory, 'journal') },
    ops: { http: { port } },
    // Above one sample a second per channel the bench's pumps replay simulated time faster than the
    // wall clock; on a ward that would be a clock fault, here it is only the load generator.
    time: { maxSkewSeconds: 86_400 },
    ...options.extraConfig,
  };
  const configPath = join(directory, 'pumpwatch.yaml');
  // JSON is YAML.
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const logPath = join(directory, 'pumpwatch.log');
  const log = createWriteStream(logPath);
  const entry = options.runtime === 'tsx' ? ['--import', 'tsx', join(import.meta.dirname, 'daemon-main.ts')] : [join(repoRoot, 'bin', 'pumpwatch.js')];
  // The first fetch loads undici (≈ 100 ms): do it before the clock starts, so start-up is the daemon's own.
  await ready(port);
  // e.g. BENCH_DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=out/profiles" to profile the daemon under load.
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const startedMs = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...entry, 'run', '--config', configPath], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const deadline = startedMs + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PW_BENCH_DAEMON: pumpwatch exited with ${child.exitCode} before ready; see ${logPath}`);
    if (await ready(port)) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`PW_BENCH_DAEMON: pumpwatch not ready within ${READY_TIMEOUT_MS} ms; see ${logPath}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const startupMs = performance.now() - startedMs;
  return {
    pid: child.pid!,
    port,
    startupMs,
    logPath,
    async metrics() {
      const scrape = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      // A kept-alive connection the daemon closes as a request goes out resets (ECONNRESET);
      // on busy cores that race is wide enough to hit. Once more on a fresh connection.
      return scrape().catch(() => scrape());
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      log.end();
      if (process.env.BENCH_KEEP_DAEMON_FILES === undefined) await rm(directory, { recursive: true, force: true });
    },
  };
}
