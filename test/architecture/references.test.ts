import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const THIS_FILE = join('test', 'architecture', 'references.test.ts');

function filesUnder(dir: string, endings: readonly string[]): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => endings.some((ending) => path.endsWith(ending)))
    .map((path) => join(dir, path));
}

const CITING = [
  ...['src', 'test', 'bench', 'scripts'].flatMap((dir) => filesUnder(dir, ['.ts'])),
  ...filesUnder('docs', ['.md']),
  ...filesUnder('schema', ['.json']),
  ...filesUnder('scenarios', ['.yaml', '.yml', '.json']),
  ...filesUnder('config', ['.yaml']),
  'README.md',
].filter((path) => path !== THIS_FILE);

/** Pointers at notes that live outside the repository: research notes, design drafts, issue sections. */
const OUTSIDE = /research\/[a-z-]+\.md|shared\/(research|design)|ARCHITECTURE\.md|clinical\.md|(issue|brief) §|clinical brief/;

describe('references', () => {
  it('point at nothing outside the repository', () => {
    const found = CITING.flatMap((path) =>
      readFileSync(join(ROOT, path), 'utf8')
        .split('\n')
        .flatMap((line, index) => (OUTSIDE.test(line) ? [`${path}:${index + 1}: ${line.trim().slice(0, 100)}`] : [])),
    );
    expect(found).toEqual([]);
  });

  it('resolve every source tag ([S13]) to the source list of docs/simulator.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'simulator.md'), 'utf8');
    const sources = doc.slice(doc.indexOf('\n## Sources'));
    const listed = new Set([...sources.matchAll(/\[(S\d+[a-z]?)\] /g)].map((match) => match[1]!));
    const missing = CITING.flatMap((path) =>
      [...readFileSync(join(ROOT, path), 'utf8').matchAll(/\[(S\d+[a-z]?)\]/g)].map((match) => match[1]!).filter((tag) => !listed.has(tag) && !listed.has(`${tag}a`)).map((tag) => `${tag} (${path})`),
    );
    expect(listed.size).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });

  it('link only to files that exist', () => {
    const broken = [...filesUnder('docs', ['.md']), 'README.md'].flatMap((path) =>
      [...readFileSync(join(ROOT, path), 'utf8').matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)/g)]
        .map((match) => match[1]!)
        .filter((target) => !existsSync(join(ROOT, dirname(path), target)))
        .map((target) => `${path} → ${target}`),
    );
    expect(broken).toEqual([]);
  });
});
