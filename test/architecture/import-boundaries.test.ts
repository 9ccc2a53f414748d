import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { boundaryConfigs, EXCEPTIONS, LAYERS } from '../../import-boundaries.config.js';
import { backEdges, importEdges, partOf, sourceFiles } from '../../scripts/architecture.js';
import { currentRegion, generatedRegions } from '../../scripts/generated-docs.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** ESLint with only the boundary rules, on TypeScript text placed at a path of src/. */
async function boundaryProblems(filePath: string, text: string, exceptions = EXCEPTIONS): Promise<string[]> {
  const eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...boundaryConfigs(exceptions)],
  });
  const [result] = await eslint.lintText(text, { filePath });
  return result!.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

describe('import boundaries', () => {
  it('places every file of src/ in exactly one layer', () => {
    const parts = LAYERS.flat();
    expect(new Set(parts).size).toBe(parts.length);
    for (const file of sourceFiles(SRC)) {
      expect(file.split('/').length, `${file} sits deeper than one folder`).toBeLessThanOrEqual(2);
      expect(parts, `src/${file} belongs to no layer in import-boundaries.config.js`).toContain(partOf(file));
    }
    for (const part of parts) expect(existsSync(join(SRC, part)) || existsSync(join(SRC, `${part}.ts`)), part).toBe(true);
  });

  it('finds no import going sideways or up in the source, and every listed exception still needed', () => {
    const edges = importEdges(SRC);
    expect(edges.length).toBeGreaterThan(100);
    expect(backEdges(edges)).toEqual([]);
    for (const exception of EXCEPTIONS) {
      expect(edges.some((edge) => edge.file === exception.file && edge.to === exception.imports), `${exception.file} no longer imports ${exception.imports}: drop the exception`).toBe(true);
    }
  });

  it('fails lint on a deliberate back-edge: config importing mqtt', async () => {
    const problems = await boundaryProblems('src/config/back-edge.ts', "import { createTopics } from '../mqtt/topics.js';\nexport const topics = createTopics;\n");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^no-restricted-imports: '..\/mqtt\/topics.js' .*config may import only clock, log-codes, validation, version, log, telemetry/);
  });

  it('fails lint on type-only and re-exported back-edges, and from a root file', async () => {
    expect(await boundaryProblems('src/telemetry/back-edge.ts', "import type { Config } from '../config/schema.js';\nexport type C = Config;\n")).toHaveLength(1);
    expect(await boundaryProblems('src/detect/back-edge.ts', "export { Pipeline } from '../pipeline.js';\n")).toHaveLength(1);
    expect(await boundaryProblems('src/pipeline.ts', "import { startDaemon } from './daemon.js';\nexport const start = startDaemon;\n")).toHaveLength(1);
    expect(await boundaryProblems('src/clock.ts', "import type { Logger } from './log.js';\nexport type L = Logger;\n")).toHaveLength(1);
  });

  it('lets an import go down a layer, and a listed exception through for its own file only', async () => {
    expect(await boundaryProblems('src/mqtt/probe.ts', "import type { Config } from '../config/schema.js';\nexport type C = Config;\n")).toEqual([]);
    // The list is empty today; the mechanism is checked with an exception of the kind it once held.
    const exceptions = [{ file: 'src/protocols/emulator.ts', imports: 'sources', why: 'a pump emulator inside the production protocols' }];
    expect(await boundaryProblems('src/protocols/emulator.ts', "import { loadSystemSerialBinding } from '../sources/serial.js';\nexport const L = loadSystemSerialBinding;\n", exceptions)).toEqual([]);
    expect(await boundaryProblems('src/protocols/alaris.ts', "import { loadSystemSerialBinding } from '../sources/serial.js';\nexport const L = loadSystemSerialBinding;\n", exceptions)).toHaveLength(1);
    expect(await boundaryProblems('src/protocols/emulator.ts', "import { loadSystemSerialBinding } from '../sources/serial.js';\nexport const L = loadSystemSerialBinding;\n")).toHaveLength(1);
  });

  it('keeps the generated regions of the docs current (run `npm run docs` if not)', async () => {
    for (const { doc, name, text } of generatedRegions()) expect(await currentRegion(doc, name), `${doc} ${name}`).toBe(text);
  });
});
