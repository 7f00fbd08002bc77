/**
 * The Control UI end to end: the real gateway serving the built app (dist/ui) at `/`, driven in
 * Debian's Chromium through playwright-core, with the fake model and a chat platform on loopback
 * (Loopchat, through the plugin that provides it).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumMissing, launchChromium, type PageOptions, seriousViolations, withPage as withBrowserPage } from '../support/browser.js';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, REPO_ROOT, removeHome, startTestGateway, type TestGateway, waitFor } from '../support/gateway-harness.js';
import { createLoopchatHarness, installLoopchatPlugin, type LoopchatAccount } from '../support/platforms/loopchat-harness.js';

const skip = chromiumMissing('the Control UI browser tests');
const WAIT = 10_000;
const VIEWS = ['Overview', 'Chat', 'Channels', 'Cron', 'Runs', 'Logs', 'Memory', 'Skills', 'Plugins', 'Tools', 'Config', 'Usage'];
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');


describe('control ui', { skip }, () => {
  let browser: Browser;
  let model: FakeModelServer;
  let loopchat: Awaited<ReturnType<typeof createLoopchatHarness>>;
  let account: LoopchatAccount;
  let gateway: TestGateway;

  before(async () => {
    browser = await launchChromium();
    model = await startFakeModelServer();
    loopchat = await createLoopchatHarness();
    account = await loopchat.newAccount();
    const home = makeHome();
    installLoopchatPlugin(home);
    const workspace = join(home, 'workspaces', 'main');
    mkdirSync(join(workspace, 'skills'), { recursive: true });
    cpSync(join(REPO_ROOT, 'test', 'fixtures', 'skills', 'malicious'), join(workspace, 'skills', 'malicious'), { recursive: true });
    writeFileSync(join(workspace, 'MEMORY.md'), '# Facts\n\nThe boiler was serviced by Lumen Heating on 3 March.\n');
    gateway = await startTestGateway({
      home,
      config: { ...fakeModelConfig(model), channels: { loopchat: { ...account.settings, reconnectDelayMs: 50 } } },
    });
  });

  after(async () => {
    await browser?.close();
    if (gateway) {
      await gateway.stop();
      removeHome(gateway.home);
    }
    await loopchat?.close();
    await model?.close();
  });

  const withPage = (options: PageOptions, body: (page: Page) => Promise<void>) => withBrowserPage(browser, options, body);

  const open = async (page: Page, view = 'overview') => {
    await page.goto(`${gateway.url}/#token=${gateway.token}`);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    if (view !== 'overview') await page.getByRole('link', { name: VIEWS.find((name) => name.toLowerCase() === view), exact: true }).click();
    await page.locator(`main[data-view="${view}"]`).waitFor();
  };

  test('every view has a link with its exact name and a fragment route that survives a reload; the token leaves the address bar', () =>
    withPage({}, async (page) => {
      await open(page);
      assert.equal(new URL(page.url()).hash, '#/overview', 'the token is taken out of the address');
      const names = await page.getByRole('navigation', { name: 'Views' }).getByRole('link').allInnerTexts();
      assert.deepEqual(names, VIEWS);
      for (const name of VIEWS) {
        await page.getByRole('link', { name, exact: true }).click();
        await page.getByRole('heading', { level: 1, name }).waitFor();
        assert.equal(new URL(page.url()).hash, `#/${name.toLowerCase()}`);
        assert.equal(await page.getByRole('link', { name, exact: true }).getAttribute('aria-current'), 'page');
      }
      await page.goto(`${gateway.url}/#/cron`);
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Cron' }).waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem('hearth.gatewayToken')), gateway.token, 'the token is kept in the browser');
    }));

  test('the views are reachable with the keyboard alone', () =>
    withPage({}, async (page) => {
      await open(page);
      const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
      let presses = 0;
      while ((await focused()) !== 'Cron' && presses < 40) {
        await page.keyboard.press('Tab');
        presses += 1;
      }
      assert.equal(await focused(), 'Cron', 'Tab reaches the Cron link');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Cron' }).waitFor();
      assert.equal(new URL(page.url()).hash, '#/cron');
    }));

  test('Overview: a light for every component and each channel account on its three dimensions', () =>
    withPage({}, async (page) => {
      await open(page);
      const components = page.getByTestId('components');
      for (const name of ['store', 'channels', 'plugins']) {
        await components.locator(`[data-component="${name}"] [data-status]`).waitFor();
      }
      const card = page.locator('[data-channel="loopchat:default"]');
      await waitFor(async () => (await card.locator('[data-dimension="transport"] [data-status]').getAttribute('data-status').catch(() => null)) === 'ok', 'the transport light to be green', WAIT);
      assert.deepEqual(await card.locator('[data-dimension]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-dimension'))), ['transport', 'application', 'functional']);
      const today = page.getByTestId('today');
      await today.getByText('Outbox pending / failed').waitFor();
      // Turns, tokens and cost come from the stored runs; the loop lag from the gateway's own meter.
      assert.match((await today.locator('div', { hasText: 'Turns today' }).locator('dd').textContent()) ?? '', /^\d+ · [\d,]+ tokens · \$\d+\.\d{4}$/u);
      assert.match((await today.locator('div', { hasText: 'Event-loop lag' }).locator('dd').textContent()) ?? '', /^[\d.]+ ms \/ [\d.]+ ms$/u);
    }));

  test('Channels: approving a pairing request from the UI lets the sender in', () =>
    withPage({}, async (page) => {
      await open(page, 'channels');
      const stranger = { id: '3001', name: 'Grace' };
      await account.dm(stranger, 'may I talk to you?');
      const approve = page.getByRole('button', { name: /^Approve [A-HJ-NP-Z2-9]{8}$/u });
      await approve.waitFor();
      await page.getByText('Grace (loopchat:default)').waitFor();
      await approve.click();
      await page.getByRole('status').getByText('Approved Grace.').waitFor();
      await waitFor(() => account.sent().some((message) => message.chatId === 'dm-3001' && /approved/iu.test(message.text)), 'the approval notice');
      await account.dm(stranger, 'thank you');
      await waitFor(() => account.sent().some((message) => message.chatId === 'dm-3001' && message.text.includes('echo: thank you')), 'the answer to the approved sender');

      // Taken back: the sender is asked to pair again and is not answered.
      const senders = page.getByTestId('approved-senders');
      await senders.getByText('Grace (3001)').waitFor();
      await senders.getByRole('button', { name: 'Revoke Grace' }).click();
      await senders.getByText('Revoked Grace: they must pair again.').waitFor();
      await senders.getByText('No one has been let in through pairing yet.').waitFor();
      await account.dm(stranger, 'still there?');
      await waitFor(() => account.sent().filter((message) => message.chatId === 'dm-3001' && /pairing code/iu.test(message.text)).length === 2, 'a new pairing code');
      assert.equal(account.sent().some((message) => message.text.includes('echo: still there?')), false);
    }));

  test('Skills: a workspace skill shows as unsigned with its capabilities, and its risk report names each finding with file and line', () =>
    withPage({}, async (page) => {
      await open(page, 'skills');
      const row = page.getByRole('row').filter({ hasText: 'unsigned' }).first();
      await row.waitFor();
      await page.getByRole('button', { name: /^Risk report for / }).first().click();
      const report = page.getByTestId('risk-report');
      await report.getByText(/high risk/u).waitFor();
      const places = await report.locator('code').allInnerTexts();
      assert.ok(places.some((place) => /^scripts\/[\w.-]+:\d+$/u.test(place)), places.join(', '));
    }));

  test('Memory: a search finds the workspace note with its citation and provenance; Plugins lists the plugin and says no MCP server is configured', () =>
    withPage({}, async (page) => {
      await open(page, 'memory');
      await page.getByLabel('Search memory').fill('boiler serviced');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByTestId('memory-search').getByText(/^MEMORY\.md#L\d+(-L\d+)?$/u).waitFor();
      await page.getByTestId('memory-search').getByText(/owner/u).first().waitFor();
      await page.getByRole('link', { name: 'Plugins', exact: true }).click();
      await page.getByTestId('plugins').getByText('loopchat 1.0.0').waitFor();
      await page.getByTestId('mcp-servers').getByText(/No MCP servers are configured/u).waitFor();
    }));

  test('Channels: denying a pairing request removes it and the sender stays out', () =>
    withPage({}, async (page) => {
      await open(page, 'channels');
      await account.dm({ id: '3002', name: 'Mallory' }, 'let me in');
      const request = page.getByTestId('pairing').getByRole('row').filter({ hasText: 'Mallory (loopchat:default)' });
      await request.getByRole('button', { name: /^Deny [A-HJ-NP-Z2-9]{8}$/u }).click();
      await page.getByTestId('pairing').getByRole('status').getByText('Denied Mallory.').waitFor();
      await request.waitFor({ state: 'detached' });
      const toMallory = () => account.sent().filter((message) => message.chatId === 'dm-3002');
      assert.equal(toMallory().length, 1, 'only the pairing code was sent');
      assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes('let me in')).length, 0);
    }));

  test('a wrong token brings back the token form, and the right one connects', () =>
    withPage({}, async (page) => {
      await page.goto(`${gateway.url}/#token=not-the-token`);
      await page.getByTestId('token-form').waitFor();
      await page.getByLabel('Gateway token').fill(gateway.token);
      await page.getByRole('button', { name: 'Connect' }).click();
      await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    }));

  test('every view, light and dark, at desktop and phone widths: no serious accessibility violation; screenshots saved', { timeout: 120_000 }, async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const theme of ['light', 'dark'] as const) {
      for (const [width, height, size] of [
        [1280, 800, 'desktop'],
        [390, 844, 'phone'],
      ] as const) {
        await withPage({ width, height, theme }, async (page) => {
          await open(page);
          for (const name of VIEWS) {
            await page.goto(`${gateway.url}/#/${name.toLowerCase()}`);
            await page.getByRole('heading', { level: 1, name }).waitFor();
            await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'));
            const serious = await seriousViolations(page);
            assert.deepEqual(
              serious,
              [],
              `${name} (${theme}, ${size})`,
            );
            await page.screenshot({ path: join(SCREENSHOTS, `${name.toLowerCase()}-${theme}-${size}.png`), fullPage: false });
          }
        });
      }
    }
  });
});
