/**
 * A fake WhatsApp Business Cloud API for tests: a real HTTP server on 127.0.0.1 speaking the Graph
 * API wire format for what Hearth uses (`GET /<version>/<phone-number-id>?fields=…`,
 * `POST /<version>/<phone-number-id>/messages` for texts and read receipts with a typing
 * indicator, `GET|POST|DELETE /<version>/<waba-id>/subscribed_apps`; Bearer tokens; errors as
 * `{ error: { message, type, code, error_subcode?, fbtrace_id } }`), and Meta's side of the
 * webhook: the GET handshake when a callback URL is set, then `whatsapp_business_account` pushes
 * signed with `X-Hub-Signature-256`, retried until answered 2xx — and only while the app is
 * subscribed to the business account, as on the real platform.
 *
 * It only ever connects to loopback addresses.
 */
import { createHmac, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One business phone number, with its business account and the app that serves it. */
export interface FakeWhatsAppNumber {
  phoneNumberId: string;
  businessAccountId: string;
  accessToken: string;
  appSecret: string;
  displayPhoneNumber: string;
  verifiedName: string;
}

export interface FakeSentText {
  phoneNumberId: string;
  to: string;
  text: string;
  replyTo?: string;
  id: string;
  at: number;
}

export interface FakeTyping {
  phoneNumberId: string;
  messageId: string;
  /** The person who sent the message marked as read. */
  chatId: string;
  at: number;
}

export type FakeSendFailure = { status: 429; retryAfterSeconds: number } | { status: 500 };

interface NumberState {
  spec: FakeWhatsAppNumber;
  subscribed: boolean;
  callbackUrl: string | null;
  queue: { body: string; signature: string }[];
  delivering: boolean;
  failures: FakeSendFailure[];
  failing: boolean;
  /** Message ids of what people sent, with who sent them. */
  inbound: Map<string, string>;
}

const RETRY_MS = 100;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function signWhatsAppPush(appSecret: string, body: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`the fake WhatsApp server only calls loopback addresses, not ${host}`);
}

function graphError(response: ServerResponse, status: number, code: number, message: string, extra: { subcode?: number; type?: string; headers?: Record<string, string> } = {}): void {
  const body = {
    error: {
      message,
      type: extra.type ?? 'OAuthException',
      code,
      ...(extra.subcode === undefined ? {} : { error_subcode: extra.subcode }),
      fbtrace_id: `A${randomInt(1e9).toString(36)}`,
    },
  };
  response.writeHead(status, { 'content-type': 'application/json', ...extra.headers }).end(JSON.stringify(body));
}

