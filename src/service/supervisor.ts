import type { Registry } from 'prom-client';
import { monotonicClock, systemTimers, type MonotonicClock, type TimeoutTimers } from '../clock.js';
import type { ConfigResult, LoadedConfig } from '../config/load.js';
import type { Daemon } from '../daemon.js';
import { isLogCode } from '../log-codes.js';
import { createLogger, type Logger } from '../log.js';
import { createLagWindow } from '../ops/event-loop.js';
import { describeFailures, evaluateHealth, type HealthCheck } from '../ops/health.js';
import { startOpsHttp, type OpsHttpServer } from '../ops/http.js';
import { scrapeRegistries } from '../ops/metrics.js';
import { createSystemdNotifier, type SystemdNotifier } from '../ops/systemd-notify.js';
import { createWatchdog } from '../ops/watchdog.js';

export interface SupervisorDeps {
  configPath: string;
  env: NodeJS.ProcessEnv;
  /** Receives every JSON log line (stdout in the real process). */
  writeLog: (line: string) => void;
  loadConfig: (path: string, env: NodeJS.ProcessEnv) => Promise<ConfigResult>;
  startDaemon: (loaded: LoadedConfig, logger: Logger) => Promise<Daemon>;
  /** Made from `env` ($NOTIFY_SOCKET, $WATCHDOG_USEC) when absent. */
  notifier?: SystemdNotifier;
  /** Process-wide metrics, scraped beside the daemon's own. */
  processRegistry?: Registry;
  pid?: number;
  timers?: TimeoutTimers;
  monotonic?: MonotonicClock;
}

export type ReloadOutcome = 'restarted' | 'invalid' | 'restored-previous';

interface Runtime {
  loaded: LoadedConfig;
  logger: Logger;
  daemon: Daemon;
  http: OpsHttpServer | undefined;
  stopWatchdog: () => void;
}

/** Settings that differ between two configurations, as dotted paths, for the reload log. */
export function changedSettings(before: unknown, after: unknown, path = ''): string[] {
  if (before === after) return [];
  const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isRecord(before) || !isRecord(after)) return JSON.stringify(before) === JSON.stringify(after) ? [] : [path === '' ? '(root)' : path];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) => changedSettings(before[key], after[key], path === '' ? key : `${path}.${key}`));
}

function statusLine(daemon: Daemon): string {
  return `watching ${daemon.sources.length} source(s); alarms to ${daemon.publisher.topics.prefix}`;
}

/**
 * Runs the daemon as a service: READY=1 once it started (sources open or retrying, broker
 * connecting), the gated systemd watchdog, the metrics and health endpoints, STOPPING=1 and a
 * clean stop, and SIGHUP handling. A reload validates the file first and keeps the running
 * daemon on any problem, so a typo never takes monitoring down; a valid file restarts the daemon
 * inside the process (certificates and secret files are re-read too). Detector baselines and
 * in-memory alarm state start afresh, exactly as after `systemctl restart`.
 */
