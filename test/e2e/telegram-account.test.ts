import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fakeTelegramToken, type FakeTelegramServer, startFakeTelegramServer } from '../support/fake-telegram/fake-telegram-server.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { answerBeforeBody } from '../support/raw-http.js';

let telegram: FakeTelegramServer;
let model: FakeModelServer;
const homes: string[] = [];
const token = fakeTelegramToken(5_100_000_001);
const loginToken = fakeTelegramToken(5_100_000_002);

before(async () => {
  telegram = await startFakeTelegramServer({ tokens: [token, loginToken] });
  model = await startFakeModelServer();
});
after(async () => {
  await telegram?.close();
  await model?.close();
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
      ...fakeModelConfig(model),
      gateway: { headersTimeoutMs: 500, bodyTimeoutMs: 500 },
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

    // The account and the secret are checked before the body is read, and the body is capped for Telegram.
    const fourMiB = 4 * 1024 * 1024;
    const noAccount = await answerBeforeBody(`http://127.0.0.1:${port}/channels/telegram/nope/webhook`, { contentLength: fourMiB });
    assert.equal(noAccount.status, 404, 'an unknown account is answered before its body arrives');
    const noSecret = await answerBeforeBody(hookUrl, { contentLength: fourMiB });
    assert.equal(noSecret.status, 401, 'a push without the secret is answered before its body arrives');
    const wrongSecret = await answerBeforeBody(hookUrl, { contentLength: fourMiB, headers: { 'x-telegram-bot-api-secret-token': 'hook-secret_2' } });
    assert.equal(wrongSecret.status, 401);
    const tooLarge = await answerBeforeBody(hookUrl, { contentLength: 2 * 1024 * 1024, headers: { 'x-telegram-bot-api-secret-token': 'hook-secret_1' } });
    assert.equal(tooLarge.status, 413, 'a body over the 1 MiB Telegram cap is refused');
    // A push with the right secret whose body never comes is dropped at gateway.bodyTimeoutMs.
    const stalled = await answerBeforeBody(hookUrl, { contentLength: 1000, headers: { 'x-telegram-bot-api-secret-token': 'hook-secret_1' } });
    assert.equal(stalled.status, 408);
    assert.ok(stalled.elapsedMs < 2500, `the stalled push was held ${stalled.elapsedMs} ms`);
  } finally {
    await gateway.stop();
  }
});

test('channels login saves a token (0600) and starts the account; logout stops it', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: { telegram: { apiRoot: telegram.apiRoot, dmPolicy: 'open', allowFrom: ['*'], pollTimeoutSeconds: 1 } },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const status = async () => JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { accountId: string; state: string; connected: boolean; lastError: string | null }[];
  try {
    const before = await status();
    assert.equal(before[0]?.state, 'unhealthy');
    assert.match(before[0]?.lastError ?? '', /botToken is not set/u);

    const login = await runCli(['channels', 'login', '--channel', 'telegram'], env, `${loginToken}\n`);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /restarted telegram:default|started telegram:default/u);
    assert.doesNotMatch(login.stdout + login.stderr, new RegExp(loginToken.split(':')[1] ?? 'x'), 'the token is never printed');
    const file = join(home, 'credentials', 'channels', 'telegram--default.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    await waitFor(async () => (await status())[0]?.connected, 'the account to connect with the saved token');
    telegram.injectMessage({ token: loginToken, chatType: 'private', chatId: 777, from: { id: 777, first_name: 'Ada' }, text: 'logged in?' });
    await waitFor(() => telegram.sent.some((message) => message.token === loginToken && message.renderedText.includes('echo: logged in?')), 'the answer');

    const logout = await runCli(['channels', 'logout', '--channel', 'telegram'], env);
    assert.equal(logout.code, 0, logout.stderr);
    await waitFor(async () => (await status())[0]?.state === 'unhealthy', 'the account to stop');
    const again = await runCli(['channels', 'logout', '--channel', 'telegram'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No saved credentials/u);
    const unknown = await runCli(['channels', 'login', '--channel', 'telegarm'], env, 'x\n');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown channel "telegarm"/u);
  } finally {
    await gateway.stop();
  }
});

