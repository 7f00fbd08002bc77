/**
 * The Control UI's Config and Usage views end to end: the real gateway serving the built app
 * (dist/ui), driven in Debian's Chromium through playwright-core, with the fake model. Config shows
 * the file with its secrets masked, refuses an invalid edit at its line (the running config stays),
 * remembers it across a page reload, and applies a valid one; Usage charts and tabulates the runs.
 */
import assert from 'node:assert/strict';
import { chromiumMissing, launchChromium, type PageOptions, seriousViolations, withPage as withBrowserPage } from '../support/browser.js';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chatTurn } from '../support/chat-turn.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

const skip = chromiumMissing('the Control UI browser tests');
const API_KEY = 'sk-provider-key-0123456789';
const GATEWAY_TOKEN = 'control-ui-config-token-77';


function configText(baseUrl: string): string {
  return `// written by control-ui-config.test.ts
{
  gateway: { auth: { token: "${GATEWAY_TOKEN}" } },
  models: {
    providers: { fake: { api: "openai-chat", baseUrl: "${baseUrl}", maxRetries: 0, apiKey: "${API_KEY}" } },
    pricing: { "fake/echo": { inputPerMillion: 1000, outputPerMillion: 2000 } },
  },
  agents: { defaults: { model: "fake/echo" } },
}
`;
}

