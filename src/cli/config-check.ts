import { parseArgs } from 'node:util';
import { loadDaemonConfigFile } from '../config/load.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const CONFIG_CHECK_USAGE = `Usage: pumpwatch config check FILE

Validates a configuration file (with PUMPWATCH_* environment overrides applied and secret files
read) and prints every problem with its path, e.g. "mqtt.url: must be a mqtt:// or mqtts:// URL".

Exit codes: 0 valid, 2 usage error, 3 invalid configuration.`;

export async function configCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false });
  if (values.help === true) {
    writeLine(io.stdout, CONFIG_CHECK_USAGE);
    return EXIT.ok;
  }
  const [subcommand, file, ...extra] = positionals;
  if (subcommand !== 'check' || file === undefined || extra.length > 0) {
    writeLine(io.stderr, CONFIG_CHECK_USAGE);
    return EXIT.usage;
  }
  const result = await loadDaemonConfigFile(file, io.env);
  if (!result.ok) {
    writeLine(io.stderr, `${file}: ${result.problems.length} problem(s)`);
    for (const problem of result.problems) writeLine(io.stderr, `  ${problem}`);
    return EXIT.configInvalid;
  }
  const { config, overriddenFromEnv } = result.value;
  const serialCount = config.sources.serial.length;
  writeLine(
    io.stdout,
    `${file}: ok (gateway ${config.gateway.id} at ${config.gateway.site}/${config.gateway.ward}; ` +
      `${serialCount} serial port(s); MQTT source ${config.sources.mqtt === undefined ? 'off' : 'on'}; broker ${config.mqtt.url})`,
  );
  if (overriddenFromEnv.length > 0) writeLine(io.stdout, `  set from the environment: ${overriddenFromEnv.join(', ')}`);
  return EXIT.ok;
}
