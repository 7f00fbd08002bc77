/**
 * A scripted Slack for tests: one real HTTP server on 127.0.0.1 (random free port) that speaks the
 * Web API at `/api/<method>` and Socket Mode at `/socket` (the URL `apps.connections.open` hands
 * out), plus a sender that POSTs signed Events API requests to a local HTTP receiver. The real
 * `@slack/bolt`, `@slack/web-api` and `@slack/socket-mode` packages talk to it unchanged.
 *
 * Point Bolt at it (socket mode):
 *   const receiver = new SocketModeReceiver({ appToken, clientPingTimeout: 1000,
 *     installerOptions: { clientOptions: { slackApiUrl: server.apiUrl } } });
 *   const app = new App({ token: server.botToken, receiver, clientOptions: { slackApiUrl: server.apiUrl } });
 * or, without tuning the ping timeouts, `new App({ token, appToken, socketMode: true,
 * clientOptions: { slackApiUrl } })`: Bolt hands `clientOptions` to the receiver too.
 * Stop the app before closing the server: a socket-mode client that loses the server retries
 * `apps.connections.open` for a very long time, and app.stop() does not cancel a retry in flight.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

/** Slack's conversation kinds, as they appear in `channel_type` on message events. */
export type FakeSlackChannelType = 'im' | 'channel' | 'group' | 'mpim';

/** One app installed in the fake workspace. */
export interface FakeSlackBot {
  /** `xoxb-…` token the bot's Web API calls must carry. */
  botToken: string;
  /** `xapp-…` app-level token for `apps.connections.open`. */
  appToken: string;
  /** The bot's user id (what `<@…>` mentions and `auth.test` `user_id` use). */
  botUserId: string;
  /** The bot id (`auth.test` `bot_id`, `bot_id` on the bot's own messages). */
  botId: string;
  /** The app id (`api_app_id` on events). */
  appId: string;
}

export interface FakeSlackServerOptions {
  /** Apps to serve (default: one app with generated tokens). Each gets its own bot user id. */
  bots?: Array<{ botToken: string; appToken: string }>;
  /** Workspace id (default `T0FAKETEAM`). */
  teamId?: string;
  /** Signing secret for Events API requests (default: random). */
  signingSecret?: string;
  /** How long an events envelope may stay unacknowledged before it is sent again (default 3,000 ms). */
  redeliveryDelayMs?: number;
  /** How many times an unacknowledged envelope is sent again before it is given up (default 3). */
  maxRedeliveries?: number;
  /** How often the server pings each socket (default 10,000 ms; 0 turns server pings off). */
  pingIntervalMs?: number;
  /** When true, messages the bot posts come back to it as `message` events, as real Slack does. */
  echoBotMessages?: boolean;
  /** Cap on every recorded array (default 10,000; the oldest entries are dropped). */
  maxRecorded?: number;
}

/** A message to deliver as if a person had typed it. */
export interface InjectMessageInput {
  channelType: FakeSlackChannelType;
  channel: string;
  user: string;
  text: string;
  /** Prepends `<@BOTID> ` to the text (and, outside DMs, also sends an `app_mention` event). */
  mentionBot?: boolean;
  /** Makes it a thread reply. */
  threadTs?: string;
  /** Which app receives it (index into `bots`, default 0). */
  bot?: number;
  /** Extra fields merged into the `message` event (e.g. `subtype`, `files`, `blocks`). */
  extra?: Record<string, unknown>;
}

/** A scripted failure for the next call(s) of one Web API method. */
export type FakeSlackFailure =
  /** HTTP 429 with a `Retry-After` header (seconds), as Slack's rate limiter answers. */
  | { status: 429; retryAfter: number }
  /** A bare HTTP error status (500, 502, 503, …) with an optional body. */
  | { status: number; body?: string }
  /** HTTP 200 with `{ ok: false, error }`, e.g. `ratelimited`, `channel_not_found`, `invalid_auth`. */
  | { error: string; extra?: Record<string, unknown> };

/** A `chat.postMessage` or `chat.update` the server accepted. */
export interface FakeSlackSent {
  method: 'chat.postMessage' | 'chat.update';
  channel: string;
  text: string;
  threadTs?: string;
  ts: string;
  /** `Date.now()` when it arrived. */
  at: number;
  /** Index of the app whose token made the call. */
  bot: number;
  /** Every parameter as received (form values are strings). */
  params: Record<string, unknown>;
}

