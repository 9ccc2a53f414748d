import { readdirSync, readFileSync } from 'node:fs';
import { browserMissing, launchChromium } from '../../test/helpers/browser.js';
import { readProc } from './proc.js';

/** As web/app.js: the chart in view is fetched again every 2 s. */
const CHART_REFRESH_MS = 2000;

/**
 * CPU seconds of the Chromium started on `profile` and every process under it, from /proc. On a
 * shared machine wall time mostly measures waiting for a core; this is the browser's own work.
 */
function chromiumCpuSeconds(profile: string): number {
  const parentOf = new Map<number, number>();
  const tree = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(profile)) tree.add(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parentOf) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let seconds = 0;
  for (const pid of tree) seconds += readProc(pid)?.cpuSeconds ?? 0;
  return seconds;
}

export interface OpenPages {
  /** Per page: navigation start to the ward table listing every channel and a chart drawn, in ms (the page's own clock). */
  firstRenderMs: number[];
  /** Per page: CPU time of the whole Chromium (browser, renderer, GPU processes) from navigation to that first render, in ms. */
  firstRenderCpuMs: number[];
  /** CPU of the whole Chromium with every page open, in cores, over `seconds`. */
  browserCores(seconds: number): Promise<number>;
  /** Bytes of one whole-ward snapshot (what each page receives per second). */
  snapshotBytes: number;
  close(): Promise<void>;
}

/**
 * Opens `count` ward pages of the daemon at `port` in one headless Chromium (niced), one after the other,
 * each waiting until its table lists `channels` channels and a chart is drawn. Undefined when Chromium is missing.
 */
export async function openWardPages(port: number, count: number, channels: number): Promise<OpenPages | undefined> {
  const missing = browserMissing();
  if (missing !== undefined) {
    console.log(`  ward pages not opened: ${missing}`);
    return undefined;
  }
  // At nice 19: on a ward the pages are open on other machines; on the gateway's own two cores an
  // unniced Chromium takes ~1.4 cores at 1,000 channels and the bench would time Chromium, not the daemon.
  const { context, profile, close } = await launchChromium(undefined, { nice: 19 });
  const firstRenderMs: number[] = [];
  const firstRenderCpuMs: number[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const page = await context.newPage();
      const cpuBefore = chromiumCpuSeconds(profile);
      await page.goto(`http://127.0.0.1:${port}/`);
      // Locators, not waitForFunction: the page's CSP forbids the eval that string predicates need.
      await page.locator('#ward tr[data-pump]').first().waitFor({ timeout: 60_000 });
      const deadline = Date.now() + 60_000;
      while ((await page.evaluate<number>(`Number(document.getElementById('channel-count').textContent.replace(/\\D/g, ''))`)) < channels) {
        if (Date.now() > deadline) throw new Error(`PW_BENCH_PAGE: the page did not list ${channels} channels within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await page.locator('#chart .uplot').first().waitFor({ timeout: 60_000 });
      firstRenderMs.push(await page.evaluate<number>('performance.now()'));
      firstRenderCpuMs.push((chromiumCpuSeconds(profile) - cpuBefore) * 1000);
    }
    const state = await fetch(`http://127.0.0.1:${port}/api/state`);
    const snapshotBytes = (await state.arrayBuffer()).byteLength;
    const browserCores = async (seconds: number) => {
      const before = chromiumCpuSeconds(profile);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      return (chromiumCpuSeconds(profile) - before) / seconds;
    };
    return { firstRenderMs, firstRenderCpuMs, browserCores, snapshotBytes, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The traffic of `count` ward pages without a browser: each holds the event stream a page holds
 * (the whole ward, then a frame a second and on alarm events, read and dropped) and refreshes the
 * chart of the first channel every 2 s, as a page does, the pages spread over those 2 s. What
 * the daemon pays for pages, without Chromium on the same cores.
 */
export async function openPageStreams(port: number, count: number): Promise<{ close(): void }> {
  const base = `http://127.0.0.1:${port}`;
  const state = (await (await fetch(`${base}/api/state`)).json()) as { channels: [string, string][] };
  const [pumpId, channel] = state.channels[0] ?? ['none', '1'];
  const chart = `${base}/api/channel?pumpId=${encodeURIComponent(pumpId)}&channel=${encodeURIComponent(channel)}`;
  const controller = new AbortController();
  const drain = async () => {
    const response = await fetch(`${base}/api/events`, { signal: controller.signal });
    const reader = response.body!.getReader();
    while (!(await reader.read()).done);
  };
  const timers: NodeJS.Timeout[] = [];
  for (let index = 0; index < count; index++) {
    void drain().catch(() => undefined);
    // As the page: the whole chart first, then the points after the last final one it holds.
    let after = '';
    const fetchChart = () =>
      void fetch(`${chart}${after}`, { signal: controller.signal })
        .then((response) => response.json() as Promise<{ tsMs: number[]; partial?: boolean }>)
        .then((series) => {
          const last = series.tsMs[series.partial === true ? series.tsMs.length - 2 : series.tsMs.length - 1];
          if (last !== undefined) after = `&after=${last}`;
        })
        .catch(() => undefined);
    timers.push(setTimeout(() => timers.push(setInterval(fetchChart, CHART_REFRESH_MS)), (index * CHART_REFRESH_MS) / count));
  }
  return {
    close() {
      for (const timer of timers) clearTimeout(timer);
      controller.abort();
    },
  };
}
