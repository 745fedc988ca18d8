import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type APIResponse,
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
} from 'playwright-core';
import { afterEach, beforeEach, expect } from 'vitest';
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

/** A fresh browser window (context and page) per test, at one viewport, with the suites' helpers. */
export interface BrowserTab {
  /** This test's window and page (a new one for each test). */
  readonly context: BrowserContext;
  readonly page: Page;
  /** Checks that the page shown fits the window's width, and saves its screenshot as `name`. */
  shoot(name: string): Promise<void>;
  /** The session's CSRF token, from the sign-out form of the page shown. */
  csrf(): Promise<string>;
  /** POSTs a form with the page's session to `path`, as a hand-made request would. */
  post(path: string, form: Record<string, string>): Promise<APIResponse>;
  /** Clicks `selector` and answers the status of the POST the click sends. */
  submit(selector: string): Promise<number>;
}

/**
 * Opens a new window of `viewport` before each test of the calling `describe` and closes it after
 * (its hooks are registered there). `browser` and `baseUrl` are read when a test starts, so they
 * may be set in a `beforeAll`.
 */
export function browserTab(
  browser: () => Browser,
  baseUrl: () => string,
  viewport: Viewport,
): BrowserTab {
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  beforeEach(async () => {
    context = await browser().newContext({
      viewport: { width: viewport.width, height: viewport.height },
    });
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    page = undefined;
  });
  const opened = () => {
    if (!page) throw new Error('the browser tab is open only while a test runs');
    return page;
  };
  return {
    get context() {
      if (!context) throw new Error('the browser tab is open only while a test runs');
      return context;
    },
    get page() {
      return opened();
    },
    async shoot(name) {
      await expectFitsWidth(opened());
      await shoot(opened(), viewport, name);
    },
    async csrf() {
      return (await opened().getAttribute('input[name="_csrf"]', 'value')) ?? '';
    },
    post(path, form) {
      return opened().request.post(`${baseUrl()}${path}`, { form, maxRedirects: 0 });
    },
    async submit(selector) {
      const answer = opened().waitForResponse((response) => response.request().method() === 'POST');
      await opened().click(selector);
      return (await answer).status();
    },
  };
}
