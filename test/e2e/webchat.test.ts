/**
 * WebChat end to end: the real gateway serving `src/ui/webchat.html`, driven in Debian's Chromium
 * through playwright-core, with the fake model server behind it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium); skipping the WebChat browser tests.`;
/** Bound for every wait on the page. */
const WAIT = 10_000;
const TEST_TIMEOUT = 60_000;
const TOKEN_KEY = 'hearth.gatewayToken';

function fakeConfig(fake: FakeModelServer) {
  return {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 } } },
    agents: { defaults: { model: 'fake/echo' } },
  };
}

interface Chat {
  page: Page;
  gateway: TestGateway;
  fake: FakeModelServer | null;
  /** Uncaught page errors and CSP violations seen so far. */
  problems: string[];
}

describe('webchat', { skip }, () => {
  let browser: Browser;

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
    });
  });

  after(async () => {
    await browser?.close();
  });

  /** Runs `body` against a fresh gateway (with the fake model unless `withModel` is false) in a fresh browser context. */
  async function withChat(options: { withModel?: boolean; config?: (fake: FakeModelServer) => unknown }, body: (chat: Chat) => Promise<void>): Promise<void> {
    let fake: FakeModelServer | null = null;
    let gateway: TestGateway | undefined;
    let context: BrowserContext | undefined;
    try {
      fake = options.withModel === false ? null : await startFakeModelServer();
      gateway = await startTestGateway(fake ? { config: (options.config ?? fakeConfig)(fake) } : {});
      context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT);
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
      });
      await body({ page, gateway, fake, problems });
      assert.deepEqual(problems, [], 'the page had errors');
    } finally {
      await context?.close().catch(() => {});
      if (gateway) {
        await gateway.stop();
        removeHome(gateway.home);
      }
      await fake?.close();
    }
  }

  const status = (page: Page) => page.getByTestId('status');
  const waitConnected = (page: Page) => page.locator('[data-testid="status"][data-state="connected"]').waitFor({ timeout: WAIT });
  const assistants = (page: Page) => page.locator('[data-testid="messages"] [data-role="assistant"]');
  const users = (page: Page) => page.locator('[data-testid="messages"] [data-role="user"]');
  const errors = (page: Page) => page.locator('[data-testid="messages"] [data-role="error"]');
  const textOf = async (locator: Locator) => ((await locator.textContent({ timeout: WAIT })) ?? '').trim();

  async function send(page: Page, text: string): Promise<void> {
    const composer = page.getByTestId('composer');
    await composer.fill(text);
    await page.locator('[data-testid="send"]:not([disabled])').waitFor({ timeout: WAIT });
    await composer.press('Enter');
  }

  /** Waits until the page shows `count` finished assistant replies. */
  async function waitReplies(page: Page, count: number): Promise<void> {
    await page.locator('[data-role="assistant"][data-state="done"]').nth(count - 1).waitFor({ timeout: WAIT });
  }

  /** The composer takes a new message: send enabled once there is text, the next reply arrives. */
  async function assertUsable(page: Page, text: string, repliesBefore: number): Promise<void> {
    await page.getByTestId('stop').waitFor({ state: 'hidden', timeout: WAIT });
    assert.equal(await page.getByTestId('composer').isEditable(), true);
    await send(page, text);
    await waitReplies(page, repliesBefore + 1);
    assert.equal(await textOf(assistants(page).last().locator('.text')), `echo: ${text}`);
  }

  test('streams a reply into the page and drops the token from the address bar', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({}, async ({ page, gateway, fake }) => {
      fake!.script({ text: 'Hello from the model', chunkSize: 3, delayMs: 30 });
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      assert.equal(await page.evaluate(() => location.hash), '');
      assert.ok(!page.url().includes(gateway.token), `the token is still in ${page.url()}`);
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY), gateway.token);
      assert.equal(await page.getByTestId('token-form').isVisible(), false);

      // Record every text the assistant bubble shows, to see the stream, not just its end.
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { seenTexts: string[] }).seenTexts = seen;
        const list = document.querySelector('[data-testid="messages"]')!;
        new MutationObserver(() => {
          for (const node of list.querySelectorAll('[data-role="assistant"] .text')) seen.push(node.textContent ?? '');
        }).observe(list, { subtree: true, childList: true, characterData: true });
      });
      await send(page, 'Say hello');
      await waitReplies(page, 1);

      assert.equal(await assistants(page).count(), 1);
      assert.equal(await textOf(assistants(page).first().locator('.text')), 'Hello from the model');
      assert.equal(await textOf(users(page).first()), 'Say hello');
      const runId = await assistants(page).first().getAttribute('data-run-id');
      assert.match(runId ?? '', /^run_/);
      assert.equal(await users(page).first().getAttribute('data-run-id'), runId);
      const seen = await page.evaluate(() => (window as unknown as { seenTexts: string[] }).seenTexts);
      assert.ok(
        seen.some((text) => text.startsWith('thinking')),
        `no thinking state before the first delta: ${JSON.stringify(seen)}`,
      );
      assert.ok(
        seen.some((text) => text.length > 0 && text.length < 'Hello from the model'.length && 'Hello from the model'.startsWith(text)),
        `no partial text was shown while streaming: ${JSON.stringify(seen)}`,
      );
      assert.equal(await errors(page).count(), 0);
    });
  });

  test('a reload shows the history once, without asking for the token again', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({}, async ({ page, gateway }) => {
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      await send(page, 'first question');
      await waitReplies(page, 1);
      await send(page, 'second question');
      await waitReplies(page, 2);

      await page.reload();
      await waitConnected(page);
      await waitReplies(page, 2);
      // Give late events or a second history load time to double something.
      await page.waitForTimeout(500);
      assert.equal(await page.getByTestId('token-form').isVisible(), false);
      assert.deepEqual(await users(page).allInnerTexts(), ['first question', 'second question']);
      assert.deepEqual(
        (await assistants(page).locator('.text').allInnerTexts()).map((text) => text.trim()),
        ['echo: first question', 'echo: second question'],
      );
      const runIds = await page.locator('[data-testid="messages"] [data-role="assistant"]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-run-id')));
      assert.equal(new Set(runIds).size, 2, `assistant run ids: ${runIds.join(', ')}`);
      assert.equal(await textOf(status(page)), 'Connected');

      // New session: the conversation is cleared, on screen and in the gateway.
      await page.getByTestId('new-session').click();
      await page.locator('[data-testid="messages"] .msg').first().waitFor({ state: 'detached', timeout: WAIT });
      await page.reload();
      await waitConnected(page);
      await page.waitForTimeout(300);
      assert.equal(await users(page).count(), 0);
      await send(page, 'fresh start');
      await waitReplies(page, 1);
      assert.deepEqual(await users(page).allInnerTexts(), ['fresh start']);
    });
  });

  test('a command waiting for approval shows as a card; "Approve once" runs it and the reply follows; "Deny" refuses the next', { timeout: TEST_TIMEOUT }, async () => {
    const config = (fake: FakeModelServer) => ({
      ...fakeConfig(fake),
      agents: { defaults: { model: 'fake/echo', tools: { exec: { security: 'allowlist', allow: [], ask: 'on-miss' } } } },
    });
    await withChat({ config }, async ({ page, gateway, fake }) => {
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      fake!.script({ toolCalls: [{ name: 'exec', arguments: { command: 'echo approved in the browser' } }] }, { text: 'It ran.' });
      await send(page, 'run the echo');
      const card = page.locator('.approval[data-status="pending"]');
      await card.waitFor({ timeout: WAIT });
      assert.equal(await textOf(card.locator('code')), 'echo approved in the browser');
      assert.equal(await card.getByRole('button', { name: 'Always allow' }).count(), 1, 'a plain command may be allowed for good');
      await card.getByRole('button', { name: 'Approve once' }).click();
      await page.locator('.approval[data-status="approved"]').waitFor({ timeout: WAIT });
      assert.match(await textOf(page.locator('.approval .approval-state')), /^Approved by webchat\.$/u);
      await waitReplies(page, 1);
      assert.equal(await textOf(assistants(page).last().locator('.text')), 'It ran.');
      const tool = fake!.requests.filter((request) => request.path === '/v1/chat/completions').at(-1)!.body as { messages: { role: string; content: string }[] };
      assert.match(tool.messages.findLast((message) => message.role === 'tool')?.content ?? '', /^Exit code 0 after \d+ ms\.\napproved in the browser\n$/u);

      fake!.script({ toolCalls: [{ name: 'exec', arguments: { command: 'echo not this one' } }] }, { text: 'Understood.' });
      await send(page, 'run another');
      const second = page.locator('.approval[data-status="pending"]');
      await second.waitFor({ timeout: WAIT });
      await second.getByRole('button', { name: 'Deny' }).click();
      await page.locator('.approval[data-status="denied"]').waitFor({ timeout: WAIT });
      await waitReplies(page, 2);
      const denied = fake!.requests.filter((request) => request.path === '/v1/chat/completions').at(-1)!.body as { messages: { role: string; content: string }[] };
      assert.match(denied.messages.findLast((message) => message.role === 'tool')?.content ?? '', /^Not run: the operator denied it \(approval \w{6}, by webchat\)\./u);
    });
  });

  test('a provider failure shows an error notice and the composer works again', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({}, async ({ page, gateway, fake }) => {
      fake!.script({ status: 500 });
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      await send(page, 'are you there?');
      const notice = errors(page).first();
      await notice.waitFor({ timeout: WAIT });
      assert.match(await textOf(notice), /500/);
      assert.match((await notice.getAttribute('data-code')) ?? '', /^PROVIDER_/);
      assert.equal(await page.locator('[data-role="assistant"][data-state="thinking"]').count(), 0, 'a thinking bubble was left behind');
      await assertUsable(page, 'and now?', 0);
    });
  });

  test('with no model configured the notice says how to add one', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({ withModel: false }, async ({ page, gateway }) => {
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      await send(page, 'hello?');
      const notice = errors(page).first();
      await notice.waitFor({ timeout: WAIT });
      assert.equal(await notice.getAttribute('data-code'), 'NO_MODEL');
      const text = await textOf(notice);
      assert.match(text, /hearth\.json5/);
      assert.match(text, /models\.providers/);
      assert.equal(await page.locator('[data-role="assistant"][data-state="thinking"]').count(), 0);
      await page.getByTestId('stop').waitFor({ state: 'hidden', timeout: WAIT });
      await page.getByTestId('composer').fill('still here');
      await page.locator('[data-testid="send"]:not([disabled])').waitFor({ timeout: WAIT });
    });
  });

  test('Stop aborts a running reply and the page takes the next message', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({}, async ({ page, gateway, fake }) => {
      fake!.script({ stall: true, afterText: 'partial' });
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      await send(page, 'tell me everything');
      await page.locator('[data-role="assistant"][data-state="streaming"]').filter({ hasText: 'partial' }).waitFor({ timeout: WAIT });
      const stop = page.getByTestId('stop');
      assert.equal(await stop.isVisible(), true);
      await stop.click();
      const notice = page.locator('[data-role="error"][data-code="ABORTED"]');
      await notice.waitFor({ timeout: WAIT });
      assert.match(await textOf(notice), /stopped/i);
      assert.equal(await textOf(assistants(page).first().locator('.text')), 'partial');
      await assertUsable(page, 'a new question', 1);
    });
  });

  test('a wrong token brings up the token form, and the right one connects', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({}, async ({ page, gateway }) => {
      await page.goto(`${gateway.url}/webchat#token=not-the-token`);
      await page.getByTestId('token-form').waitFor({ state: 'visible', timeout: WAIT });
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY), null);
      assert.equal(await page.evaluate(() => location.hash), '');
      assert.equal(await page.locator('[data-testid="send"]').isDisabled(), true);

      await page.getByTestId('token-input').fill(gateway.token);
      await page.getByTestId('token-input').press('Enter');
      await waitConnected(page);
      await page.getByTestId('token-form').waitFor({ state: 'hidden', timeout: WAIT });
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY), gateway.token);
    });
  });

  test('a connection lost before the send is acknowledged re-sends with the same key, shown once', { timeout: TEST_TIMEOUT }, async () => {
    await withChat({}, async ({ page, gateway, fake }) => {
      const sends: { connection: number; idempotencyKey: string }[] = [];
      let connections = 0;
      // Between page and gateway: on the first connection, swallow chat.send's response and drop the socket.
      await page.routeWebSocket(/\/ws$/, (route) => {
        connections += 1;
        const connection = connections;
        const server = route.connectToServer();
        let dropId: unknown;
        route.onMessage((message) => {
          const frame = JSON.parse(String(message)) as { id?: unknown; method?: string; params?: { idempotencyKey?: string } };
          if (frame.method === 'chat.send') {
            sends.push({ connection, idempotencyKey: frame.params?.idempotencyKey ?? '' });
            if (connection === 1) dropId = frame.id;
          }
          server.send(message);
        });
        server.onMessage((message) => {
          const frame = JSON.parse(String(message)) as { type?: string; id?: unknown };
          if (dropId !== undefined && frame.type === 'res' && frame.id === dropId) {
            void route.close({ code: 1011, reason: 'test drops the connection' });
            void server.close();
            return;
          }
          route.send(message);
        });
      });
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      await send(page, 'only once please');
      await waitReplies(page, 1);
      await waitConnected(page);
      await page.waitForTimeout(500);

      assert.equal(connections, 2, 'the page did not reconnect');
      assert.equal(sends.length, 2, `chat.send frames: ${JSON.stringify(sends)}`);
      assert.equal(sends[0]!.idempotencyKey, sends[1]!.idempotencyKey);
      assert.deepEqual(await users(page).allInnerTexts(), ['only once please']);
      assert.equal(await assistants(page).count(), 1);
      assert.equal(await textOf(assistants(page).first().locator('.text')), 'echo: only once please');
      assert.equal(fake!.requests.filter((request) => request.path === '/v1/chat/completions').length, 1, 'the model was asked twice');
      await assertUsable(page, 'and again', 1);
    });
  });

  test('a gateway restart: offline state, send disabled, then it reconnects', { timeout: TEST_TIMEOUT }, async () => {
    let fake: FakeModelServer | undefined;
    let gateway: TestGateway | undefined;
    let context: BrowserContext | undefined;
    try {
      fake = await startFakeModelServer();
      gateway = await startTestGateway({ config: fakeConfig(fake) });
      context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT);
      await page.goto(`${gateway.url}/webchat#token=${gateway.token}`);
      await waitConnected(page);
      await send(page, 'before the restart');
      await waitReplies(page, 1);

      await gateway.stop();
      await page.locator('[data-testid="status"][data-state="offline"]').waitFor({ timeout: WAIT });
      await page.getByTestId('composer').fill('typed while offline');
      assert.equal(await page.locator('[data-testid="send"]').isDisabled(), true);

      gateway = await startTestGateway({ home: gateway.home, port: gateway.port });
      await waitConnected(page);
      await page.locator('[data-testid="send"]:not([disabled])').waitFor({ timeout: WAIT });
      await page.getByTestId('composer').press('Enter');
      await waitReplies(page, 2);
      assert.deepEqual(await users(page).allInnerTexts(), ['before the restart', 'typed while offline']);
      assert.equal(await textOf(assistants(page).last().locator('.text')), 'echo: typed while offline');
    } finally {
      await context?.close().catch(() => {});
      if (gateway) {
        await gateway.stop();
        removeHome(gateway.home);
      }
      await fake?.close();
    }
  });
});
