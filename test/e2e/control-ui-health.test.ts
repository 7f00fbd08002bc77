/**
 * The Control UI's health lights follow a real channel: a Telegram bot on a local Bot API server
 * goes deaf (amber), then has its token refused (red), then recovers (green), and the Overview
 * shows each change as the gateway pushes it, without a reload.
 */
import assert from 'node:assert/strict';
import { chromiumMissing, launchChromium } from '../support/browser.js';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { fakeTelegramToken, type FakeTelegramServer, startFakeTelegramServer } from '../support/fake-telegram/fake-telegram-server.js';
import { removeHome, runCli, startTestGateway, type TestGateway, testEnv, writeConfig } from '../support/gateway-harness.js';

const skip = chromiumMissing('the Control UI browser tests');
const token = fakeTelegramToken(5_300_000_001);
const newToken = fakeTelegramToken(5_300_000_002);
const loginToken = fakeTelegramToken(5_300_000_003);

function config(model: FakeModelServer, telegram: FakeTelegramServer, botToken: string) {
  return {
    ...fakeModelConfig(model),
    channelHealth: { intervalMs: 300, functionalWindowMs: 1000, probeTimeoutMs: 2000, maxRecoveryAttempts: 1 },
    channels: { telegram: { botToken, apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, dmPolicy: 'open', allowFrom: ['*'], reconnectDelayMs: 50, reconnectMaxDelayMs: 200 } },
  };
}

describe('control ui health', { skip }, () => {
  let browser: Browser;
  let model: FakeModelServer;
  let telegram: FakeTelegramServer;
  let gateway: TestGateway;

  before(async () => {
    browser = await launchChromium();
    model = await startFakeModelServer();
    telegram = await startFakeTelegramServer({ tokens: [token, newToken, loginToken] });
    gateway = await startTestGateway({ config: config(model, telegram, token) });
  });

  after(async () => {
    await browser?.close();
    if (gateway) {
      await gateway.stop();
      removeHome(gateway.home);
    }
    await telegram?.close();
    await model?.close();
  });

  test('a deafened channel turns amber, then red when its token is revoked, and green again once the owner saves a new one', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(`${gateway.url}/#token=${gateway.token}`);
      const card = page.locator('[data-channel="telegram:default"]');
      const light = (status: string) =>
        card
          .and(page.locator(`[data-status="${status}"]`))
          .waitFor()
          .catch(async (error: unknown) => {
            const cli = await runCli(['channels', 'health', '--json'], testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url }));
            throw new Error(`${String(error)}; cli: ${cli.stdout}; the card: ${await card.textContent().catch(() => 'missing')}`);
          });
      await light('ok');
      const requests: string[] = [];
      page.on('websocket', (socket) => socket.on('framesent', (frame) => requests.push(String(frame.payload))));

      telegram.deaf(true, token);
      telegram.injectMessage({ token, chatType: 'private', chatId: 61, from: { id: 61, first_name: 'Ada' }, text: 'are you there?' });
      await light('degraded');
      assert.equal(await card.locator('[data-dimension="functional"] [data-status]').getAttribute('data-status'), 'degraded');
      await card.locator('[data-dimension="functional"]').getByText(/What to do: .*no other program polls this bot token/u).waitFor();

      telegram.setTokenValid(token, false);
      await light('down');
      // The episode is on record: the alert raised after the bounded reconnects, on the Channels view.
      await page.getByRole('link', { name: 'Channels', exact: true }).click();
      await page.getByTestId('health-episodes').getByRole('row').filter({ hasText: 'telegram:default' }).filter({ hasText: /(functional degraded|application down|transport down) after 1 reconnects/u }).waitFor().catch(async (error: unknown) => {
        throw new Error(`${String(error)}; the episodes: ${await page.getByTestId('health-episodes').textContent()}`);
      });
      await page.getByRole('link', { name: 'Overview', exact: true }).click();

      // The owner creates a new token with @BotFather and saves it: the account restarts with it.
      writeConfig(gateway.home, config(model, telegram, newToken));
      await light('ok');
      // The page asked for the health once per push, never on a timer: far fewer requests than seconds passed × views.
      const healthCalls = requests.filter((frame) => frame.includes('"channels.health.list"')).length;
      assert.ok(healthCalls < 40, `${healthCalls} channels.health.list calls`);
    } finally {
      await context.close();
    }
  });

  test('an account is logged in from the Channels view and starts; logging out stops it', { timeout: 60_000 }, async () => {
    const second = await startTestGateway({
      config: { ...fakeModelConfig(model), channels: { telegram: { apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, reconnectDelayMs: 50 } } },
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${second.url}/#token=${second.token}`);
      await page.getByRole('link', { name: 'Channels', exact: true }).click();
      const accounts = page.getByTestId('accounts');
      await accounts.getByRole('row').filter({ hasText: 'telegram:default' }).filter({ hasText: /botToken is not set/u }).waitFor();

      const login = page.getByTestId('channel-login');
      await login.getByLabel('Platform').selectOption('telegram');
      await login.getByLabel('Bot token from @BotFather').fill(loginToken);
      await login.getByRole('button', { name: 'Save and start' }).click();
      await login.getByText(/Saved the login of telegram:default: (started|restarted) telegram:default\./u).waitFor();
      await accounts.getByRole('row').filter({ hasText: 'telegram:default' }).filter({ hasText: 'connected' }).waitFor();
      assert.equal(await page.getByText(loginToken).count(), 0, 'the token is not shown back');

      await login.getByRole('button', { name: 'Log out' }).click();
      await login.getByText(/Logged out telegram:default: /u).waitFor();
      await accounts.getByRole('row').filter({ hasText: 'telegram:default' }).filter({ hasText: /botToken is not set/u }).waitFor();
    } finally {
      await context.close();
      await second.stop();
      removeHome(second.home);
    }
  });
});
