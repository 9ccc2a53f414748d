import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { browserMissing, launchChromium } from '../helpers/browser.js';
import { runCommand } from '../helpers/cli.js';

const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'two-pumps.jsonl');
const OUT_DIR = resolve(process.env.PUMPWATCH_OUT_DIR ?? 'out');
const missing = browserMissing();

describe('pumpwatch replay --html', () => {
  it('writes one self-contained page: the events, and charts for the channels that alarmed', async () => {
    await mkdir(OUT_DIR, { recursive: true });
    const html = join(OUT_DIR, 'replay-two-pumps.html');
    const run = await runCommand(['replay', fixture, '--html', html, '--out', '/dev/null']);
    expect([run.code, run.stderr]).toEqual([0, expect.stringContaining(`incident page written to ${html}`)]);
    const page = await readFile(html, 'utf8');
    expect(page.match(/<tr class="pw-priority-/g)).toHaveLength(3);
    expect(page).toContain('NICU-01 / 1');
    // Nothing to fetch: no script, style or image comes from anywhere but the file itself.
    expect(page.match(/<(script|link|img)[^>]*(src|href)=/g)).toBeNull();
    const data = JSON.parse(/<script type="application\/json" id="pw-series">(.*?)<\/script>/s.exec(page)![1]!) as { pumpId: string; tsMs: number[] }[];
    // Both channels alarmed (occlusion on NICU-01, telemetry lost on NICU-02).
    expect(data.map((series) => series.pumpId).sort()).toEqual(['NICU-01', 'NICU-02']);
    expect(data[0]!.tsMs.length).toBeGreaterThan(5);
  });

  it.skipIf(missing !== undefined)('draws those charts in Chromium from the file, offline', async () => {
    const html = join(OUT_DIR, 'replay-two-pumps-browser.html');
    expect((await runCommand(['replay', fixture, '--html', html, '--out', '/dev/null', '--channel', 'NICU-01'])).code).toBe(0);
    const { context, close } = await launchChromium();
    try {
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(pathToFileURL(html).href);
      await page.locator('.uplot[data-points]').nth(1).waitFor({ timeout: 10_000 });
      const points = await page.evaluate<number[]>(`[...document.querySelectorAll('.uplot')].map((chart) => Number(chart.dataset.points))`);
      expect(points.every((n) => n > 5)).toBe(true);
      await expect(page.locator('.pw-markers').textContent()).resolves.toContain('downstream-occlusion raised (high)');
      await page.screenshot({ path: join(OUT_DIR, 'replay-two-pumps.png'), fullPage: true });
      expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});