test('editing one account restarts only that account; message send delivers through the outbox', async () => {
  const first = fakeTelegramToken(5_100_000_003);
  const second = fakeTelegramToken(5_100_000_004);
  telegram.setTokenValid(first, true);
  telegram.setTokenValid(second, true);
  const home = makeHome();
  homes.push(home);
  const config = (secondPolicy: string) => ({
    ...fakeModelConfig(model),
    channels: {
      telegram: {
        apiRoot: telegram.apiRoot,
        pollTimeoutSeconds: 1,
        accounts: { first: { botToken: first }, second: { botToken: second, dmPolicy: secondPolicy, allowFrom: ['*'] } },
      },
    },
  });
  const gateway = await startTestGateway({ home, config: config('allowlist') });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const getMeCalls = (token: string) => telegram.calls.filter((call) => call.token === token && call.method === 'getMe').length;
  try {
    await waitFor(() => getMeCalls(first) === 1 && getMeCalls(second) === 1, 'both accounts to log in');
    writeFileSync(join(home, 'hearth.json5'), JSON.stringify(config('open')));
    await waitFor(() => getMeCalls(second) === 2, 'the edited account to restart');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(getMeCalls(first), 1, 'the other account kept its connection');

    telegram.addChat(3131);
    const sent = await runCli(['message', 'send', '--channel', 'telegram', '--account', 'first', '--to', '3131', 'Hello **there**'], env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /Delivered/u);
    const message = telegram.sent.find((item) => item.token === first && item.chatId === 3131);
    assert.equal(message?.renderedText, 'Hello there');
    assert.deepEqual(message?.entities.map((entity) => entity.type), ['bold']);

    // A chat the bot never saw: Telegram refuses, the message is given up at once and counted.
    const refused = await runCli(['message', 'send', '--channel', 'telegram', '--account', 'first', '--to', '9090', 'never seen'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Not delivered: .*chat not found/u);
    const status = await runCli(['channels', 'status'], env);
    assert.match(status.stdout, /telegram:first {2}connected[^\n]*\n(?: {2}[^\n]*\n)*? {2}outbox: 0 waiting, 1 given up\n/u);
    assert.match(status.stdout, /telegram:second {2}connected[^\n]*\n(?: {2}[^\n]*\n)*? {2}outbox: 0 waiting, 0 given up\n/u);

    const nowhere = await runCli(['message', 'send', '--channel', 'discord', '--to', '1', 'hi'], env);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /No running channel account discord:default.*telegram:first/su);
  } finally {
    await gateway.stop();
  }
});

test('telegram forum topics: a mention in a topic is answered in that topic, in a session of its own', async () => {
  const topicToken = fakeTelegramToken(5_100_000_005);
  telegram.setTokenValid(topicToken, true);
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: { telegram: { botToken: topicToken, apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, groups: ['-1009876543210'] } },
    },
  });
  try {
    const from = { id: 31, first_name: 'Ada' };
    await waitFor(() => telegram.calls.some((call) => call.token === topicToken && call.method === 'getUpdates'), 'polling to start');
    telegram.injectMessage({ token: topicToken, chatType: 'supergroup', chatId: -1009876543210, from, text: 'in the topic', mentionBot: true, messageThreadId: 77 });
    telegram.injectMessage({ token: topicToken, chatType: 'supergroup', chatId: -1009876543210, from, text: 'in the general chat', mentionBot: true });
    const inTopic = await waitFor(() => telegram.sent.find((message) => message.token === topicToken && message.renderedText.includes('in the topic')), 'the answer in the topic');
    assert.equal(inTopic.messageThreadId, 77);
    const general = await waitFor(() => telegram.sent.find((message) => message.token === topicToken && message.renderedText.includes('in the general chat')), 'the answer in the general chat');
    assert.equal(general.messageThreadId, undefined);
    const sessions = await runCli(['sessions', 'list', '--json'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    const keys = (JSON.parse(sessions.stdout) as { sessionKey: string }[]).map((session) => session.sessionKey).sort();
    assert.deepEqual(keys, ['agent:main:telegram:group:-1009876543210', 'agent:main:telegram:group:-1009876543210:thread:77']);
  } finally {
    await gateway.stop();
  }
});

test('a poller that stalls is noticed: the account reconnects, readiness shows it, and nothing is lost', async () => {
  const stallToken = fakeTelegramToken(5_100_000_006);
  telegram.setTokenValid(stallToken, true);
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: { telegram: { botToken: stallToken, apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, stallTimeoutMs: 1500, reconnectDelayMs: 50, dmPolicy: 'open', allowFrom: ['*'] } },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const status = async () => (JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { reconnects: number; lastError: string | null; state: string }[])[0];
  try {
    await waitFor(async () => (await status())?.state === 'connected', 'the account to connect');
    telegram.stall(true);
    try {
      const stalled = await waitFor(async () => {
        const current = await status();
        return current && current.reconnects > 0 ? current : null;
      }, 'the watchdog to notice the stall');
      assert.match(stalled.lastError ?? '', /stalled|no sign of life/u);
      const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { components: { channels: { status: string; detail: string } } };
      assert.equal(ready.components.channels.status, 'degraded');
      telegram.injectMessage({ token: stallToken, chatType: 'private', chatId: 55, from: { id: 55, first_name: 'Ada' }, text: 'sent while it was stuck' });
    } finally {
      telegram.stall(false);
    }
    await waitFor(() => telegram.sent.some((message) => message.token === stallToken && message.renderedText.includes('echo: sent while it was stuck')), 'the message sent during the stall to be answered', 15_000);
    await waitFor(async () => (await status())?.state === 'connected', 'the account to be connected again');
  } finally {
    await gateway.stop();
  }
});