export class Supervisor {
  readonly #deps: SupervisorDeps;
  readonly #monotonic: MonotonicClock;
  #notifier: SystemdNotifier | undefined;
  #runtime: Runtime | undefined;
  #reloading: Promise<ReloadOutcome> | undefined;
  #reloadAgain = false;

  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
    this.#monotonic = deps.monotonic ?? monotonicClock;
    this.#notifier = deps.notifier;
  }

  get daemon(): Daemon | undefined {
    return this.#runtime?.daemon;
  }

  /** Where the metrics and health endpoints listen, once started and when enabled. */
  get httpAddress(): { host: string; port: number } | undefined {
    const http = this.#runtime?.http;
    return http === undefined ? undefined : { host: http.host, port: http.port };
  }

  /** Starts the daemon and reports READY=1. Logs and throws when the daemon cannot start. */
  async start(loaded: LoadedConfig): Promise<void> {
    const logger = this.#createLogger(loaded);
    try {
      this.#runtime = await this.#startRuntime(loaded, logger);
    } catch (error) {
      // A catalogued code says why (PW_MQTT_TLS_FILE, …); a system error's own code stays in `err`.
      const code = (error as { code?: unknown }).code;
      logger.fatal({ code: isLogCode(code) ? code : 'PW_START_FAILED', err: error }, 'pumpwatch could not start');
      throw error;
    }
    await this.#notifierFor(logger).ready(statusLine(this.#runtime.daemon));
  }

  /**
   * Serialised: a SIGHUP during a reload schedules one more. Resolves with what happened; throws
   * only when neither the new nor the previous configuration could start (the process must exit
   * so systemd restarts it).
   */
  reload(): Promise<ReloadOutcome> {
    if (this.#reloading !== undefined) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = this.#reloadOnce().finally(() => {
      this.#reloading = undefined;
      if (this.#reloadAgain) {
        this.#reloadAgain = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  /** STOPPING=1, then stop intake, publish `offline` and disconnect. */
  async stop(): Promise<void> {
    await this.#reloading?.catch(() => undefined);
    const runtime = this.#runtime;
    if (runtime === undefined) return;
    this.#runtime = undefined;
    runtime.logger.info({ code: 'PW_STOPPING' }, 'stop requested');
    await this.#notifierFor(runtime.logger).stopping('stopping: closing intake, flushing alarms');
    await this.#stopRuntime(runtime);
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    const current = this.#runtime;
    if (current === undefined) throw new Error('PW_RELOAD_NOT_RUNNING: the daemon is not running');
    const notifier = this.#notifierFor(current.logger);
    await notifier.reloading('reloading configuration');
    const result = await this.#deps.loadConfig(this.#deps.configPath, this.#deps.env);
    if (!result.ok) {
      current.logger.error({ code: 'PW_RELOAD_INVALID', file: this.#deps.configPath, problems: result.problems }, 'new configuration refused; still running the previous one');
      await notifier.ready(`${statusLine(current.daemon)}; reload refused: ${result.problems.length} problem(s) in ${this.#deps.configPath}`);
      return 'invalid';
    }
    const changed = changedSettings(current.loaded.config, result.value.config);
    current.logger.info(
      { code: 'PW_RELOAD_RESTARTING', changed, secretsChanged: JSON.stringify(current.loaded.secrets) !== JSON.stringify(result.value.secrets) },
      'configuration valid; restarting the daemon in-process to apply it',
    );
    this.#runtime = undefined;
    await this.#stopRuntime(current);
    try {
      this.#runtime = await this.#startRuntime(result.value, this.#createLogger(result.value));
      await this.#notifierFor(this.#runtime.logger).ready(statusLine(this.#runtime.daemon));
      return 'restarted';
    } catch (error) {
      current.logger.error({ code: 'PW_RELOAD_FAILED', err: error }, 'the new configuration did not start; going back to the previous one');
    }
    this.#runtime = await this.#startRuntime(current.loaded, this.#createLogger(current.loaded));
    await this.#notifierFor(this.#runtime.logger).ready(`${statusLine(this.#runtime.daemon)}; reload failed, previous configuration restored`);
    return 'restored-previous';
  }

  #notifierFor(logger: Logger): SystemdNotifier {
    this.#notifier ??= createSystemdNotifier({ env: this.#deps.env, pid: this.#deps.pid ?? process.pid, logger });
    return this.#notifier;
  }

  /** One logger per configuration, so a reload can change the level. */
  #createLogger(loaded: LoadedConfig): Logger {
    const logger = createLogger(loaded.config.logging.level, { write: this.#deps.writeLog });
    if (loaded.overriddenFromEnv.length > 0) {
      logger.info({ code: 'PW_CONFIG_ENV', paths: loaded.overriddenFromEnv }, 'configuration values set from the environment');
    }
    return logger;
  }

  async #startRuntime(loaded: LoadedConfig, logger: Logger): Promise<Runtime> {
    const { config } = loaded;
    const daemon = await this.#deps.startDaemon(loaded, logger);
    const http = config.ops.http.enabled ? await this.#startHttp(loaded, daemon, logger) : undefined;
    const notifier = this.#notifierFor(logger);
    let stopWatchdog = (): void => undefined;
    const intervalMs = notifier.watchdogIntervalMs;
    if (intervalMs !== undefined) {
      const progress: HealthCheck = {
        name: 'progress',
        check: () => {
          const report = evaluateHealth(daemon.ops.livenessChecks);
          return report.ok ? undefined : describeFailures(report);
        },
      };
      const lag = createLagWindow();
      const watchdog = createWatchdog({
        notifier,
        intervalMs,
        maxEventLoopLagMs: config.ops.watchdog.maxEventLoopLagSeconds * 1000,
        checks: [progress],
        lag,
        monotonic: this.#monotonic,
        timers: this.#deps.timers ?? systemTimers,
        logger,
        onAttempt: (outcome) => daemon.ops.metrics.watchdogAttempt(outcome),
      });
      watchdog.start();
      stopWatchdog = () => {
        watchdog.stop();
        lag.stop();
      };
      logger.info({ code: 'PW_WATCHDOG_ON', intervalMs }, 'systemd watchdog pings on');
    }
    return { loaded, logger, daemon, http, stopWatchdog };
  }

  /**
   * A busy port must not stop pumps being watched: the failure is logged as an error and the
   * daemon runs on; Prometheus sees the target down (`up == 0`).
   */
  async #startHttp(loaded: LoadedConfig, daemon: Daemon, logger: Logger): Promise<OpsHttpServer | undefined> {
    const { host, port } = loaded.config.ops.http;
    const registries = this.#deps.processRegistry === undefined ? [daemon.ops.metrics.registry] : [daemon.ops.metrics.registry, this.#deps.processRegistry];
    try {
      return await startOpsHttp({
        host,
        port,
        scrape: () => scrapeRegistries(registries),
        liveness: () => daemon.ops.liveness(),
        readiness: () => daemon.ops.readiness(),
        web: daemon.page,
        logger,
      });
    } catch (error) {
      logger.error({ code: 'PW_OPS_HTTP_LISTEN_FAILED', host, port, error: (error as Error).message }, 'metrics and health endpoints unavailable');
      return undefined;
    }
  }

  async #stopRuntime(runtime: Runtime): Promise<void> {
    runtime.stopWatchdog();
    await runtime.http?.close();
    await runtime.daemon.stop();
  }
}
