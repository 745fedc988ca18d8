import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { testEngine } from './test-database';

const run = promisify(execFile);
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the browser suites save a screenshot of every page (a CI artifact). */
export const SCREENSHOTS = join(workspaceRoot, 'artifacts', 'screenshots');

/** A window size every page is checked at. */
export interface Viewport {
  readonly name: 'wide' | 'phone';
  readonly width: number;
  readonly height: number;
}

const WIDE: Viewport = { name: 'wide', width: 1280, height: 800 };
const PHONE: Viewport = { name: 'phone', width: 390, height: 844 };

/**
 * A desktop window and a phone's (390 px, as an iPhone 12 to 15). On PostgreSQL the pages run at
 * the desktop width only: their data comes from the same stores either way, and how a page lays
 * out does not depend on the engine (the phone width is checked on SQLite).
 */
export const VIEWPORTS: readonly Viewport[] =
  testEngine() === 'postgresql' ? [WIDE] : [WIDE, PHONE];

/**
 * Installs Debian's chromium when this machine lacks it (idempotent; root and apt, waiting for
 * apt's lock) and launches it headless through playwright-core: no browser is downloaded.
 */
export async function launchBrowser(): Promise<Browser> {
  await run(process.execPath, [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'chromium'], {
    timeout: 280_000,
  });
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** Saves a full-page screenshot as `artifacts/screenshots/<name>-<viewport>.png`. */
export async function shoot(page: Page, viewport: Viewport, name: string): Promise<void> {
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}-${viewport.name}.png`),
    fullPage: true,
  });
}

/**
 * Fails when the page is wider than the window (the layout broke: the user must scroll sideways
 * to read it). Wide tables scroll inside their card instead, which this allows.
 */
export async function expectFitsWidth(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate<{
    scrollWidth: number;
    clientWidth: number;
  }>(
    '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
  );
  expect(
    scrollWidth,
    `page is ${scrollWidth} px wide in a ${clientWidth} px window`,
  ).toBeLessThanOrEqual(clientWidth);
}

/** Signs `user` in through the sign-in form at `baseUrl` and waits to leave the form. */
export async function signIn(
  page: Page,
  baseUrl: string,
  user: { username: string; password: string },
): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}