test('bindings send one account to its own agent; the other account goes to the default agent', async () => {
  const homeToken = fakeTelegramToken(5_100_000_007);
  const workToken = fakeTelegramToken(5_100_000_008);
  telegram.setTokenValid(homeToken, true);
  telegram.setTokenValid(workToken, true);
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo' }, entries: { main: { default: true }, work: {} } },
      bindings: [{ agentId: 'work', match: { channel: 'telegram', accountId: 'office' } }],
      channels: {
        telegram: { apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, dmPolicy: 'open', allowFrom: ['*'], accounts: { house: { botToken: homeToken }, office: { botToken: workToken } } },
      },
    },
  });
  try {
    const from = { id: 91, first_name: 'Ada' };
    await waitFor(() => [homeToken, workToken].every((token) => telegram.calls.some((call) => call.token === token && call.method === 'getUpdates')), 'both accounts to poll');
    telegram.injectMessage({ token: homeToken, chatType: 'private', chatId: 91, from, text: 'at home' });
    telegram.injectMessage({ token: workToken, chatType: 'private', chatId: 91, from, text: 'at work' });
    await waitFor(() => telegram.sent.filter((message) => message.chatId === 91 && /echo: at (home|work)/u.test(message.renderedText)).length === 2, 'both answers');
    const sessions = await runCli(['sessions', 'list', '--json'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    const keys = (JSON.parse(sessions.stdout) as { sessionKey: string }[]).map((session) => session.sessionKey).sort();
    assert.deepEqual(keys, ['agent:main:telegram:direct:91', 'agent:work:telegram:direct:91']);
  } finally {
    await gateway.stop();
  }
});

test('a message Telegram delivers twice (a redelivered update) is answered once', async () => {
  const redeliverToken = fakeTelegramToken(5_100_000_009);
  telegram.setTokenValid(redeliverToken, true);
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: { telegram: { botToken: redeliverToken, apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, dmPolicy: 'open', allowFrom: ['*'] } },
    },
  });
  try {
    const from = { id: 93, first_name: 'Ada' };
    const answers = (text: string) => telegram.sent.filter((message) => message.token === redeliverToken && message.chatId === 93 && message.renderedText.includes(`echo: ${text}`));
    const original = telegram.injectMessage({ token: redeliverToken, chatType: 'private', chatId: 93, from, text: 'only once please' });
    await waitFor(() => answers('only once please').length === 1, 'the answer');
    // The same message again under a new update id, as after a lost confirmation; then a new one.
    telegram.injectRawUpdate({ message: original }, redeliverToken);
    telegram.injectMessage({ token: redeliverToken, chatType: 'private', chatId: 93, from, text: 'and then this' });
    // Messages of one chat are handled in order, so once the later one is answered the redelivery was handled too.
    await waitFor(() => answers('and then this').length === 1, 'the answer to the next message');
    assert.equal(answers('only once please').length, 1, 'the redelivered message is not answered again');
    const history = await runCli(['sessions', 'history', 'agent:main:telegram:direct:93', '--json'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    const users = (JSON.parse(history.stdout) as { messages: { role: string; content: string }[] }).messages.filter((message) => message.role === 'user');
    assert.deepEqual(
      users.map((message) => message.content),
      ['only once please', 'and then this'],
    );
  } finally {
    await gateway.stop();
  }
});

test('telegram: a photo is saved by content hash under media/ and the turn refers to it; a file over media.maxBytes is noted, not downloaded', async () => {
  const home = makeHome();
  homes.push(home);
  const photoToken = fakeTelegramToken(5_100_000_003);
  const server = await startFakeTelegramServer({ token: photoToken });
  const gateway = await startTestGateway({
    home,
    config: { ...fakeModelConfig(model), media: { maxBytes: 4096 }, channels: { telegram: { botToken: photoToken, apiRoot: server.apiRoot, dmPolicy: 'open', allowFrom: ['*'] } } },
  });
  try {
    const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
    await waitFor(async () => (JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[])[0]?.connected, 'the bot to connect');
    const photo = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const photoId = server.addFile(photo, 'cat.jpg');
    const bigId = server.addFile(Buffer.alloc(5000, 7), 'big.pdf');
    const chat = { id: 4242, type: 'private', first_name: 'Ada' };
    const from = { id: 4242, is_bot: false, first_name: 'Ada' };
    server.injectRawUpdate({ message: { message_id: 1, date: 1, chat, from, caption: 'look at this', photo: [{ file_id: photoId, file_unique_id: 'p1', width: 10, height: 10, file_size: photo.length }] } }, photoToken);
    server.injectRawUpdate({ message: { message_id: 2, date: 2, chat, from, document: { file_id: bigId, file_unique_id: 'd1', file_name: 'big.pdf', file_size: 5000 } } }, photoToken);
    const sha = createHash('sha256').update(photo).digest('hex');
    await waitFor(() => server.sent.some((item) => item.text.includes(`media/${sha}`)), 'the answer that echoes the saved photo');
    assert.deepEqual(readFileSync(join(home, 'media', sha.slice(0, 2), sha)), photo, 'the file is saved whole under its hash');
    await waitFor(() => server.sent.some((item) => item.text.includes('big.pdf') && item.text.includes('not saved: larger than media.maxBytes (4096 bytes)')), 'the note about the big file');
    assert.deepEqual(server.fileDownloads.filter((path) => path.includes('big.pdf')), [], 'a file over the cap is not downloaded');
  } finally {
    await gateway.stop();
    await server.close();
  }
});
