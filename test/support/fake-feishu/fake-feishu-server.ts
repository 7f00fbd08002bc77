/**
 * A scripted Feishu open platform for tests: one HTTP server on 127.0.0.1 (random free port)
 * serving the endpoints Hearth's Feishu channel calls, with Feishu's wire format —
 *   POST /open-apis/auth/v3/tenant_access_token/internal   {app_id, app_secret} → {code, tenant_access_token, expire}
 *   GET  /open-apis/bot/v3/info                             → {code, bot: {open_id, app_name, activate_status}}
 *   POST /open-apis/im/v1/messages?receive_id_type=chat_id  {receive_id, msg_type, content, uuid}
 *   POST /open-apis/im/v1/messages/:message_id/reply        {msg_type, content, reply_in_thread, uuid}
 *   GET  /open-apis/contact/v3/users/:user_id?user_id_type=open_id
 * — errors as `{code, msg}` (99991663 for a bad token, HTTP 429 + x-ogw-ratelimit-reset with
 * 99991400 for rate limits), and a pusher that POSTs `im.message.receive_v1` events (schema 2.0,
 * encrypted and signed when the app has an Encrypt Key) to each app's webhook URL, pushing again
 * after a failed or non-200 answer as Feishu does.
 */
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One self-built app with the bot feature. */
export interface FakeFeishuApp {
  appId: string;
  appSecret: string;
  verificationToken: string;
  encryptKey?: string;
  botOpenId: string;
  botName: string;
}

export interface FakeFeishuPerson {
  openId: string;
  name: string;
}

/** A message a bot sent, as the server recorded it. */
export interface FakeFeishuSent {
  appId: string;
  messageId: string;
  chatId: string;
  msgType: string;
  /** The `text` of a text message's content (the raw content for other types). */
  text: string;
  /** The message replied to (reply API), if any. */
  replyTo?: string;
  replyInThread: boolean;
  uuid?: string;
  at: number;
}

export type FakeFeishuFailure = { status: 429; retryAfterSeconds: number } | { status: 500 };

/** An event to push, as a person's message. */
export interface InjectFeishuMessage {
  appId: string;
  chatType: 'p2p' | 'group';
  chatId: string;
  sender: FakeFeishuPerson;
  text: string;
  /** Puts `@_user_1` (the bot) in front of the text, with its mention entry. */
  mentionBot?: boolean;
  /** The message is in a topic whose first message is this. */
  threadRootId?: string;
  /** Reuses an event id (Feishu pushes a retried event with the same id). */
  eventId?: string;
  messageId?: string;
}

/** What the gateway answered one push. */
export interface FakeFeishuPushResult {
  appId: string;
  eventId: string | undefined;
  status: number;
  body: string;
  at: number;
}

export interface FakeFeishuServer {
  /** The open platform base URL (what `apiRoot` is set to). */
  url: string;
  apps: FakeFeishuApp[];
  sent: FakeFeishuSent[];
  pushes: FakeFeishuPushResult[];
  /** Where the app's events go; queued events are pushed once it is set. */
  setWebhook(appId: string, url: string | null): void;
  /** Queues a message event for the app (pushed in order, one at a time). */
  injectMessage(input: InjectFeishuMessage): { eventId: string; messageId: string };
  /** Queues a raw v2 event body (encrypted and signed like any other). */
  injectEvent(appId: string, payload: Record<string, unknown>): void;
  /** Queues raw bytes, signed when the app has an Encrypt Key (for payloads Hearth cannot read). */
  injectRawBody(appId: string, body: string): void;
  /** Builds the v2 envelope of a message event (without pushing it). */
  messageEnvelope(input: InjectFeishuMessage): { eventId: string; messageId: string; payload: Record<string, unknown> };
  /** The body and headers Feishu would push for this payload (encrypted and signed with the app's Encrypt Key). */
  sealPush(appId: string, payload: Record<string, unknown> | string, options?: { encrypt?: boolean; sign?: boolean }): { body: string; headers: Record<string, string> };
  /** POSTs one body to the app's webhook now, once (no retries), and returns the answer. */
  pushOnce(appId: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string; contentType: string | null }>;
  /** The next sends of the app fail like this, in order. */
  failSends(appId: string, failures: FakeFeishuFailure[]): void;
  /** Every send of the app fails with HTTP 500 while on. */
  setSendsFailing(appId: string, on: boolean): void;
  /** Invalidates every tenant_access_token handed out so far (calls with them get 99991663). */
  expireTokens(): void;
  /** Closes every open HTTP connection to the API. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface FakeFeishuOptions {
  apps: FakeFeishuApp[];
  people?: FakeFeishuPerson[];
  /** Delays before each push again after a failed one (default 200, 500, 1,000, 2,000, 4,000 ms). */
  retryDelaysMs?: number[];
}

