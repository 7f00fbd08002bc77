/**
 * The Control UI's Cron, Runs and Logs views end to end: the real gateway serving the built app,
 * driven in Debian's Chromium through playwright-core, with the fake model scripted to call the
 * `current_time` tool. A job is created and run from the page, its run is followed into the Runs
 * view and replayed, and the live log is filtered.
 */
import assert from 'node:assert/strict';
import { chromiumMissing, launchChromium, pageProblems, seriousViolations } from '../support/browser.js';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

const skip = chromiumMissing('the Control UI browser tests');
const WAIT = 10_000;
const FAST = { timeout: 15_000 };
const REPLY = 'It is nine o\u2019clock in Paris.';


describe('control ui: cron, runs and logs', { skip }, () => {
  let browser: Browser;
  let model: FakeModelServer;
  let gateway: TestGateway;
  let context: BrowserContext;
  let page: Page;
  let problems: string[] = [];

  before(async () => {
    browser = await launchChromium();
    model = await startFakeModelServer();
    const base = fakeModelConfig(model);
    gateway = await startTestGateway({ home: makeHome(), config: { ...base, agents: { defaults: { ...base.agents.defaults, tools: { allow: ['current_time'] } } } } });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    problems = pageProblems(page);
    await page.goto(`${gateway.url}/#token=${gateway.token}`);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
  });

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    if (gateway) {
      await gateway.stop();
      removeHome(gateway.home);
    }
    await model?.close();
    assert.deepEqual(problems, [], 'the page had errors');
  });

  const show = async (view: string) => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view, exact: true }).click();
    await page.locator(`main[data-view="${view.toLowerCase()}"]`).waitFor();
  };

  async function noSeriousViolations(label: string): Promise<void> {
    await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'));
    const serious = await seriousViolations(page);
    assert.deepEqual(
      serious,
      [],
      label,
    );
  }

  test('Cron: a job is created from the form with a preview of its next five runs, run now, and its ledger shows the ok run', FAST, async () => {
    await show('Cron');
    const form = page.getByTestId('cron-form');
    await form.getByLabel('Name').fill('Morning time check');
    await form.getByLabel('Message to the agent').fill('What time is it in Paris?');
    await form.getByRole('radio', { name: 'Cron expression' }).check();
    await form.getByRole('textbox', { name: 'Cron expression' }).fill('0 9 * * *');
    await form.getByLabel('Time zone').fill('Europe/Paris');
    const preview = page.getByTestId('cron-preview').locator('li time');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-preview"] li time').length === 5);
    const times = await preview.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('datetime') ?? ''));
    assert.equal(times.length, 5);
    for (const time of times) assert.match(time, /^\d{4}-\d{2}-\d{2}T09:00:00\+0[12]:00$/u, 'nine o\u2019clock on the Paris clock');

    await form.getByRole('textbox', { name: 'Cron expression' }).fill('61 9 * * *');
    await page.getByTestId('cron-preview').getByText(/is not valid/u).waitFor();
    await form.getByRole('textbox', { name: 'Cron expression' }).fill('0 9 * * *');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-preview"] li time').length === 5);

    await form.getByRole('button', { name: 'Add job' }).click();
    await form.getByText('Added Morning time check.').waitFor();
    const job = page.locator('li.job', { has: page.getByRole('heading', { name: /Morning time check/u }) });
    await job.getByText('cron "0 9 * * *" Europe/Paris').waitFor();

    model.script({ toolCalls: [{ name: 'current_time', arguments: { timezone: 'Europe/Paris' } }] }, { text: REPLY });
    await job.getByRole('button', { name: 'Ledger' }).click();
    await job.getByRole('button', { name: 'Run now' }).click();
    await job.locator('[data-ledger-status="ok"]').waitFor();
    await noSeriousViolations('Cron');
  });

  test('the CLI previews the same schedule as the form: hearth cron preview', FAST, async () => {
    const env = testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url });
    const json = await runCli(['cron', 'preview', '--cron', '0 9 * * *', '--tz', 'Europe/Paris', '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const preview = JSON.parse(json.stdout) as { timeZone: string; next: string[] };
    assert.equal(preview.timeZone, 'Europe/Paris');
    assert.equal(preview.next.length, 5);
    const text = await runCli(['cron', 'preview', '--cron', '0 9 * *', '--tz', 'Europe/Paris'], env);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /not valid/u);
  });

  test('Runs: the cron run is listed, its timeline shows the tool call with arguments and result, and a replay is compared with it', FAST, async () => {
    await show('Runs');
    await page.getByLabel('Trigger').selectOption('cron');
    const row = page.getByRole('region', { name: 'Runs' }).locator('tbody tr');
    await assert.doesNotReject(row.first().waitFor());
    assert.equal(await row.count(), 1, 'one cron run');
    await row.first().getByRole('link').click();
    assert.match(new URL(page.url()).hash, /^#\/runs\?run=run_/u);
    const timeline = page.getByTestId('timeline');
    await timeline.waitFor();
    assert.deepEqual(await timeline.locator('li').evaluateAll((nodes) => nodes.map((node) => `${node.getAttribute('data-kind')}:${node.getAttribute('data-step')}`)), [
      'model:fake/echo',
      'tool:current_time',
      'model:fake/echo',
    ]);
    const tool = timeline.locator('li[data-step="current_time"]');
    await tool.locator('summary').click();
    await tool.getByTestId('tool-result').waitFor();
    assert.deepEqual(JSON.parse((await tool.getByTestId('tool-arguments').textContent()) ?? ''), { timezone: 'Europe/Paris' });
    assert.match((await tool.getByTestId('tool-result').textContent()) ?? '', /Local time in Europe\/Paris: \d{4}-\d{2}-\d{2} /u);

    await page.reload();
    await page.getByTestId('timeline').waitFor();

    model.script({ text: `${REPLY}\nAnd the sun is up.` });
    await page.getByRole('button', { name: 'Replay' }).click();
    const result = page.getByTestId('replay-result');
    await result.waitFor();
    assert.match((await result.textContent()) ?? '', /And the sun is up\./u);
    assert.deepEqual(await page.getByTestId('replay-diff').locator('.diff-added').allTextContents(), ['+ And the sun is up.\n']);
    await noSeriousViolations('Runs');
  });

  test('Logs: lines arrive live, and filtering by warn hides the info lines', FAST, async () => {
    await show('Logs');
    await page.locator('.log li[data-level="info"]').first().waitFor();
    const refused = new WebSocket(`${gateway.url.replace(/^http/u, 'ws')}/ws`);
    await new Promise<void>((resolve) => {
      refused.on('open', () => refused.send(JSON.stringify({ type: 'req', id: 'connect', method: 'connect', params: { auth: { token: 'wrong' }, client: { name: 'test', version: '1' } } })));
      refused.on('close', () => resolve());
      refused.on('error', () => resolve());
    });
    await page.locator('.log li[data-level="warn"]').first().waitFor();
    await page.getByTestId('log-level').selectOption('warn');
    await page.waitForFunction(() => document.querySelectorAll('.log li').length > 0 && document.querySelectorAll('.log li[data-level="info"]').length === 0);
    assert.ok(await page.locator('.log li', { hasText: 'websocket connect with a wrong token' }).count() > 0);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await noSeriousViolations('Logs');
  });

  test('the three views in the dark theme: no serious accessibility violation', FAST, async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => localStorage.removeItem('hearth.theme'));
    await page.reload();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    for (const view of ['Cron', 'Runs', 'Logs']) {
      await show(view);
      await page.getByRole('heading', { level: 1, name: view }).waitFor();
      await noSeriousViolations(`${view} (dark)`);
    }
  });
});
