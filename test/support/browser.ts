import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Debian's Chromium: `npx playwright install` cannot download a browser on machines without internet. */
const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless Chromium, or undefined (with the reason printed) when it is not
 * installed; with REQUIRE_INFRA=1 a missing browser fails the suite instead.
 */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!existsSync(EXECUTABLE)) {
    if (process.env.REQUIRE_INFRA === '1') throw new Error(`REQUIRE_INFRA=1 but Chromium is not installed at ${EXECUTABLE}`);
    console.warn(`skipping browser tests: no Chromium at ${EXECUTABLE}`);
    return undefined;
  }
  return chromium.launch({ executablePath: EXECUTABLE, args: FLAGS, headless: true });
}

/**
 * A browser context that can reach this machine only: every request to
 * another host is aborted, and recorded, so a test can assert that a page
 * asked for nothing from elsewhere.
 */
export async function offlineContext(browser: Browser): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext();
  const blocked: string[] = [];
  await context.route('**/*', async (route) => {
    const { hostname, protocol } = new URL(route.request().url());
    if (protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
    blocked.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  return { context, blocked };
}