const json = (response: ServerResponse, value: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export async function startFakeWhatsAppServer(options: { numbers: FakeWhatsAppNumber[] }) {
  const numbers = new Map<string, NumberState>();
  for (const spec of options.numbers) {
    numbers.set(spec.phoneNumberId, { spec, subscribed: true, callbackUrl: null, queue: [], delivering: false, failures: [], failing: false, inbound: new Map() });
  }
  const byToken = (token: string) => [...numbers.values()].find((state) => state.spec.accessToken === token);
  const sent: FakeSentText[] = [];
  const typing: FakeTyping[] = [];
  const calls: { method: string; path: string; at: number }[] = [];
  const undelivered: string[] = [];
  const sockets = new Set<Socket>();
  let outageUntil = 0;
  let closed = false;
  let nextId = 1;

  const wamid = () => `wamid.HBgL${(nextId++).toString(36).padStart(8, '0')}${randomInt(1e9).toString(36)}`;

  /** Delivers a number's queued pushes in order, each until its callback answers 2xx. */
  async function deliver(state: NumberState): Promise<void> {
    if (state.delivering) return;
    state.delivering = true;
    try {
      while (!closed && state.queue.length > 0) {
        const item = state.queue[0]!;
        const url = state.callbackUrl;
        let ok = false;
        if (url !== null && Date.now() >= outageUntil) {
          ok = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': item.signature, 'user-agent': 'facebookexternalua' },
            body: item.body,
            signal: AbortSignal.timeout(5_000),
          }).then(
            async (response) => {
              await response.arrayBuffer();
              return response.ok;
            },
            () => false,
          );
        }
        if (ok) state.queue.shift();
        else await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    } finally {
      state.delivering = false;
    }
  }

  /** Queues a push for the number's app; pushes while the app is not subscribed are never sent (Meta drops them). */
  function push(state: NumberState, body: string, signature?: string): boolean {
    if (!state.subscribed) {
      undelivered.push(body);
      return false;
    }
    state.queue.push({ body, signature: signature ?? signWhatsAppPush(state.spec.appSecret, body) });
    void deliver(state);
    return true;
  }

  function envelope(state: NumberState, value: Record<string, unknown>) {
    return {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: state.spec.businessAccountId,
          changes: [
            {
              value: { messaging_product: 'whatsapp', metadata: { display_phone_number: state.spec.displayPhoneNumber.replace(/\D/gu, ''), phone_number_id: state.spec.phoneNumberId }, ...value },
              field: 'messages',
            },
          ],
        },
      ],
    };
  }

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    calls.push({ method, path: url.pathname, at: Date.now() });
    if (Date.now() < outageUntil) {
      request.socket.destroy();
      return;
    }
    const match = /^\/v\d+\.\d+\/(\d+)(?:\/([a-z_]+))?$/u.exec(url.pathname);
    const auth = /^Bearer (\S+)$/u.exec(request.headers.authorization ?? '');
    const caller = auth ? byToken(auth[1]!) : undefined;
    const body = await readBody(request);
    if (!caller) {
      graphError(response, 401, 190, auth ? 'Invalid OAuth access token - Cannot parse access token' : 'An active access token must be used to query information about the current user.');
      return;
    }
    if (!match) {
      graphError(response, 400, 100, `Unknown path components: ${url.pathname}`);
      return;
    }
    const [, id, edge] = match;
    if (edge === undefined && method === 'GET' && id === caller.spec.phoneNumberId) {
      const fields = (url.searchParams.get('fields') ?? 'id').split(',');
      const node: Record<string, unknown> = { id };
      if (fields.includes('display_phone_number')) node.display_phone_number = caller.spec.displayPhoneNumber;
      if (fields.includes('verified_name')) node.verified_name = caller.spec.verifiedName;
      json(response, node);
      return;
    }
    if (edge === 'messages' && method === 'POST' && id === caller.spec.phoneNumberId) {
      sendMessage(caller, body, response);
      return;
    }
    if (edge === 'subscribed_apps' && id === caller.spec.businessAccountId) {
      if (method === 'POST' || method === 'DELETE') {
        caller.subscribed = method === 'POST';
        json(response, { success: true });
      } else {
        const app = { whatsapp_business_api_data: { id: `9${caller.spec.phoneNumberId.slice(-6)}`, link: 'https://www.facebook.com/games/?app_id=1', name: `Hearth test app ${caller.spec.verifiedName}` } };
        json(response, { data: caller.subscribed ? [app] : [] });
      }
      return;
    }
    graphError(response, 400, 100, `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, { subcode: 33, type: 'GraphMethodException' });
  }

  function sendMessage(state: NumberState, text: string, response: ServerResponse): void {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      graphError(response, 400, 100, 'Invalid parameter');
      return;
    }
    if (!isRecord(body) || body.messaging_product !== 'whatsapp') {
      graphError(response, 400, 100, 'The parameter messaging_product is required.');
      return;
    }
    if (body.status === 'read') {
      const messageId = typeof body.message_id === 'string' ? body.message_id : '';
      const chatId = state.inbound.get(messageId);
      if (chatId === undefined) {
        graphError(response, 400, 100, 'Invalid parameter', { type: 'OAuthException' });
        return;
      }
      const indicator = isRecord(body.typing_indicator) ? body.typing_indicator.type : undefined;
      if (indicator === 'text') typing.push({ phoneNumberId: state.spec.phoneNumberId, messageId, chatId, at: Date.now() });
      json(response, { success: true });
      return;
    }
    const failure: FakeSendFailure | undefined = state.failing ? { status: 500 } : state.failures.shift();
    if (failure?.status === 429) {
      graphError(response, 429, 130429, '(#130429) Rate limit hit', { headers: { 'retry-after': String(failure.retryAfterSeconds) } });
      return;
    }
    if (failure) {
      graphError(response, 500, 131000, '(#131000) Something went wrong');
      return;
    }
    const to = typeof body.to === 'string' ? body.to.replace(/^\+/u, '') : '';
    const textBody = isRecord(body.text) ? body.text.body : undefined;
    if (body.type !== 'text' || typeof textBody !== 'string' || textBody.length === 0 || !/^\d{5,20}$/u.test(to)) {
      graphError(response, 400, 100, '(#100) Invalid parameter');
      return;
    }
    if (textBody.length > 4096) {
      graphError(response, 400, 100, "(#100) Param text['body'] must be at most 4096 characters long.");
      return;
    }
    const id = wamid();
    const replyTo = isRecord(body.context) && typeof body.context.message_id === 'string' ? body.context.message_id : undefined;
    sent.push({ phoneNumberId: state.spec.phoneNumberId, to, text: textBody, ...(replyTo === undefined ? {} : { replyTo }), id, at: Date.now() });
    json(response, { messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: to }], messages: [{ id }] });
  }

  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      if (!response.headersSent) graphError(response, 500, 1, `fake server failure: ${String(error)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** Meta's callback URL check: `GET url?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`. */
  async function verifyCallback(url: string, verifyToken: string, mode = 'subscribe'): Promise<{ status: number; body: string; echoed: boolean }> {
    assertLoopback(url);
    const challenge = String(randomInt(1e9));
    const target = new URL(url);
    target.searchParams.set('hub.mode', mode);
    target.searchParams.set('hub.verify_token', verifyToken);
    target.searchParams.set('hub.challenge', challenge);
    const response = await fetch(target, { signal: AbortSignal.timeout(5_000) });
    const body = await response.text();
    return { status: response.status, body, echoed: response.status === 200 && body === challenge };
  }

  const state = (phoneNumberId: string) => {
    const found = numbers.get(phoneNumberId);
    if (!found) throw new Error(`the fake WhatsApp server has no phone number ${phoneNumberId}`);
    return found;
  };

  return {
    /** The Graph API root (without a version), for `apiRoot`. */
    apiRoot,
    sent,
    typing,
    calls,
    /** Pushes that were never sent because the app was not subscribed. */
    undelivered,

    verifyCallback,

    /** Sets the app's callback URL for this number, as the App Dashboard does: only once the handshake succeeds (retried for a while). */
    async setCallback(phoneNumberId: string, url: string, verifyToken: string, timeoutMs = 10_000): Promise<void> {
      const target = state(phoneNumberId);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const check = await verifyCallback(url, verifyToken).catch(() => ({ status: 0, body: '', echoed: false }));
        if (check.echoed) break;
        if (Date.now() > deadline) throw new Error(`the callback ${url} did not answer the verification (HTTP ${check.status}: ${check.body})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      target.callbackUrl = url;
      void deliver(target);
    },

    /** A person writes to the number; returns the message id (the push is queued for the app's callback). */
    injectMessage(phoneNumberId: string, message: { from: string; name?: string; text?: string; type?: string; extra?: Record<string, unknown> }): string {
      const target = state(phoneNumberId);
      const id = wamid();
      target.inbound.set(id, message.from);
      const type = message.type ?? 'text';
      const value = {
        contacts: [{ profile: { name: message.name ?? message.from }, wa_id: message.from }],
        messages: [{ from: message.from, id, timestamp: String(Math.floor(Date.now() / 1000)), type, ...(type === 'text' ? { text: { body: message.text ?? '' } } : {}), ...message.extra }],
      };
      push(target, JSON.stringify(envelope(target, value)));
      return id;
    },

    /** A delivery status for one of the bot's messages (sent, delivered, read, failed). */
    injectStatus(phoneNumberId: string, status: { id: string; recipient: string; status: string }): void {
      const target = state(phoneNumberId);
      const value = { statuses: [{ id: status.id, status: status.status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: status.recipient }] };
      push(target, JSON.stringify(envelope(target, value)));
    },

    /** Any body, signed with the app secret (or the signature given), queued like a push. */
    injectRaw(phoneNumberId: string, body: string | Record<string, unknown>, signature?: string): void {
      push(state(phoneNumberId), typeof body === 'string' ? body : JSON.stringify(body), signature);
    },

    /** The push body Meta would send for this message value (for tests that POST it themselves). */
    buildPush: (phoneNumberId: string, value: Record<string, unknown>) => JSON.stringify(envelope(state(phoneNumberId), value)),

    /** Pushes waiting for the callback (not yet answered 2xx). */
    pending: (phoneNumberId: string) => state(phoneNumberId).queue.length,

    setSubscribed(phoneNumberId: string, on: boolean): void {
      state(phoneNumberId).subscribed = on;
    },
    failNext(phoneNumberId: string, failures: FakeSendFailure[]): void {
      state(phoneNumberId).failures.push(...failures);
    },
    setSendsFailing(phoneNumberId: string, on: boolean): void {
      state(phoneNumberId).failing = on;
    },

    /** Meta is unreachable for `ms`: open connections drop, API calls are cut off, pushes wait and are retried after. */
    outage(ms: number): void {
      outageUntil = Date.now() + ms;
      for (const socket of sockets) socket.destroy();
    },

    async close(): Promise<void> {
      closed = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeWhatsAppServer = Awaited<ReturnType<typeof startFakeWhatsAppServer>>;
