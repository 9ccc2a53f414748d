import { loadConfigFile } from '../config/load.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { writeLine, type CliIo } from './io.js';

/**
 * The `--config FILE` of the offline commands (replay, evaluate): the file's settings, or the
 * built-in defaults without one. Prints every problem and returns undefined when the file is invalid.
 */
export async function loadConfigArg(path: string | undefined, io: CliIo): Promise<Config | undefined> {
  if (path === undefined) return ConfigSchema.parse({});
  const loaded = await loadConfigFile(path, io.env);
  if (loaded.ok) return loaded.value.config;
  for (const problem of loaded.problems) writeLine(io.stderr, problem.startsWith(`${path}:`) ? problem : `${path}: ${problem}`);
  return undefined;
}
