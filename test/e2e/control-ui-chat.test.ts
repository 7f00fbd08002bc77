/**
 * The Control UI's Chat view end to end: the real gateway serving the built app (dist/ui), driven
 * in Debian's Chromium through playwright-core, with the fake model scripted for Markdown replies,
 * hostile HTML, tool calls and an exec command that waits for approval.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumMissing, launchChromium, type PageOptions, seriousViolations, withPage as withBrowserPage } from '../support/browser.js';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, startTestGateway, type TestGateway, waitFor } from '../support/gateway-harness.js';

const skip = chromiumMissing('the Control UI chat tests');
const TEST_TIMEOUT = 20_000;


describe('control ui chat', { skip }, () => {
  let browser: Browser;
  let model: FakeModelServer;
  let gateway: TestGateway;

  before(async () => {
    browser = await launchChromium();
    model = await startFakeModelServer();
    const base = fakeModelConfig(model);
    gateway = await startTestGateway({
      home: makeHome(),
      config: { ...base, agents: { defaults: { ...base.agents.defaults, fallbacks: ['fake/careful'], tools: { exec: { security: 'allowlist', allow: ['echo *'], ask: 'on-miss' } } } } },
    });
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

  /** Opens the Chat view on `session` (a fresh key per test keeps the tests apart). */
  const openChat = async (page: Page, session: string) => {
    await page.goto(`${gateway.url}/#token=${gateway.token}`);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
    await page.goto(`${gateway.url}/#/chat?session=${encodeURIComponent(session)}`);
    await page.locator(`[data-testid="conversation"][data-session="${session}"]`).waitFor();
    await page.getByTestId('chat-log').getByText(/No messages yet|You/u).first().waitFor();
  };

  const send = async (page: Page, text: string) => {
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByLabel('Message', { exact: true }).press('Enter');
  };

  const lastTurn = (page: Page) => page.getByTestId('turn').last();
  const waitDone = (page: Page) => page.locator('[data-testid="turn"][data-status="done"]').last().waitFor();

  test('a streamed reply renders its Markdown as real elements: heading, list, table, link and highlighted code', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      await openChat(page, 'agent:main:webchat:direct:ui-markdown');
      model.script({
        text: '# Weekly plan\n\nSome **bold** words.\n\n- first item\n- second item\n\n| Day | Task |\n|-----|------|\n| Mon | Write |\n| Tue | Ship |\n\nSee [the docs](https://example.com/docs).\n\n```js\nconst answer = 42;\n```\n',
        chunkSize: 12,
        delayMs: 40,
      });
      await send(page, 'plan my week');
      // Rendered while it streams, not only at the end.
      await page.locator('[data-testid="turn"][data-status="running"] .markdown h1').waitFor();
      const reply = lastTurn(page).locator('.markdown');
      await reply.locator('table').waitFor();
      await waitDone(page);
      assert.equal(await reply.locator('h1').textContent(), 'Weekly plan');
      assert.deepEqual(await reply.locator('ul > li').allTextContents(), ['first item', 'second item']);
      assert.deepEqual(await reply.locator('tbody tr td').allTextContents(), ['Mon', 'Write', 'Tue', 'Ship']);
      assert.equal(await reply.locator('strong').textContent(), 'bold');
      const link = reply.getByRole('link', { name: 'the docs' });
      assert.equal(await link.getAttribute('href'), 'https://example.com/docs');
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
      assert.equal(await link.getAttribute('target'), '_blank');
      assert.equal(await reply.locator('pre code .hljs-keyword').first().textContent(), 'const');
      assert.equal(await lastTurn(page).locator('[data-role="user"]').textContent().then((text) => text?.includes('plan my week')), true);
    }));

  test('the model picker sends the next message to the chosen one of the agent\'s models', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      await openChat(page, 'agent:main:webchat:direct:ui-model');
      const lastModel = () => (model.requests.filter((request) => JSON.stringify(request.body).includes('which model')).at(-1)?.body as { model?: string } | undefined)?.model;
      await send(page, 'which model first?');
      await waitDone(page);
      assert.equal(lastModel(), 'echo', 'the agent\'s primary by default');
      await page.getByLabel('Model', { exact: true }).selectOption('fake/careful');
      await send(page, 'which model now?');
      await page.locator('[data-testid="turn"][data-status="done"]').nth(1).waitFor();
      assert.equal(lastModel(), 'careful');
    }));

  test('HTML in a reply shows as text and never runs', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      await openChat(page, 'agent:main:webchat:direct:ui-xss');
      const hostile = 'look: <img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> [x](javascript:window.__xss=3)';
      model.script({ text: hostile });
      await send(page, 'say something hostile');
      await waitDone(page);
      const reply = lastTurn(page).locator('.markdown');
      const text = (await reply.textContent()) ?? '';
      assert.ok(text.includes('<img src=x onerror="window.__xss=1">'), `the tag is shown as text: ${text}`);
      assert.ok(text.includes('<script>window.__xss=2</script>'), `the script tag is shown as text: ${text}`);
      assert.equal(await page.getByTestId('chat-log').locator('img, script').count(), 0);
      assert.equal(await reply.locator('[href^="javascript:" i]').count(), 0, 'no javascript: link');
      assert.equal(await reply.locator('[onerror], [onclick], [onload]').count(), 0, 'no event handler attributes');
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    }));

  test('a tool call shows as a card with its arguments, result and time', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      await openChat(page, 'agent:main:webchat:direct:ui-tools');
      model.script({ toolCalls: [{ name: 'current_time', arguments: { timezone: 'Europe/Paris' } }] }, { text: 'It is **now**.' });
      await send(page, 'what time is it?');
      await waitDone(page);
      const card = lastTurn(page).getByTestId('tool-card');
      assert.equal(await card.getAttribute('open'), null, 'folded at first');
      await card.locator('summary').click();
      assert.match((await card.locator('summary').textContent()) ?? '', /current_time\s*done · \d+ ms/u);
      assert.match((await card.getByTestId('tool-args').textContent()) ?? '', /"timezone": "Europe\/Paris"/u);
      assert.match((await card.getByTestId('tool-result').textContent()) ?? '', /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/u);
      assert.equal(await lastTurn(page).locator('.markdown strong').textContent(), 'now');
      // Reopened from history, the card is the same (read from the run record).
      await page.reload();
      const again = page.getByTestId('tool-card').last();
      await again.locator('summary', { hasText: /ms/u }).waitFor();
      await again.locator('summary').click();
      assert.match((await again.getByTestId('tool-args').textContent()) ?? '', /Europe\/Paris/u);
    }));

  test('an exec command waiting for approval is approved with the button in the conversation', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      await openChat(page, 'agent:main:webchat:direct:ui-approval');
      model.script({ toolCalls: [{ name: 'exec', arguments: { command: 'touch from-the-ui.txt' } }] }, { text: 'Done, the file is there.' });
      await send(page, 'make a file');
      const card = page.getByTestId('approval-card');
      await card.getByText('touch from-the-ui.txt').waitFor();
      assert.equal(await card.getByRole('button', { name: 'Always' }).count(), 1, 'Always is offered for a command with words');
      await card.getByRole('button', { name: 'Deny' }).waitFor();
      await card.getByRole('button', { name: 'Approve once' }).click();
      await page.locator('[data-testid="approval-card"][data-status="approved"]').getByText('Approved by control-ui.').waitFor();
      await waitDone(page);
      assert.equal((await lastTurn(page).locator('.markdown').textContent())?.trim(), 'Done, the file is there.');
      const tool = lastTurn(page).getByTestId('tool-card');
      await tool.locator('summary').click();
      assert.match((await tool.textContent()) ?? '', /approved by control-ui/u);
      assert.ok(existsSync(join(gateway.home, 'workspaces', 'main', 'from-the-ui.txt')), 'the approved command ran in the workspace');

      // A second command waits; it is denied from the Tools view, where the first shows as decided.
      model.script({ toolCalls: [{ name: 'exec', arguments: { command: 'touch denied-from-tools.txt' } }] }, { text: 'Not allowed, then.' });
      await send(page, 'make another file');
      await card.getByText('touch denied-from-tools.txt').waitFor();
      await page.goto(`${gateway.url}/#/tools`);
      const approvals = page.getByTestId('approvals');
      await approvals.getByRole('row').filter({ hasText: 'touch from-the-ui.txt' }).filter({ hasText: 'approved' }).waitFor();
      const waiting = approvals.getByRole('row').filter({ hasText: 'touch denied-from-tools.txt' });
      await waiting.getByRole('button', { name: 'Deny' }).click();
      await waiting.filter({ hasText: 'denied' }).waitFor();
      assert.equal(existsSync(join(gateway.home, 'workspaces', 'main', 'denied-from-tools.txt')), false, 'the denied command did not run');
    }));

  test('Abort stops a running reply', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      await openChat(page, 'agent:main:webchat:direct:ui-abort');
      model.script({ stall: true, afterText: 'I am start' });
      await send(page, 'talk forever');
      await lastTurn(page).locator('.markdown').getByText('I am start').waitFor();
      await page.getByRole('button', { name: 'Abort', exact: true }).click();
      await page.locator('[data-testid="turn"][data-status="aborted"]').waitFor();
      await page.getByRole('button', { name: 'Abort', exact: true }).waitFor({ state: 'detached' });
    }));

  test('New session keeps the old one listed and reopenable with its messages; reload reopens the selected one; Reset asks first', { timeout: TEST_TIMEOUT }, () =>
    withPage({}, async (page) => {
      const first = 'agent:main:webchat:direct:ui-first';
      await openChat(page, first);
      await send(page, 'remember the first session');
      await waitDone(page);
      await page.getByRole('button', { name: 'New session' }).click();
      await waitFor(async () => new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('session')?.startsWith('agent:main:webchat:direct:ui-'), 'a new session in the address');
      const second = new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('session') ?? '';
      assert.notEqual(second, first);
      await page.locator(`[data-testid="conversation"][data-session="${second}"]`).getByText('No messages yet').waitFor();
      await send(page, 'this is the second session');
      await waitDone(page);
      const sessions = page.getByTestId('chat-sessions');
      await sessions.locator(`[data-session="${first}"]`).waitFor();
      await sessions.locator(`[data-session="${second}"][aria-current="true"]`).waitFor();
      await page.getByLabel('Filter sessions').fill('ui-first');
      assert.equal(await sessions.locator(`[data-session="${second}"]`).count(), 0, 'the filter hides the other sessions');
      await sessions.locator(`[data-session="${first}"]`).click();
      await page.locator(`[data-testid="conversation"][data-session="${first}"]`).getByText('echo: remember the first session').waitFor();
      await page.reload();
      await page.locator(`[data-testid="conversation"][data-session="${first}"]`).getByText('remember the first session').first().waitFor();
      await page.getByRole('button', { name: 'Reset' }).click();
      await page.getByRole('button', { name: 'Cancel' }).click();
      assert.equal(await page.getByTestId('turn').count(), 1, 'Cancel keeps the conversation');
      await page.getByRole('button', { name: 'Reset' }).click();
      await page.getByRole('button', { name: 'Yes, reset' }).click();
      await page.getByTestId('chat-log').getByText('No messages yet').waitFor();
    }));

  test('the chat view, light and dark, at desktop and phone widths: no serious accessibility violation', { timeout: 40_000 }, async () => {
    for (const [theme, width, height] of [
      ['light', 1280, 800],
      ['dark', 390, 844],
    ] as const) {
      await withPage({ width, height, theme }, async (page) => {
        await openChat(page, 'agent:main:webchat:direct:ui-tools');
        // The history may still be re-read once the connection settles (a fresh card is folded): open it until it stays open.
        const card = page.getByTestId('tool-card').first();
        for (let tries = 0; tries < 10 && !(await card.getByTestId('tool-args').isVisible()); tries++) {
          if (!(await card.evaluate((node) => (node as HTMLDetailsElement).open).catch(() => false))) await card.locator('summary').click();
          await page.waitForTimeout(300);
        }
        await card.getByTestId('tool-args').waitFor();
        const serious = await seriousViolations(page);
        assert.deepEqual(
          serious,
          [],
          `chat (${theme}, ${width} px)`,
        );
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `no sideways scrolling at ${width} px (${overflow} px too wide)`);
      });
    }
  });
});
