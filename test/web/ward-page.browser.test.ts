import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmEventSchema, type AlarmEvent } from '../../src/alarms/event.js';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { startOpsHttp, type OpsHttpServer } from '../../src/ops/http.js';
import { createWard, loadScenario, paceWard, systemPaceClock } from '../../src/simulate/index.js';
import { connectMqtt, createMqttOutput } from '../../src/simulate/outputs.js';
import { browserMissing, firefoxMissing, launchChromium, launchFirefox } from '../helpers/browser.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { captureLog } from '../helpers/log-capture.js';
import { clearRetainedUnder, startRecorder, type Recorder } from '../helpers/recorder.js';
import { CHANNEL_COLUMNS, type WardAlarm, type WardSnapshot } from '../../src/web/ward.js';

const missing = browserMissing();
if (missing !== undefined) console.warn(`[browser] ward page test skipped: ${missing}`);
const noFirefox = firefoxMissing();
if (noFirefox !== undefined) console.warn(`[browser] Firefox case skipped: ${noFirefox}`);
/** Where the screenshot goes: the run's output folder (CI keeps it). */
const OUT_DIR = resolve(process.env.PUMPWATCH_OUT_DIR ?? 'out');
/** The demo ward at this many simulated seconds per second: NICU-02's clamp is caught, then cleared, within ~20 s. */
const SPEED = 60;

/** What a page asked for and the errors it logged; Playwright's and puppeteer's pages report both the same way, under different types. */
function recordTraffic(subscribe: (listen: { request(url: string): void; console(type: string, text: string): void }) => unknown) {
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  subscribe({
    request: (url) => requests.push(url),
    console: (type, text) => {
      if (type === 'error') consoleErrors.push(text);
    },
  });
  return { requests, consoleErrors };
}

