import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { constants as zlibConstants, createInflate } from 'node:zlib';
import {
  ChannelType,
  Client,
  type ClientOptions,
  DiscordAPIError,
  DiscordjsError,
  DiscordjsErrorCodes,
  Events,
  GatewayIntentBits,
  type Message,
  Partials,
  RESTEvents,
  type SendableChannels,
} from 'discord.js';
import { WebSocket } from 'ws';
import { type FakeDiscordServer, startFakeDiscordServer } from './fake-discord-server.js';

const TIMEOUT = { timeout: 10_000 };
const ALICE = { id: '200000000000000001', username: 'alice' };
const BOB = { id: '200000000000000002', username: 'bob' };

/** The client options Hearth needs against the fake (and against Discord, minus `rest.api`). */
function newClient(server: FakeDiscordServer, overrides: Partial<ClientOptions> = {}): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Channel],
    rest: { api: server.apiBase },
    ...overrides,
  });
}

async function loginReady(client: Client, token: string): Promise<void> {
  const ready = once(client, Events.ClientReady);
  await client.login(token);
  await ready;
}

/** Messages from anyone but the bot itself, as they arrive. */
function incoming(client: Client): Message[] {
  const received: Message[] = [];
  client.on(Events.MessageCreate, (message) => {
    if (message.author?.id !== client.user?.id) received.push(message);
  });
  return received;
}

