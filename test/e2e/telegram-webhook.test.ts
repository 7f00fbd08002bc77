import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fakeTelegramToken, type FakeTelegramServer, startFakeTelegramServer } from '../support/fake-telegram/fake-telegram-server.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, startTestGateway, waitFor } from '../support/gateway-harness.js';

let telegram: FakeTelegramServer;
let model: FakeModelServer;
const homes: string[] = [];
const token = fakeTelegramToken(5_100_000_001);

before(async () => {
  telegram = await startFakeTelegramServer({ tokens: [token] });
  model = await startFakeModelServer();
});
after(async () => {
  await telegram.close();
  await model.close();
  for (const home of homes) removeHome(home);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

test('telegram webhook mode: pushed updates are answered; a push without the secret is refused', async () => {
  const port = await freePort();
  const home = makeHome();
  homes.push(home);
  const hookUrl = `http://127.0.0.1:${port}/channels/telegram/default/webhook`;
  const gateway = await startTestGateway({
    home,
    port,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo' } },
      channels: {
        telegram: { botToken: token, apiRoot: telegram.apiRoot, mode: 'webhook', webhookUrl: hookUrl, webhookSecret: 'hook-secret_1', dmPolicy: 'open', allowFrom: ['*'] },
      },
    },
  });
  try {
    await waitFor(() => telegram.webhookFor(token)?.url === hookUrl, 'the webhook to be set');
    assert.equal(telegram.webhookFor(token)?.secretToken, 'hook-secret_1');
    telegram.injectMessage({ token, chatType: 'private', chatId: 4242, from: { id: 4242, first_name: 'Ada' }, text: 'pushed to you' });
    await waitFor(() => telegram.sent.some((message) => message.token === token && message.renderedText.includes('echo: pushed to you')), 'the answer');
    assert.equal(telegram.pollCountFor(token), 0, 'no long polling in webhook mode');

    const forged = await fetch(hookUrl, { method: 'POST', body: JSON.stringify({ update_id: 1, message: { message_id: 9, date: 0, chat: { id: 1, type: 'private' }, from: { id: 1, is_bot: false, first_name: 'X' }, text: 'forged' } }) });
    assert.equal(forged.status, 401);
    const unknown = await fetch(`http://127.0.0.1:${port}/channels/telegram/nope/webhook`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(!telegram.sent.some((message) => message.renderedText.includes('forged')));
  } finally {
    await gateway.stop();
  }
});
