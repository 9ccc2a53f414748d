import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateCommand } from '../../src/cli/evaluate.js';
import { EXIT, type CliIo } from '../../src/cli/io.js';

function io(): { io: CliIo; stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  return { io: { stdin: new PassThrough(), stdout, stderr, env: {}, stopSignal: new AbortController().signal }, stdout: () => out.join(''), stderr: () => err.join('') };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('pumpwatch evaluate', () => {
  it('prints the tables and writes the JSON figures and a self-contained HTML report', async () => {
    const out = await mkdtemp(join(tmpdir(), 'pw-eval-'));
    dirs.push(out);
    const cli = io();
    const code = await evaluateCommand(['--seeds', '3', '--families', 'occlusion', '--pumps', '2', '--hours', '4', '--out', out], cli.io);
    expect(code).toBe(EXIT.ok);
    expect(cli.stdout()).toContain('Targets');
    expect(cli.stdout()).toContain('Downstream occlusion');
    expect(cli.stderr()).toContain('[1/1] occlusion seed 3');
    const json = JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as { summary: { targets: unknown[] }; plan: { seeds: number[] } };
    expect(json.plan.seeds).toEqual([3]);
    expect(json.summary.targets.length).toBeGreaterThan(0);
    const html = await readFile(join(out, 'evaluation.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    // Self-contained: the chart code and uPlot are inlined; nothing is loaded from anywhere.
    expect(html).not.toMatch(/<(script|link|img)[^>]*(src|href)=/);
    expect(html).toContain('data-series="0"');
  });

  it('refuses an unknown seed set with a usage error', async () => {
    const cli = io();
    expect(await evaluateCommand(['--set', 'favourite'], cli.io)).toBe(EXIT.usage);
    expect(cli.stderr()).toContain('--set must be one of');
  });

  it('reports unreadable recorded runs', async () => {
    const cli = io();
    expect(await evaluateCommand(['--telemetry', '/nonexistent/t.jsonl', '--labels', '/nonexistent/l.jsonl'], cli.io)).toBe(EXIT.inputUnreadable);
  });
});
