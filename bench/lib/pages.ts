import type { CDPSession } from 'playwright-core';
import { browserMissing, launchChromium } from '../../test/helpers/browser.js';

export interface OpenPages {
  /** Per page: navigation start to the ward table listing every channel and a chart drawn, in ms (the page's own clock). */
  firstRenderMs: number[];
  /** Per page: main-thread task time (Chromium's TaskDuration) spent up to that first render, in ms. */
  firstRenderTaskMs: number[];
  /** Main-thread task time of every open page together, per second of wall time, over `seconds`. */
  busyShare(seconds: number): Promise<number>;
  /** Bytes of one whole-ward snapshot (what each page receives per second). */
  snapshotBytes: number;
  close(): Promise<void>;
}

/**
 * Opens `count` ward pages of the daemon at `port` in one headless Chromium, one after the other,
 * each waiting until its table lists `channels` channels and a chart is drawn. Undefined when Chromium is missing.
 */
export async function openWardPages(port: number, count: number, channels: number): Promise<OpenPages | undefined> {
  const missing = browserMissing();
  if (missing !== undefined) {
    console.log(`  ward pages not opened: ${missing}`);
    return undefined;
  }
  const { context, close } = await launchChromium();
  const firstRenderMs: number[] = [];
  const firstRenderTaskMs: number[] = [];
  const sessions: CDPSession[] = [];
  const taskSeconds = async (session: CDPSession) => {
    const { metrics } = await session.send('Performance.getMetrics');
    return metrics.find((metric) => metric.name === 'TaskDuration')?.value ?? 0;
  };
  try {
    for (let index = 0; index < count; index++) {
      const page = await context.newPage();
      const session = await context.newCDPSession(page);
      await session.send('Performance.enable');
      sessions.push(session);
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
      firstRenderTaskMs.push((await taskSeconds(session)) * 1000);
    }
    const state = await fetch(`http://127.0.0.1:${port}/api/state`);
    const snapshotBytes = (await state.arrayBuffer()).byteLength;
    const busyShare = async (seconds: number) => {
      const total = async () => (await Promise.all(sessions.map(taskSeconds))).reduce((sum, value) => sum + value, 0);
      const before = await total();
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      return ((await total()) - before) / seconds;
    };
    return { firstRenderMs, firstRenderTaskMs, busyShare, snapshotBytes, close };
  } catch (error) {
    await close();
    throw error;
  }
}
