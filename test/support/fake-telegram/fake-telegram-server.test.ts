/**
 * Proves the fake Telegram Bot API server against the real grammY client: long polling, sending,
 * Telegram's text validation, scripted failures, dropped connections, webhooks, stalls, deafness,
 * and a clean shutdown.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Api, Bot, GrammyError, HttpError, webhookCallback } from 'grammy';
import type { Message } from 'grammy/types';
import { type FakeTelegramServer, fakeTelegramToken, startFakeTelegramServer } from './fake-telegram-server.js';
import { formatMessageText } from './telegram-text-format.js';

function newBot(server: FakeTelegramServer, token = server.token): Bot {
  return new Bot(token, { client: { apiRoot: server.apiRoot } });
}

/** Starts long polling and resolves once the bot's first poll is held by the server. */
async function startPolling(bot: Bot, server: FakeTelegramServer, token = server.token): Promise<{ running: Promise<unknown> }> {
  const before = server.pollCountFor(token);
  // bot.start() resolves when polling stops and rejects on 401/409; keep the outcome instead of throwing.
  const running = bot.start({ timeout: 10 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  await server.waitFor(() => server.pollCountFor(token) > before && server.pendingPolls > 0, 3_000, 'the first poll');
  // Wrapped: an async function returning a bare promise would wait for it (until polling stops).
  return { running };
}

function isGrammyError(code: number, description?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof GrammyError, `expected a GrammyError, got ${String(error)}`);
    assert.equal(error.error_code, code);
    if (description !== undefined) assert.equal(error.description, description);
    return true;
  };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

test('getMe answers the bot user; a wrong or revoked token gets 401, a malformed path 404', async () => {
  const server = await startFakeTelegramServer();
  try {
    assert.match(server.token, /^\d+:[A-Za-z0-9_-]{35}$/);
    assert.equal(server.apiRoot.startsWith('http://127.0.0.1:'), true);
    const me = await newBot(server).api.getMe();
    assert.equal(me.id, server.botUser.id);
    assert.equal(me.username, 'hearth_test_bot');
    assert.equal(me.is_bot, true);

    const stranger = newBot(server, fakeTelegramToken(42));
    await assert.rejects(stranger.api.getMe(), isGrammyError(401, 'Unauthorized'));
    await assert.rejects(stranger.api.sendMessage(1, 'hi'), isGrammyError(401, 'Unauthorized'));

    // The wire format, without grammY: unknown method, malformed path, form bodies, GET with a query.
    assert.deepEqual(await postJson(`${server.apiRoot}/bot${server.token}/sendFoo`, {}), {
      status: 404,
      body: { ok: false, error_code: 404, description: 'Not Found: method not found' },
    });
    assert.equal((await fetch(`${server.apiRoot}/botnot-a-token/getMe`)).status, 404);
    server.injectMessage({ chatType: 'private', chatId: 77, from: { id: 77 }, text: 'hi' });
    const form = await fetch(`${server.apiRoot}/bot${server.token}/sendmessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ chat_id: '77', text: '<i>form</i>', parse_mode: 'HTML' }).toString(),
    });
    const formBody = (await form.json()) as { ok: boolean; result: Message.TextMessage };
    assert.equal(formBody.ok, true);
    assert.equal(formBody.result.text, 'form');
    assert.deepEqual(formBody.result.entities, [{ type: 'italic', offset: 0, length: 4 }]);
    const viaGet = (await (await fetch(`${server.apiRoot}/bot${server.token}/getMe?x=1`)).json()) as { ok: boolean };
    assert.equal(viaGet.ok, true);

    server.revokeToken();
    await assert.rejects(newBot(server).api.getMe(), isGrammyError(401, 'Unauthorized'));
    server.setTokenValid(server.token, true);
    assert.equal((await newBot(server).api.getMe()).id, server.botUser.id);
  } finally {
    await server.close();
  }
});

test('bot.start() long polling receives a private message, a group mention and a topic reply', async () => {
  const server = await startFakeTelegramServer();
  const bot = newBot(server);
  const received: Message[] = [];
  bot.on('message', async (ctx) => {
    received.push(ctx.message);
    if (ctx.chat.type === 'private') await ctx.reply(`echo: ${ctx.message.text ?? ''}`);
  });
  try {
    const { running } = await startPolling(bot, server);
    const first = server.injectMessage({ chatType: 'private', chatId: 1001, from: { id: 1001, username: 'alice' }, text: 'hello /start' });
    server.injectMessage({ chatType: 'supergroup', chatId: -1001234567890, from: { id: 1002, first_name: 'Bob' }, text: 'what time is it?', mentionBot: true });
    await server.waitFor(() => received.length === 2, 2_000, 'two messages');

    const [dm, mention] = received;
    assert.equal(dm?.message_id, first.message_id);
    assert.equal(dm?.chat.type, 'private');
    assert.equal(dm?.text, 'hello /start');
    assert.deepEqual(dm?.entities, [{ type: 'bot_command', offset: 6, length: 6 }]);
    assert.equal(mention?.chat.type, 'supergroup');
    assert.equal(mention?.text, '@hearth_test_bot what time is it?');
    assert.deepEqual(mention?.entities, [{ type: 'mention', offset: 0, length: '@hearth_test_bot'.length }]);

    const echo = await server.waitForSent(1);
    assert.equal(echo.chatId, 1001);
    assert.equal(echo.text, 'echo: hello /start');

    // A reply to the bot inside a forum topic.
    server.injectMessage({
      chatType: 'supergroup',
      chatId: -1001234567890,
      from: { id: 1002 },
      text: 'and tomorrow?',
      messageThreadId: 7,
      replyToBot: true,
    });
    await server.waitFor(() => received.length === 3);
    const topic = received[2];
    assert.equal(topic?.message_thread_id, 7);
    assert.equal(topic?.is_topic_message, true);
    assert.equal(topic?.chat.type === 'supergroup' && topic.chat.is_forum, true);
    assert.equal(topic?.reply_to_message?.from?.id, server.botUser.id);

    await bot.stop();
    assert.equal(await running, undefined);
    assert.equal(server.pendingUpdates(), 0, 'bot.stop() confirmed the handled updates');
  } finally {
    await bot.stop();
    await server.close();
  }
});

test('sendMessage records HTML, threads and replies; invalid text gets the Telegram 400s', async () => {
  const server = await startFakeTelegramServer();
  const bot = newBot(server);
  try {
    server.injectMessage({ chatType: 'private', chatId: 1001, from: { id: 1001 }, text: 'hello' });
    const question = server.injectMessage({ chatType: 'supergroup', chatId: -1005, from: { id: 5 }, text: 'hi', messageThreadId: 3 });
    const html = '<b>Hi</b> &amp; <a href="https://example.com/x">link</a>\n<pre><code class="language-ts">let a = 1 &lt; 2;</code></pre>';
    const sentMessage = await bot.api.sendMessage(-1005, html, {
      parse_mode: 'HTML',
      message_thread_id: 3,
      reply_parameters: { message_id: question.message_id },
      link_preview_options: { is_disabled: true },
    });
    assert.equal(sentMessage.text, 'Hi & link\nlet a = 1 < 2;');
    assert.deepEqual(sentMessage.entities, [
      { type: 'bold', offset: 0, length: 2 },
      { type: 'text_link', offset: 5, length: 4, url: 'https://example.com/x' },
      { type: 'pre', offset: 10, length: 14, language: 'ts' },
    ]);
    assert.equal(sentMessage.reply_to_message?.message_id, question.message_id);
    assert.ok(sentMessage.message_id > question.message_id);
    const record = server.sent.at(-1);
    assert.equal(record?.text, html);
    assert.equal(record?.parseMode, 'HTML');
    assert.equal(record?.messageThreadId, 3);
    assert.equal(record?.replyToMessageId, question.message_id);
    assert.equal(record?.messageId, sentMessage.message_id);

    const next = await bot.api.sendMessage(-1005, 'plain');
    assert.equal(next.message_id, sentMessage.message_id + 1);

    const refusals: [string, string | undefined, string][] = [
      ['<b>never closed', 'HTML', "Bad Request: can't parse entities: Can't find end tag corresponding to start tag b"],
      ['1 < 2', 'HTML', `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`],
      ['line<br>break', 'HTML', `Bad Request: can't parse entities: Unsupported start tag "br" at byte offset 4`],
      ['<b>x</i>', 'HTML', `Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`],
      ['Tom & Jerry', 'HTML', `Bad Request: can't parse entities: Unescaped "&" at byte offset 4; write it as &amp;`],
      ['End.', 'MarkdownV2', "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"],
      ['*bold', 'MarkdownV2', "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0"],
      ['   ', undefined, 'Bad Request: message text is empty'],
      ['<b></b>', 'HTML', 'Bad Request: message text is empty'],
      ['x'.repeat(4097), undefined, 'Bad Request: message is too long'],
      ['hi', 'Textile', 'Bad Request: unsupported parse_mode'],
    ];
    for (const [text, parseMode, description] of refusals) {
      await assert.rejects(
        bot.api.sendMessage(1001, text, parseMode === undefined ? {} : { parse_mode: parseMode as 'HTML' }),
        isGrammyError(400, description),
        `${JSON.stringify(text.slice(0, 20))} in ${parseMode ?? 'plain text'}`,
      );
    }
    await assert.rejects(bot.api.sendMessage(1001, ''), isGrammyError(400, 'Bad Request: message text is empty'));
    await assert.rejects(
      bot.api.sendMessage(1001, 'x', { reply_parameters: { message_id: 999_999 } }),
      isGrammyError(400, 'Bad Request: message to be replied not found'),
    );
    assert.equal((await bot.api.sendMessage(1001, 'x'.repeat(4096))).text.length, 4096);
    const md = await bot.api.sendMessage(1001, '*bold* _it_ `code` \\. [site](https://example.com)', { parse_mode: 'MarkdownV2' });
    assert.equal(md.text, 'bold it code . site');
    assert.deepEqual(
      md.entities?.map((entity) => entity.type),
      ['bold', 'italic', 'code', 'text_link'],
    );

    const edited = await bot.api.editMessageText(-1005, next.message_id, '<i>edited</i>', { parse_mode: 'HTML' });
    assert.ok(edited !== true && 'text' in edited);
    assert.equal(edited.text, 'edited');
    assert.equal(server.sent.at(-1)?.method, 'editMessageText');
    await assert.rejects(
      bot.api.editMessageText(-1005, next.message_id, '<i>edited</i>', { parse_mode: 'HTML' }),
      isGrammyError(400),
    );
    await assert.rejects(bot.api.editMessageText(-1005, question.message_id, 'mine now'), isGrammyError(400, "Bad Request: message can't be edited"));

    assert.equal(await bot.api.sendChatAction(-1005, 'typing', { message_thread_id: 3 }), true);
    assert.deepEqual(
      server.chatActions.map(({ chatId, action, messageThreadId }) => ({ chatId, action, messageThreadId })),
      [{ chatId: -1005, action: 'typing', messageThreadId: 3 }],
    );
    await assert.rejects(bot.api.sendChatAction(-1005, 'dancing' as 'typing'), isGrammyError(400));
    assert.equal(await bot.api.setMyCommands([{ command: 'new', description: 'Start a new session' }]), true);
    assert.deepEqual(server.commandsFor(), [{ command: 'new', description: 'Start a new session' }]);
    const chat = await bot.api.getChat(-1005);
    assert.equal(chat.type, 'supergroup');
  } finally {
    await server.close();
  }
});

test('a chat the bot has never seen is "chat not found", as on Telegram, unless the server is told to make chats up', async () => {
  const strict = await startFakeTelegramServer();
  const lenient = await startFakeTelegramServer({ requireKnownChats: false });
  try {
    await assert.rejects(newBot(strict).api.sendMessage(31337, 'hi'), isGrammyError(400, 'Bad Request: chat not found'));
    await assert.rejects(newBot(strict).api.sendMessage(-31337, 'hi'), isGrammyError(400, 'Bad Request: chat not found'));
    assert.deepEqual(strict.sent, []);
    strict.injectMessage({ chatType: 'private', chatId: 31337, from: { id: 31337 }, text: 'hello' });
    assert.equal((await newBot(strict).api.sendMessage(31337, 'now known')).chat.id, 31337);
    const madeUp = await newBot(lenient).api.sendMessage(-31337, 'hi');
    assert.equal(madeUp.chat.type, 'group');
  } finally {
    await strict.close();
    await lenient.close();
  }
});

test('the text rules match Telegram on nesting, entities and trimming', () => {
  const nested = formatMessageText('<b>bold <i>both</i></b> <tg-spoiler>s</tg-spoiler> <blockquote expandable>q</blockquote>', 'HTML', undefined);
  assert.ok(nested.ok);
  assert.equal(nested.text, 'bold both s q');
  assert.deepEqual(
    nested.entities.map((entity) => [entity.type, entity.offset, entity.length]),
    [
      ['bold', 0, 9],
      ['italic', 5, 4],
      ['spoiler', 10, 1],
      ['expandable_blockquote', 12, 1],
    ],
  );
  const emoji = formatMessageText('  😀 <b>x</b>  ', 'HTML', undefined);
  assert.ok(emoji.ok);
  assert.equal(emoji.text, '😀 x');
  assert.deepEqual(emoji.entities, [{ type: 'bold', offset: 3, length: 1 }]);
  const quote = formatMessageText('>quoted line\nafter', 'MarkdownV2', undefined);
  assert.ok(quote.ok);
  assert.equal(quote.text, 'quoted line\nafter');
  assert.equal(quote.entities[0]?.type, 'blockquote');
  assert.equal(formatMessageText('Tom & Jerry', 'HTML', undefined, { strictAmpersand: false }).ok, true);
  assert.equal(formatMessageText('<span class="x">a</span>', 'HTML', undefined).ok, false);
});

test('failNext: 429 surfaces as a GrammyError with retry_after; 500 and an nginx 502 fail once', async () => {
  const server = await startFakeTelegramServer();
  const bot = newBot(server);
  try {
    server.injectMessage({ chatType: 'private', chatId: 1001, from: { id: 1001 }, text: 'hello' });
    server.failNext('sendMessage', { status: 429, retryAfter: 1 });
    await assert.rejects(bot.api.sendMessage(1001, 'hi'), (error: unknown) => {
      assert.ok(error instanceof GrammyError);
      assert.equal(error.error_code, 429);
      assert.equal(error.description, 'Too Many Requests: retry after 1');
      assert.deepEqual(error.parameters, { retry_after: 1 });
      return true;
    });
    assert.equal((await bot.api.sendMessage(1001, 'hi')).text, 'hi', 'only the next call fails');

    server.failNext('sendmessage', { status: 500 });
    server.failNext('sendMessage', { status: 502 });
    server.failNext('sendMessage', { status: 400, description: 'Bad Request: chat not found' });
    await assert.rejects(bot.api.sendMessage(1001, 'a'), isGrammyError(500, 'Internal Server Error'));
    // Telegram's front end answers 502 with an HTML page, so grammY cannot read it as a Bot API error.
    await assert.rejects(bot.api.sendMessage(1001, 'b'), (error: unknown) => error instanceof HttpError);
    await assert.rejects(bot.api.sendMessage(1001, 'c'), isGrammyError(400, 'Bad Request: chat not found'));
    server.failNext('getMe', { reset: true });
    await assert.rejects(bot.api.getMe(), (error: unknown) => error instanceof HttpError);
    server.failNext('sendMessage', { status: 500 }, { token: server.token, times: 1_000_000 });
    await assert.rejects(bot.api.sendMessage(1001, 'd'), isGrammyError(500));
    await assert.rejects(bot.api.sendMessage(1001, 'e'), isGrammyError(500));
    server.clearFailures('sendMessage', server.token);
    assert.deepEqual(
      server.sent.map((entry) => entry.text),
      ['hi'],
    );
  } finally {
    await server.close();
  }
});

test('after dropConnections() grammY keeps polling and still receives the next message', async () => {
  const server = await startFakeTelegramServer();
  const bot = newBot(server);
  const received: string[] = [];
  bot.on('message:text', (ctx) => {
    received.push(ctx.message.text);
  });
  try {
    const { running } = await startPolling(bot, server);
    server.injectMessage({ chatType: 'private', chatId: 9, from: { id: 9 }, text: 'before' });
    await server.waitFor(() => received.length === 1);
    await server.waitFor(() => server.pendingPolls === 1);
    const pollsBefore = server.pollCount;

    server.dropConnections();
    server.injectMessage({ chatType: 'private', chatId: 9, from: { id: 9 }, text: 'after' });
    // grammY waits 3 s after a network error before it polls again.
    await server.waitFor(() => received.length === 2, 6_000, 'the message after the drop');
    assert.deepEqual(received, ['before', 'after']);
    assert.ok(server.pollCount > pollsBefore);
    await bot.stop();
    assert.equal(await running, undefined);
  } finally {
    await bot.stop();
    await server.close();
  }
});

test('webhook mode: setWebhook ends polling with 409 and pushes updates with the secret header', async () => {
  const server = await startFakeTelegramServer();
  const poller = newBot(server);
  // grammY refuses bot.start() on a bot that has a webhook callback, so the webhook side is its own Bot.
  const hooked = newBot(server);
  const received: string[] = [];
  hooked.on('message:text', (ctx) => {
    received.push(ctx.message.text);
  });
  const hook = createServer(webhookCallback(hooked, 'http', { secretToken: 'hook-secret_1' }));
  try {
    const { running } = await startPolling(poller, server);
    await poller.api.setWebhook('http://127.0.0.1:1/elsewhere');
    const stopped = await running;
    assert.ok(stopped instanceof GrammyError);
    assert.equal(stopped.error_code, 409);
    assert.equal(stopped.description, 'Conflict: terminated by setWebhook request');
    await assert.rejects(
      poller.api.getUpdates(),
      isGrammyError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"),
    );
    await assert.rejects(poller.api.setWebhook('http://example.com/hook'), isGrammyError(400));

    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/telegram`;
    assert.equal(await hooked.api.setWebhook(url, { secret_token: 'hook-secret_1' }), true);
    server.injectMessage({ chatType: 'group', chatId: -42, from: { id: 8 }, text: 'via webhook' });
    await server.waitFor(() => received.length === 1);
    assert.deepEqual(received, ['via webhook']);
    assert.deepEqual(server.webhookFor(), { url, secretToken: 'hook-secret_1' });
    const info = await hooked.api.getWebhookInfo();
    assert.equal(info.url, url);
    assert.equal(info.pending_update_count, 0);

    // A wrong secret: grammY answers 401, so the update stays queued and is retried.
    await hooked.api.setWebhook(url, { secret_token: 'another-secret' });
    server.injectMessage({ chatType: 'group', chatId: -42, from: { id: 8 }, text: 'refused' });
    await server.waitFor(() => server.webhookDeliveries.some((delivery) => delivery.status === 401));
    const refusedInfo = await hooked.api.getWebhookInfo();
    assert.equal(refusedInfo.pending_update_count, 1);
    assert.match(refusedInfo.last_error_message ?? '', /Wrong response from the webhook: 401/);
    assert.equal(await hooked.api.deleteWebhook({ drop_pending_updates: true }), true);
    assert.equal(server.pendingUpdates(), 0);
    assert.deepEqual(received, ['via webhook']);
  } finally {
    await poller.stop();
    hook.closeAllConnections();
    await new Promise<void>((resolve) => hook.close(() => resolve()));
    await server.close();
  }
});

test('stall(true) leaves a poll hanging until it is lifted', async () => {
  const server = await startFakeTelegramServer();
  const bot = newBot(server);
  const received: string[] = [];
  bot.on('message:text', (ctx) => {
    received.push(ctx.message.text);
  });
  try {
    const { running } = await startPolling(bot, server);
    server.stall(true);
    assert.equal(server.stalledPolls, 1);
    assert.equal(server.pendingPolls, 0);
    const polls = server.pollCount;
    server.injectMessage({ chatType: 'private', chatId: 3, from: { id: 3 }, text: 'stuck' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(received, []);
    assert.equal(server.pollCount, polls, 'no poll was answered, so no new one came');
    assert.equal(server.stalledPolls, 1);

    // bot.stop() confirms with one more getUpdates, which would hang too: lift the stall first.
    server.stall(false);
    await server.waitFor(() => received.length === 1);
    await bot.stop();
    assert.equal(await running, undefined);
  } finally {
    server.stall(false);
    await bot.stop();
    await server.close();
  }
});

test('deaf(true) answers polls empty while getWebhookInfo counts the waiting update; deaf(false) delivers it', async () => {
  const server = await startFakeTelegramServer();
  const api = new Api(server.token, { apiRoot: server.apiRoot });
  try {
    server.deaf(true);
    server.injectMessage({ chatType: 'private', chatId: 4, from: { id: 4 }, text: 'unheard' });
    assert.deepEqual(await api.getUpdates({ timeout: 0 }), []);
    assert.equal((await api.getWebhookInfo()).pending_update_count, 1);
    const held = api.getUpdates({ timeout: 5 });
    await server.waitFor(() => server.pendingPolls === 1, 2_000, 'the poll to be held');
    server.deaf(false);
    const updates = await held;
    assert.equal(updates[0]?.message?.text, 'unheard', 'the held poll gets what waited at once');
  } finally {
    await server.close();
  }
});

test('one server serves several bots, odd updates pass through as they are', async () => {
  const tokens = [fakeTelegramToken(1111), fakeTelegramToken(2222)];
  const server = await startFakeTelegramServer({ tokens });
  try {
    const [firstToken, secondToken] = tokens as [string, string];
    const second = newBot(server, secondToken);
    assert.equal((await second.api.getMe()).username, 'hearth_test_2_bot');
    server.injectMessage({ token: secondToken, chatType: 'private', chatId: 4, from: { id: 4 }, text: 'to the second bot' });
    const unknownKind = server.injectRawUpdate({ some_future_update: { value: 1 } }, secondToken);
    server.injectRawUpdate({ message: { message_id: 5, date: 1, text: 'no chat' } }, secondToken);
    assert.equal(server.pendingUpdates(firstToken), 0);
    const updates = await second.api.getUpdates({ timeout: 0 });
    assert.equal(updates.length, 3);
    assert.equal(updates[0]?.message?.text, 'to the second bot');
    assert.deepEqual(updates[1], { update_id: unknownKind, some_future_update: { value: 1 } });
    assert.equal(updates[2]?.message?.chat, undefined);
    const lastId = updates[2]?.update_id ?? 0;
    assert.deepEqual(await second.api.getUpdates({ offset: lastId + 1, timeout: 0 }), []);
    assert.equal(server.pendingUpdates(secondToken), 0);
    // A second poller on the same token ends the first with 409, as Telegram does.
    const held = second.api.getUpdates({ timeout: 5 });
    await server.waitFor(() => server.pendingPolls === 1);
    const newer = second.api.getUpdates({ timeout: 0 });
    await assert.rejects(held, isGrammyError(409));
    assert.deepEqual(await newer, []);

    // allowed_updates holds back injected messages the bot did not ask for; raw updates always pass.
    const first = newBot(server, firstToken);
    server.injectMessage({ token: firstToken, chatType: 'private', chatId: 6, from: { id: 6 }, text: 'held back' });
    server.injectRawUpdate({ odd_kind: true }, firstToken);
    const callbacksOnly = await first.api.getUpdates({ timeout: 0, allowed_updates: ['callback_query'] });
    assert.deepEqual(
      callbacksOnly.map((update) => Object.keys(update)),
      [['update_id', 'odd_kind']],
    );
    assert.equal((await first.api.getUpdates({ timeout: 0, allowed_updates: [] })).length, 2);
  } finally {
    await server.close();
  }
});

test('close() releases every socket, server and timer', async () => {
  const count = (kind: string): number => process.getActiveResourcesInfo().filter((resource) => resource === kind).length;
  /** Handles closed by earlier code leave the list a little later; wait (up to 1 s) for them to go. */
  const settle = async (limits: { servers: number; sockets: number }): Promise<void> => {
    for (let i = 0; i < 100 && (count('TCPServerWrap') > limits.servers || count('TCPSocketWrap') > limits.sockets); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await settle({ servers: 0, sockets: 0 });
  const baseline = { servers: count('TCPServerWrap'), sockets: count('TCPSocketWrap'), timers: count('Timeout') };
  const server = await startFakeTelegramServer({ maxPollSeconds: 30 });
  const bot = newBot(server);
  const held = bot.api.getUpdates({ timeout: 30 }).then(
    () => 'answered',
    () => 'failed',
  );
  await server.waitFor(() => server.pendingPolls === 1);
  server.failNext('getMe', { delayMs: 10_000 });
  const delayed = bot.api.getMe().then(
    () => 'answered',
    () => 'failed',
  );
  await server.waitFor(() => server.calls.some((call) => call.method === 'getMe'));
  assert.ok(count('TCPServerWrap') > baseline.servers);
  await server.close();
  assert.equal(await held, 'failed');
  assert.equal(await delayed, 'failed');
  await settle(baseline);
  assert.equal(count('TCPServerWrap'), baseline.servers);
  assert.ok(count('TCPSocketWrap') <= baseline.sockets, `sockets left: ${count('TCPSocketWrap')} > ${baseline.sockets}`);
  assert.ok(count('Timeout') <= baseline.timers, `timers left: ${count('Timeout')} > ${baseline.timers}`);
});
