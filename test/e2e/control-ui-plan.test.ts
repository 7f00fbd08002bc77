/**
 * The Control UI's run view shows a structured run's plan: the real gateway serving the built app,
 * driven in Debian's Chromium through playwright-core, with the fake model scripted to plan two
 * steps and fail the second one's verification.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connectGateway } from '../../src/cli/gateway-client.js';
import { chromiumMissing, launchChromium, pageProblems } from '../support/browser.js';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, startTestGateway, type TestGateway, waitFor } from '../support/gateway-harness.js';

const skip = chromiumMissing('the Control UI browser tests');

describe('control ui: a structured run\'s plan', { skip }, () => {
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
    gateway = await startTestGateway({ home: makeHome(), config: { ...base, agents: { defaults: { ...base.agents.defaults, loop: 'structured' } } } });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems = pageProblems(page);
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

  test('the run view lists the plan\'s steps with their status, attempts and why verification failed', { timeout: 30_000 }, async () => {
    const plan = {
      steps: [
        { id: 'gather', goal: 'Gather the numbers', tools: [], expect: { type: 'array', items: { type: 'number' } }, rollback: 'nothing to undo' },
        { id: 'total', goal: 'Add them up', tools: [], expect: { type: 'number' } },
      ],
    };
    model.script({ text: JSON.stringify(plan) }, { text: '[1, 2, 3]' }, { text: 'six' }, { text: 'six' }, { text: 'six' });
    const client = await connectGateway(gateway.url, gateway.token);
    const { runId } = await client.call<{ runId: string }>('chat.send', { sessionKey: 'agent:main:main', text: 'add up my numbers', idempotencyKey: randomUUID() });
    await waitFor(async () => ((await client.call<{ status: string }>('runs.get', { runId })).status === 'error' ? true : null), 'the run to stop', 20_000);
    client.close();

    await page.goto(`${gateway.url}/#token=${gateway.token}`);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await page.goto(`${gateway.url}/#/runs?run=${runId}`);
    const shown = page.getByTestId('plan');
    await shown.waitFor();
    assert.match((await page.getByTestId('plan-status').textContent()) ?? '', /^failed: Stopped at step 2 of 2 \("total"\)/u);
    const steps = shown.locator(':scope > li');
    assert.deepEqual(await steps.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-status'))), ['done', 'failed']);
    assert.match((await steps.nth(0).textContent()) ?? '', /gather.*Gather the numbers.*1 attempt .*\[1,2,3\].*Rollback: nothing to undo/su);
    assert.match((await steps.nth(1).textContent()) ?? '', /total.*3 attempts.*Verification failed: the output is not JSON \(expected number\)/su);
  });
});
