import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * The browser side of the Control UI and WebChat tests: Debian's Chromium through playwright-core,
 * a fresh context per page that fails the test on page errors and CSP refusals, and axe-core's
 * accessibility check.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** `skip` for a describe(): false when Chromium is there, else why the tests of `what` are skipped. */
export function chromiumMissing(what: string): string | false {
  return existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium); skipping ${what}.`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

/** Collects the page's uncaught errors and Content Security Policy refusals. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/iu.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

export interface PageOptions {
  width?: number;
  height?: number;
  theme?: 'light' | 'dark';
  /** Default wait of the page's locators. */
  waitMs?: number;
}

/** Runs `body` on a page in a fresh context; fails when the page had errors; always closes the context. */
export async function withPage(browser: Browser, options: PageOptions, body: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.theme ?? 'light' });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(options.waitMs ?? 10_000);
    const problems = pageProblems(page);
    await body(page);
    assert.deepEqual(problems, [], 'the page had errors');
  } finally {
    await context.close().catch(() => {});
  }
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the browser's debugging protocol, which the page's CSP does not apply to.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate((createRequire(import.meta.url)('axe-core') as { source: string }).source);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
}