function sendable(client: Client, channelId: string): SendableChannels {
  const channel = client.channels.cache.get(channelId);
  assert.ok(channel?.isSendable(), `channel ${channelId} is cached and sendable`);
  return channel;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('fake discord: login, guild cache, and messageCreate for mentions, thread, reply and DM', TIMEOUT, async () => {
  const server = await startFakeDiscordServer();
  const client = newClient(server);
  try {
    const received = incoming(client);
    await loginReady(client, server.token);
    assert.equal(client.user?.id, server.botUser.id);
    assert.equal(client.user?.username, server.botUser.username);
    const guild = client.guilds.cache.get(server.guildId);
    assert.ok(guild?.available);
    assert.ok(guild.members.me?.roles.cache.has(server.botRoleId), 'the bot member has the bot role');
    assert.ok(client.channels.cache.get(server.threadId)?.isThread());
    assert.equal(server.identifyCount, 1);

    server.injectMessage({ kind: 'guild', author: ALICE, content: 'hello bot', mentionBot: true });
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'hello role', mentionRole: true });
    server.injectMessage({ kind: 'thread', author: BOB, content: 'in the thread' });
    const dmId = server.injectMessage({ kind: 'dm', author: ALICE, content: 'a private word' });
    await server.waitFor(() => received.length === 4, 3000, 'four messages');
    const [mention, roleMention, inThread, dm] = received;
    assert.ok(mention && roleMention && inThread && dm);
    assert.equal(mention.content, `<@${server.botUser.id}> hello bot`);
    assert.ok(client.user !== null && mention.mentions.users.has(client.user.id));
    assert.equal(mention.channelId, server.textChannelId);
    assert.equal(mention.author.username, 'alice');
    assert.ok(roleMention.mentions.roles.has(server.botRoleId));
    assert.ok(inThread.channel.isThread());
    assert.equal(inThread.channel.parentId, server.textChannelId);
    assert.equal(dm.channel.type, ChannelType.DM);
    assert.equal(dm.id, dmId);
    assert.equal(dm.guildId, null);

    // Sending, replying, editing and typing all land in the recordings.
    const channel = sendable(client, server.textChannelId);
    const first = await channel.send('first answer');
    await channel.sendTyping();
    const reply = await mention.reply('a reply');
    await reply.edit('an edited reply');
    await sendable(client, dm.channelId).send('dm answer');
    assert.deepEqual(
      server.sent.map((entry) => [entry.method, entry.content]),
      [
        ['create', 'first answer'],
        ['create', 'a reply'],
        ['edit', 'an edited reply'],
        ['create', 'dm answer'],
      ],
    );
    assert.equal(server.sent[0]?.id, first.id);
    assert.equal(server.sent[1]?.messageReference?.messageId, mention.id);
    assert.equal(server.sent[3]?.channelId, dm.channelId);
    assert.deepEqual(
      server.typing.map((entry) => entry.channelId),
      [server.textChannelId],
    );

    // A reply to the bot (to its latest message in the channel) pings it, so discord.js counts it as a mention.
    server.injectMessage({ kind: 'guild', author: BOB, content: 'answering you', replyToBot: true });
    await server.waitFor(() => received.length === 5, 3000, 'the reply');
    const replyToBot = received[4];
    assert.equal(replyToBot?.reference?.messageId, reply.id);
    assert.ok(client.user !== null && replyToBot?.mentions.has(client.user));

    // Discord's length limit comes back as the library's API error.
    await assert.rejects(channel.send('x'.repeat(2001)), (error: unknown) => error instanceof DiscordAPIError && error.code === 50035 && error.status === 400);
    await assert.rejects(client.rest.get('/nowhere'), (error: unknown) => error instanceof DiscordAPIError && error.status === 404);
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('fake discord: a wrong token fails login over REST; a gateway-only revoke fails it with 4004', TIMEOUT, async () => {
  const server = await startFakeDiscordServer();
  try {
    const wrong = newClient(server);
    await assert.rejects(wrong.login('not-the-token'), (error: unknown) => error instanceof DiscordjsError && error.code === DiscordjsErrorCodes.TokenInvalid);

    server.revokeToken(server.token, 'gateway');
    const revoked = newClient(server);
    const disconnected = once(revoked, Events.ShardDisconnect);
    await assert.rejects(revoked.login(server.token), /Authentication failed/);
    const [closeEvent] = (await disconnected) as [{ code: number }];
    assert.equal(closeEvent.code, 4004);
    assert.equal(server.identifyCount, 0);

    // Revoking a live bot's token closes its gateway with 4004 and its REST calls get 401.
    server.restoreToken(server.token);
    const live = newClient(server);
    await loginReady(live, server.token);
    const liveDisconnect = once(live, Events.ShardDisconnect);
    server.revokeToken(server.token);
    const [liveClose] = (await liveDisconnect) as [{ code: number }];
    assert.equal(liveClose.code, 4004);
    await assert.rejects(sendable(live, server.textChannelId).send('too late'), (error: unknown) => error instanceof DiscordAPIError && error.status === 401);
    await live.destroy();
  } finally {
    await server.close();
  }
});

test('fake discord: a 429 is waited out and retried, a 500 retried, and each message recorded once', TIMEOUT, async () => {
  const server = await startFakeDiscordServer();
  const client = newClient(server);
  try {
    await loginReady(client, server.token);
    const channel = sendable(client, server.textChannelId);
    const limits: number[] = [];
    client.rest.on(RESTEvents.RateLimited, (info) => limits.push(info.retryAfter));

    server.failNext('createMessage', { status: 429, retryAfter: 0.3 });
    const started = Date.now();
    await channel.send('after a rate limit');
    assert.ok(Date.now() - started >= 300, 'waited out retry_after');
    assert.equal(limits.length, 1);
    server.failNext('createMessage', { status: 500 });
    await channel.send('after an outage');
    server.failNext('typing', { status: 429, retryAfter: 0.05 });
    await channel.sendTyping();

    assert.deepEqual(
      server.sent.map((entry) => entry.content),
      ['after a rate limit', 'after an outage'],
    );
    assert.deepEqual(
      server.restRequests.filter((entry) => entry.path.endsWith('/messages')).map((entry) => entry.status),
      [429, 200, 500, 200],
    );
    assert.equal(server.typing.length, 1);

    server.failNext('createMessage', { status: 503 }, 4);
    await assert.rejects(channel.send('never'), { name: 'HTTPError', status: 503 });
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('fake discord: enforce_nonce returns the message already created with that nonce instead of posting it again', TIMEOUT, async () => {
  const server = await startFakeDiscordServer();
  try {
    const post = async (body: Record<string, unknown>, channelId = server.textChannelId) => {
      const response = await fetch(`${server.apiBase}/v10/channels/${channelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 200);
      return (await response.json()) as { id: string; content: string; nonce?: string };
    };
    const first = await post({ content: 'piece one', nonce: 'n-1', enforce_nonce: true });
    const resent = await post({ content: 'piece one', nonce: 'n-1', enforce_nonce: true });
    assert.equal(resent.id, first.id, 'the resend gets the first message back');
    assert.equal(resent.nonce, 'n-1');
    const unenforced = await post({ content: 'piece one', nonce: 'n-1' });
    assert.notEqual(unenforced.id, first.id, 'without enforce_nonce a nonce does not deduplicate');
    const elsewhere = await post({ content: 'piece one', nonce: 'n-1', enforce_nonce: true }, server.threadId);
    assert.notEqual(elsewhere.id, first.id, 'a nonce is unique per channel');
    const other = await post({ content: 'piece two', nonce: 'n-2', enforce_nonce: true });
    assert.notEqual(other.id, first.id);
    assert.deepEqual(
      server.sent.map((entry) => entry.content),
      ['piece one', 'piece one', 'piece one', 'piece two'],
    );
  } finally {
    await server.close();
  }
});

test('fake discord: dropped and stalled connections resume and replay missed messages', TIMEOUT, async () => {
  const server = await startFakeDiscordServer({ heartbeatIntervalMs: 100 });
  const client = newClient(server);
  try {
    const received = incoming(client);
    await loginReady(client, server.token);

    server.dropConnections();
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'while you were away' });
    await server.waitFor(() => server.resumeCount === 1 && received.length === 1, 5000, 'resume after drop');
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'after the resume' });
    await server.waitFor(() => received.length === 2, 3000, 'message after resume');

    server.stall(true);
    server.injectMessage({ kind: 'thread', author: BOB, content: 'into the void' });
    await server.waitFor(() => server.resumeCount === 2 && received.length === 3, 5000, 'zombie detection and resume');
    assert.deepEqual(
      received.map((message) => message.content),
      ['while you were away', 'after the resume', 'into the void'],
    );
    assert.equal(server.identifyCount, 1, 'no fresh IDENTIFY was needed');
    assert.equal(server.connectionCount, 3);

    server.requestReconnect();
    await server.waitFor(() => server.resumeCount === 3, 3000, 'resume after op 7');
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('fake discord: an invalid session makes the client identify again (instantly with a no-op throttler)', TIMEOUT, async () => {
  const server = await startFakeDiscordServer();
  const client = newClient(server, { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) } });
  try {
    const received = incoming(client);
    await loginReady(client, server.token);
    server.invalidateSessions();
    await server.waitFor(() => server.identifyCount === 2 && server.openConnections === 1, 3000, 'second identify');
    await sleep(20);
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'new session' });
    await server.waitFor(() => received.length === 1, 3000, 'message on the new session');
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('fake discord: malformed frames are ignored; a MESSAGE_CREATE without author arrives with a null author', TIMEOUT, async () => {
  const server = await startFakeDiscordServer();
  const client = newClient(server);
  try {
    const all: Message[] = [];
    client.on(Events.MessageCreate, (message) => all.push(message));
    await loginReady(client, server.token);
    server.injectRawFrame('{"op": 0, "t": "MESSAGE_CREATE", ');
    server.injectRawDispatch('MESSAGE_CREATE', { id: '300000000000000001', channel_id: server.textChannelId, guild_id: server.guildId, content: 'no author' });
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'still alive' });
    await server.waitFor(() => all.length === 2, 3000, 'two messages');
    assert.equal(all[0]?.content, 'no author');
    assert.equal(all[0]?.author, null);
    assert.equal(all[1]?.content, 'still alive');

    // With Discord's long heartbeat interval nothing notices a stall; un-stalling delivers what was held back.
    server.stall(true);
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'held back' });
    await sleep(50);
    assert.equal(all.length, 2);
    server.stall(false);
    await server.waitFor(() => all.length === 3, 3000, 'held-back message');
    assert.equal(all[2]?.content, 'held back');
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('fake discord: two bots; DMs reach only their bot and MessageContent gates guild text', TIMEOUT, async () => {
  const server = await startFakeDiscordServer({ tokens: ['token-one', 'token-two'] });
  const one = newClient(server);
  const two = newClient(server, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages] });
  const secondBot = server.bots[1];
  assert.ok(secondBot);
  try {
    const toOne = incoming(one);
    const toTwo = incoming(two);
    await Promise.all([loginReady(one, 'token-one'), loginReady(two, 'token-two')]);
    assert.equal(two.user?.id, secondBot.user.id);
    server.injectMessage({ kind: 'dm', author: ALICE, content: 'for bot two', botUserId: secondBot.user.id });
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'plain guild text' });
    server.injectMessage({ kind: 'guild', author: ALICE, content: 'hey two', mentionBot: true, botUserId: secondBot.user.id });
    await server.waitFor(() => toOne.length === 2 && toTwo.length === 3, 3000, 'fan-out');
    assert.deepEqual(
      toOne.map((message) => message.content),
      ['plain guild text', `<@${secondBot.user.id}> hey two`],
    );
    assert.deepEqual(
      toTwo.map((message) => message.content),
      ['for bot two', '', `<@${secondBot.user.id}> hey two`],
    );
    await sendable(two, server.textChannelId).send('from two');
    assert.equal(server.sent[0]?.botUserId, secondBot.user.id);
  } finally {
    await Promise.all([one.destroy(), two.destroy()]);
    await server.close();
  }
});

test('fake discord: raw gateway protocol with zlib-stream compression and close codes', TIMEOUT, async () => {
  const server = await startFakeDiscordServer({ disallowedIntents: GatewayIntentBits.GuildPresences });
  try {
    const socket = new WebSocket(`${server.gatewayUrl}/?v=10&encoding=json&compress=zlib-stream`);
    const inflate = createInflate();
    const frames: Record<string, unknown>[] = [];
    let text = '';
    inflate.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    socket.on('message', (data: Buffer) => {
      inflate.write(data);
      inflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        frames.push(JSON.parse(text) as Record<string, unknown>);
        text = '';
      });
    });
    await server.waitFor(() => frames.length === 1, 2000, 'compressed HELLO');
    assert.equal(frames[0]?.op, 10);
    socket.send(JSON.stringify({ op: 2, d: { token: server.token, intents: GatewayIntentBits.Guilds, properties: {} } }));
    socket.send(JSON.stringify({ op: 1, d: null }));
    await server.waitFor(() => frames.length === 4, 2000, 'READY, GUILD_CREATE and ACK');
    assert.deepEqual(
      frames.slice(1).map((frame) => frame.t ?? frame.op),
      ['READY', 'GUILD_CREATE', 11],
    );
    socket.terminate();

    const closeCode = async (first: string): Promise<number> => {
      const raw = new WebSocket(`${server.gatewayUrl}/?v=10&encoding=json`);
      await once(raw, 'open');
      raw.send(first);
      const [code] = (await once(raw, 'close')) as [number];
      return code;
    };
    assert.equal(await closeCode('{broken'), 4002);
    assert.equal(await closeCode(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } })), 4004);
    assert.equal(await closeCode(JSON.stringify({ op: 2, d: { token: server.token, intents: GatewayIntentBits.GuildPresences, properties: {} } })), 4014);
    assert.equal(await closeCode(JSON.stringify({ op: 3, d: {} })), 4003);

    const unauthorized = await fetch(`${server.apiBase}/v10/users/@me`, { headers: { authorization: 'Bot wrong' } });
    assert.equal(unauthorized.status, 401);
    assert.deepEqual(await unauthorized.json(), { message: '401: Unauthorized', code: 0 });
    const gateway = (await (await fetch(`${server.apiBase}/v10/gateway/bot`, { headers: { authorization: `Bot ${server.token}` } })).json()) as Record<string, unknown>;
    assert.equal(gateway.url, server.gatewayUrl);
  } finally {
    await server.close();
  }
});

test('fake discord: client.destroy() and server.close() leave no sockets or timers behind', TIMEOUT, async () => {
  const count = (): number => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap' || name === 'TCPServerWrap' || name === 'Timeout').length;
  const before = count();
  const server = await startFakeDiscordServer({ heartbeatIntervalMs: 50 });
  const client = newClient(server);
  await loginReady(client, server.token);
  await sendable(client, server.textChannelId).send('bye');
  await sleep(120);
  await client.destroy();
  await server.close();
  await sleep(50);
  assert.ok(count() <= before, `resources left: ${process.getActiveResourcesInfo().join(', ')}`);
});