/** Feishu's event encryption: AES-256-CBC, key SHA-256(Encrypt Key), random IV in front, base64. */
export function encryptFeishu(encryptKey: string, text: string): string {
  const key = createHash('sha256').update(encryptKey).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([iv, cipher.update(text, 'utf8'), cipher.final()]).toString('base64');
}

/** Feishu's request signature: hex SHA-256 of timestamp + nonce + Encrypt Key + body. */
export function signFeishu(timestamp: string, nonce: string, encryptKey: string, body: string): string {
  return createHash('sha256').update(timestamp + nonce + encryptKey + body).digest('hex');
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

const BAD_TOKEN = { code: 99991663, msg: 'Invalid access token for authorization. Please make a request with token attached.' };

interface QueuedPush {
  appId: string;
  eventId: string | undefined;
  body: string;
  headers: Record<string, string>;
  attempt: number;
}

export async function startFakeFeishuServer(options: FakeFeishuOptions): Promise<FakeFeishuServer> {
  const apps = options.apps;
  const people = new Map((options.people ?? []).map((person) => [person.openId, person]));
  const retryDelays = options.retryDelaysMs ?? [200, 500, 1_000, 2_000, 4_000];
  const tokens = new Map<string, string>();
  const webhooks = new Map<string, string>();
  const queues = new Map<string, QueuedPush[]>();
  const busy = new Set<string>();
  const failures = new Map<string, FakeFeishuFailure[]>();
  const failing = new Set<string>();
  const messageChats = new Map<string, string>();
  const uuids = new Map<string, FakeFeishuSent>();
  const timers = new Set<NodeJS.Timeout>();
  const sent: FakeFeishuSent[] = [];
  const pushes: FakeFeishuPushResult[] = [];
  let closed = false;
  let sequence = 0;

  const appOf = (appId: string) => apps.find((app) => app.appId === appId);
  const nextId = (prefix: string) => `${prefix}${(++sequence).toString(16).padStart(8, '0')}${randomBytes(4).toString('hex')}`;

  function authorizedApp(request: IncomingMessage): FakeFeishuApp | undefined {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const appId = tokens.get(token);
    return appId === undefined ? undefined : appOf(appId);
  }

  function recordSend(app: FakeFeishuApp, chatId: string, body: Record<string, unknown>, replyTo: string | undefined): FakeFeishuSent {
    const content = typeof body.content === 'string' ? body.content : '';
    let text = content;
    try {
      const parsed = JSON.parse(content) as { text?: unknown };
      if (body.msg_type === 'text' && typeof parsed.text === 'string') text = parsed.text;
    } catch {
      // recorded raw
    }
    const message: FakeFeishuSent = {
      appId: app.appId,
      messageId: nextId('om_'),
      chatId,
      msgType: String(body.msg_type),
      text,
      ...(replyTo === undefined ? {} : { replyTo }),
      replyInThread: body.reply_in_thread === true,
      ...(typeof body.uuid === 'string' ? { uuid: body.uuid } : {}),
      at: Date.now(),
    };
    sent.push(message);
    messageChats.set(message.messageId, chatId);
    return message;
  }

  /** A send: scripted failures first, then the uuid dedup, then the message. */
  function send(response: ServerResponse, app: FakeFeishuApp, chatId: string | undefined, body: Record<string, unknown>, replyTo: string | undefined): void {
    const failure: FakeFeishuFailure | undefined = failing.has(app.appId) ? { status: 500 } : failures.get(app.appId)?.shift();
    if (failure?.status === 429) {
      json(response, 429, { code: 99991400, msg: 'request trigger frequency limit' }, { 'x-ogw-ratelimit-limit': '5', 'x-ogw-ratelimit-reset': String(failure.retryAfterSeconds) });
      return;
    }
    if (failure) {
      json(response, 500, { code: 1500, msg: 'internal error' });
      return;
    }
    if (chatId === undefined) {
      json(response, 400, { code: 230001, msg: 'Your request contains an invalid request parameter, ext=invalid receive_id.' });
      return;
    }
    if (typeof body.msg_type !== 'string' || typeof body.content !== 'string') {
      json(response, 400, { code: 230001, msg: 'invalid msg_type or content' });
      return;
    }
    const uuidKey = typeof body.uuid === 'string' ? `${app.appId}:${body.uuid}` : undefined;
    const earlier = uuidKey === undefined ? undefined : uuids.get(uuidKey);
    const message = earlier ?? recordSend(app, chatId, body, replyTo);
    if (uuidKey !== undefined) uuids.set(uuidKey, message);
    json(response, 200, {
      code: 0,
      msg: 'success',
      data: {
        message_id: message.messageId,
        ...(replyTo === undefined ? {} : { root_id: replyTo, parent_id: replyTo }),
        msg_type: message.msgType,
        create_time: String(message.at),
        update_time: String(message.at),
        deleted: false,
        updated: false,
        chat_id: chatId,
        sender: { id: app.appId, id_type: 'app_id', sender_type: 'app', tenant_key: 'fake-tenant' },
        body: { content: body.content },
      },
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/u, '');
    const method = request.method ?? 'GET';
    const raw = await readBody(request);
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        json(response, 400, { code: 9499, msg: 'Bad Request: body is not JSON' });
        return;
      }
    }
    if (method === 'POST' && path === '/open-apis/auth/v3/tenant_access_token/internal') {
      const app = appOf(String(body.app_id));
      if (!app) return json(response, 400, { code: 10003, msg: 'invalid param' });
      if (body.app_secret !== app.appSecret) return json(response, 400, { code: 10014, msg: 'app secret invalid' });
      const token = `t-${randomUUID().replace(/-/gu, '')}`;
      tokens.set(token, app.appId);
      return json(response, 200, { code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 });
    }
    const app = authorizedApp(request);
    if (!app) return json(response, 400, BAD_TOKEN);
    if (method === 'GET' && path === '/open-apis/bot/v3/info') {
      return json(response, 200, { code: 0, msg: 'ok', bot: { activate_status: 2, app_name: app.botName, avatar_url: '', ip_white_list: [], open_id: app.botOpenId } });
    }
    if (method === 'POST' && path === '/open-apis/im/v1/messages') {
      if (url.searchParams.get('receive_id_type') !== 'chat_id') return json(response, 400, { code: 230001, msg: 'receive_id_type must be chat_id in this fake' });
      return send(response, app, typeof body.receive_id === 'string' ? body.receive_id : undefined, body, undefined);
    }
    const reply = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/u.exec(path);
    if (method === 'POST' && reply) {
      const target = decodeURIComponent(reply[1] ?? '');
      const chatId = messageChats.get(target);
      if (chatId === undefined) return json(response, 400, { code: 230011, msg: 'The message is recalled or deleted.' });
      return send(response, app, chatId, body, target);
    }
    const user = /^\/open-apis\/contact\/v3\/users\/([^/]+)$/u.exec(path);
    if (method === 'GET' && user) {
      const person = people.get(decodeURIComponent(user[1] ?? ''));
      if (!person) return json(response, 400, { code: 41050, msg: 'no user authority error' });
      return json(response, 200, { code: 0, msg: 'success', data: { user: { open_id: person.openId, name: person.name, en_name: person.name } } });
    }
    json(response, 404, { code: 404, msg: `404 page not found: ${method} ${path}` });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { code: 1500, msg: String(error) });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function later(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      work();
    }, ms);
    timers.add(timer);
  }

  async function post(appId: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string; contentType: string | null }> {
    const target = webhooks.get(appId);
    if (target === undefined) throw new Error(`no webhook for ${appId}`);
    const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Go-http-client/1.1', ...headers }, body, signal: AbortSignal.timeout(10_000) });
    return { status: answer.status, body: await answer.text(), contentType: answer.headers.get('content-type') };
  }

  /** Pushes the app's queued events one at a time; a failed push is tried again later, out of line. */
  async function drain(appId: string): Promise<void> {
    if (busy.has(appId) || !webhooks.has(appId)) return;
    busy.add(appId);
    try {
      const queue = queues.get(appId) ?? [];
      while (!closed && queue.length > 0 && webhooks.has(appId)) {
        const item = queue.shift() as QueuedPush;
        let result: { status: number; body: string };
        try {
          result = await post(appId, item.body, item.headers);
        } catch (error) {
          result = { status: 0, body: String(error) };
        }
        pushes.push({ appId, eventId: item.eventId, status: result.status, body: result.body, at: Date.now() });
        const delay = retryDelays[item.attempt];
        if (result.status !== 200 && delay !== undefined) {
          later(delay, () => {
            (queues.get(appId) ?? []).push({ ...item, attempt: item.attempt + 1 });
            void drain(appId);
          });
        }
      }
    } finally {
      busy.delete(appId);
    }
  }

  function sealPush(appId: string, payload: Record<string, unknown> | string, sealOptions: { encrypt?: boolean; sign?: boolean } = {}): { body: string; headers: Record<string, string> } {
    const app = appOf(appId);
    if (!app) throw new Error(`unknown app ${appId}`);
    const plain = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const key = app.encryptKey;
    const body = key !== undefined && sealOptions.encrypt !== false && typeof payload !== 'string' ? JSON.stringify({ encrypt: encryptFeishu(key, plain) }) : plain;
    if (key === undefined || sealOptions.sign === false) return { body, headers: {} };
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(8).toString('hex');
    return { body, headers: { 'x-lark-request-timestamp': timestamp, 'x-lark-request-nonce': nonce, 'x-lark-signature': signFeishu(timestamp, nonce, key, body) } };
  }

  function enqueue(appId: string, eventId: string | undefined, sealed: { body: string; headers: Record<string, string> }): void {
    const queue = queues.get(appId) ?? [];
    queues.set(appId, queue);
    queue.push({ appId, eventId, ...sealed, attempt: 0 });
    void drain(appId);
  }

  function messageEnvelope(input: InjectFeishuMessage): { eventId: string; messageId: string; payload: Record<string, unknown> } {
    const app = appOf(input.appId);
    if (!app) throw new Error(`unknown app ${input.appId}`);
    const eventId = input.eventId ?? randomUUID().replace(/-/gu, '');
    const messageId = input.messageId ?? nextId('om_');
    messageChats.set(messageId, input.chatId);
    const now = String(Date.now());
    const mentions = input.mentionBot ? [{ key: '@_user_1', id: { union_id: `on_${app.botOpenId}`, user_id: '', open_id: app.botOpenId }, name: app.botName, tenant_key: 'fake-tenant' }] : [];
    const text = input.mentionBot ? `@_user_1 ${input.text}` : input.text;
    const payload = {
      schema: '2.0',
      header: { event_id: eventId, event_type: 'im.message.receive_v1', create_time: now, token: app.verificationToken, app_id: app.appId, tenant_key: 'fake-tenant' },
      event: {
        sender: { sender_id: { union_id: `on_${input.sender.openId}`, user_id: input.sender.openId.slice(3), open_id: input.sender.openId }, sender_type: 'user', tenant_key: 'fake-tenant' },
        message: {
          message_id: messageId,
          ...(input.threadRootId === undefined ? {} : { root_id: input.threadRootId, parent_id: input.threadRootId, thread_id: `omt_${input.threadRootId.slice(3)}` }),
          create_time: now,
          update_time: now,
          chat_id: input.chatId,
          chat_type: input.chatType,
          message_type: 'text',
          content: JSON.stringify({ text }),
          mentions,
          user_agent: 'Mozilla/5.0 Lark/7.0',
        },
      },
    };
    return { eventId, messageId, payload };
  }

  return {
    url,
    apps,
    sent,
    pushes,
    setWebhook(appId, target) {
      if (target === null) webhooks.delete(appId);
      else webhooks.set(appId, target);
      void drain(appId);
    },
    injectMessage(input) {
      const { eventId, messageId, payload } = messageEnvelope(input);
      enqueue(input.appId, eventId, sealPush(input.appId, payload));
      return { eventId, messageId };
    },
    injectEvent(appId, payload) {
      const header = payload.header as { event_id?: unknown } | undefined;
      enqueue(appId, typeof header?.event_id === 'string' ? header.event_id : undefined, sealPush(appId, payload));
    },
    injectRawBody(appId, body) {
      enqueue(appId, undefined, sealPush(appId, body));
    },
    messageEnvelope,
    sealPush,
    pushOnce: post,
    failSends(appId, list) {
      failures.set(appId, [...(failures.get(appId) ?? []), ...list]);
    },
    setSendsFailing(appId, on) {
      if (on) failing.add(appId);
      else failing.delete(appId);
    },
    expireTokens() {
      tokens.clear();
    },
    dropConnections() {
      server.closeAllConnections();
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
