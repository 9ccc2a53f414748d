import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { describeIssues } from '../validation/issues.js';
import { MIN_WEB_TOKEN_LENGTH } from '../view/auth.js';
import { ConfigSchema, type Config } from './schema.js';

/** Secrets live apart from the config object so that logging the config can never leak them. */
export interface Secrets {
  mqttPassword?: string;
  /** The ward page's access token (ops.http.web.tokenFile). */
  webToken?: string;
}

export interface LoadedConfig {
  config: Config;
  secrets: Secrets;
  /** Config paths that an environment variable set, for the start-up log. */
  overriddenFromEnv: string[];
}

export type ConfigResult = { ok: true; value: LoadedConfig } | { ok: false; problems: string[] };

export const ENV_PREFIX = 'PUMPWATCH_';

/** `PUMPWATCH_MQTT__URL` → `mqtt.url`; `PUMPWATCH_DETECTION__TELEMETRY_LOST_AFTER_SECONDS` → `detection.telemetryLostAfterSeconds`. */
export function envKeyToPath(key: string): string[] {
  return key
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase()));
}

/** A rejected URL is echoed in the problem text; its password must not be. */
function hideUrlPassword(text: string): string {
  return text.replace(/(\/\/[^/@:\s"]*):[^/@\s"]*@/g, '$1:***@');
}

function parseEnvValue(raw: string): unknown {
  const document = parseDocument(raw);
  return document.errors.length > 0 ? raw : (document.toJS() as unknown);
}

function applyEnvOverrides(root: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = [];
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = envKeyToPath(key);
    let node = root;
    for (const segment of path.slice(0, -1)) {
      const child = node[segment];
      if (child === null || typeof child !== 'object' || Array.isArray(child)) node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parseEnvValue(raw);
    applied.push(path.join('.'));
  }
  return applied;
}

/** Relative secret paths name systemd credentials (`LoadCredential=`); absolute ones are plain files. */
function resolveSecretPath(path: string, credentialsDirectory: string | undefined): string {
  return isAbsolute(path) || credentialsDirectory === undefined ? path : resolve(credentialsDirectory, path);
}

function secretPath(path: string, env: NodeJS.ProcessEnv): { full: string; credential: boolean } {
  const base = env.CREDENTIALS_DIRECTORY;
  const full = resolveSecretPath(path, base);
  // systemd makes credentials readable by the service alone, whatever the source file's mode.
  const inside = base === undefined ? undefined : relative(base, full);
  return { full, credential: inside !== undefined && inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) };
}

function exposedProblem(configPath: string, full: string, mode: number): string {
  return `${configPath}: ${full} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`;
}

async function readSecretFile(path: string, configPath: string, env: NodeJS.ProcessEnv): Promise<string | string[]> {
  const { full, credential } = secretPath(path, env);
  try {
    const info = await stat(full);
    if ((info.mode & 0o077) !== 0 && !credential) return [exposedProblem(configPath, full, info.mode)];
    return (await readFile(full, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    return [`${configPath}: cannot read ${full} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`];
  }
}

/**
 * The TLS key is read when the broker connection starts; its mode is judged here so the daemon
 * refuses to start (and `config check` complains) while others can read it. A missing file is
 * left to the TLS reader, which names it.
 */
async function exposedKeyProblem(path: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { full, credential } = secretPath(path, env);
  if (credential) return undefined;
  try {
    const info = await stat(full);
    return (info.mode & 0o077) !== 0 ? exposedProblem('mqtt.tls.keyFile', full, info.mode) : undefined;
  } catch {
    return undefined;
  }
}

export type TlsFileSetting = 'caFile' | 'certFile' | 'keyFile';

/**
 * Reads one TLS file of `mqtt.tls` when a broker connection starts. Credentials are read here
 * and nowhere else: the password at load, TLS files at connect, both resolved the same way.
 */
export async function readTlsFile(
  setting: TlsFileSetting,
  path: string,
  credentialsDirectory: string | undefined,
  readFile: (path: string) => Promise<Buffer>,
): Promise<{ ok: true; value: Buffer } | { ok: false; problem: string; cause: unknown }> {
  const full = resolveSecretPath(path, credentialsDirectory);
  try {
    return { ok: true, value: await readFile(full) };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { ok: false, problem: `mqtt.tls.${setting}: cannot read ${full} (${reason})`, cause: error };
  }
}

/** Parses YAML text, applies `PUMPWATCH_*` overrides, validates, then reads secret files. */
export async function loadConfigText(text: string, sourceName: string, env: NodeJS.ProcessEnv): Promise<ConfigResult> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, problems: document.errors.map((error) => `${sourceName}: ${error.message.split('\n')[0]}`) };
  }
  const raw = (document.toJS() as unknown) ?? {};
  if (document.contents === null && !Object.keys(env).some((key) => key.startsWith(ENV_PREFIX))) {
    return { ok: false, problems: [`the file is empty (or only comments): nothing to watch and nowhere to send alarms; start from config/default.yaml`] };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [`${sourceName}: the top level must be a mapping of settings`] };
  }
  const root = raw as Record<string, unknown>;
  const overriddenFromEnv = applyEnvOverrides(root, env);
  const parsed = ConfigSchema.safeParse(root);
  if (!parsed.success) {
    return { ok: false, problems: describeIssues(parsed.error.issues, root).map(hideUrlPassword) };
  }
  const config = parsed.data;
  const secrets: Secrets = {};
  if (config.mqtt.passwordFile !== undefined) {
    const password = await readSecretFile(config.mqtt.passwordFile, 'mqtt.passwordFile', env);
    if (Array.isArray(password)) return { ok: false, problems: password };
    secrets.mqttPassword = password;
  }
  const tokenFile = config.ops.http.web.tokenFile;
  if (tokenFile !== undefined) {
    const token = await readSecretFile(tokenFile, 'ops.http.web.tokenFile', env);
    if (Array.isArray(token)) return { ok: false, problems: token };
    if (token.length < MIN_WEB_TOKEN_LENGTH) return { ok: false, problems: [`ops.http.web.tokenFile: the token is ${token.length} characters; use at least ${MIN_WEB_TOKEN_LENGTH} (e.g. openssl rand -hex 24)`] };
    secrets.webToken = token;
  }
  const keyFile = config.mqtt.tls?.keyFile;
  const keyProblem = keyFile === undefined ? undefined : await exposedKeyProblem(keyFile, env);
  if (keyProblem !== undefined) return { ok: false, problems: [keyProblem] };
  return { ok: true, value: { config, secrets, overriddenFromEnv } };
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, problems: [`${path}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`] };
  }
  return loadConfigText(text, path, env);
}

/**
 * What the daemon needs beyond a valid file (`run`, `config check`): something to watch. Replay
 * and the station read the same file for other parts and do not ask this.
 */
export function daemonConfigProblems(config: Config): string[] {
  if (config.sources.mqtt === undefined && config.sources.serial.length === 0) {
    return ['sources: no telemetry source configured (sources.mqtt or sources.serial): the daemon would watch nothing and still report ready'];
  }
  return [];
}

/** `loadConfigFile` for the daemon: also refuses a configuration that watches nothing. */
export async function loadDaemonConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<ConfigResult> {
  const result = await loadConfigFile(path, env);
  if (!result.ok) return result;
  const problems = daemonConfigProblems(result.value.config);
  return problems.length > 0 ? { ok: false, problems } : result;
}
