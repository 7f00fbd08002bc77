/**
 * The Control UI's weight and speed: the gzipped bytes the first view needs (the page, its entry
 * script and styles, as the gateway serves them), and in Debian's Chromium on loopback the first
 * contentful paint and the time until the Overview shows its first health light, median of
 * several fresh loads. `node dist/bench/ui.js [--loads N]` after `npm run build`; part of
 * `npm run bench`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { removeHome, startTestGateway } from '../test/support/gateway-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UI = join(ROOT, 'dist', 'ui');
const CHROMIUM = '/usr/bin/chromium';
const BUDGET_KB = 150;
const PAINT_BUDGET_MS = 300;

const gzipped = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length;

/** Bytes (gzipped) of the page and what it loads at once, and of the chunks loaded later. */
function bundleSizes(): { firstView: number; later: number; files: number } {
  const html = readFileSync(join(UI, 'index.html'), 'utf8');
  const eager = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/gu)].map((match) => match[1] as string));
  const all = readdirSync(join(UI, 'assets')).map((name) => `assets/${name}`);
  const firstView = gzipped(join(UI, 'index.html')) + [...eager].reduce((sum, file) => sum + gzipped(join(UI, file)), 0);
  const later = all.filter((file) => !eager.has(file)).reduce((sum, file) => sum + gzipped(join(UI, file)), 0);
  return { firstView, later, files: all.length };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function paintTimes(loads: number): Promise<{ fcp: number[]; firstLight: number[] }> {
  const gateway = await startTestGateway({});
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  const result = { fcp: [] as number[], firstLight: [] as number[] };
  try {
    for (let load = 0; load < loads; load++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(`${gateway.url}/#token=${gateway.token}`);
      await page.locator('[data-testid="components"] [data-status]').first().waitFor({ timeout: 10_000 });
      const times = await page.evaluate(() => ({
        fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
        now: performance.now(),
      }));
      result.fcp.push(times.fcp);
      result.firstLight.push(times.now);
      await context.close();
    }
  } finally {
    await browser.close();
    await gateway.stop();
    removeHome(gateway.home);
  }
  return result;
}

async function main(): Promise<void> {
  const loadsAt = process.argv.indexOf('--loads');
  const loads = loadsAt === -1 ? 9 : Number(process.argv[loadsAt + 1]);
  const sizes = bundleSizes();
  const times = await paintTimes(loads);
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  console.log(`\nControl UI (median of ${loads} fresh loads in Chromium on loopback)`);
  console.log('| figure | value | budget |');
  console.log('|---|---|---|');
  console.log(`| first view, gzipped (page + entry script + styles) | ${kb(sizes.firstView)} KB | < ${BUDGET_KB} KB |`);
  console.log(`| loaded later, gzipped (${sizes.files} files in all) | ${kb(sizes.later)} KB | |`);
  console.log(`| first contentful paint | ${median(times.fcp).toFixed(0)} ms | < ${PAINT_BUDGET_MS} ms |`);
  console.log(`| first health light on the Overview | ${median(times.firstLight).toFixed(0)} ms | |`);
  console.log(`BENCH_UI_JSON ${JSON.stringify({ loads, firstViewBytes: sizes.firstView, laterBytes: sizes.later, fcpMs: median(times.fcp), firstLightMs: median(times.firstLight) })}`);
}

void main();