/** An `assistant.threads.setStatus` call (Slack's typing-like status line). */
export interface FakeSlackStatus {
  channel: string;
  threadTs: string;
  /** Empty string clears the status. */
  status: string;
  at: number;
  bot: number;
}

/** A `reactions.add` call the server accepted. */
export interface FakeSlackReaction {
  channel: string;
  ts: string;
  name: string;
  at: number;
  bot: number;
}

/** Any Web API request, including failed ones, in arrival order. */
export interface FakeSlackApiCall {
  method: string;
  params: Record<string, unknown>;
  /** The token from `Authorization: Bearer` or the `token` field. */
  token?: string;
  /** HTTP status the server answered with. */
  status: number;
  /** The `error` code when the answer was `{ ok: false }`. */
  error?: string;
  at: number;
}

/** One envelope frame written to a socket-mode connection. */
export interface FakeSlackDelivery {
  envelopeId: string;
  /** The inner event's `type` (e.g. `message`, `app_mention`). */
  eventType: string;
  /** The inner event's `ts`, when it has one. */
  eventTs?: string;
  retryAttempt: number;
  bot: number;
  at: number;
}

/** The answer a local receiver gave to a signed Events API request. */
export interface FakeSlackHttpDelivery {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Options for one signed Events API request. */
export interface PushEventHttpOptions {
  /** Which app the event is for (default 0). */
  bot?: number;
  /** Sets `X-Slack-Retry-Num` (and `X-Slack-Retry-Reason`), as Slack does on redelivery. */
  retryNum?: number;
  retryReason?: string;
  /** Request timestamp in seconds (default now); an old one makes the request stale. */
  timestamp?: number;
  /** Replaces the computed `X-Slack-Signature` (to test rejection). */
  signature?: string;
}

export interface FakeSlackServer {
  /** `http://127.0.0.1:<port>/api/` — pass as WebClient `slackApiUrl`. */
  apiUrl: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The first app's bot token. */
  botToken: string;
  /** The first app's app-level token. */
  appToken: string;
  /** Signing secret the HTTP sender signs with by default. */
  signingSecret: string;
  /** The first app's bot user id. */
  botUserId: string;
  /** The workspace id. */
  teamId: string;
  /** Every app served, in `options.bots` order. */
  bots: readonly FakeSlackBot[];
  /** Accepted `chat.postMessage` / `chat.update` calls. */
  sent: FakeSlackSent[];
  /** `assistant.threads.setStatus` calls. */
  statuses: FakeSlackStatus[];
  /** `reactions.add` calls. */
  reactions: FakeSlackReaction[];
  /** Envelope ids the clients acknowledged (every ack, duplicates included). */
  acks: string[];
  /** Every envelope frame written to a socket, first sends and redeliveries alike. */
  deliveries: FakeSlackDelivery[];
  /** Envelope ids given up after `maxRedeliveries` unacknowledged sends. */
  expired: string[];
  /** Every Web API request. */
  apiCalls: FakeSlackApiCall[];
  /** Open socket-mode connections right now (all apps). */
  readonly connectionCount: number;
  /** Socket-mode connections accepted since start (all apps). */
  readonly connectionsOpened: number;
  /** Delivers a `message` event (plus `app_mention` for a channel mention) and returns its ts. */
  injectMessage(input: InjectMessageInput): string;
  /** Delivers any event object in an `events_api` envelope and returns the envelope id. */
  injectEvent(event: Record<string, unknown>, options?: { bot?: number }): string;
  /** Sends `JSON.stringify(value)` as one frame (no ack tracking, no redelivery). */
  injectRawEnvelope(value: unknown, options?: { bot?: number }): void;
  /** Sends this exact text as one frame (for malformed payloads). */
  injectRawFrame(text: string, options?: { bot?: number }): void;
  /** Resolves with the predicate's first value that is not undefined, null or false; rejects after `timeoutMs` (default 5,000). */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Makes the next `times` (default 1) calls of `method` fail this way. */
  failNext(method: string, failure: FakeSlackFailure, times?: number): void;
  /** Abruptly destroys every socket-mode connection (no close frame), as a network drop would. */
  dropConnections(): void;
  /** Sends `{ type: 'disconnect', reason }` on every connection so clients reconnect. */
  requestReconnect(reason?: string): void;
  /** While on: no events, no hello for new sockets, no pings sent and client pings go unanswered. Off flushes what queued up. */
  stall(on: boolean): void;
  /** Builds a `message` event (registering its ts) for `pushEventHttp`. */
  buildMessageEvent(input: InjectMessageInput): Record<string, unknown>;
  /** POSTs a signed Events API request to a local receiver. `event` is wrapped in an `event_callback` body unless it already is one (or is a `url_verification`). */
  pushEventHttp(url: string, signingSecret: string, event: Record<string, unknown>, options?: PushEventHttpOptions): Promise<FakeSlackHttpDelivery>;
  /** Sends Slack's `url_verification` challenge to a local receiver; `echoed` tells whether it answered with the challenge. */
  pushUrlVerification(url: string, signingSecret: string): Promise<FakeSlackHttpDelivery & { challenge: string; echoed: boolean }>;
  /** Closes every socket and the HTTP server and clears all timers. */
  close(): Promise<void>;
}

type Params = Record<string, unknown>;
type ApiAnswer = { status: number; body: unknown; headers?: Record<string, string> };

interface Connection {
  ws: WebSocket;
  bot: number;
  helloSent: boolean;
}

interface PendingEnvelope {
  id: string;
  bot: number;
  event: Record<string, unknown>;
  payload: Record<string, unknown>;
  attempt: number;
  retryReason: string;
  timer?: NodeJS.Timeout;
}

type Outbound = { kind: 'envelope'; envelope: PendingEnvelope } | { kind: 'raw'; text: string };

interface StoredMessage {
  channel: string;
  ts: string;
  user: string;
  /** Index of the app that posted it, when a bot did. */
  bot?: number;
  reactions: Set<string>;
}

const MAX_TEXT_LENGTH = 40_000;
const BASE_SECONDS = 1_700_000_000;
const CLOSE_GRACE_MS = 500;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function param(params: Params, key: string): string | undefined {
  const value = params[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseParams(contentType: string, raw: string, query: URLSearchParams): Params {
  const params: Params = Object.fromEntries(query.entries());
  if (raw.length === 0) return params;
  if (contentType.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isRecord(parsed)) Object.assign(params, parsed);
    } catch {
      // Slack answers a broken JSON body with invalid_json; the caller checks for it.
      params.__invalidJson = true;
    }
    return params;
  }
  for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
  return params;
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function pushCapped<T>(list: T[], item: T, cap: number): void {
  if (list.length >= cap) list.splice(0, Math.max(1, Math.floor(cap / 10)));
  list.push(item);
}

function assertLocal(url: string): URL {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    throw new Error(`fake slack: refusing to send to ${url}; only http://127.0.0.1 receivers are allowed`);
  }
  return parsed;
}

function postLocal(url: string, body: string, headers: Record<string, string>): Promise<FakeSlackHttpDelivery> {
  const target = assertLocal(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      target,
      { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`fake slack: ${url} did not answer within 10 s`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends a close frame and waits for the peer's, terminating the socket after `graceMs`. */
function closeGracefully(ws: WebSocket, graceMs: number): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), graceMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === ws.OPEN) ws.close(1001, 'fake slack shutting down');
  });
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`, as Slack signs Events API requests. */
export function signSlackRequest(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Starts a fake Slack on a random free loopback port. */
export async function startFakeSlackServer(options: FakeSlackServerOptions = {}): Promise<FakeSlackServer> {
  const teamId = options.teamId ?? 'T0FAKETEAM';
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 3_000;
  const maxRedeliveries = options.maxRedeliveries ?? 3;
  const pingIntervalMs = options.pingIntervalMs ?? 10_000;
  const cap = options.maxRecorded ?? 10_000;
  const botInputs = options.bots ?? [{ botToken: 'xoxb-fake-1-bot-token', appToken: 'xapp-1-A0FAKEAPP1-1-fake-app-token' }];
  if (botInputs.length === 0) throw new Error('fake slack: options.bots must list at least one app');
  const bots: FakeSlackBot[] = botInputs.map((input, index) => ({
    botToken: input.botToken,
    appToken: input.appToken,
    botUserId: `U0FAKEBOT${index + 1}`,
    botId: `B0FAKEBOT${index + 1}`,
    appId: `A0FAKEAPP${index + 1}`,
  }));

  const sent: FakeSlackSent[] = [];
  const statuses: FakeSlackStatus[] = [];
  const reactions: FakeSlackReaction[] = [];
  const acks: string[] = [];
  const deliveries: FakeSlackDelivery[] = [];
  const expired: string[] = [];
  const apiCalls: FakeSlackApiCall[] = [];
  const failures = new Map<string, FakeSlackFailure[]>();
  const messages = new Map<string, StoredMessage>();
  const channelTypes = new Map<string, FakeSlackChannelType>();
  const dmPeers = new Map<string, string>();
  const tickets = new Map<string, number>();
  const connections = new Set<Connection>();
  const pending = new Map<string, PendingEnvelope>();
  const outboxes: Outbound[][] = bots.map(() => []);
  const sockets = new Set<Socket>();
  const waiters = new Set<(error: Error) => void>();
  let sequence = 0;
  let eventCounter = 0;
  let roundRobin = 0;
  let opened = 0;
  let stalled = false;
  let closed = false;

  function botAt(index: number): FakeSlackBot {
    const bot = bots[index];
    if (bot === undefined) throw new Error(`fake slack: no app at index ${index} (serving ${bots.length})`);
    return bot;
  }

  function nextTs(): string {
    sequence += 1;
    const micros = sequence * 100;
    return `${BASE_SECONDS + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  function rememberMessage(message: StoredMessage): void {
    const key = `${message.channel}:${message.ts}`;
    if (messages.size >= cap) {
      const oldest = messages.keys().next();
      if (oldest.done !== true) messages.delete(oldest.value);
    }
    messages.set(key, message);
  }

  function channelKind(channel: string): FakeSlackChannelType | undefined {
    const known = channelTypes.get(channel);
    if (known !== undefined) return known;
    if (channel.startsWith('D')) return 'im';
    if (channel.startsWith('C')) return 'channel';
    if (channel.startsWith('G')) return 'group';
    return undefined;
  }

  // ---- Socket Mode ----

  function readyConnections(bot: number): Connection[] {
    return [...connections].filter((connection) => connection.bot === bot && connection.helloSent && connection.ws.readyState === connection.ws.OPEN);
  }

  function writeFrame(bot: number, item: Outbound): boolean {
    if (stalled || closed) return false;
    const ready = readyConnections(bot);
    if (ready.length === 0) return false;
    roundRobin += 1;
    const connection = ready[roundRobin % ready.length];
    if (connection === undefined) return false;
    if (item.kind === 'raw') {
      connection.ws.send(item.text);
      return true;
    }
    const envelope = item.envelope;
    connection.ws.send(
      JSON.stringify({
        envelope_id: envelope.id,
        payload: envelope.payload,
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: envelope.attempt,
        retry_reason: envelope.retryReason,
      }),
    );
    const eventTs = envelope.event.ts;
    pushCapped(
      deliveries,
      {
        envelopeId: envelope.id,
        eventType: typeof envelope.event.type === 'string' ? envelope.event.type : '',
        ...(typeof eventTs === 'string' ? { eventTs } : {}),
        retryAttempt: envelope.attempt,
        bot,
        at: Date.now(),
      },
      cap,
    );
    envelope.timer = setTimeout(() => redeliver(envelope), redeliveryDelayMs);
    return true;
  }

  function redeliver(envelope: PendingEnvelope): void {
    envelope.timer = undefined;
    if (!pending.has(envelope.id)) return;
    if (envelope.attempt >= maxRedeliveries) {
      pending.delete(envelope.id);
      pushCapped(expired, envelope.id, cap);
      return;
    }
    envelope.attempt += 1;
    envelope.retryReason = 'timeout';
    send(envelope.bot, { kind: 'envelope', envelope });
  }

  function send(bot: number, item: Outbound): void {
    const outbox = outboxes[bot];
    if (outbox === undefined) throw new Error(`fake slack: no app at index ${bot}`);
    // Keep order: nothing jumps ahead of frames already waiting for a connection.
    if (outbox.length > 0 || !writeFrame(bot, item)) outbox.push(item);
  }

  function flush(bot: number): void {
    const outbox = outboxes[bot];
    if (outbox === undefined) return;
    while (outbox.length > 0) {
      const item = outbox[0];
      if (item === undefined || !writeFrame(bot, item)) return;
      outbox.shift();
    }
  }

  function sayHello(connection: Connection): void {
    if (connection.helloSent || stalled || connection.ws.readyState !== connection.ws.OPEN) return;
    connection.helloSent = true;
    connection.ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: readyConnections(connection.bot).length,
        debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: botAt(connection.bot).appId },
      }),
    );
    flush(connection.bot);
  }

  function onClientFrame(data: RawData): void {
    let parsed: unknown;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return;
    }
    if (!isRecord(parsed) || typeof parsed.envelope_id !== 'string') return;
    const id = parsed.envelope_id;
    pushCapped(acks, id, cap);
    const envelope = pending.get(id);
    if (envelope === undefined) return;
    clearTimeout(envelope.timer);
    pending.delete(id);
  }

  function enqueueEvent(event: Record<string, unknown>, bot: number): string {
    const app = botAt(bot);
    eventCounter += 1;
    const id = randomUUID();
    const eventTs = typeof event.event_ts === 'string' ? event.event_ts : typeof event.ts === 'string' ? event.ts : undefined;
    const payload = {
      token: 'fake-verification-token',
      team_id: teamId,
      context_team_id: teamId,
      context_enterprise_id: null,
      api_app_id: app.appId,
      event,
      type: 'event_callback',
      event_id: `Ev0FAKE${String(eventCounter).padStart(6, '0')}`,
      event_time: eventTs === undefined ? Math.floor(Date.now() / 1000) : Number.parseInt(eventTs, 10),
      authorizations: [{ enterprise_id: null, team_id: teamId, user_id: app.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-fake-${eventCounter}`,
    };
    const envelope: PendingEnvelope = { id, bot, event, payload, attempt: 0, retryReason: '' };
    pending.set(id, envelope);
    send(bot, { kind: 'envelope', envelope });
    return id;
  }

  function buildMessageEvent(input: InjectMessageInput): Record<string, unknown> {
    const bot = input.bot ?? 0;
    const app = botAt(bot);
    const ts = nextTs();
    const text = input.mentionBot === true ? `<@${app.botUserId}> ${input.text}` : input.text;
    channelTypes.set(input.channel, input.channelType);
    if (input.channelType === 'im') dmPeers.set(input.channel, input.user);
    rememberMessage({ channel: input.channel, ts, user: input.user, reactions: new Set() });
    return {
      type: 'message',
      client_msg_id: randomUUID(),
      text,
      user: input.user,
      ts,
      team: teamId,
      channel: input.channel,
      event_ts: ts,
      channel_type: input.channelType,
      ...(input.threadTs === undefined ? {} : { thread_ts: input.threadTs, parent_user_id: input.user }),
      ...input.extra,
    };
  }

  function injectMessage(input: InjectMessageInput): string {
    const bot = input.bot ?? 0;
    const event = buildMessageEvent(input);
    const ts = String(event.ts);
    enqueueEvent(event, bot);
    const text = String(event.text);
    if (input.channelType !== 'im' && text.includes(`<@${botAt(bot).botUserId}>`)) {
      enqueueEvent(
        {
          type: 'app_mention',
          client_msg_id: event.client_msg_id,
          text,
          user: input.user,
          ts,
          team: teamId,
          channel: input.channel,
          event_ts: ts,
          ...(input.threadTs === undefined ? {} : { thread_ts: input.threadTs }),
        },
        bot,
      );
    }
    return ts;
  }

  // ---- Web API ----

  function botMessage(bot: number, text: string, ts: string, threadTs: string | undefined): Record<string, unknown> {
    const app = botAt(bot);
    return {
      type: 'message',
      text,
      user: app.botUserId,
      bot_id: app.botId,
      app_id: app.appId,
      ts,
      team: teamId,
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      bot_profile: { id: app.botId, app_id: app.appId, name: `fake-bot-${bot + 1}`, team_id: teamId, deleted: false },
    };
  }

  function hasContent(params: Params): boolean {
    return ['text', 'blocks', 'attachments', 'markdown_text'].some((key) => {
      const value = param(params, key);
      return value !== undefined && value !== '' && value !== '[]';
    });
  }

  function ok(body: Record<string, unknown>): ApiAnswer {
    return { status: 200, body: { ok: true, ...body } };
  }

  function fail(error: string, extra: Record<string, unknown> = {}): ApiAnswer {
    return { status: 200, body: { ok: false, error, ...extra } };
  }

  function handleBotMethod(method: string, bot: number, params: Params): ApiAnswer {
    const app = botAt(bot);
    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://fake-team.slack.com/', team: 'Fake Team', user: `fake-bot-${bot + 1}`, team_id: teamId, user_id: app.botUserId, bot_id: app.botId, is_enterprise_install: false });
      case 'chat.postMessage': {
        const channel = param(params, 'channel') ?? '';
        if (channel === '' || channelKind(channel) === undefined) return fail('channel_not_found');
        if (!hasContent(params)) return fail('no_text');
        const text = param(params, 'text') ?? '';
        if (text.length > MAX_TEXT_LENGTH) return fail('msg_too_long');
        const threadTs = param(params, 'thread_ts');
        const ts = nextTs();
        rememberMessage({ channel, ts, user: app.botUserId, bot, reactions: new Set() });
        pushCapped(sent, { method: 'chat.postMessage', channel, text, ...(threadTs === undefined ? {} : { threadTs }), ts, at: Date.now(), bot, params }, cap);
        const message = botMessage(bot, text, ts, threadTs);
        if (options.echoBotMessages === true) {
          const kind = channelKind(channel) ?? 'channel';
          enqueueEvent({ ...message, channel, event_ts: ts, channel_type: kind }, bot);
        }
        return ok({ channel, ts, message });
      }
      case 'chat.update': {
        const channel = param(params, 'channel') ?? '';
        const ts = param(params, 'ts') ?? '';
        if (channel === '' || channelKind(channel) === undefined) return fail('channel_not_found');
        const stored = messages.get(`${channel}:${ts}`);
        if (stored === undefined) return fail('message_not_found');
        if (stored.bot !== bot) return fail('cant_update_message');
        if (!hasContent(params)) return fail('no_text');
        const text = param(params, 'text') ?? '';
        if (text.length > MAX_TEXT_LENGTH) return fail('msg_too_long');
        pushCapped(sent, { method: 'chat.update', channel, text, ts, at: Date.now(), bot, params }, cap);
        return ok({ channel, ts, text, message: botMessage(bot, text, ts, undefined) });
      }
      case 'conversations.info': {
        const channel = param(params, 'channel') ?? '';
        const kind = channelKind(channel);
        if (kind === undefined) return fail('channel_not_found');
        return ok({
          channel: {
            id: channel,
            name: kind === 'im' ? undefined : `fake-${channel.toLowerCase()}`,
            is_channel: kind === 'channel',
            is_group: kind === 'group',
            is_im: kind === 'im',
            is_mpim: kind === 'mpim',
            is_private: kind !== 'channel',
            is_archived: false,
            is_member: true,
            ...(kind === 'im' && dmPeers.has(channel) ? { user: dmPeers.get(channel) } : {}),
            context_team_id: teamId,
            created: BASE_SECONDS,
          },
        });
      }
      case 'users.info': {
        const user = param(params, 'user') ?? '';
        if (!/^[UW][A-Z0-9]+$/.test(user)) return fail('user_not_found');
        const botIndex = bots.findIndex((candidate) => candidate.botUserId === user);
        const name = botIndex >= 0 ? `fake-bot-${botIndex + 1}` : `user-${user.toLowerCase()}`;
        return ok({
          user: {
            id: user,
            team_id: teamId,
            name,
            real_name: botIndex >= 0 ? `Fake Bot ${botIndex + 1}` : `User ${user}`,
            deleted: false,
            is_bot: botIndex >= 0,
            is_admin: false,
            tz: 'UTC',
            profile: { display_name: name, real_name: botIndex >= 0 ? `Fake Bot ${botIndex + 1}` : `User ${user}`, team: teamId },
          },
        });
      }
      case 'assistant.threads.setStatus': {
        const channel = param(params, 'channel_id') ?? '';
        const threadTs = param(params, 'thread_ts') ?? '';
        const status = param(params, 'status');
        if (channel === '' || threadTs === '' || status === undefined) return fail('invalid_arguments');
        if (channelKind(channel) === undefined) return fail('channel_not_found');
        pushCapped(statuses, { channel, threadTs, status, at: Date.now(), bot }, cap);
        return ok({});
      }
      case 'reactions.add': {
        const channel = param(params, 'channel') ?? '';
        const ts = param(params, 'timestamp') ?? '';
        const name = param(params, 'name') ?? '';
        if (channel === '' || channelKind(channel) === undefined) return fail('channel_not_found');
        if (name === '') return fail('invalid_name');
        const stored = messages.get(`${channel}:${ts}`);
        if (stored === undefined) return fail('message_not_found');
        const key = `${bot}:${name}`;
        if (stored.reactions.has(key)) return fail('already_reacted');
        stored.reactions.add(key);
        pushCapped(reactions, { channel, ts, name, at: Date.now(), bot }, cap);
        return ok({});
      }
      default:
        return fail('unknown_method');
    }
  }

  function answerApi(method: string, params: Params, token: string | undefined): ApiAnswer {
    const queued = failures.get(method);
    const failure = queued?.shift();
    if (queued !== undefined && queued.length === 0) failures.delete(method);
    if (failure !== undefined) {
      if ('error' in failure) return fail(failure.error, failure.extra);
      if (failure.status === 429 && 'retryAfter' in failure) {
        return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(failure.retryAfter) } };
      }
      return { status: failure.status, body: 'body' in failure && failure.body !== undefined ? failure.body : `fake slack: HTTP ${failure.status}` };
    }
    if (params.__invalidJson === true) return fail('invalid_json');
    const known = new Set(['auth.test', 'apps.connections.open', 'chat.postMessage', 'chat.update', 'conversations.info', 'users.info', 'assistant.threads.setStatus', 'reactions.add']);
    if (!known.has(method)) return fail('unknown_method');
    if (token === undefined || token === '') return fail('not_authed');
    const appIndex = bots.findIndex((bot) => bot.appToken === token);
    const botIndex = bots.findIndex((bot) => bot.botToken === token);
    if (method === 'apps.connections.open') {
      if (appIndex < 0) return fail(botIndex >= 0 ? 'not_allowed_token_type' : 'invalid_auth');
      const ticket = randomUUID();
      tickets.set(ticket, appIndex);
      return ok({ url: `ws://127.0.0.1:${port}/socket?ticket=${ticket}&app_id=${botAt(appIndex).appId}` });
    }
    if (botIndex < 0) return fail(appIndex >= 0 ? 'not_allowed_token_type' : 'invalid_auth');
    return handleBotMethod(method, botIndex, params);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith('/api/')) {
      sendJson(response, 404, { ok: false, error: 'not_found' });
      return;
    }
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    const raw = await readBody(request);
    const params = parseParams(String(request.headers['content-type'] ?? ''), raw, url.searchParams);
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const token = bearer !== undefined && bearer !== '' ? bearer : param(params, 'token');
    const answer = answerApi(method, params, token);
    const error = isRecord(answer.body) && typeof answer.body.error === 'string' ? answer.body.error : undefined;
    const { token: _omitted, ...recordedParams } = params;
    pushCapped(apiCalls, { method, params: recordedParams, ...(token === undefined ? {} : { token }), status: answer.status, ...(error === undefined ? {} : { error }), at: Date.now() }, cap);
    sendJson(response, answer.status, answer.body, answer.headers);
  }

  // ---- Servers ----

  const wss = new WebSocketServer({ noServer: true, autoPong: false, clientTracking: false });
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { ok: false, error: 'fatal_error', detail: String(error) });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    const bot = tickets.get(ticket);
    if (closed || url.pathname !== '/socket' || bot === undefined) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    // Tickets are single use, like Slack's.
    tickets.delete(ticket);
    wss.handleUpgrade(request, socket, head, (ws) => {
      const connection: Connection = { ws, bot, helloSent: false };
      connections.add(connection);
      opened += 1;
      ws.on('message', (data) => onClientFrame(data));
      ws.on('ping', (data: Buffer) => {
        if (!stalled) ws.pong(data);
      });
      ws.on('error', () => undefined);
      ws.on('close', () => connections.delete(connection));
      sayHello(connection);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const pingTimer =
    pingIntervalMs > 0
      ? setInterval(() => {
          if (stalled) return;
          for (const connection of connections) {
            if (connection.ws.readyState === connection.ws.OPEN) connection.ws.ping();
          }
        }, pingIntervalMs)
      : undefined;

  const first = botAt(0);
  return {
    apiUrl: `${baseUrl}/api/`,
    url: baseUrl,
    botToken: first.botToken,
    appToken: first.appToken,
    signingSecret,
    botUserId: first.botUserId,
    teamId,
    bots,
    sent,
    statuses,
    reactions,
    acks,
    deliveries,
    expired,
    apiCalls,
    get connectionCount() {
      return [...connections].filter((connection) => connection.ws.readyState === connection.ws.OPEN).length;
    },
    get connectionsOpened() {
      return opened;
    },
    injectMessage,
    injectEvent(event, eventOptions) {
      return enqueueEvent(event, eventOptions?.bot ?? 0);
    },
    injectRawEnvelope(value, rawOptions) {
      send(rawOptions?.bot ?? 0, { kind: 'raw', text: JSON.stringify(value) });
    },
    injectRawFrame(text, rawOptions) {
      send(rawOptions?.bot ?? 0, { kind: 'raw', text });
    },
    waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let poll: NodeJS.Timeout | undefined;
        let timer: NodeJS.Timeout | undefined;
        const finish = (): void => {
          clearInterval(poll);
          clearTimeout(timer);
          waiters.delete(abort);
        };
        const abort = (error: Error): void => {
          finish();
          reject(error);
        };
        const check = (): void => {
          try {
            const value = predicate();
            if (value !== undefined && value !== null && value !== false) {
              finish();
              resolve(value);
            }
          } catch (error) {
            abort(error instanceof Error ? error : new Error(String(error)));
          }
        };
        waiters.add(abort);
        poll = setInterval(check, 10);
        timer = setTimeout(() => abort(new Error(`fake slack: waitFor timed out after ${timeoutMs} ms`)), timeoutMs);
        check();
      });
    },
    failNext(method, failure, times = 1) {
      const queue = failures.get(method) ?? [];
      for (let index = 0; index < times; index += 1) queue.push(failure);
      failures.set(method, queue);
    },
    dropConnections() {
      for (const connection of connections) connection.ws.terminate();
    },
    requestReconnect(reason = 'refresh_requested') {
      for (const connection of connections) {
        if (connection.ws.readyState === connection.ws.OPEN) {
          connection.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } }));
        }
      }
    },
    stall(on) {
      stalled = on;
      if (on) return;
      for (const connection of connections) sayHello(connection);
      for (let index = 0; index < bots.length; index += 1) flush(index);
    },
    buildMessageEvent,
    async pushEventHttp(url, secret, event, pushOptions = {}) {
      const app = botAt(pushOptions.bot ?? 0);
      eventCounter += 1;
      const wrapped =
        event.type === 'url_verification' || event.type === 'event_callback'
          ? event
          : {
              token: 'fake-verification-token',
              team_id: teamId,
              api_app_id: app.appId,
              event,
              type: 'event_callback',
              event_id: `Ev0FAKEHTTP${String(eventCounter).padStart(6, '0')}`,
              event_time: Math.floor(Date.now() / 1000),
              authorizations: [{ enterprise_id: null, team_id: teamId, user_id: app.botUserId, is_bot: true, is_enterprise_install: false }],
              is_ext_shared_channel: false,
            };
      const body = JSON.stringify(wrapped);
      const timestamp = pushOptions.timestamp ?? Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': pushOptions.signature ?? signSlackRequest(secret, timestamp, body),
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      };
      if (pushOptions.retryNum !== undefined) {
        headers['x-slack-retry-num'] = String(pushOptions.retryNum);
        headers['x-slack-retry-reason'] = pushOptions.retryReason ?? 'http_timeout';
      }
      return postLocal(url, body, headers);
    },
    async pushUrlVerification(url, secret) {
      const challenge = randomBytes(24).toString('base64url');
      const body = JSON.stringify({ token: 'fake-verification-token', challenge, type: 'url_verification' });
      const timestamp = Math.floor(Date.now() / 1000);
      const delivery = await postLocal(url, body, {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signSlackRequest(secret, timestamp, body),
      });
      let echoed = delivery.body === challenge;
      try {
        const parsed: unknown = JSON.parse(delivery.body);
        if (isRecord(parsed) && parsed.challenge === challenge) echoed = true;
      } catch {
        // A plain-text answer is allowed too; `echoed` already covers it.
      }
      return { ...delivery, challenge, echoed: echoed && delivery.status === 200 };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pingTimer);
      for (const envelope of pending.values()) clearTimeout(envelope.timer);
      pending.clear();
      for (const outbox of outboxes) outbox.length = 0;
      for (const abort of [...waiters]) abort(new Error('fake slack: server closed'));
      failures.clear();
      tickets.clear();
      // Finish the close handshake before dropping sockets: @slack/socket-mode 3.1 leaks a 30 s
      // timer when its socket dies while it is itself waiting for a close frame (e.g. right after app.stop()).
      await Promise.all([...connections].map((connection) => closeGracefully(connection.ws, CLOSE_GRACE_MS)));
      connections.clear();
      await new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
    },
  };
}
