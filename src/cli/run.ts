import { connect } from 'mqtt';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { loadConfigFile } from '../config/load.js';
import { startDaemon } from '../daemon.js';
import { createLogger } from '../log.js';
import { loadSystemSerialBinding } from '../sources/serial.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const RUN_USAGE = `Usage: pumpwatch run --config FILE

Runs the daemon: reads pump telemetry from the configured serial ports and MQTT topics, watches
every channel, and publishes alarms to the broker. Logs are JSON lines on stdout (journald keeps
them). Stops cleanly on SIGINT or SIGTERM, publishing the gateway status "offline".

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
  const loaded = await loadConfigFile(configPath, io.env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) writeLine(io.stderr, `${configPath}: ${problem}`);
    return EXIT.configInvalid;
  }
  const logger = createLogger(loaded.value.config.logging.level, { write: (line: string) => io.stdout.write(line) });
  if (loaded.value.overriddenFromEnv.length > 0) {
    logger.info({ code: 'PW_CONFIG_ENV', paths: loaded.value.overriddenFromEnv }, 'configuration values set from the environment');
  }
  let daemon;
  try {
    daemon = await startDaemon(loaded.value, {
      clock: systemClock,
      logger,
      connect,
      loadSerialBinding: loadSystemSerialBinding,
      credentialsDirectory: io.env.CREDENTIALS_DIRECTORY,
    });
  } catch (error) {
    logger.fatal({ code: (error as { code?: string }).code ?? 'PW_START_FAILED', err: error }, 'pumpwatch could not start');
    return EXIT.failure;
  }
  if (!io.stopSignal.aborted) await new Promise((resolve) => io.stopSignal.addEventListener('abort', resolve, { once: true }));
  logger.info({ code: 'PW_STOPPING' }, 'stop requested');
  await daemon.stop();
  return EXIT.ok;
}
