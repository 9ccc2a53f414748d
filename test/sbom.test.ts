import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

interface Component {
  name: string;
  version: string;
  purl: string;
}

describe('npm run sbom', () => {
  it('writes a CycloneDX SBOM of what ships: every runtime dependency with version and purl, no dev tools', { timeout: 90_000 }, async () => {
    await run('npm', ['run', 'sbom', '--silent'], { cwd: ROOT });
    const bom = JSON.parse(await readFile(join(ROOT, 'dist', 'pumpwatch.cdx.json'), 'utf8')) as {
      bomFormat: string;
      metadata: { component: { type: string; name: string; purl: string } };
      components: Component[];
    };
    const byName = new Map(bom.components.map((component) => [component.name, component]));
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect([bom.bomFormat, bom.metadata.component.type, bom.metadata.component.name, bom.metadata.component.purl]).toEqual([
      'CycloneDX',
      'application',
      'pumpwatch',
      'pkg:npm/pumpwatch@0.1.0',
    ]);
    for (const [name, version] of Object.entries(manifest.dependencies)) {
      expect(byName.get(name)?.purl, name).toBe(`pkg:npm/${name.replace('@', '%40')}@${version}`);
    }
    // @types/node stays: mqtt's own type packages depend on it at run time.
    expect(['vitest', 'vite', 'eslint', 'typescript', 'tsx', 'fast-check', '@serialport/binding-mock'].filter((name) => byName.has(name))).toEqual([]);
  });
});
