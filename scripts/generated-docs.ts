import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_CODES } from '../src/log-codes.js';
import { architectureDiagram, importEdges } from './architecture.js';

const ROOT = join(import.meta.dirname, '..');

/** A region of a doc that a script writes: between these two lines, nothing is edited by hand. */
export function markers(name: string): { start: string; end: string } {
  return { start: `<!-- generated:${name} (npm run docs) -->`, end: `<!-- end generated:${name} -->` };
}

/** The catalogue of `PW_*` codes as a Markdown table. */
export function logCodeTable(): string {
  const rows = Object.entries(LOG_CODES).map(
    ([code, entry]) => `| \`${code}\` | ${entry.kind === 'log' ? entry.level : `${entry.level} (error)`} | ${entry.meaning} | ${entry.action} |`,
  );
  return ['| Code | Level | Meaning | What to do |', '|---|---|---|---|', ...rows].join('\n');
}

/** Each generated region: the doc it lives in and what it must say. */
export function generatedRegions(): { doc: string; name: string; text: string }[] {
  return [
    { doc: 'docs/architecture.md', name: 'layers', text: architectureDiagram(importEdges(join(ROOT, 'src'))) },
    { doc: 'docs/operations.md', name: 'log-codes', text: logCodeTable() },
  ];
}

export function replaceRegion(doc: string, name: string, text: string): string {
  const { start, end } = markers(name);
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to < from) throw new Error(`no ${start} … ${end} region`);
  return `${doc.slice(0, from + start.length)}\n${text}\n${doc.slice(to)}`;
}

/** The region as the doc has it now, for the test that keeps docs and code in step. */
export async function currentRegion(doc: string, name: string): Promise<string> {
  const text = await readFile(join(ROOT, doc), 'utf8');
  const { start, end } = markers(name);
  return text.slice(text.indexOf(start) + start.length + 1, text.indexOf(end) - 1);
}

export async function writeGeneratedDocs(): Promise<void> {
  for (const { doc, name, text } of generatedRegions()) {
    const path = join(ROOT, doc);
    await writeFile(path, replaceRegion(await readFile(path, 'utf8'), name, text));
    console.log(`wrote ${doc} (${name})`);
  }
}
