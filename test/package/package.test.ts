// The packages `npm run package` built (out/package/), checked by Debian's own tools and installed
// into a throw-away root with dpkg --root, so this machine's own system is left alone.
// Run by `npm run test:package`, which builds them first.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { clearRetainedUnder, startRecorder } from '../helpers/recorder.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'out', 'package');
const MAX_BUFFER = 64 * 1024 * 1024;
/** The exposure score the unit keeps (test/systemd/unit.test.ts holds the repository's copy to it). */
const MAX_EXPOSURE = 2.0;

interface BuildInfo {
  version: string;
  node: { version: string };
  built: Record<'amd64' | 'arm64', { file: string; bytes: number; sha256: string }[]>;
}

const missing = (command: string) => spawnSync(command, ['--version'], { stdio: 'ignore' }).error !== undefined;
const info = JSON.parse(await readFile(join(OUT, 'build-info.json'), 'utf8').catch(() => '{"built":{}}')) as BuildInfo;
const debOf = (arch: 'amd64' | 'arm64') => join(ROOT, info.built[arch]?.find((entry) => entry.file.endsWith('.deb'))?.file ?? 'missing.deb');

let scratch: string;
let broker: TestBroker;
beforeAll(async () => {
  if (info.built.amd64 === undefined || info.built.arm64 === undefined) throw new Error('out/package/build-info.json lacks a package: run `npm run package` first');
  scratch = await mkdtemp(join(tmpdir(), 'pw-package-'));
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function unpack(arch: 'amd64' | 'arm64'): Promise<string> {
  const tree = join(scratch, `unpacked-${arch}`);
  await rm(tree, { recursive: true, force: true });
  await run('dpkg-deb', ['-x', debOf(arch), tree]);
  return tree;
}

async function filesUnder(directory: string): Promise<string[]> {
  return (await readdir(directory, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** `readelf -h`'s Machine line for one file, or undefined when it is not an ELF file. */
async function elfMachine(file: string): Promise<string | undefined> {
  const head = Buffer.alloc(4);
  const handle = await open(file);
  await handle.read(head, 0, 4, 0);
  await handle.close();
  if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return undefined;
  const { stdout } = await run('readelf', ['-h', file]);
  return /Machine:\s+(.+)/.exec(stdout)?.[1]?.trim();
}

describe.each([
  ['amd64', 'Advanced Micro Devices X86-64'],
  ['arm64', 'AArch64'],
] as const)('the %s package', (arch, machine) => {
  it('is named, versioned and laid out for a Debian gateway', async () => {
    const fields = (await run('dpkg-deb', ['-f', debOf(arch), 'Package', 'Version', 'Architecture'])).stdout;
    expect(fields).toBe(`Package: pumpwatch\nVersion: ${info.version}\nArchitecture: ${arch}\n`);
    const listing = (await run('dpkg-deb', ['-c', debOf(arch)], { maxBuffer: MAX_BUFFER })).stdout;
    for (const path of [
      './usr/bin/pumpwatch',
      './usr/lib/pumpwatch/node/bin/node',
      './usr/lib/pumpwatch/dist/cli/main.js',
      './usr/lib/pumpwatch/node_modules/mqtt/package.json',
      './usr/lib/pumpwatch/web/app.js',
      './usr/lib/pumpwatch/node_modules/uplot/dist/uPlot.iife.min.js',
      './usr/lib/systemd/system/pumpwatch.service',
      './usr/lib/sysusers.d/pumpwatch.conf',
      './usr/lib/tmpfiles.d/pumpwatch.conf',
      './etc/pumpwatch/config.yaml',
      './usr/share/doc/pumpwatch/copyright',
    ]) {
      expect(listing, path).toContain(` ${path}\n`);
    }
    expect(listing).not.toMatch(/node_modules\/(vitest|typescript|eslint|fast-check)\//);
    expect((await run('dpkg-deb', ['-I', debOf(arch), 'conffiles'])).stdout).toBe('/etc/pumpwatch/config.yaml\n');
  });

  it(`carries machine code for ${arch} only (ELF headers of node and the serialport binding)`, async () => {
    const tree = await unpack(arch);
    const machines = new Map<string, string>();
    for (const file of await filesUnder(tree)) {
      const found = await elfMachine(file);
      if (found !== undefined) machines.set(file.slice(tree.length), found);
    }
    expect(machines.get('/usr/lib/pumpwatch/node/bin/node')).toBe(machine);
    expect([...machines.keys()].some((file) => file.includes('@serialport/bindings-cpp/prebuilds/') && file.endsWith('.glibc.node'))).toBe(true);
    expect(new Set(machines.values())).toEqual(new Set([machine]));
  });

  it.skipIf(missing('lintian'))('passes lintian with no error, every warning fixed or overridden with a reason', { timeout: 900_000 }, () => {
    const result = spawnSync('lintian', ['--no-cfg', '--display-level', '>=warning', '--show-overrides', debOf(arch)], { encoding: 'utf8', maxBuffer: MAX_BUFFER });
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    console.log(`[package] lintian ${arch}: ${lines.length === 0 ? 'no tags' : `\n${lines.join('\n')}`}`);
    expect(lines.filter((line) => line.startsWith('E: '))).toEqual([]);
    expect(lines.filter((line) => line.startsWith('W: '))).toEqual([]);
  });
});

describe('the unit as installed', () => {
  it.skipIf(missing('systemd-analyze'))(`passes systemd-analyze verify and scores ${MAX_EXPOSURE} or better on security`, async () => {
    const tree = await unpack('amd64');
    const unit = join(tree, 'usr/lib/systemd/system/pumpwatch.service');
    expect(await readFile(unit, 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/pumpwatch run --config \/etc\/pumpwatch\/config\.yaml$/m);
    // Verified inside the package's own tree, so ExecStart= is checked against the packaged
    // /usr/bin/pumpwatch. That tree has none of the system's units or tools: those two complaints
    // are about the host, not the unit, and are the only ones allowed.
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${tree}`, '/usr/lib/systemd/system/pumpwatch.service'], { encoding: 'utf8' });
    const host = [/Unit sysinit\.target not found\.$/, /Command \/bin\/kill is not executable: No such file or directory$/];
    expect(verify.stderr.split('\n').filter((line) => line !== '' && !host.some((pattern) => pattern.test(line)))).toEqual([]);
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', unit]);
    const score = Number(/Overall exposure level for pumpwatch\.service: ([\d.]+)/.exec(stdout)?.[1]);
    console.log(`[package] systemd-analyze security --offline=true: ${score}`);
    expect(score).toBeLessThanOrEqual(MAX_EXPOSURE);
  });
});

/** dpkg acting on a root of its own; maintainer scripts run outside a chroot with DPKG_ROOT set. */
async function dpkg(root: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--force-not-root', `--log=${join(root, 'dpkg.log')}`, ...args], {
    maxBuffer: MAX_BUFFER,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return stdout + stderr;
}

/** The same package with an older version number: the release the upgrade starts from. */
async function previousRelease(): Promise<string> {
  const tree = join(scratch, 'previous');
  await run('dpkg-deb', ['-R', debOf('amd64'), tree]);
  const control = join(tree, 'DEBIAN', 'control');
  await writeFile(control, (await readFile(control, 'utf8')).replace(/^Version: .*$/m, 'Version: 0.0.1'));
  const deb = join(scratch, 'pumpwatch_0.0.1_amd64.deb');
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', tree, deb]);
  return deb;
}

function waitExit(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('installed into a throw-away root', () => {
  it('installs, runs against the broker and raises an alarm, and an upgrade keeps a changed config and the journal', async () => {
    const root = join(scratch, 'root');
    await mkdir(join(root, 'var/lib/dpkg/updates'), { recursive: true });
    await mkdir(join(root, 'var/lib/dpkg/info'), { recursive: true });
    await writeFile(join(root, 'var/lib/dpkg/status'), '');
    await dpkg(root, ['-i', await previousRelease()]);

    const pumpwatch = join(root, 'usr/bin/pumpwatch');
    const config = join(root, 'etc/pumpwatch/config.yaml');
    expect((await stat(config)).mode & 0o777).toBe(0o640);
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toMatch(/^pumpwatch:/m);
    expect((await run(pumpwatch, ['--version'])).stdout).toContain('0.1.0');
    // The shipped config reads the broker password as a systemd credential, as the README installs it.
    const credentials = join(root, 'etc/pumpwatch/credentials');
    expect((await stat(credentials)).mode & 0o777).toBe(0o750);
    await writeFile(join(credentials, 'mqtt-password'), 'the-broker-password', { mode: 0o600 });
    const checked = await run(pumpwatch, ['config', 'check', config], { env: { ...process.env, CREDENTIALS_DIRECTORY: credentials } });
    expect(checked.stdout).toMatch(/config\.yaml: ok \(gateway gw-ward3-a/);

    const prefix = uniqueTopicPrefix('package');
    const journal = join(root, 'var/lib/pumpwatch');
    const changedConfig = [
      '# changed on site: this gateway talks to the test broker',
      'version: 1',
      'gateway: { id: pkg-gw, site: test-site, ward: nicu }',
      `mqtt: { url: "${broker.url}", protocolVersion: ${broker.protocolVersion}, topicPrefix: "${prefix}" }`,
      `sources: { mqtt: { topics: ["${prefix}/in/+/telemetry"] } }`,
      'ops: { http: { port: 0 } }',
      `journal: { directory: "${journal}" }`,
      '',
    ].join('\n');
    await writeFile(config, changedConfig);
    await chmod(config, 0o640);

    const station = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/alarms/#`] });
    const feeder = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion, reconnectPeriod: 0 });
    const daemon = spawn(pumpwatch, ['run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    daemon.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    daemon.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = waitExit(daemon);
    let alarmId: string;
    try {
      // A syringe line that the pump itself reports occluded, sample by sample, as a replay would.
      const publishing = (async () => {
        for (let second = 0; second < 60 && daemon.exitCode === null; second += 1) {
          const sample = {
            pumpId: 'PKG-01',
            ts: new Date().toISOString(),
            state: 'infusing',
            rateMlPerH: 1,
            volumeInfusedMl: 0.1 + second / 3600,
            downstreamPressureMmHg: second < 5 ? 20 : 420,
            pumpAlarms: second < 5 ? [] : ['OCCLUSION_DOWNSTREAM'],
          };
          await feeder.publishAsync(`${prefix}/in/PKG-01/telemetry`, JSON.stringify(sample), { qos: 1 });
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })();
      const raised = await station.waitFor((message) => message.topic.endsWith('/downstream-occlusion') && message.text.includes('"raised"'), {
        timeoutMs: 30_000,
        description: `a raised downstream-occlusion from the installed daemon\n${output}`,
      });
      alarmId = (JSON.parse(raised.text) as { alarmId: string }).alarmId;
      daemon.kill('SIGTERM');
      expect(await exited).toBe(0);
      await publishing;
    } finally {
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
      await feeder.endAsync();
      await station.stop();
    }
    const journalBefore = new Map<string, Buffer>();
    for (const file of await filesUnder(journal)) journalBefore.set(file, await readFile(file));
    expect(journalBefore.size).toBeGreaterThan(0);

    await dpkg(root, ['-i', debOf('amd64')]);
    const installed = (await run('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Version}', 'pumpwatch'])).stdout;
    expect(installed).toBe(info.version);
    expect(await readFile(config, 'utf8')).toBe(changedConfig);
    for (const [file, bytes] of journalBefore) expect((await readFile(file)).equals(bytes), file).toBe(true);

    // The upgraded daemon reads that journal: the alarm is still active and republished, same id.
    // The broker's retained copy from the first run is cleared, so only the new daemon can send it.
    await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
    const again = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/alarms/#`] });
    const restarted = spawn(pumpwatch, ['run', '--config', config], { stdio: 'ignore' });
    const restartedExit = waitExit(restarted);
    try {
      await again.waitFor((message) => message.topic.endsWith('/downstream-occlusion') && message.text.includes(alarmId), { timeoutMs: 30_000, description: 'the journaled alarm after the upgrade' });
      restarted.kill('SIGTERM');
      expect(await restartedExit).toBe(0);
    } finally {
      if (restarted.exitCode === null) restarted.kill('SIGKILL');
      await again.stop();
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
    }
  });
});
