import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { EXCEPTIONS, LAYERS } from '../import-boundaries.config.js';

/** One import from a file of src/ to another part of src/. */
export interface ImportEdge {
  file: string;
  from: string;
  to: string;
}

const IMPORT = /^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm;

/** The part of src/ a path belongs to: its folder, or its own name for a file at the root. */
export function partOf(pathInSrc: string): string {
  const segments = pathInSrc.split(sep);
  return segments.length === 1 ? segments[0]!.replace(/\.(ts|js)$/, '') : segments[0]!;
}

export function sourceFiles(srcDir: string): string[] {
  return readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .sort();
}

/** Every import between two parts of src/, read from the source text. */
export function importEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(join(srcDir, file), 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const target = relative(srcDir, join(srcDir, file, '..', match[1] ?? match[2]!));
      const from = partOf(file);
      const to = partOf(target);
      if (from !== to) edges.push({ file: `src/${file.split(sep).join('/')}`, from, to });
    }
  }
  return edges;
}

export function layerOf(part: string): number {
  return LAYERS.findIndex((layer) => layer.includes(part));
}

/** Imports that go sideways or up, other than the listed exceptions. */
export function backEdges(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter(
    (edge) => !(layerOf(edge.to) < layerOf(edge.from)) && !EXCEPTIONS.some((exception) => exception.file === edge.file && exception.imports === edge.to),
  );
}

/**
 * The part-to-part import graph as a Mermaid flowchart, one row per layer (top imports bottom).
 * An arrow that another path already implies is left out, so the picture stays readable; the
 * exceptions are drawn dashed.
 */
export function architectureDiagram(edges: readonly ImportEdge[]): string {
  const exceptional = new Set(EXCEPTIONS.map((exception) => `${partOf(exception.file.slice('src/'.length))}>${exception.imports}`));
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (exceptional.has(`${from}>${to}`)) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  const reaches = (start: string, goal: string, skipDirect: boolean): boolean => {
    const stack = [...(graph.get(start) ?? [])].filter((next) => !(skipDirect && next === goal));
    const seen = new Set<string>();
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node === goal) return true;
      if (seen.has(node)) continue;
      seen.add(node);
      stack.push(...(graph.get(node) ?? []));
    }
    return false;
  };
  const lines = ['```mermaid', 'flowchart TD'];
  [...LAYERS].reverse().forEach((layer, index) => {
    lines.push(`  subgraph L${LAYERS.length - 1 - index}[" "]`, '    direction LR', ...layer.map((part) => `    ${part}`), '  end');
  });
  for (const [from, targets] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    for (const to of [...targets].sort()) {
      if (!reaches(from, to, true)) lines.push(`  ${from} --> ${to}`);
    }
  }
  for (const key of [...exceptional].sort()) {
    const [from, to] = key.split('>');
    lines.push(`  ${from} -. exception .-> ${to}`);
  }
  lines.push('```');
  return lines.join('\n');
}
