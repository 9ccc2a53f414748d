import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why certificate tests are skipped here, or undefined when openssl is installed. */
export const opensslMissingReason: string | undefined =
  spawnSync('openssl', ['version'], { stdio: 'ignore' }).error === undefined ? undefined : 'openssl is not installed (apt-get install openssl)';

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  /** DNS names and IP addresses for subjectAltName (servers). */
  altNames?: readonly string[];
  /** Valid only in the past (2020-01-01 to 2020-01-02). */
  expired?: boolean;
}

/**
 * A throwaway certificate authority made with the openssl CLI at test time (EC P-256, so each
 * certificate takes milliseconds). Files live in a directory others can read, because Mosquitto
 * drops to its own user before it loads its certificate and key.
 */
export interface TestPki {
  readonly directory: string;
  readonly caFile: string;
  issue(commonName: string, options?: IssueOptions): Promise<IssuedCertificate>;
  stop(): Promise<void>;
}

const CA_CONFIG = `[ ca ]
default_ca = test
[ test ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
email_in_dn = no
[ anything ]
commonName = supplied
`;

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function altName(name: string): string {
  return /^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`;
}

export async function createTestPki(name = 'pumpwatch-test-ca'): Promise<TestPki> {
  const directory = await mkdtemp(join(tmpdir(), 'pumpwatch-pki-'));
  await chmod(directory, 0o755);
  const openssl = (args: string[]) => run('openssl', args, { cwd: directory });
  await writeFile(join(directory, 'ca.cnf'), CA_CONFIG);
  await writeFile(join(directory, 'index.txt'), '');
  await writeFile(join(directory, 'serial'), '01\n');
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name}`]);
  let issued = 0;
  // openssl ca keeps its serial and index in files: one signing at a time.
  let signing: Promise<unknown> = Promise.resolve();
  const issue = async (commonName: string, options: IssueOptions): Promise<IssuedCertificate> => {
    const base = `${commonName}-${++issued}`;
    const request = ['req', '-new', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${commonName}`];
    if (options.altNames !== undefined) request.push('-addext', `subjectAltName=${options.altNames.map(altName).join(',')}`);
    await openssl(request);
    const validity = options.expired === true ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] : ['-days', '2'];
    await openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', ...validity, '-in', `${base}.csr`, '-out', `${base}.pem`]);
    return { certFile: join(directory, `${base}.pem`), keyFile: join(directory, `${base}.key`) };
  };
  return {
    directory,
    caFile: join(directory, 'ca.pem'),
    issue(commonName, options = {}) {
      const next = signing.then(() => issue(commonName, options));
      signing = next.catch(() => undefined);
      return next;
    },
    async stop() {
      await rm(directory, { recursive: true, force: true });
    },
  };
}
