import { cpSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { PlatformAccount, PlatformHarness, Person, SendFailure, SentMessage } from '../../e2e/channel-contract.js';
import { REPO_ROOT } from '../gateway-harness.js';

/**
 * "Loopchat", a small chat platform on 127.0.0.1 for the channel a plugin provides
 * (test/fixtures/plugins/loopchat): bots read updates by long poll with an offset, send and show
 * typing over HTTP, and authenticate with a token in the path. The plugin is its only client.
 */

const GROUP_ID = 'group-1';
const THREAD_ID = 'topic-7';
const LONG_POLL_MS = 500;

interface Bot {
  token: string;
  valid: boolean;
  updates: unknown[];
  sent: SentMessage[];
  typing: { chatId: string; at: number }[];
  failures: SendFailure[];
  failing: boolean;
  /** Long polls waiting for an update. */
  waiting: Set<() => void>;
  nextMessageId: number;
}

/** A loopchat account, which can also send the update that kills the plugin's worker (served once). */
export interface LoopchatAccount extends PlatformAccount {
  crashPlugin(): void;
}

export async function createLoopchatHarness(): Promise<Omit<PlatformHarness, 'newAccount'> & { newAccount(): Promise<LoopchatAccount> }> {
  const bots = new Map<string, Bot>();
  const sockets = new Set<Socket>();
  let next = 0;

  const bot = (token: string): Bot => {
    const existing = bots.get(token);
    if (existing) return existing;
    const created: Bot = { token, valid: true, updates: [], sent: [], typing: [], failures: [], failing: false, waiting: new Set(), nextMessageId: 1 };
    bots.set(token, created);
    return created;
  };

  const push = (target: Bot, update: Record<string, unknown>) => {
    target.updates.push({ updateId: target.updates.length, ...update });
    for (const wake of [...target.waiting]) wake();
  };

  const server = createServer((request, response) => {
    void answer(bot, request, response).catch((error: unknown) => json(response, 500, { error: String(error) }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const invalid = bot('invalid-token');
  invalid.valid = false;

  return {
    platform: 'loopchat',
    maxMessageLength: 1000,
    typing: true,
    sendFailures: true,
    prepareHome: installLoopchatPlugin,
    newAccount(): Promise<LoopchatAccount> {
      const token = `token-${next++}`;
      const own = bot(token);
      const person = (sender: Person) => ({ id: sender.id, name: sender.name });
      return Promise.resolve({
        settings: { plugin: 'loopchat', url, token },
        groupId: GROUP_ID,
        senderId: (sender) => sender.id,
        dmChatId: (sender) => `dm-${sender.id}`,
        async dm(sender, text) {
          push(own, { message: { id: `m${own.updates.length}`, chat: { id: `dm-${sender.id}`, kind: 'direct' }, from: person(sender), text } });
        },
        async group(sender, text, options) {
          const chat = options.thread ? { id: GROUP_ID, kind: 'thread', thread: THREAD_ID } : { id: GROUP_ID, kind: 'group' };
          push(own, { message: { id: `m${own.updates.length}`, chat, from: person(sender), text, mentioned: options.mention } });
        },
        sent: () => [...own.sent],
        typing: () => [...own.typing],
        failSends(failures) {
          own.failures.push(...failures);
        },
        setSendsFailing(on) {
          own.failing = on;
        },
        async malformed() {
          push(own, { message: { id: 'x1', chat: { id: 'dm-9' }, text: 42 } });
          push(own, { poll: { question: 'not a message' } });
        },
        crashPlugin() {
          push(own, { crash: true });
        },
      });
    },
    invalidAccountSettings: () => ({ plugin: 'loopchat', url, token: invalid.token }),
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Copies the loopchat plugin into `<home>/plugins/loopchat`. */
export function installLoopchatPlugin(home: string): void {
  mkdirSync(join(home, 'plugins'), { recursive: true });
  cpSync(join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'loopchat'), join(home, 'plugins', 'loopchat'), { recursive: true });
}

async function answer(botOf: (token: string) => Bot, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const route = /^\/bot\/([\w-]+)\/(me|updates|send|typing)(?:\?(.*))?$/u.exec(request.url ?? '');
  if (!route) return json(response, 404, { error: 'no such method' });
  const [, token = '', method, query = ''] = route;
  const target = botOf(token);
  if (!target.valid) return json(response, 401, { error: 'invalid token' });
  const body = request.method === 'POST' ? (JSON.parse(await readBody(request)) as Record<string, unknown>) : {};
  if (method === 'me') return json(response, 200, { id: `bot-${token}`, name: `loopbot-${token}` });
  if (method === 'updates') return longPoll(target, Number(new URLSearchParams(query).get('offset') ?? 0), response);
  if (method === 'typing') {
    target.typing.push({ chatId: String(body.chatId), at: Date.now() });
    return json(response, 200, {});
  }
  const failure = target.failing ? ({ status: 500 } as const) : target.failures.shift();
  if (failure?.status === 429) return json(response, 429, { error: 'slow down' }, { 'retry-after': String(failure.retryAfterSeconds) });
  if (failure) return json(response, 500, { error: 'server error' });
  target.sent.push({ chatId: String(body.chatId), text: String(body.text), ...(typeof body.threadId === 'string' ? { threadId: body.threadId } : {}), at: Date.now() });
  return json(response, 200, { messageId: `sent-${target.nextMessageId++}` });
}

function longPoll(target: Bot, offset: number, response: ServerResponse): void {
  const reply = () => {
    const updates = target.updates.slice(offset);
    json(response, 200, { updates });
    // A crash is served once, so the restarted plugin does not meet it again.
    for (const update of updates as { updateId: number; crash?: boolean }[]) if (update.crash) target.updates[update.updateId] = { updateId: update.updateId, crashed: true };
  };
  if (target.updates.length > offset) {
    reply();
    return;
  }
  const wake = () => {
    clearTimeout(timer);
    target.waiting.delete(wake);
    if (!response.writableEnded && !response.destroyed) reply();
  };
  const timer = setTimeout(wake, LONG_POLL_MS);
  target.waiting.add(wake);
  response.on('close', () => {
    clearTimeout(timer);
    target.waiting.delete(wake);
  });
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
