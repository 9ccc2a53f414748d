import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Debian's chromium (installed by .ci/run); playwright-core never downloads a browser. */
export const CHROMIUM_PATH = process.env.PUMPWATCH_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium; .ci/run installs it)`;
}

/**
 * Headless Chromium that makes no connection of its own (no updates, sync, QUIC or
 * background networking), with a fresh profile each time.
 */
export async function launchChromium(
  viewport = { width: 1366, height: 768 },
  options: { nice?: number } = {},
): Promise<{ context: BrowserContext; profile: string; close: () => Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'pumpwatch-chromium-'));
  let executablePath = CHROMIUM_PATH;
  if (options.nice !== undefined) {
    // Every Chromium process inherits the niceness of the first.
    executablePath = join(profile, 'chromium-niced');
    await writeFile(executablePath, `#!/bin/sh\nexec nice -n ${options.nice} '${CHROMIUM_PATH}' "$@"\n`, { mode: 0o755 });
  }
  const context = await chromium.launchPersistentContext(join(profile, 'profile'), {
    viewport,
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    profile,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Debian's Firefox ESR (installed by .ci/run), driven over WebDriver BiDi by puppeteer-core. */
export const FIREFOX_PATH = process.env.PUMPWATCH_FIREFOX ?? '/usr/bin/firefox-esr';

export function firefoxMissing(): string | undefined {
  return existsSync(FIREFOX_PATH) ? undefined : `no Firefox at ${FIREFOX_PATH} (apt-get install firefox-esr; .ci/run installs it)`;
}

/**
 * Headless Firefox ESR with a fresh profile. puppeteer-core, not playwright-core: Playwright's
 * Firefox is its own patched build (a download), and its BiDi mode needs commands ESR lacks.
 */
export async function launchFirefox(viewport = { width: 1366, height: 768 }): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    defaultViewport: viewport,
    // No update checks, telemetry or captive-portal probes: the page must be all there is on the wire.
    extraPrefsFirefox: {
      'app.update.enabled': false,
      'network.captive-portal-service.enabled': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.enabled': false,
    },
  });
  return { browser, close: () => browser.close() };
}
