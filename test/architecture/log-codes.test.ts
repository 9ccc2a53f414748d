import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLogCode, LOG_CODES } from '../../src/log-codes.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Environment variables of the fuzz tests, named like codes but not logged. */
const NOT_CODES = new Set(['PW_FUZZ_ITERATIONS', 'PW_FUZZ_SEED']);

function codesIn(paths: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const path of paths) {
    for (const [code] of readFileSync(join(ROOT, path), 'utf8').matchAll(/\bPW_[A-Z0-9_]*[A-Z0-9]\b/g)) if (!found.has(code)) found.set(code, path);
  }
  return found;
}

function filesUnder(dir: string, ending: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith(ending))
    .map((path) => join(dir, path));
}

describe('the PW_* code catalogue', () => {
  const sources = filesUnder('src', '.ts').filter((path) => path !== join('src', 'log-codes.ts'));

  it('names every code the source, the docs and the published schemas use', () => {
    const used = codesIn([...sources, ...filesUnder('docs', '.md'), 'README.md', ...filesUnder('schema', '.json')]);
    const missing = [...used].filter(([code]) => !NOT_CODES.has(code) && !isLogCode(code)).map(([code, path]) => `${code} (${path})`);
    expect(missing).toEqual([]);
  });

  it('holds no code the source never uses', () => {
    const used = codesIn(sources);
    expect(Object.keys(LOG_CODES).filter((code) => !used.has(code))).toEqual([]);
  });

  it('says what each code means and what to do', () => {
    for (const [code, entry] of Object.entries(LOG_CODES)) {
      expect(entry.meaning.length, code).toBeGreaterThan(10);
      expect(entry.action.length, code).toBeGreaterThan(5);
    }
  });
});
