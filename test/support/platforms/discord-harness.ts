import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlatformAccount, PlatformHarness, Person, SendFailure } from '../../e2e/channel-contract.js';
import { startFakeDiscordServer } from '../fake-discord/fake-discord-server.js';

/** Bot tokens the fake server accepts; each account takes the next one. */
const TOKEN_COUNT = 24;
/** Heartbeats this often, so discord.js notices a dead connection within about a second. */
const HEARTBEAT_MS = 500;
/** @discordjs/rest retries a 5xx three times by itself; a fourth failure reaches the adapter. */
const LIBRARY_5XX_RETRIES = 3;
/** DM channel ids the harness hands out (below the fake's time-based snowflakes, so they never clash). */
const FIRST_DM_CHANNEL = 900_000_000_000_000_000n;

const CREATE_MESSAGE = /^\/api\/v10\/channels\/\d+\/messages$/u;

type ProxyFailure = { status: 429; retryAfterSeconds: number } | { status: 500 | 503 };

/**
 * A REST pass-through in front of the fake server for one account, so failures hit only that
 * account's sends (the fake's own `failNext` is shared by every bot and cannot be switched off).
 * The gateway is not proxied: `GET /gateway/bot` still names the fake's WebSocket address.
 */
async function startSendProxy(upstreamPort: number) {
  const queue: ProxyFailure[] = [];
  let failingAll = false;

  const fail = (response: ServerResponse, failure: ProxyFailure) => {
    if (failure.status === 429) {
      const seconds = failure.retryAfterSeconds;
      const body = JSON.stringify({ message: 'You are being rate limited.', retry_after: seconds, global: false });
      response.writeHead(429, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'retry-after': String(seconds),
        'x-ratelimit-scope': 'user',
        'x-ratelimit-bucket': 'harness-create-message',
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': (Date.now() / 1000 + seconds).toFixed(3),
        'x-ratelimit-reset-after': seconds.toFixed(3),
      });
      response.end(body);
      return;
    }
    const body = JSON.stringify({ message: `${failure.status}: ${failure.status === 500 ? 'Internal Server Error' : 'Service Unavailable'}`, code: 0 });
    response.writeHead(failure.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    response.end(body);
  };

  const forward = (incoming: IncomingMessage, response: ServerResponse) => {
    const upstream = request({ host: '127.0.0.1', port: upstreamPort, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      answer.on('error', () => response.destroy());
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    // A gateway killed mid-request (the kill -9 test) resets its sockets: drop the pair quietly.
    upstream.on('error', () => response.destroy());
    incoming.on('error', () => upstream.destroy());
    response.on('error', () => upstream.destroy());
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    incoming.pipe(upstream);
  };

  const server: Server = createServer((incoming, response) => {
    const path = (incoming.url ?? '/').split('?')[0] ?? '/';
    if (incoming.method === 'POST' && CREATE_MESSAGE.test(path)) {
      const failure: ProxyFailure | undefined = failingAll ? { status: 503 } : queue.shift();
      if (failure !== undefined) {
        incoming.resume();
        fail(response, failure);
        return;
      }
    }
    forward(incoming, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    apiBase: `http://127.0.0.1:${port}/api`,
    failSends(failures: SendFailure[]) {
      for (const failure of failures) {
        if (failure.status === 429) queue.push({ status: 429, retryAfterSeconds: failure.retryAfterSeconds });
        else for (let i = 0; i <= LIBRARY_5XX_RETRIES; i++) queue.push({ status: 500 });
      }
    },
    setFailing(on: boolean) {
      failingAll = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The channel contract's view of the fake Discord server: one server, one bot token per account. */
export async function createDiscordHarness(): Promise<PlatformHarness> {
  const tokens = Array.from({ length: TOKEN_COUNT }, (_, index) => `hearth-test-discord-token-${index + 1}`);
  const server = await startFakeDiscordServer({ tokens, heartbeatIntervalMs: HEARTBEAT_MS });
  const upstreamPort = Number(new URL(server.apiBase).port);
  const proxies: Awaited<ReturnType<typeof startSendProxy>>[] = [];
  let next = 0;
  let nextDmChannel = FIRST_DM_CHANNEL;

  /** A thread post belongs to the text channel (`chatId`) with the thread as `threadId`, as the adapter reports it. */
  const where = (channelId: string) => (channelId === server.threadId ? { chatId: server.textChannelId, threadId: server.threadId } : { chatId: channelId });

  return {
    platform: 'discord',
    maxMessageLength: 2000,
    typing: true,
    sendFailures: true,
    async newAccount(): Promise<PlatformAccount> {
      const bot = server.bots[next++];
      if (!bot) throw new Error('the Discord harness ran out of bot tokens');
      const proxy = await startSendProxy(upstreamPort);
      proxies.push(proxy);
      const dmChannels = new Map<string, string>();
      const dmChannelOf = (sender: Person) => {
        let id = dmChannels.get(sender.id);
        if (id === undefined) {
          id = String(nextDmChannel++);
          dmChannels.set(sender.id, id);
        }
        return id;
      };
      // The fake reports `username` as the display name (global_name) too; keep the person's name as written.
      const author = (sender: Person) => ({ id: sender.id, username: sender.name });
      return {
        settings: { token: bot.token, apiRoot: proxy.apiBase },
        groupId: server.textChannelId,
        senderId: (sender) => sender.id,
        dmChatId: dmChannelOf,
        async dm(sender, text) {
          server.injectMessage({ kind: 'dm', channelId: dmChannelOf(sender), author: author(sender), content: text, botUserId: bot.user.id });
        },
        async group(sender, text, options) {
          server.injectMessage({ kind: options.thread ? 'thread' : 'guild', author: author(sender), content: text, mentionBot: options.mention, botUserId: bot.user.id });
        },
        sent: () =>
          server.sent
            .filter((record) => record.method === 'create' && record.botUserId === bot.user.id)
            .map((record) => ({ ...where(record.channelId), text: record.content, at: record.at })),
        typing: () => server.typing.filter((record) => record.botUserId === bot.user.id).map((record) => ({ chatId: where(record.channelId).chatId, at: record.at })),
        failSends: (failures) => proxy.failSends(failures),
        setSendsFailing: (on) => proxy.setFailing(on),
        async malformed() {
          // Not JSON at all (discord.js drops it), a message without author, and an event nobody knows.
          server.injectRawFrame('{"op": 0, "t": "MESSAGE_CREATE", ');
          server.injectRawDispatch(
            'MESSAGE_CREATE',
            { id: '300000000000000001', channel_id: server.textChannelId, guild_id: server.guildId, content: 'a message without author', mentions: [], attachments: [], embeds: [] },
            bot.user.id,
          );
          server.injectRawDispatch('HEARTH_NOT_A_REAL_EVENT', { weird: true }, bot.user.id);
        },
      };
    },
    invalidAccountSettings: () => ({ token: 'not-a-valid-discord-token', apiRoot: server.apiBase }),
    dropConnections: () => server.dropConnections(),
    async close() {
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await server.close();
    },
  };
}
