import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlatformAccount, PlatformHarness, Person, SendFailure } from '../../e2e/channel-contract.js';
import { startFakeSlackServer } from '../fake-slack/fake-slack-server.js';

const ACCOUNTS = 24;
const GROUP_ID = 'C0HEARTHTEST';
/** The parent message of the test thread (threads are named by their first message's ts). */
const THREAD_TS = '1690000000.000100';

/** What the proxy does to one account's `chat.postMessage` calls. */
interface SendControl {
  queued: SendFailure[];
  failing: boolean;
}

const slackUser = (person: Person) => `U${person.id}`;
const dmChannel = (person: Person) => `D${person.id}`;
/** Slack puts the sender's profile on message events; the adapter uses it for the sender's name. */
const profile = (person: Person) => ({ user_profile: { real_name: person.name, display_name: person.name.toLowerCase(), name: person.name.toLowerCase() } });

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/**
 * The channel contract's view of the fake Slack (Web API + Socket Mode): one app per account.
 * Web API calls go through a small proxy on its own port (`/bot<n>/api/…`) so failures can be
 * scripted per account and switched off again; the Socket Mode URL points at the fake directly.
 */
export async function createSlackHarness(): Promise<PlatformHarness> {
  const bots = Array.from({ length: ACCOUNTS }, (_, index) => ({ botToken: `xoxb-hearth-${index + 1}-bot`, appToken: `xapp-1-A0HEARTH${index + 1}-1-app` }));
  const server = await startFakeSlackServer({ bots, pingIntervalMs: 2_000, redeliveryDelayMs: 3_000 });
  const controls: SendControl[] = bots.map(() => ({ queued: [], failing: false }));
  let next = 0;

  async function proxy(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = /^\/bot(\d+)\/api\/([^?]+)(\?.*)?$/u.exec(request.url ?? '');
    const control = match ? controls[Number(match[1])] : undefined;
    if (!match || !control) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"ok":false,"error":"unknown_method"}');
      return;
    }
    const method = match[2] ?? '';
    const body = await readBody(request);
    if (method === 'chat.postMessage') {
      const failure: SendFailure | { status: 503 } | undefined = control.failing ? { status: 503 } : control.queued.shift();
      if (failure?.status === 429) {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(failure.retryAfterSeconds) }).end('{"ok":false,"error":"ratelimited"}');
        return;
      }
      if (failure) {
        response.writeHead(failure.status, { 'content-type': 'text/plain' }).end(`fake slack proxy: HTTP ${failure.status}`);
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(`${server.url}/api/${method}${match[3] ?? ''}`, { method: request.method ?? 'POST', headers, ...(body.length > 0 ? { body: new Uint8Array(body) } : {}) });
    const answer = Buffer.from(await upstream.arrayBuffer());
    const retryAfter = upstream.headers.get('retry-after');
    response
      .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', ...(retryAfter === null ? {} : { 'retry-after': retryAfter }) })
      .end(answer);
  }

  const proxyServer = createServer((request, response) => {
    proxy(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('fake slack proxy failed');
    });
  });
  await new Promise<void>((resolve, reject) => {
    proxyServer.once('error', reject);
    proxyServer.listen(0, '127.0.0.1', () => resolve());
  });
  const proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;

  return {
    platform: 'slack',
    maxMessageLength: 4000,
    // Slack's Web API has no typing indicator for bots in channels or DMs; the adapter has no `typing`.
    typing: false,
    sendFailures: true,
    async newAccount(): Promise<PlatformAccount> {
      const index = next++;
      const bot = bots[index];
      const control = controls[index];
      if (!bot || !control) throw new Error('the Slack harness ran out of apps');
      return {
        settings: { botToken: bot.botToken, appToken: bot.appToken, apiRoot: `${proxyUrl}/bot${index}/api/` },
        groupId: GROUP_ID,
        senderId: slackUser,
        dmChatId: dmChannel,
        async dm(sender, text) {
          server.injectMessage({ bot: index, channelType: 'im', channel: dmChannel(sender), user: slackUser(sender), text, extra: profile(sender) });
        },
        async group(sender, text, options) {
          server.injectMessage({
            bot: index,
            channelType: 'channel',
            channel: GROUP_ID,
            user: slackUser(sender),
            text,
            mentionBot: options.mention,
            ...(options.thread ? { threadTs: THREAD_TS } : {}),
            extra: profile(sender),
          });
        },
        sent: () =>
          server.sent
            .filter((message) => message.bot === index && message.method === 'chat.postMessage')
            .map((message) => ({ chatId: message.channel, text: message.text, ...(message.threadTs === undefined ? {} : { threadId: message.threadTs }), at: message.at })),
        typing: () => [],
        failSends(failures) {
          control.queued.push(...failures);
        },
        setSendsFailing(on) {
          control.failing = on;
        },
        async malformed() {
          // Envelopes the Socket Mode client library would crash on, caught by the adapter's frame check.
          server.injectRawEnvelope({ type: 'events_api', envelope_id: 'hearth-no-event', payload: { type: 'event_callback' }, retry_attempt: 0 }, { bot: index });
          server.injectRawEnvelope({ type: 'events_api', envelope_id: 'hearth-event-not-object', payload: { event: 'message' } }, { bot: index });
          server.injectRawFrame('null', { bot: index });
          server.injectRawFrame('{"envelope_id": "broken", ', { bot: index });
          // Frames and events named like the client library's own lifecycle events (they would drive its state machine).
          server.injectRawEnvelope({ type: 'disconnected', envelope_id: 'hearth-lifecycle-frame' }, { bot: index });
          server.injectEvent({ type: 'disconnected', channel: 'D1001' }, { bot: index });
          // Events the normalizer refuses.
          server.injectEvent({ type: 'message', channel_type: 'im', text: 'no channel, no sender, no ts' }, { bot: index });
          server.injectEvent({ type: 'message', channel_type: 'im', channel: 'D1001', user: 'U1001', ts: '1700000000.999999', text: { not: 'a string' } }, { bot: index });
          server.injectEvent({ type: 42 }, { bot: index });
        },
      };
    },
    invalidAccountSettings: () => ({ botToken: 'xoxb-refused-bot-token', appToken: 'xapp-1-A0REFUSED-1-refused', apiRoot: server.apiUrl }),
    dropConnections: () => server.dropConnections(),
    async close() {
      await new Promise<void>((resolve) => {
        proxyServer.close(() => resolve());
        proxyServer.closeAllConnections();
      });
      await server.close();
    },
  };
}
