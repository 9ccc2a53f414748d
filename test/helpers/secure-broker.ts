import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { startMosquitto, type OwnMosquitto } from './mosquitto.js';
import type { IssuedCertificate, TestPki } from './pki.js';

const REFERENCE_DIR = join(import.meta.dirname, '..', '..', 'config', 'mosquitto');
/** Where the reference config expects its files; the tests put theirs elsewhere. */
const REFERENCE_FILES = '/etc/mosquitto/pumpwatch/';
/** A CN for the tests' own observer, granted everything (it never appears in the reference). */
export const TEST_ADMIN = 'pumpwatch-test-admin';

/** Settings that concern the test harness rather than security; the harness sets its own. */
const HARNESS_SETTINGS = new Set(['listener', 'persistence', 'persistence_location', 'per_listener_settings']);

/**
 * The security lines of `config/mosquitto/pumpwatch.conf` (TLS, identity, ACL, retained-source
 * checks, limits), with the reference paths pointed at the test's own files. Listener and
 * persistence lines are the harness's.
 */
export async function referenceSecurityConfig(files: { caFile: string; certFile: string; keyFile: string; aclFile: string }): Promise<string> {
  const text = await readFile(join(REFERENCE_DIR, 'pumpwatch.conf'), 'utf8');
  const paths: Record<string, string> = {
    [`${REFERENCE_FILES}ca.pem`]: files.caFile,
    [`${REFERENCE_FILES}broker.pem`]: files.certFile,
    [`${REFERENCE_FILES}broker.key`]: files.keyFile,
    [`${REFERENCE_FILES}pumpwatch.acl`]: files.aclFile,
  };
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !HARNESS_SETTINGS.has(line.split(/\s+/)[0]!))
    .map((line) => {
      const [key, value] = line.split(/\s+/, 2);
      return value !== undefined && value in paths ? `${key} ${paths[value]}` : line;
    })
    .join('\n');
}

export interface SecureMosquitto extends OwnMosquitto {
  /** mqtts://localhost:<port>; the broker certificate names localhost and 127.0.0.1. */
  tlsUrl: string;
}

/**
 * Mosquitto with the reference TLS and ACL configuration on a free port. The ACL is the
 * reference file plus one test observer allowed everything, to confirm what did (not) arrive.
 */
export async function startSecureMosquitto(pki: TestPki, server: IssuedCertificate): Promise<SecureMosquitto> {
  const reference = await readFile(join(REFERENCE_DIR, 'pumpwatch.acl'), 'utf8');
  const aclFile = join(pki.directory, `acl-${Math.random().toString(16).slice(2)}`);
  await writeFile(aclFile, `${reference}\nuser ${TEST_ADMIN}\ntopic readwrite #\n`);
  // Mosquitto reads its key after dropping root for its own user.
  await chmod(server.keyFile, 0o644);
  await chmod(aclFile, 0o644);
  const extraConfig = await referenceSecurityConfig({ caFile: pki.caFile, certFile: server.certFile, keyFile: server.keyFile, aclFile });
  const broker = await startMosquitto({ extraConfig });
  return { ...broker, tlsUrl: `mqtts://localhost:${broker.port}` };
}

/** An MQTT 5 client presenting `identity` (its CN is the username the ACL sees). */
export async function connectWithCertificate(url: string, caFile: string, identity: IssuedCertificate, options: IClientOptions = {}): Promise<MqttClient> {
  const [ca, cert, key] = await Promise.all([readFile(caFile), readFile(identity.certFile), readFile(identity.keyFile)]);
  return connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ca, cert, key, ...options });
}