describe.skipIf(missing !== undefined)('the ward page in headless Chromium, against the real daemon and broker', () => {
  let broker: TestBroker;
  let daemon: Daemon;
  let http: OpsHttpServer;
  let station: Recorder;
  let prefix: string;
  let journalDirectory: string;

  beforeAll(async () => {
    broker = await startTestBroker();
    prefix = uniqueTopicPrefix('web');
    journalDirectory = await mkdtemp(join(tmpdir(), 'pumpwatch-web-'));
    const config = ConfigSchema.parse({
      gateway: { id: 'gw-web', ward: 'nicu' },
      mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}`, sessionExpirySeconds: 0 },
      sources: { mqtt: { topics: [`${prefix}-pumps/+/telemetry`] } },
      journal: { directory: journalDirectory },
      ops: { http: { port: 0, web: { pointSeconds: 1 } } },
      // The simulated pumps run SPEED× faster than the gateway clock: their time is not a clock fault.
      time: { maxSkewSeconds: 86_400 },
    });
    station = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/events`] });
    daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, {
      clock: systemClock,
      logger: captureLog('warn').logger,
      connect,
      loadSerialBinding: () => Promise.reject(new Error('no serial in this test')),
    });
    http = await startOpsHttp({
      host: '127.0.0.1',
      port: 0,
      scrape: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
      liveness: () => daemon.ops.liveness(),
      readiness: () => daemon.ops.readiness(),
      web: daemon.page,
      logger: captureLog('warn').logger,
    });
  });

  afterAll(async () => {
    await http?.close();
    await daemon?.stop();
    await station?.stop();
    if (broker !== undefined) {
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
      await broker.stop();
    }
    await rm(journalDirectory, { recursive: true, force: true });
  });

  it('shows the channel and its chart, and an occlusion alarm within 2 s of being raised and gone within 2 s of its end', async () => {
    const loaded = await loadScenario('demo');
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const output = await createMqttOutput(broker.url, `${prefix}-pumps`, connectMqtt, `pw-sim-${prefix.slice(-8)}`);
    const stopFeed = new AbortController();
    const { context, close } = await launchChromium();
    try {
      const page = await context.newPage();
      const { requests, consoleErrors } = recordTraffic((listen) => page.on('request', (request) => listen.request(request.url())).on('console', (message) => listen.console(message.type(), message.text())));
      await page.goto(`http://127.0.0.1:${http.port}/`);
      // Record, in the page, when each alarm element first appears and when it goes.
      await page.evaluate(`(() => {
        const seen = {};
        window.pwSeen = seen;
        const scan = () => {
          const present = new Set();
          for (const item of document.querySelectorAll('li.pw-alarm')) {
            present.add(item.dataset.alarmId);
            seen[item.dataset.alarmId] ??= { shownAt: Date.now() };
          }
          for (const [id, entry] of Object.entries(seen)) if (!present.has(id) && entry.goneAt === undefined) entry.goneAt = Date.now();
        };
        new MutationObserver(scan).observe(document.getElementById('alarms'), { childList: true, subtree: true });
      })()`);

      const feeding = paceWard(createWard({ scenario: loaded.scenario }), { speed: SPEED, clock: systemPaceClock, signal: stopFeed.signal }, (emission) =>
        output.write(emission, JSON.stringify(emission.sample)),
      );
      const isOcclusion = (event: AlarmEvent, kind: string) => event.pumpId === 'NICU-02' && event.condition === 'downstream-occlusion' && event.event === kind;
      const eventFrom = (text: string) => AlarmEventSchema.parse(JSON.parse(text));

      const row = page.locator('tr[data-pump="NICU-02/1"]');
      await row.waitFor({ timeout: 15_000 });
      await expect(row.locator('td').nth(2).textContent()).resolves.toBe('⚠ calcium gluconate');
      await row.click();

      const raised = eventFrom((await station.waitFor((m) => isOcclusion(eventFrom(m.text), 'raised'), { description: 'occlusion raised', timeoutMs: 60_000 })).text);
      const alarmItem = page.locator(`li.pw-alarm[data-alarm-id="${raised.alarmId}"]`);
      await alarmItem.waitFor({ timeout: 5000 });
      await expect(alarmItem.textContent()).resolves.toMatch(/HIGH.*downstream-occlusion.*NICU-02/s);
      await page.locator('tr[data-pump="NICU-02/1"] td', { hasText: 'HIGH: downstream-occlusion' }).waitFor({ timeout: 3000 });

      // The chart of the channel in view has drawn points, on both axes.
      // Polled from here: the page's CSP forbids the eval that waitForFunction's string predicates need.
      await expect
        .poll(() => page.evaluate<number>(`Number(document.querySelector('#chart .pw-chart-volume .uplot')?.dataset.points ?? 0)`), { timeout: 10_000 })
        .toBeGreaterThanOrEqual(20);
      const points = await page.evaluate<number[]>(`[...document.querySelectorAll('#chart .uplot')].map((chart) => Number(chart.dataset.points))`);
      expect(points).toHaveLength(2);
      expect(Math.min(...points)).toBeGreaterThanOrEqual(20);
      await expect(page.locator('#chart h3').textContent()).resolves.toContain('NICU-02 / 1');
      await page.locator('#chart .pw-markers li', { hasText: 'downstream-occlusion raised (high)' }).waitFor({ timeout: 5000 });
      await mkdir(OUT_DIR, { recursive: true });
      const shot = join(OUT_DIR, 'ward-page-alarm.png');
      await page.screenshot({ path: shot });
      console.log(`[browser] screenshot with the alarm active: ${shot}`);
      // A tablet in portrait: one column, alarms first, and the charts redrawn to the column's width.
      const chartWidth = () => page.evaluate<number>(`document.querySelector('#chart .uplot canvas').getBoundingClientRect().width`);
      const landscapeWidth = await chartWidth();
      await page.setViewportSize({ width: 800, height: 1280 });
      await expect.poll(chartWidth, { timeout: 3000 }).not.toBe(landscapeWidth);
      const portraitWidth = await chartWidth();
      expect(portraitWidth).toBeGreaterThan(600);
      expect(portraitWidth).toBeLessThanOrEqual(800);
      await page.screenshot({ path: join(OUT_DIR, 'ward-page-tablet.png') });
      await page.setViewportSize({ width: 1366, height: 768 });

      const ended = eventFrom((await station.waitFor((m) => isOcclusion(eventFrom(m.text), 'ended'), { description: 'occlusion ended', timeoutMs: 90_000 })).text);
      await alarmItem.waitFor({ state: 'detached', timeout: 5000 });
      const seen = await page.evaluate<{ shownAt: number; goneAt?: number } | undefined>(`window.pwSeen[${JSON.stringify(raised.alarmId)}]`);
      stopFeed.abort();
      await feeding;

      // Same machine, same clock: the daemon's emittedAt against the page's Date.now().
      const shownAfterMs = seen!.shownAt - Date.parse(raised.emittedAt);
      const goneAfterMs = seen!.goneAt! - Date.parse(ended.emittedAt);
      console.log(`[browser] alarm shown ${shownAfterMs} ms after it was raised, gone ${goneAfterMs} ms after it ended`);
      expect(shownAfterMs).toBeLessThanOrEqual(2000);
      expect(goneAfterMs).toBeLessThanOrEqual(2000);
      await page.screenshot({ path: join(OUT_DIR, 'ward-page-after.png') });

      const origin = `http://127.0.0.1:${http.port}/`;
      expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
      expect(consoleErrors).toEqual([]);
    } finally {
      stopFeed.abort();
      await output.close();
      await close();
    }
  }, 150_000);

  it('in an alarm storm draws the 200 most urgent alarms and counts the rest, instead of freezing on thousands', async () => {
    const alarm = (index: number, priority: string): WardAlarm => ({
      alarmId: `storm-${index}`,
      condition: priority === 'high' ? 'downstream-occlusion' : 'pump-clock-skew',
      priority,
      kind: 'technical',
      pumpId: `P${index}`,
      channel: '1',
      raisedAt: new Date(Date.now() - 60_000).toISOString(),
      lastEvent: 'raised',
      acknowledged: false,
      pausedUntil: null,
      bed: null,
      message: 'storm',
    });
    // The daemon sends alarms most urgent first (src/web/ward.ts); the page relies on that order.
    const alarms = [alarm(0, 'high'), alarm(1, 'high'), ...Array.from({ length: 1_198 }, (_, index) => alarm(index + 2, 'low'))];
    const snapshot: WardSnapshot = {
      v: 1,
      nowMs: Date.now(),
      gateway: { id: 'gw-storm', site: 'site', ward: 'nicu' },
      allowAck: false,
      telemetryLostAfterSeconds: 60,
      channelColumns: CHANNEL_COLUMNS,
      channels: [],
      alarms,
      events: [],
      health: { sources: [], broker: 'connected', rejects: {}, journal: null, ingest: null },
    };
    const { context, close } = await launchChromium();
    try {
      const page = await context.newPage();
      await page.route('**/api/events', (route) =>
        route.fulfill({ status: 200, contentType: 'text/event-stream', body: `retry: 60000\nevent: ward\ndata: ${JSON.stringify(snapshot)}\n\n` }),
      );
      await page.goto(`http://127.0.0.1:${http.port}/`);
      await page.locator('#alarms li.pw-more').waitFor({ timeout: 10_000 });
      await expect(page.locator('#alarms li.pw-alarm').count()).resolves.toBe(200);
      await expect(page.locator('#alarms li.pw-more').textContent()).resolves.toContain('1000 more alarms');
      await expect(page.locator('#alarms li.pw-alarm').first().getAttribute('data-alarm-id')).resolves.toBe('storm-0');
      await expect(page.locator('#alarm-count').textContent()).resolves.toBe('(1200)');
    } finally {
      await close();
    }
  }, 60_000);

  it.skipIf(noFirefox !== undefined)('works in Firefox ESR too: its JavaScript modules run, the ward table fills and the chart draws, with nothing fetched from elsewhere', async () => {
    const loaded = await loadScenario('demo');
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const output = await createMqttOutput(broker.url, `${prefix}-pumps`, connectMqtt, `pw-ff-${prefix.slice(-8)}`);
    const stopFeed = new AbortController();
    const feeding = paceWard(createWard({ scenario: loaded.scenario }), { speed: SPEED, clock: systemPaceClock, signal: stopFeed.signal }, (emission) =>
      output.write(emission, JSON.stringify(emission.sample)),
    );
    const { browser, close } = await launchFirefox();
    try {
      const page = await browser.newPage();
      const { requests, consoleErrors } = recordTraffic((listen) => page.on('request', (request) => listen.request(request.url())).on('console', (message) => listen.console(message.type(), message.text())));
      await page.goto(`http://127.0.0.1:${http.port}/`);
      await page.waitForSelector('tr[data-pump="NICU-02/1"]', { timeout: 20_000 });
      await page.waitForSelector('#chart .uplot', { timeout: 20_000 });
      const drug: unknown = await page.evaluate(`document.querySelector('tr[data-pump="NICU-02/1"] td:nth-child(3)').textContent`);
      expect(drug).toBe('⚠ calcium gluconate');
      await expect
        .poll(async () => (await page.evaluate(`[...document.querySelectorAll('#chart .uplot')].map((chart) => Number(chart.dataset.points ?? 0))`)) as number[], { timeout: 15_000 })
        .toSatisfy((points: number[]) => points.length === 2 && points.every((count) => count >= 5));
      await mkdir(OUT_DIR, { recursive: true });
      await page.screenshot({ path: join(OUT_DIR, 'ward-page-firefox.png') });
      const origin = `http://127.0.0.1:${http.port}/`;
      // puppeteer's first page is the blank `data:,`; only what goes on the wire counts.
      expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([]);
      expect(consoleErrors).toEqual([]);
    } finally {
      stopFeed.abort();
      await feeding;
      await output.close();
      await close();
    }
  }, 90_000);
});