describe('control ui: config and usage', { skip }, () => {
  let browser: Browser;
  let model: FakeModelServer;
  let gateway: TestGateway;
  let env: Record<string, string>;

  before(async () => {
    browser = await launchChromium();
    model = await startFakeModelServer();
    const home = makeHome();
    gateway = await startTestGateway({ home, configText: configText(model.openaiBaseUrl) });
    env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
    await chatTurn(gateway, model, 'count my tokens');
    await chatTurn(gateway, model, 'and these as well');
  });

  after(async () => {
    await browser?.close();
    if (gateway) {
      await gateway.stop();
      removeHome(gateway.home);
    }
    await model?.close();
  });

  const withPage = (options: PageOptions, body: (page: Page) => Promise<void>) => withBrowserPage(browser, options, body);

  const open = async (page: Page, view: 'config' | 'usage') => {
    await page.goto(`${gateway.url}/#token=${gateway.token}`);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: view === 'config' ? 'Config' : 'Usage', exact: true }).click();
    await page.locator(`main[data-view="${view}"]`).waitFor();
  };

  const configHash = async () => {
    const shown = await runCli(['config', 'get', '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    return (JSON.parse(shown.stdout) as { hash: string }).hash;
  };

  const agents = async () => {
    const shown = await runCli(['status', '--json'], env);
    return (JSON.parse(shown.stdout) as { agents: { id: string }[] }).agents.map((agent) => agent.id).sort();
  };

  const axe = async (page: Page, what: string) => {
    await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'));
    const serious = await seriousViolations(page);
    assert.deepEqual(
      serious,
      [],
      what,
    );
  };

  test('Config shows the file with its secrets masked; the token and the key never reach the page', () =>
    withPage({}, async (page) => {
      await open(page, 'config');
      const editor = page.locator('#config-text');
      await editor.waitFor();
      const text = await editor.inputValue();
      assert.ok(text.includes('apiKey: "[hidden secret]"') && text.includes('token: "[hidden secret]"'), text);
      await page.getByText('Show the effective config').click();
      await page.getByTestId('config-effective-json').waitFor();
      const everything = `${await page.content()}${text}${await page.getByTestId('config-effective-json').textContent()}`;
      assert.ok(!everything.includes(API_KEY), 'the provider key is not in the page');
      assert.ok(!everything.includes(GATEWAY_TOKEN), 'the gateway token is not in the page');
      await axe(page, 'Config (light)');
    }));

  test('an invalid edit shows its line, leaves the running config as it was, and is remembered after a reload; a valid one applies', () =>
    withPage({}, async (page) => {
      await open(page, 'config');
      const editor = page.locator('#config-text');
      await editor.waitFor();
      const original = await editor.inputValue();
      const hashBefore = await configHash();
      const agentsBefore = await agents();

      await editor.fill(original.replace('agents: { defaults: { model:', 'agents: { defaults: { modle:'));
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByTestId('config-outcome').getByText('Not valid: 1 problem.').waitFor();
      await page.getByRole('button', { name: 'Apply' }).click();
      const outcome = page.getByTestId('config-outcome');
      await outcome.getByText(/^Not applied: 1 problem\./u).waitFor();
      const issue = page.getByTestId('config-issues').locator('li').first();
      assert.equal(await issue.getAttribute('data-line'), '8');
      assert.match((await issue.textContent()) ?? '', /Line 8, column \d+\s+agents\.defaults\.modle\s+.*did you mean "model"/u);
      assert.equal(await page.locator('.gutter .marked').textContent(), '8', 'the line is marked beside the editor');
      await page.getByRole('button', { name: /^Line 8, column/u }).click();
      const selected = await editor.evaluate((node: HTMLTextAreaElement) => node.value.slice(node.selectionStart, node.selectionEnd));
      assert.match(selected, /modle/u, 'the jump selects the line');
      assert.equal(await configHash(), hashBefore, 'the file did not change');
      assert.deepEqual(await agents(), agentsBefore, 'the config in force did not change');
      await axe(page, 'Config with issues (light)');

      await page.reload();
      await page.locator('main[data-view="config"]').waitFor();
      const rejected = page.getByTestId('config-rejected-issues');
      await rejected.waitFor();
      assert.match((await rejected.textContent()) ?? '', /Line 8, column \d+\s+agents\.defaults\.modle/u);

      await editor.fill(original.replace('agents: { defaults: { model: "fake/echo" } }', 'agents: { defaults: { model: "fake/echo" }, entries: { main: { default: true }, helper: {} } }'));
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByTestId('config-outcome').getByText(/^Applied: the new config is in force/u).waitFor();
      assert.deepEqual(await agents(), ['helper', 'main']);
      assert.notEqual(await configHash(), hashBefore);
      assert.ok((await editor.inputValue()).includes('helper: {}'), 'the editor holds the applied file');
      assert.ok(!(await page.content()).includes(API_KEY));
    }));

  test('Usage charts and tabulates the tokens of the scripted turns for today, per agent and per model', () =>
    withPage({}, async (page) => {
      await open(page, 'usage');
      const days = page.getByRole('region', { name: 'Usage per day' });
      await days.waitFor();
      const rows = await days.locator('tbody tr').evaluateAll((nodes) => nodes.map((node) => [...node.querySelectorAll('td')].map((cell) => cell.textContent ?? '')));
      assert.equal(rows.length, 14, 'the last 14 days, one row each');
      const today = rows[rows.length - 1] ?? [];
      assert.ok(Number((today[1] ?? '').replace(/\D/gu, '')) > 0, `today has tokens: ${today.join(' | ')}`);
      assert.ok(rows.slice(0, -1).every((row) => row[1] === '0'), 'the other days have none');
      const bars = await page.getByTestId('usage-day-chart').locator('rect.bar').evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute('data-value'))));
      assert.equal(bars.length, 14);
      assert.ok((bars[13] ?? 0) > 0);
      assert.equal(await page.getByTestId('usage-day-chart').getAttribute('role'), 'img');
      await page.getByRole('region', { name: 'Usage per agent' }).getByText('main').waitFor();
      await page.getByRole('region', { name: 'Usage per model' }).getByText('fake/echo').waitFor();
      await page.getByTestId('usage-model-chart').waitFor();
      await page.getByLabel('Cost').check();
      await page.getByTestId('usage-day-chart').locator('rect.bar title').last().getByText(/\$/u).waitFor({ state: 'attached' });
      await page.getByLabel('Period').selectOption('7');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="usage-day-chart"] rect.bar').length === 7);
      await axe(page, 'Usage (light)');
    }));

  test('both views in the dark theme and at phone width: no serious accessibility violation', () =>
    withPage({ theme: 'dark', width: 390 }, async (page) => {
      await open(page, 'config');
      await page.locator('#config-text').waitFor();
      await axe(page, 'Config (dark, phone)');
      await page.getByRole('link', { name: 'Usage', exact: true }).click();
      await page.getByRole('region', { name: 'Usage per day' }).waitFor();
      await axe(page, 'Usage (dark, phone)');
    }));
});
