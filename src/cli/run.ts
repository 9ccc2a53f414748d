import { connect } from 'mqtt';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { loadDaemonConfigFile } from '../config/load.js';
import { startDaemon } from '../daemon.js';
import { createProcessRegistry } from '../ops/metrics.js';
import { Supervisor } from '../service/supervisor.js';
import { loadSystemSerialBinding } from '../sources/serial.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const RUN_USAGE = `Usage: pumpwatch run --config FILE

Runs the daemon: reads pump telemetry from the configured serial ports and MQTT topics, watches
every channel, and publishes alarms to the broker. Logs are JSON lines on stdout (journald keeps
them). Serves /metrics, /healthz and /readyz on ops.http (127.0.0.1:9464 by default). Under
systemd (Type=notify) it reports READY=1 and sends gated watchdog pings. Stops cleanly on SIGINT
or SIGTERM, publishing the gateway status "offline". SIGHUP re-reads the configuration: an
invalid file is refused and the daemon runs on; a valid one restarts the daemon in-process.

Exit codes: 0 stopped on request, 1 failed at start, 2 usage error, 3 invalid configuration.`;

export async function daemonCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    writeLine(io.stderr, `pumpwatch run: ${(error as Error).message}\n\n${RUN_USAGE}`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    writeLine(io.stdout, RUN_USAGE);
    return EXIT.ok;
  }
  const configPath = parsed.values.config;
  if (configPath === undefined) {
    writeLine(io.stderr, RUN_USAGE);
    return EXIT.usage;
  }
  const loaded = await loadDaemonConfigFile(configPath, io.env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) writeLine(io.stderr, `${configPath}: ${problem}`);
    return EXIT.configInvalid;
  }
  const supervisor = new Supervisor({
    configPath,
    env: io.env,
    writeLog: (line) => io.stdout.write(line),
    loadConfig: loadDaemonConfigFile,
    startDaemon: (config, logger) =>
      startDaemon(config, { clock: systemClock, logger, connect, loadSerialBinding: loadSystemSerialBinding, credentialsDirectory: io.env.CREDENTIALS_DIRECTORY }),
    processRegistry: createProcessRegistry(),
  });
  try {
    await supervisor.start(loaded.value);
  } catch {
    return EXIT.failure;
  }
  let exitCode: number = EXIT.ok;
  let stopReloading: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    if (io.stopSignal.aborted) resolve();
    io.stopSignal.addEventListener('abort', () => resolve(), { once: true });
    stopReloading = io.onReload?.(() => {
      // Only when neither the new nor the previous configuration starts: exit, systemd restarts us.
      supervisor.reload().catch(() => {
        exitCode = EXIT.failure;
        resolve();
      });
    });
  });
  stopReloading?.();
  await supervisor.stop();
  return exitCode;
}
