// npm run sbom: a CycloneDX SBOM of what ships (runtime dependencies only) in dist/pumpwatch.cdx.json.
//
// `npm sbom --omit=dev` (npm 11.19) drops packages that a dev tool shares with a runtime
// dependency (yaml, @serialport/bindings-interface, …), and marks some runtime packages as
// development. So take npm's full SBOM and keep exactly the packages `npm ls --omit=dev` lists.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const output = join(root, 'dist', 'pumpwatch.cdx.json');
const MAX_BUFFER = 64 * 1024 * 1024;

interface Component {
  'bom-ref': string;
  name: string;
  version: string;
  properties?: { name: string; value: string }[];
}
interface Dependency {
  ref: string;
  dependsOn?: string[];
}
interface Bom {
  specVersion: string;
  metadata: { component: { name: string; 'bom-ref': string } };
  components: Component[];
  dependencies: Dependency[];
}

const npm = async (args: string[]) => (await run('npm', args, { cwd: root, maxBuffer: MAX_BUFFER })).stdout;

const bom = JSON.parse(await npm(['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application'])) as Bom;
// Lines of `path:name@version`; the first is the project itself.
const shipped = new Set(
  (await npm(['ls', '--omit=dev', '--all', '--parseable', '--long']))
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => line.slice(line.lastIndexOf(':') + 1)),
);
const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string };

const components = bom.components
  .filter((component) => shipped.has(`${component.name}@${component.version}`))
  .map((component) => ({ ...component, properties: (component.properties ?? []).filter((property) => property.name !== 'cdx:npm:package:development') }));
const kept = new Set([bom.metadata.component['bom-ref'], ...components.map((component) => component['bom-ref'])]);
const dependencies = bom.dependencies
  .filter((dependency) => kept.has(dependency.ref))
  .map((dependency) => ({ ...dependency, dependsOn: (dependency.dependsOn ?? []).filter((ref) => kept.has(ref)) }));
const found = new Set(components.map((component) => `${component.name}@${component.version}`));
const missing = [...shipped].filter((entry) => !found.has(entry));
if (missing.length > 0) throw new Error(`npm sbom lacks shipped packages: ${missing.join(', ')}`);

// npm names the root component after the checkout directory; the package name is what ships.
const result = { ...bom, metadata: { ...bom.metadata, component: { ...bom.metadata.component, name: manifest.name } }, components, dependencies };
await mkdir(join(root, 'dist'), { recursive: true });
await writeFile(output, `${JSON.stringify(result, null, 2)}\n`);
console.error(`wrote dist/pumpwatch.cdx.json: ${components.length} runtime packages (CycloneDX ${bom.specVersion})`);
