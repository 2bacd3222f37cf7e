// Debian's Chromium through playwright-core (never a downloaded browser),
// and the demo page driven as a person would.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHROMIUM = process.env.QUIRE_CHROMIUM ?? '/usr/bin/chromium';
const here = dirname(fileURLToPath(import.meta.url));
export const OUTPUT = resolve(process.env.QUIRE_TEST_OUTPUT ?? join(here, 'output'));
export const STATIC_DIR = resolve(process.env.QUIRE_STATIC_DIR ?? join(here, '../demo/dist'));
mkdirSync(OUTPUT, { recursive: true });

// Playwright gives the browser a fresh temporary --user-data-dir of its
// own and removes it on close.
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30000,
  });
}

// Opens the editor on `doc` as `name` and waits until it is synced and
// its service worker is active (so it can reload offline).
export async function openEditor(context, base, doc, name) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${name}] page error:`, e));
  page.on('console', (m) => m.type() === 'error' && console.error(`[${name}]`, m.text()));
  await page.goto(`${base}/?doc=${encodeURIComponent(doc)}&name=${encodeURIComponent(name)}`);
  await waitSynced(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  return page;
}

export function waitSynced(page) {
  return page.waitForFunction(() => window.quire?.doc?.synced && window.quire.doc.pending === 0, null, {
    timeout: 15000,
  });
}

export const textOf = (page) => page.evaluate(() => window.quire.view.state.doc.toString());

export async function focusEnd(page) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+End');
}

export function screenshot(page, name) {
  const path = join(OUTPUT, name);
  return page.screenshot({ path }).then(() => path);
}
