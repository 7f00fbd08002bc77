/**
 * A fake Telegram Bot API server for tests: a real HTTP server on 127.0.0.1 (random free port)
 * speaking the Bot API wire format (`POST|GET /bot<token>/<method>`, JSON or form bodies, answers
 * `{ok:true,result}` or `{ok:false,error_code,description,parameters?}`), so the real grammY client
 * talks to it with `new Bot(token, { client: { apiRoot: server.apiRoot } })`.
 *
 * It does real long polling (`getUpdates` holds the request until an update arrives or the timeout
 * ends; `offset` confirms updates; a newer poll ends an older one with 409), webhooks (updates are
 * POSTed to a loopback URL with the secret header, retried until answered 2xx), and checks message
 * texts like Telegram (empty, too long, HTML/MarkdownV2 that does not parse). Tests script it:
 * inject messages, make the next calls fail, drop every connection, stall polling, make a bot deaf,
 * revoke a token.
 *
 * It only ever connects to loopback addresses (webhook URLs elsewhere are refused).
 */
import { createServer, type ClientRequest, type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { BotCommand, Chat, InlineKeyboardMarkup, Message, MessageEntity, User, UserFromGetMe, WebhookInfo } from 'grammy/types';
import { detectEntities, formatMessageText } from './telegram-text-format.js';

/** Builds a well-formed bot token (`<bot id>:<35 characters>`) for a fake bot with this id. */
export function fakeTelegramToken(botId: number): string {
  return `${botId}:${`AAF${botId.toString(36)}FakeHearthTelegramTokenForTestsOnly`.slice(0, 35)}`;
}

/** The token the server accepts when no token is configured. */
export const DEFAULT_FAKE_TELEGRAM_TOKEN = fakeTelegramToken(7_123_456_789);

export interface FakeTelegramServerOptions {
  /** The bot token served (default {@link DEFAULT_FAKE_TELEGRAM_TOKEN}). */
  token?: string;
  /** Several bots on one server, one per token, each with its own user, update queue and webhook. `token`, when also given, comes first. */
  tokens?: string[];
  /** Username of the first bot (default `hearth_test_bot`); the n-th further bot is `hearth_test_<n>_bot`. */
  botUsername?: string;
  /** Cap on every recorded list (`sent`, `calls`, …) and on remembered messages (default 10,000). */
  maxRecorded?: number;
  /** Cap on unconfirmed updates per bot; the oldest are dropped beyond it (default 10,000). */
  maxQueuedUpdates?: number;
  /** Longest a long poll is held, whatever `timeout` the client asks for (default 60 s). */
  maxPollSeconds?: number;
  /** In HTML, refuse a bare `&` (Telegram shows it literally; see `FormatOptions.strictAmpersand`). Default true. */
  strictHtmlAmpersand?: boolean;
  /** Answer "chat not found" for chats the server has not seen in an injected message, as Telegram does (default true; false makes up unknown numeric chats). */
  requireKnownChats?: boolean;
  /** Answer "message to be replied not found" for replies to messages the server does not know (default true). */
  validateReplyTargets?: boolean;
  /** First delay before a failed webhook delivery is retried; it doubles up to 2 s (default 100 ms). */
  webhookRetryMs?: number;
  /** How long a webhook delivery may take before it counts as failed (default 5,000 ms). */
  webhookTimeoutMs?: number;
}

/** A message the bot sent or edited (`sendMessage`, `editMessageText`), in the order received. */
export interface SentMessage {
  method: 'sendMessage' | 'editMessageText';
  token: string;
  chatId: number;
  /** The text exactly as the client sent it (before parsing). */
  text: string;
  /** What a user sees: the text after `parse_mode` parsing and trimming. */
  renderedText: string;
  entities: MessageEntity[];
  parseMode?: string;
  messageThreadId?: number;
  replyToMessageId?: number;
  /** Id of the new message (sendMessage) or of the edited one (editMessageText). */
  messageId: number;
  linkPreviewOptions?: unknown;
  replyMarkup?: unknown;
  /** `Date.now()` when it was received. */
  at: number;
}

/** A `sendChatAction` call. */
export interface ChatActionCall {
  token: string;
  chatId: number;
  action: string;
  messageThreadId?: number;
  at: number;
}

/** A `sendMessageDraft` call (a streamed preview of a message being written). */
export interface DraftCall {
  token: string;
  chatId: number;
  draftId: number;
  text: string;
  renderedText: string;
  parseMode?: string;
  messageThreadId?: number;
  at: number;
}

/** Any API request the server received with a well-formed path, in order (including refused ones). */
export interface ApiCall {
  token: string;
  /** The method name as the client wrote it. */
  method: string;
  params: Record<string, unknown>;
  /** True when it came as the method in a webhook's answer rather than as an HTTP request. */
  viaWebhookReply?: boolean;
  at: number;
}

/** One attempt to deliver an update to a webhook. */
export interface WebhookDelivery {
  token: string;
  url: string;
  updateId: number;
  /** The webhook's HTTP status, when it answered. */
  status?: number;
  ok: boolean;
  error?: string;
  at: number;
}

/** An HTTP failure to answer with instead of running the method. */
export interface FakeHttpFailure {
  /** 429 answers `Too Many Requests: retry after N` with `parameters.retry_after`; 5xx are server errors. */
  status: number;
  /** Seconds for a 429 (default 1). */
  retryAfter?: number;
  /** Replaces the usual description for the status. */
  description?: string;
  /** Adds `parameters.migrate_to_chat_id` (with a 400 "group chat was upgraded" by default). */
  migrateToChatId?: number;
  /**
   * `json` (the Bot API error body) or `html` (the nginx error page Telegram's front end returns for
   * 502/503/504, which a client cannot parse as JSON). Default: html for 502–504, json otherwise.
   */
  body?: 'json' | 'html';
}

/** What `failNext` makes a call do: answer an HTTP error, cut the connection, or answer late. */
export type FakeFailure =
  | FakeHttpFailure
  /** Destroys the connection without answering (the client sees a network error). */
  | { reset: true }
  /** Waits this long, then handles the call normally. */
  | { delayMs: number };

/** A message to deliver to the bot as if a person had sent it. */
export interface InjectMessageInput {
  /** Which bot receives it (default: the first). */
  token?: string;
  chatType: 'private' | 'group' | 'supergroup';
  chatId: number;
  /** Title of a group or supergroup (default `Test group <id>`). */
  chatTitle?: string;
  from: { id: number; username?: string; first_name?: string; last_name?: string; language_code?: string; is_bot?: boolean };
  text: string;
  /** Starts the text with `@<bot username> ` and a `mention` entity for it. */
  mentionBot?: boolean;
  /** The entities (for `text` as given; moved along when `mentionBot` adds its prefix). Default: detected like Telegram does. */
  entities?: MessageEntity[];
  /** Makes it a reply to the bot's latest message in this chat (or thread); one is made up if the bot has not sent any. */
  replyToBot?: boolean;
  /** Makes it a reply to this earlier message of the chat (which the server must know). */
  replyToMessageId?: number;
  /**
   * Sends it in this forum topic: `message_thread_id`, `is_topic_message: true`, `chat.is_forum: true`,
   * and, like Telegram, a `reply_to_message` that is the topic's creation message unless it replies to something else.
   */
  messageThreadId?: number;
  /** Unix seconds (default now). */
  date?: number;
}

export interface FakeTelegramServer {
  /** `http://127.0.0.1:<port>`: pass it as grammY's `client.apiRoot`. */
  apiRoot: string;
  /** The first bot's token. */
  token: string;
  /** Every bot token served, the first one first. */
  tokens: string[];
  /** The first bot's user, as `getMe` returns it. */
  botUser: UserFromGetMe;
  /** The user of the bot with this token. */
  botUserFor(token: string): UserFromGetMe;
  /** Messages sent or edited by the bots, oldest first (capped at `maxRecorded`). */
  sent: SentMessage[];
  /** `sendChatAction` calls, oldest first. */
  chatActions: ChatActionCall[];
  /** `sendMessageDraft` calls, oldest first. */
  drafts: DraftCall[];
  /** Every API call received, oldest first. */
  calls: ApiCall[];
  /** Every webhook delivery attempt, oldest first. */
  webhookDeliveries: WebhookDelivery[];
  /** How many `getUpdates` requests arrived for known tokens (all bots, failed ones included), so a test can see polling resume. */
  readonly pollCount: number;
  /** Same as `pollCount`. */
  readonly getUpdatesCount: number;
  /** Long polls being held right now (waiting for updates, not stalled). */
  readonly pendingPolls: number;
  /** Polls held by `stall(true)`, never to be answered while the stall lasts. */
  readonly stalledPolls: number;
  /** `getUpdates` requests from the bot with this token (default: the first). */
  pollCountFor(token?: string): number;
  /** Updates queued and not yet confirmed (polling) or delivered (webhook). */
  pendingUpdates(token?: string): number;
  /** Queues a message update for the bot (to its pending poll or webhook) and returns the message. */
  injectMessage(input: InjectMessageInput): Message;
  /** Makes a chat known without a message, as when a person started the bot earlier (positive ids: private chats; negative: groups). */
  addChat(chatId: number): void;
  /** Keeps a file for `getFile` and `GET /file/bot<token>/<file_path>`; returns its file_id (put it in a photo or document of an injected update). */
  addFile(bytes: Uint8Array, name?: string): string;
  /** Downloads of files through `/file/bot<token>/…`, oldest first. */
  readonly fileDownloads: string[];
  /**
   * Queues any value as an update, even a malformed one. An object without a numeric `update_id`
   * gets the next one; other values are delivered as they are. It is delivered whatever
   * `allowed_updates` says (Telegram would hold back kinds the bot did not ask for). Message objects
   * in it (with a numeric chat id and message id) are remembered so the bot can reply to them.
   * Returns the update id used.
   */
  injectRawUpdate(value: unknown, token?: string): number;
  /**
   * Queues a failure for the next call(s) of this method (name in any case), for one token or (without
   * `token`) for every bot; `times` repeats it (a large number keeps the method failing until `clearFailures`).
   * Token-specific failures are used before ones for every bot.
   */
  failNext(method: string, failure: FakeFailure, options?: { token?: string; times?: number }): void;
  /** Forgets queued failures: of one method (any token, or only `token`'s), or all of them without arguments. */
  clearFailures(method?: string, token?: string): void;
  /** Destroys every open connection at once, pending long polls and webhook deliveries included. */
  dropConnections(): void;
  /**
   * While on, `getUpdates` requests (and polls already held) are kept open and never answered nor
   * timed out; turning it off handles them as if they had just arrived. Note that grammY's
   * `bot.stop()` itself calls `getUpdates`, so it hangs while the stall lasts.
   */
  stall(on: boolean): void;
  /**
   * While on, the bot (with `token`, or every bot) is deaf: `getUpdates` is answered as usual —
   * held, then `[]` at its timeout — but never with the updates that wait, and webhook pushes stop,
   * while `getWebhookInfo` keeps counting them in `pending_update_count`. Turning it off delivers
   * what waited (to held polls at once).
   */
  deaf(on: boolean, token?: string): void;
  /** Makes a token valid or not (an invalid one gets 401 Unauthorized for every method). A new token adds a bot. */
  setTokenValid(token: string, valid: boolean): void;
  /** Makes a token (default: the first) answer 401 from now on. */
  revokeToken(token?: string): void;
  /** The commands last set with `setMyCommands` for the default scope and language, if any. */
  commandsFor(token?: string): BotCommand[] | undefined;
  /** The bot's webhook, if one is set. */
  webhookFor(token?: string): { url: string; secretToken?: string } | undefined;
  /** Resolves once `predicate()` is true (checked every 5 ms); rejects after `timeoutMs` (default 2,000). */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /**
   * With a number n: resolves with the n-th message sent since start (1 = the first) once it exists.
   * With a predicate: resolves with the first recorded message that matches. Rejects after `timeoutMs` (default 2,000).
   */
  waitForSent(countOrPredicate: number | ((message: SentMessage) => boolean), timeoutMs?: number): Promise<SentMessage>;
  /** Stops listening, destroys every connection and clears every timer. */
  close(): Promise<void>;
}

type ApiParameters = { retry_after?: number; migrate_to_chat_id?: number };
type ApiError = { ok: false; error_code: number; description: string; parameters?: ApiParameters };
type ApiResult = { ok: true; result: unknown; description?: string } | ApiError;

interface QueuedUpdate {
  id: number;
  /** The update's kind (`message`, `callback_query`, …) for `allowed_updates`; undefined for raw updates, which always pass. */
  kind: string | undefined;
  update: unknown;
}

interface PendingPoll {
  bot: BotState;
  response: ServerResponse;
  offset: number;
  limit: number;
  timeoutSeconds: number;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

interface WebhookState {
  url: string;
  secretToken?: string;
  maxConnections: number;
  inFlight: boolean;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

interface BotState {
  token: string;
  user: UserFromGetMe;
  valid: boolean;
  queue: QueuedUpdate[];
  nextUpdateId: number;
  polls: Set<PendingPoll>;
  stalled: Set<PendingPoll>;
  flushScheduled: boolean;
  allowedUpdates: string[] | undefined;
  webhook: WebhookState | undefined;
  commands: Map<string, BotCommand[]>;
  pollCount: number;
  /** See `deaf()`. */
  deaf: boolean;
}

interface ChatRecord {
  chat: Chat;
  nextMessageId: number;
  /** The latest message of each bot in this chat, by token and thread (`token|thread`). */
  lastBotMessage: Map<string, number>;
}

interface StoredMessage {
  message: Message;
  /** The token of the bot that sent it; undefined for messages people sent. */
  botToken?: string;
}

const TOKEN_SHAPE = /^\d{1,20}:[A-Za-z0-9_-]{1,100}$/;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_TEXT_LENGTH = 4096;
const UPDATE_ID_START = 100_000_001;
/** Update kinds Telegram leaves out when `allowed_updates` is empty or was never set. */
const OPT_IN_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document',
  'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);
const DEFAULT_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden: bot was blocked by the user',
  404: 'Not Found',
  409: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
const NOT_MODIFIED =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function ok(result: unknown, description?: string): ApiResult {
  return description === undefined ? { ok: true, result } : { ok: true, result, description };
}

function fail(errorCode: number, description: string, parameters?: ApiParameters): ApiError {
  return parameters === undefined
    ? { ok: false, error_code: errorCode, description }
    : { ok: false, error_code: errorCode, description, parameters };
}

function badRequest(description: string): ApiError {
  return fail(400, `Bad Request: ${description}`);
}

/** An integer parameter given as a number or a numeric string. */
function intParam(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function stringParam(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function boolParam(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** An object or array parameter, given as JSON or (in form bodies) as a JSON string. */
function jsonParam(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return value;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return value;
  }
}

function entitiesParam(value: unknown): MessageEntity[] | undefined {
  const parsed = jsonParam(value);
  if (!Array.isArray(parsed)) return undefined;
  return parsed.filter(
    (item): item is MessageEntity => isRecord(item) && typeof item.type === 'string' && typeof item.offset === 'number' && typeof item.length === 'number',
  );
}

/** An inline keyboard (the only markup Telegram keeps on the returned message). */
function inlineMarkup(value: unknown): InlineKeyboardMarkup | undefined {
  return isRecord(value) && Array.isArray(value.inline_keyboard) ? (value as unknown as InlineKeyboardMarkup) : undefined;
}

function updateKind(update: unknown): string | undefined {
  if (!isRecord(update)) return undefined;
  return Object.keys(update).find((key) => key !== 'update_id');
}

function isAllowed(kind: string | undefined, allowed: string[] | undefined): boolean {
  if (kind === undefined) return true;
  if (allowed === undefined || allowed.length === 0) return !OPT_IN_UPDATES.has(kind);
  return allowed.includes(kind);
}

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1';
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.destroyed || response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function respond(response: ServerResponse, result: ApiResult): void {
  sendJson(response, result.ok ? 200 : result.error_code, result);
}

/** The page Telegram's nginx front end answers with when the Bot API behind it fails. */
function nginxPage(status: number, reason: string): string {
  return `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n`;
}

/** Parses the query string and a JSON or form body into one parameter object, or says why not. */
function readParams(request: IncomingMessage, url: URL, raw: string): { params: Record<string, unknown> } | { error: ApiError } {
  const params: Record<string, unknown> = {};
  for (const [key, value] of url.searchParams) params[key] = value;
  if (raw.trim() === '') return { params };
  const type = String(request.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('multipart/form-data')) {
    return { error: badRequest('multipart/form-data bodies are not supported by the fake Telegram server') };
  }
  if (type.includes('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
    return { params };
  }
  if (type.includes('application/json') || raw.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { error: badRequest("can't parse JSON object") };
    }
    if (!isRecord(parsed)) return { error: badRequest("can't parse JSON object") };
    Object.assign(params, parsed);
  }
  return { params };
}

/** Starts a fake Telegram Bot API server on a random free loopback port. */
export async function startFakeTelegramServer(options: FakeTelegramServerOptions = {}): Promise<FakeTelegramServer> {
  const maxRecorded = options.maxRecorded ?? 10_000;
  const maxQueued = options.maxQueuedUpdates ?? 10_000;
  const maxPollSeconds = options.maxPollSeconds ?? 60;
  const strictAmpersand = options.strictHtmlAmpersand ?? true;
  const requireKnownChats = options.requireKnownChats ?? true;
  const validateReplyTargets = options.validateReplyTargets ?? true;
  const webhookRetryMs = options.webhookRetryMs ?? 100;
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 5_000;

  const bots = new Map<string, BotState>();
  const chats = new Map<number, ChatRecord>();
  const files = new Map<string, { bytes: Uint8Array; path: string }>();
  const fileDownloads: string[] = [];
  const messages = new Map<string, StoredMessage>();
  const failures = new Map<string, { failure: FakeFailure; remaining: number }[]>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<(error: Error) => void>();
  const sleepers = new Set<() => void>();
  const sockets = new Set<Socket>();
  const outgoing = new Set<ClientRequest>();
  const sent: SentMessage[] = [];
  const chatActions: ChatActionCall[] = [];
  const drafts: DraftCall[] = [];
  const calls: ApiCall[] = [];
  const webhookDeliveries: WebhookDelivery[] = [];
  let sentTotal = 0;
  let sentDropped = 0;
  let totalPolls = 0;
  let stalled = false;
  let closed = false;

  /** Runs `fn` after `ms` on a timer that `close()` clears. */
  function later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  }

  /** Waits `ms`; ends early (resolving) when the server closes. */
  function pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        sleepers.delete(done);
        cancel(timer);
        resolve();
      };
      const timer = later(done, ms);
      sleepers.add(done);
    });
  }

  function cancel(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(timer);
  }

  function record<T>(list: T[], item: T): void {
    if (list.length >= maxRecorded) {
      const removed = list.splice(0, Math.max(1, Math.floor(maxRecorded / 10)));
      if (list === (sent as unknown[])) sentDropped += removed.length;
    }
    list.push(item);
  }

  function addBot(token: string, username: string): BotState {
    const botId = Number(token.split(':')[0]);
    const state: BotState = {
      token,
      user: {
        id: botId,
        is_bot: true,
        first_name: 'Hearth Test',
        username,
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
        has_topics_enabled: false,
        allows_users_to_create_topics: false,
        can_manage_bots: false,
        supports_join_request_queries: false,
      },
      valid: true,
      queue: [],
      nextUpdateId: UPDATE_ID_START,
      polls: new Set(),
      stalled: new Set(),
      flushScheduled: false,
      allowedUpdates: undefined,
      webhook: undefined,
      commands: new Map(),
      pollCount: 0,
      deaf: false,
    };
    bots.set(token, state);
    return state;
  }

  const tokenList = [...(options.token === undefined ? [] : [options.token]), ...(options.tokens ?? [])];
  if (tokenList.length === 0) tokenList.push(DEFAULT_FAKE_TELEGRAM_TOKEN);
  for (const [index, token] of tokenList.entries()) {
    if (!TOKEN_SHAPE.test(token)) throw new Error(`fake Telegram server: "${token}" is not shaped like a bot token (<digits>:<characters>)`);
    if (bots.has(token)) continue;
    addBot(token, index === 0 ? (options.botUsername ?? 'hearth_test_bot') : `hearth_test_${index + 1}_bot`);
  }

  function botFor(token: string | undefined): BotState {
    const state = bots.get(token ?? tokenList[0] ?? '');
    if (state === undefined) throw new Error(`fake Telegram server: no bot with token ${String(token)}`);
    return state;
  }

  // ---- Chats and messages ----

  function messageKey(chatId: number, messageId: number): string {
    return `${chatId}:${messageId}`;
  }

  function remember(message: Message, botToken?: string): void {
    const key = messageKey(message.chat.id, message.message_id);
    messages.delete(key);
    if (messages.size >= maxRecorded) {
      const oldest = messages.keys().next();
      if (oldest.done !== true) messages.delete(oldest.value);
    }
    messages.set(key, botToken === undefined ? { message } : { message, botToken });
  }

  function chatRecord(chat: Chat): ChatRecord {
    const existing = chats.get(chat.id);
    if (existing !== undefined) {
      existing.chat = chat;
      return existing;
    }
    const created: ChatRecord = { chat, nextMessageId: 1, lastBotMessage: new Map() };
    chats.set(chat.id, created);
    return created;
  }

  function takeMessageId(chat: ChatRecord, atLeast = 0): number {
    const id = Math.max(chat.nextMessageId, atLeast);
    chat.nextMessageId = id + 1;
    return id;
  }

  /** The chat a `chat_id` names; unknown numeric ids are made up only when `requireKnownChats` is false. */
  function resolveChat(value: unknown): ChatRecord | ApiError {
    if (value === undefined || value === null || value === '') return badRequest('chat_id is empty');
    if (typeof value === 'string' && value.startsWith('@')) {
      const username = value.slice(1).toLowerCase();
      for (const record of chats.values()) {
        if (record.chat.username?.toLowerCase() === username) return record;
      }
      return badRequest('chat not found');
    }
    const id = intParam(value);
    if (id === undefined || id === 0) return badRequest('chat not found');
    const known = chats.get(id);
    if (known !== undefined) return known;
    if (requireKnownChats) return badRequest('chat not found');
    const chat: Chat =
      id > 0
        ? { id, type: 'private', first_name: 'User' }
        : id < -1_000_000_000_000
          ? { id, type: 'supergroup', title: `Test supergroup ${id}` }
          : { id, type: 'group', title: `Test group ${id}` };
    return chatRecord(chat);
  }

  function asReply(message: Message): NonNullable<Message['reply_to_message']> {
    return { ...message, reply_to_message: undefined };
  }

  // ---- Update queue, long polling, webhooks ----

  function enqueue(bot: BotState, update: unknown, id: number, raw: boolean): void {
    bot.queue.push({ id, kind: raw ? undefined : updateKind(update), update });
    if (bot.queue.length > maxQueued) bot.queue.splice(0, bot.queue.length - maxQueued);
    if (bot.webhook !== undefined) pumpWebhook(bot);
    else scheduleFlush(bot);
  }

  /** Drops updates the client confirmed: with a positive offset those before it, with a negative one all but the last -offset. */
  function confirm(bot: BotState, offset: number): void {
    if (offset > 0) {
      let count = 0;
      while (count < bot.queue.length && (bot.queue[count]?.id ?? offset) < offset) count += 1;
      if (count > 0) bot.queue.splice(0, count);
    } else if (offset < 0 && bot.queue.length > -offset) {
      bot.queue.splice(0, bot.queue.length + offset);
    }
  }

  function deliverable(bot: BotState, limit: number): unknown[] {
    const result: unknown[] = [];
    if (bot.deaf) return result;
    for (const item of bot.queue) {
      if (result.length >= limit) break;
      if (isAllowed(item.kind, bot.allowedUpdates)) result.push(item.update);
    }
    return result;
  }

  function finishPoll(poll: PendingPoll, result: ApiResult): void {
    if (poll.done) return;
    poll.done = true;
    cancel(poll.timer);
    poll.timer = undefined;
    poll.bot.polls.delete(poll);
    poll.bot.stalled.delete(poll);
    respond(poll.response, result);
  }

  function webhookActive(): ApiError {
    return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  }

  /** Handles a poll that just arrived (or was just released from a stall). */
  function admitPoll(poll: PendingPoll): void {
    const bot = poll.bot;
    if (bot.webhook !== undefined) {
      finishPoll(poll, webhookActive());
      return;
    }
    confirm(bot, poll.offset);
    for (const other of [...bot.polls]) {
      if (other !== poll) finishPoll(other, fail(409, DEFAULT_DESCRIPTIONS[409] ?? 'Conflict'));
    }
    if (stalled) {
      bot.stalled.add(poll);
      return;
    }
    const ready = deliverable(bot, poll.limit);
    if (ready.length > 0 || poll.timeoutSeconds <= 0) {
      finishPoll(poll, ok(ready));
      return;
    }
    bot.polls.add(poll);
    poll.timer = later(() => finishPoll(poll, ok([])), poll.timeoutSeconds * 1000);
  }

  /** Answers a held poll once updates are queued (batched: updates injected together arrive together). */
  function scheduleFlush(bot: BotState): void {
    if (bot.flushScheduled || closed) return;
    bot.flushScheduled = true;
    // setImmediate, not a 0 ms timer (which waits at least 1 ms): updates injected in the same
    // turn of the event loop still arrive together, without adding a millisecond to every one.
    setImmediate(() => {
      bot.flushScheduled = false;
      if (closed) return;
      for (const poll of [...bot.polls]) {
        const ready = deliverable(bot, poll.limit);
        if (ready.length > 0) finishPoll(poll, ok(ready));
      }
    });
  }

  function getUpdates(bot: BotState, params: Record<string, unknown>, response: ServerResponse): void {
    if (bot.webhook !== undefined) {
      respond(response, webhookActive());
      return;
    }
    const allowed = jsonParam(params.allowed_updates);
    if (Array.isArray(allowed)) bot.allowedUpdates = allowed.filter((item): item is string => typeof item === 'string');
    const poll: PendingPoll = {
      bot,
      response,
      offset: intParam(params.offset) ?? 0,
      limit: Math.min(100, Math.max(1, intParam(params.limit) ?? 100)),
      timeoutSeconds: Math.min(maxPollSeconds, Math.max(0, intParam(params.timeout) ?? 0)),
      timer: undefined,
      done: false,
    };
    response.on('close', () => {
      if (poll.done) return;
      poll.done = true;
      cancel(poll.timer);
      bot.polls.delete(poll);
      bot.stalled.delete(poll);
    });
    admitPoll(poll);
  }

  function describeNetworkError(error: unknown): string {
    const code = isRecord(error) ? error.code : undefined;
    if (code === 'ECONNREFUSED') return 'Connection refused';
    if (code === 'ECONNRESET') return 'Connection reset by peer';
    return error instanceof Error ? error.message : String(error);
  }

  type DeliveryOutcome = { ok: true; status: number; reply: unknown } | { ok: false; status?: number; error: string };

  function postUpdate(hook: WebhookState, body: string): Promise<DeliveryOutcome> {
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      if (hook.secretToken !== undefined) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
      let settled = false;
      const settle = (outcome: DeliveryOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const request = httpRequest(hook.url, { method: 'POST', headers, agent: false, timeout: webhookTimeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => settle({ ok: false, error: describeNetworkError(error) }));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            settle({ ok: false, status, error: `Wrong response from the webhook: ${status} ${response.statusMessage ?? ''}`.trim() });
            return;
          }
          let reply: unknown;
          try {
            reply = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reply = undefined;
          }
          settle({ ok: true, status, reply });
        });
      });
      outgoing.add(request);
      request.on('close', () => {
        outgoing.delete(request);
        settle({ ok: false, error: 'Connection closed' });
      });
      request.on('timeout', () => request.destroy(new Error('Read timeout expired')));
      request.on('error', (error) => settle({ ok: false, error: describeNetworkError(error) }));
      request.end(body);
    });
  }

  /** Delivers the bot's queued updates to its webhook one at a time, retrying a failed one. */
  function pumpWebhook(bot: BotState): void {
    const hook = bot.webhook;
    if (hook === undefined || hook.inFlight || hook.retryTimer !== undefined || closed || bot.deaf) return;
    while (bot.queue.length > 0 && !isAllowed(bot.queue[0]?.kind, bot.allowedUpdates)) bot.queue.shift();
    const item = bot.queue[0];
    if (item === undefined) return;
    hook.inFlight = true;
    void postUpdate(hook, JSON.stringify(item.update)).then((outcome) => {
      hook.inFlight = false;
      if (closed || bot.webhook !== hook) return;
      record(webhookDeliveries, {
        token: bot.token,
        url: hook.url,
        updateId: item.id,
        ...(outcome.status === undefined ? {} : { status: outcome.status }),
        ok: outcome.ok,
        ...(outcome.ok ? {} : { error: outcome.error }),
        at: Date.now(),
      });
      if (outcome.ok) {
        const index = bot.queue.indexOf(item);
        if (index >= 0) bot.queue.splice(index, 1);
        hook.failures = 0;
        if (isRecord(outcome.reply) && typeof outcome.reply.method === 'string') {
          const { method, ...params } = outcome.reply;
          record(calls, { token: bot.token, method, params, viaWebhookReply: true, at: Date.now() });
          if (method.toLowerCase() !== 'getupdates') callMethod(bot, method.toLowerCase(), params);
        }
        pumpWebhook(bot);
        return;
      }
      hook.failures += 1;
      hook.lastErrorDate = nowSeconds();
      hook.lastErrorMessage = outcome.error;
      const delay = Math.min(webhookRetryMs * 2 ** Math.min(hook.failures - 1, 10), 2_000);
      hook.retryTimer = later(() => {
        hook.retryTimer = undefined;
        pumpWebhook(bot);
      }, delay);
    });
  }

  function removeWebhook(bot: BotState): boolean {
    const hook = bot.webhook;
    if (hook === undefined) return false;
    cancel(hook.retryTimer);
    hook.retryTimer = undefined;
    bot.webhook = undefined;
    return true;
  }

  // ---- API methods ----

  function setWebhook(bot: BotState, params: Record<string, unknown>): ApiResult {
    const rawUrl = stringParam(params.url)?.trim() ?? '';
    if (boolParam(params.drop_pending_updates)) bot.queue.length = 0;
    if (rawUrl === '') {
      return ok(true, removeWebhook(bot) ? 'Webhook was deleted' : 'Webhook is already deleted');
    }
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return badRequest('bad webhook: Failed to resolve host: Name or service not known');
    }
    if (url.protocol !== 'http:' || !isLoopback(url.hostname)) {
      return badRequest('bad webhook: the fake Telegram server delivers only to http:// loopback URLs (127.0.0.1, localhost, [::1])');
    }
    const secret = stringParam(params.secret_token);
    if (secret !== undefined && secret !== '' && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
      return badRequest('bad webhook: secret token contains unallowed characters');
    }
    const allowed = jsonParam(params.allowed_updates);
    if (Array.isArray(allowed)) bot.allowedUpdates = allowed.filter((item): item is string => typeof item === 'string');
    const previous = bot.webhook;
    const same = previous !== undefined && previous.url === url.href && previous.secretToken === (secret || undefined);
    removeWebhook(bot);
    bot.webhook = {
      url: url.href,
      ...(secret ? { secretToken: secret } : {}),
      maxConnections: intParam(params.max_connections) ?? 40,
      inFlight: false,
      failures: 0,
      retryTimer: undefined,
    };
    for (const poll of [...bot.polls]) finishPoll(poll, fail(409, 'Conflict: terminated by setWebhook request'));
    pumpWebhook(bot);
    return ok(true, same ? 'Webhook is already set' : 'Webhook was set');
  }

  function webhookInfo(bot: BotState): WebhookInfo {
    const hook = bot.webhook;
    const info: WebhookInfo = { url: hook?.url ?? '', has_custom_certificate: false, pending_update_count: bot.queue.length };
    if (hook === undefined) return info;
    return {
      ...info,
      ip_address: '127.0.0.1',
      max_connections: hook.maxConnections,
      ...(hook.lastErrorDate === undefined ? {} : { last_error_date: hook.lastErrorDate, last_error_message: hook.lastErrorMessage ?? '' }),
      ...(bot.allowedUpdates === undefined || bot.allowedUpdates.length === 0
        ? {}
        : { allowed_updates: bot.allowedUpdates as NonNullable<WebhookInfo['allowed_updates']> }),
    };
  }

  /** Reads `text` + `parse_mode`/`entities` like Telegram, with its emptiness and length limits. */
  function readText(
    params: Record<string, unknown>,
    tooLong: string,
  ): { text: string; renderedText: string; entities: MessageEntity[]; parseMode?: string } | ApiError {
    const text = stringParam(params.text);
    if (text === undefined || text === '') return badRequest('message text is empty');
    const parseMode = stringParam(params.parse_mode);
    const formatted = formatMessageText(text, parseMode, entitiesParam(params.entities), { strictAmpersand });
    if (!formatted.ok) return fail(400, formatted.description);
    if (formatted.text.length === 0) return badRequest('message text is empty');
    if (formatted.text.length > MAX_TEXT_LENGTH) return fail(400, tooLong);
    return {
      text,
      renderedText: formatted.text,
      entities: formatted.entities,
      ...(parseMode === undefined || parseMode === '' ? {} : { parseMode }),
    };
  }

  function sendMessage(bot: BotState, params: Record<string, unknown>): ApiResult {
    const chat = resolveChat(params.chat_id);
    if ('ok' in chat) return chat;
    const content = readText(params, 'Bad Request: message is too long');
    if ('ok' in content) return content;
    const threadId = intParam(params.message_thread_id);
    const replyParameters = jsonParam(params.reply_parameters);
    const replyId = isRecord(replyParameters) ? intParam(replyParameters.message_id) : intParam(params.reply_to_message_id);
    const allowWithoutReply = isRecord(replyParameters)
      ? boolParam(replyParameters.allow_sending_without_reply)
      : boolParam(params.allow_sending_without_reply);
    const replyChatId = isRecord(replyParameters) && replyParameters.chat_id !== undefined ? intParam(replyParameters.chat_id) : chat.chat.id;
    let replyTo: Message | undefined;
    if (replyId !== undefined) {
      replyTo = messages.get(messageKey(replyChatId ?? chat.chat.id, replyId))?.message;
      if (replyTo === undefined && validateReplyTargets && !allowWithoutReply) return badRequest('message to be replied not found');
    }
    const linkPreviewOptions = jsonParam(params.link_preview_options);
    const replyMarkup = jsonParam(params.reply_markup);
    const keyboard = inlineMarkup(replyMarkup);
    const messageId = takeMessageId(chat);
    const forum = chat.chat.type === 'supergroup' && chat.chat.is_forum === true;
    const message: Message.TextMessage = {
      message_id: messageId,
      from: { id: bot.user.id, is_bot: true, first_name: bot.user.first_name, username: bot.user.username },
      chat: chat.chat,
      date: nowSeconds(),
      text: content.renderedText,
      ...(content.entities.length > 0 ? { entities: content.entities } : {}),
      ...(threadId !== undefined ? { message_thread_id: threadId, ...(forum ? { is_topic_message: true } : {}) } : {}),
      ...(replyTo !== undefined ? { reply_to_message: asReply(replyTo) } : {}),
      ...(isRecord(linkPreviewOptions) ? { link_preview_options: linkPreviewOptions } : {}),
      ...(keyboard === undefined ? {} : { reply_markup: keyboard }),
    };
    remember(message, bot.token);
    chat.lastBotMessage.set(`${bot.token}|${threadId ?? ''}`, messageId);
    chat.lastBotMessage.set(`${bot.token}|*`, messageId);
    sentTotal += 1;
    record(sent, {
      method: 'sendMessage',
      token: bot.token,
      chatId: chat.chat.id,
      text: content.text,
      renderedText: content.renderedText,
      entities: content.entities,
      ...(content.parseMode === undefined ? {} : { parseMode: content.parseMode }),
      ...(threadId === undefined ? {} : { messageThreadId: threadId }),
      ...(replyId === undefined ? {} : { replyToMessageId: replyId }),
      messageId,
      ...(linkPreviewOptions === undefined ? {} : { linkPreviewOptions }),
      ...(replyMarkup === undefined ? {} : { replyMarkup }),
      at: Date.now(),
    });
    return ok(message);
  }

  function editMessageText(bot: BotState, params: Record<string, unknown>): ApiResult {
    if (params.inline_message_id !== undefined) {
      const content = readText(params, 'Bad Request: MESSAGE_TOO_LONG');
      return 'ok' in content ? content : ok(true);
    }
    const chat = resolveChat(params.chat_id);
    if ('ok' in chat) return chat;
    const messageId = intParam(params.message_id);
    if (messageId === undefined) return badRequest('message identifier is not specified');
    const stored = messages.get(messageKey(chat.chat.id, messageId));
    if (stored === undefined) return badRequest('message to edit not found');
    if (stored.botToken !== bot.token) return badRequest("message can't be edited");
    const content = readText(params, 'Bad Request: MESSAGE_TOO_LONG');
    if ('ok' in content) return content;
    const replyMarkup = jsonParam(params.reply_markup);
    const keyboard = inlineMarkup(replyMarkup);
    const previous = stored.message;
    const sameText = previous.text === content.renderedText && JSON.stringify(previous.entities ?? []) === JSON.stringify(content.entities);
    const sameMarkup = JSON.stringify(previous.reply_markup ?? null) === JSON.stringify(keyboard ?? null);
    if (sameText && sameMarkup) return fail(400, NOT_MODIFIED);
    const { entities: _oldEntities, reply_markup: _oldMarkup, ...rest } = previous;
    const edited: Message = {
      ...rest,
      text: content.renderedText,
      ...(content.entities.length > 0 ? { entities: content.entities } : {}),
      ...(keyboard === undefined ? {} : { reply_markup: keyboard }),
      edit_date: nowSeconds(),
    };
    remember(edited, bot.token);
    sentTotal += 1;
    record(sent, {
      method: 'editMessageText',
      token: bot.token,
      chatId: chat.chat.id,
      text: content.text,
      renderedText: content.renderedText,
      entities: content.entities,
      ...(content.parseMode === undefined ? {} : { parseMode: content.parseMode }),
      ...(previous.message_thread_id === undefined ? {} : { messageThreadId: previous.message_thread_id }),
      messageId,
      ...(replyMarkup === undefined ? {} : { replyMarkup }),
      at: Date.now(),
    });
    return ok(edited);
  }

  function sendChatAction(bot: BotState, params: Record<string, unknown>): ApiResult {
    const chat = resolveChat(params.chat_id);
    if ('ok' in chat) return chat;
    const action = stringParam(params.action) ?? '';
    if (!CHAT_ACTIONS.has(action)) return badRequest('wrong parameter action in request');
    const threadId = intParam(params.message_thread_id);
    record(chatActions, {
      token: bot.token,
      chatId: chat.chat.id,
      action,
      ...(threadId === undefined ? {} : { messageThreadId: threadId }),
      at: Date.now(),
    });
    return ok(true);
  }

  function sendMessageDraft(bot: BotState, params: Record<string, unknown>): ApiResult {
    const chat = resolveChat(params.chat_id);
    if ('ok' in chat) return chat;
    const draftId = intParam(params.draft_id);
    if (draftId === undefined || draftId === 0) return badRequest('draft_id must be non-zero');
    const content = readText(params, 'Bad Request: message is too long');
    if ('ok' in content) return content;
    const threadId = intParam(params.message_thread_id);
    record(drafts, {
      token: bot.token,
      chatId: chat.chat.id,
      draftId,
      text: content.text,
      renderedText: content.renderedText,
      ...(content.parseMode === undefined ? {} : { parseMode: content.parseMode }),
      ...(threadId === undefined ? {} : { messageThreadId: threadId }),
      at: Date.now(),
    });
    return ok(true);
  }

  function commandsKey(params: Record<string, unknown>): string {
    const scope = jsonParam(params.scope);
    const scopeKey = isRecord(scope) ? `${String(scope.type)}:${String(scope.chat_id ?? '')}:${String(scope.user_id ?? '')}` : 'default::';
    return `${scopeKey}|${stringParam(params.language_code) ?? ''}`;
  }

  function setMyCommands(bot: BotState, params: Record<string, unknown>): ApiResult {
    const commands = jsonParam(params.commands);
    if (!Array.isArray(commands)) return badRequest('parameter "commands" is required');
    if (commands.length > 100) return badRequest('BOT_COMMANDS_TOO_MUCH');
    const valid: BotCommand[] = [];
    for (const entry of commands) {
      if (!isRecord(entry) || typeof entry.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(entry.command.replace(/^\//, ''))) {
        return badRequest('BOT_COMMAND_INVALID');
      }
      if (typeof entry.description !== 'string' || entry.description.trim().length === 0 || entry.description.length > 256) {
        return badRequest('command description must be non-empty');
      }
      valid.push({ command: entry.command.replace(/^\//, ''), description: entry.description });
    }
    bot.commands.set(commandsKey(params), valid);
    return ok(true);
  }

  function getChat(params: Record<string, unknown>): ApiResult {
    const chat = resolveChat(params.chat_id);
    if ('ok' in chat) return chat;
    return ok({ ...chat.chat, accent_color_id: 0, max_reaction_count: 11, accepted_gift_types: {
      unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false, gifts_from_channels: false,
    } });
  }

  function deleteMessage(bot: BotState, params: Record<string, unknown>): ApiResult {
    const chat = resolveChat(params.chat_id);
    if ('ok' in chat) return chat;
    const messageId = intParam(params.message_id);
    if (messageId === undefined) return badRequest('message identifier is not specified');
    const key = messageKey(chat.chat.id, messageId);
    const stored = messages.get(key);
    if (stored === undefined) return badRequest('message to delete not found');
    if (stored.botToken !== bot.token && chat.chat.type === 'private') return badRequest("message can't be deleted for everyone");
    messages.delete(key);
    return ok(true);
  }

  /** Runs one API method (name lower-cased) other than getUpdates. */
  function callMethod(bot: BotState, method: string, params: Record<string, unknown>): ApiResult {
    switch (method) {
      case 'getme':
        return ok(bot.user);
      case 'getfile': {
        const file = files.get(String(params.file_id));
        if (!file) return badRequest('invalid file_id');
        return ok({ file_id: String(params.file_id), file_unique_id: `u${String(params.file_id)}`, file_size: file.bytes.byteLength, file_path: file.path });
      }
      case 'logout':
      case 'close':
        return ok(true);
      case 'deletewebhook': {
        if (boolParam(params.drop_pending_updates)) bot.queue.length = 0;
        const removed = removeWebhook(bot);
        return ok(true, removed ? 'Webhook was deleted' : 'Webhook is already deleted');
      }
      case 'setwebhook':
        return setWebhook(bot, params);
      case 'getwebhookinfo':
        return ok(webhookInfo(bot));
      case 'sendmessage':
        return sendMessage(bot, params);
      case 'editmessagetext':
        return editMessageText(bot, params);
      case 'deletemessage':
        return deleteMessage(bot, params);
      case 'sendchataction':
        return sendChatAction(bot, params);
      case 'sendmessagedraft':
        return sendMessageDraft(bot, params);
      case 'setmycommands':
        return setMyCommands(bot, params);
      case 'getmycommands':
        return ok(bot.commands.get(commandsKey(params)) ?? []);
      case 'deletemycommands':
        bot.commands.delete(commandsKey(params));
        return ok(true);
      case 'getchat':
        return getChat(params);
      case 'setmessagereaction':
      case 'answercallbackquery':
        return ok(true);
      default:
        return fail(404, 'Not Found: method not found');
    }
  }

  // ---- Scripted failures ----

  function failureKey(token: string | undefined, method: string): string {
    return `${token ?? '*'}|${method.toLowerCase()}`;
  }

  function takeFailure(token: string, method: string): FakeFailure | undefined {
    for (const key of [failureKey(token, method), failureKey(undefined, method)]) {
      const queue = failures.get(key);
      const next = queue?.[0];
      if (queue === undefined || next === undefined) continue;
      next.remaining -= 1;
      if (next.remaining <= 0) queue.shift();
      if (queue.length === 0) failures.delete(key);
      return next.failure;
    }
    return undefined;
  }

  function sendFailure(response: ServerResponse, failure: FakeHttpFailure): void {
    const status = failure.status;
    const html = failure.body === 'html' || (failure.body === undefined && status >= 502 && status <= 504);
    if (html) {
      const text = nginxPage(status, (DEFAULT_DESCRIPTIONS[status] ?? 'Error').replace(/:.*$/, ''));
      response.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text) });
      response.end(text);
      return;
    }
    if (status === 429) {
      const seconds = failure.retryAfter ?? 1;
      respond(response, fail(429, failure.description ?? `Too Many Requests: retry after ${seconds}`, { retry_after: seconds }));
      return;
    }
    if (failure.migrateToChatId !== undefined) {
      respond(
        response,
        fail(status, failure.description ?? 'Bad Request: group chat was upgraded to a supergroup chat', {
          migrate_to_chat_id: failure.migrateToChatId,
        }),
      );
      return;
    }
    respond(response, fail(status, failure.description ?? DEFAULT_DESCRIPTIONS[status] ?? 'Error'));
  }

  // ---- HTTP ----

  /** `GET /file/bot<token>/<file_path>`: the bytes of a file added with `addFile`, as Telegram serves downloads. */
  function serveFile(url: URL, response: ServerResponse): boolean {
    const match = /^\/file\/bot([^/]+)\/(.+)$/u.exec(url.pathname);
    if (!match) return false;
    const file = [...files.values()].find((entry) => entry.path === decodeURIComponent(match[2] as string));
    if (!bots.has(decodeURIComponent(match[1] as string)) || !file) {
      response.writeHead(404).end();
      return true;
    }
    fileDownloads.push(file.path);
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.byteLength }).end(file.bytes);
    return true;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (serveFile(url, response)) return;
    const match = /^\/bot([^/]*)\/(?:test\/)?([A-Za-z0-9_]+)\/?$/.exec(url.pathname);
    const raw = await readBody(request);
    if (raw === undefined) {
      respond(response, fail(413, 'Request Entity Too Large'));
      return;
    }
    const token = decodeURIComponent(match?.[1] ?? '');
    const methodName = match?.[2];
    if (methodName === undefined || !TOKEN_SHAPE.test(token)) {
      respond(response, fail(404, 'Not Found'));
      return;
    }
    const parsed = readParams(request, url, raw);
    const params = 'params' in parsed ? parsed.params : {};
    record(calls, { token, method: methodName, params, at: Date.now() });
    const bot = bots.get(token);
    const method = methodName.toLowerCase();
    if (bot !== undefined && method === 'getupdates') {
      bot.pollCount += 1;
      totalPolls += 1;
    }
    if (bot === undefined || !bot.valid) {
      respond(response, fail(401, 'Unauthorized'));
      return;
    }
    if ('error' in parsed) {
      respond(response, parsed.error);
      return;
    }
    const failure = takeFailure(token, method);
    if (failure !== undefined) {
      if ('reset' in failure) {
        request.socket.destroy();
        return;
      }
      if ('delayMs' in failure) {
        await pause(failure.delayMs);
        if (closed || response.destroyed) return;
      } else {
        sendFailure(response, failure);
        return;
      }
    }
    if (method === 'getupdates') getUpdates(bot, params, response);
    else respond(response, callMethod(bot, method, params));
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) respond(response, fail(500, `Internal Server Error: ${String(error)}`));
      else response.destroy();
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
  const { port } = server.address() as AddressInfo;
  const apiRoot = `http://127.0.0.1:${port}`;
  const first = botFor(undefined);

  // ---- Scripting API ----

  function injectMessage(input: InjectMessageInput): Message {
    const bot = botFor(input.token);
    const from: User = {
      id: input.from.id,
      is_bot: input.from.is_bot ?? false,
      first_name: input.from.first_name ?? 'Test',
      ...(input.from.last_name === undefined ? {} : { last_name: input.from.last_name }),
      ...(input.from.username === undefined ? {} : { username: input.from.username }),
      language_code: input.from.language_code ?? 'en',
    };
    const known = chats.get(input.chatId)?.chat;
    const title = input.chatTitle ?? (known !== undefined && 'title' in known && typeof known.title === 'string' ? known.title : undefined);
    const threadId = input.messageThreadId;
    let chat: Chat;
    if (input.chatType === 'private') {
      chat = {
        id: input.chatId,
        type: 'private',
        first_name: from.first_name,
        ...(from.last_name === undefined ? {} : { last_name: from.last_name }),
        ...(from.username === undefined ? {} : { username: from.username }),
      };
    } else if (input.chatType === 'group') {
      chat = { id: input.chatId, type: 'group', title: title ?? `Test group ${input.chatId}` };
    } else {
      const forum = threadId !== undefined || (known?.type === 'supergroup' && known.is_forum === true);
      chat = { id: input.chatId, type: 'supergroup', title: title ?? `Test supergroup ${input.chatId}`, ...(forum ? { is_forum: true } : {}) };
    }
    const record = chatRecord(chat);

    let text = input.text;
    let entities: MessageEntity[];
    if (input.mentionBot === true) {
      const prefix = `@${bot.user.username} `;
      text = prefix + text;
      const mention: MessageEntity = { type: 'mention', offset: 0, length: prefix.length - 1 };
      entities =
        input.entities === undefined
          ? detectEntities(text)
          : [mention, ...input.entities.map((entity) => ({ ...entity, offset: entity.offset + prefix.length }))];
    } else {
      entities = input.entities ?? detectEntities(text);
    }

    let replyTo: Message | undefined;
    if (input.replyToMessageId !== undefined) {
      replyTo = messages.get(messageKey(chat.id, input.replyToMessageId))?.message;
      if (replyTo === undefined) throw new Error(`fake Telegram server: chat ${chat.id} has no message ${input.replyToMessageId} to reply to`);
    } else if (input.replyToBot === true) {
      const lastId = record.lastBotMessage.get(`${bot.token}|${threadId ?? ''}`) ?? (threadId === undefined ? record.lastBotMessage.get(`${bot.token}|*`) : undefined);
      replyTo = lastId === undefined ? undefined : messages.get(messageKey(chat.id, lastId))?.message;
      if (replyTo === undefined) {
        const madeUp: Message.TextMessage = {
          message_id: takeMessageId(record),
          from: { id: bot.user.id, is_bot: true, first_name: bot.user.first_name, username: bot.user.username },
          chat,
          date: nowSeconds() - 60,
          text: 'An earlier answer from the bot.',
          ...(threadId === undefined ? {} : { message_thread_id: threadId, is_topic_message: true }),
        };
        remember(madeUp, bot.token);
        record.lastBotMessage.set(`${bot.token}|${threadId ?? ''}`, madeUp.message_id);
        replyTo = madeUp;
      }
    } else if (threadId !== undefined) {
      const topicStart: Message.ForumTopicCreatedMessage = {
        message_id: threadId,
        from,
        chat,
        date: nowSeconds() - 3600,
        message_thread_id: threadId,
        is_topic_message: true,
        forum_topic_created: { name: `Topic ${threadId}`, icon_color: 7_322_096 },
      };
      replyTo = topicStart;
    }

    const message: Message.TextMessage = {
      message_id: takeMessageId(record, threadId === undefined ? 0 : threadId + 1),
      from,
      chat,
      date: input.date ?? nowSeconds(),
      text,
      ...(entities.length > 0 ? { entities } : {}),
      ...(threadId === undefined ? {} : { message_thread_id: threadId, is_topic_message: true }),
      ...(replyTo === undefined ? {} : { reply_to_message: asReply(replyTo) }),
    };
    remember(message);
    const updateId = bot.nextUpdateId;
    bot.nextUpdateId += 1;
    enqueue(bot, { update_id: updateId, message }, updateId, false);
    return message;
  }

  /** Remembers message objects inside a raw update so replies to them are accepted. */
  function rememberMessagesIn(value: unknown): void {
    if (!isRecord(value)) return;
    for (const inner of Object.values(value)) {
      if (!isRecord(inner)) continue;
      const chat = inner.chat;
      if (typeof inner.message_id === 'number' && isRecord(chat) && typeof chat.id === 'number' && typeof chat.type === 'string') {
        const record = chatRecord(chat as unknown as Chat);
        record.nextMessageId = Math.max(record.nextMessageId, inner.message_id + 1);
        remember(inner as unknown as Message);
      }
    }
  }

  function injectRawUpdate(value: unknown, token?: string): number {
    const bot = botFor(token);
    rememberMessagesIn(value);
    let id: number;
    let update = value;
    if (isRecord(value) && typeof value.update_id === 'number') {
      id = value.update_id;
      bot.nextUpdateId = Math.max(bot.nextUpdateId, id + 1);
    } else {
      id = bot.nextUpdateId;
      bot.nextUpdateId += 1;
      if (isRecord(value)) update = { update_id: id, ...value };
    }
    enqueue(bot, update, id, true);
    return id;
  }

  function waitFor(predicate: () => boolean, timeoutMs = 2_000, what = 'condition'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (predicate()) {
        resolve();
        return;
      }
      if (closed) {
        reject(new Error('fake Telegram server: closed while waiting'));
        return;
      }
      const deadline = Date.now() + timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const stop = (error: Error | undefined): void => {
        cancel(timer);
        waiters.delete(stop);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = (): void => {
        let done: boolean;
        try {
          done = predicate();
        } catch (error) {
          stop(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (done) stop(undefined);
        else if (Date.now() >= deadline) {
          const recent = sent.slice(-5).map((entry) => `${entry.method} ${entry.chatId}: ${JSON.stringify(entry.text.slice(0, 80))}`);
          stop(new Error(`fake Telegram server: timed out after ${timeoutMs} ms waiting for ${what}; last sent: ${recent.join(' | ') || 'nothing'}`));
        } else timer = later(check, 5);
      };
      waiters.add(stop);
      timer = later(check, 5);
    });
  }

  async function waitForSent(countOrPredicate: number | ((message: SentMessage) => boolean), timeoutMs = 2_000): Promise<SentMessage> {
    let found: SentMessage | undefined;
    const predicate =
      typeof countOrPredicate === 'number'
        ? (): boolean => {
            if (sentTotal < countOrPredicate) return false;
            found = sent[countOrPredicate - 1 - sentDropped] ?? sent.at(-1);
            return true;
          }
        : (): boolean => {
            found = sent.find(countOrPredicate);
            return found !== undefined;
          };
    const what = typeof countOrPredicate === 'number' ? `${countOrPredicate} sent message(s)` : 'a matching sent message';
    await waitFor(predicate, timeoutMs, what);
    if (found === undefined) throw new Error('fake Telegram server: no sent message found');
    return found;
  }

  return {
    apiRoot,
    token: first.token,
    tokens: [...bots.keys()],
    botUser: first.user,
    botUserFor: (token) => botFor(token).user,
    sent,
    chatActions,
    drafts,
    calls,
    webhookDeliveries,
    get pollCount() {
      return totalPolls;
    },
    get getUpdatesCount() {
      return totalPolls;
    },
    get pendingPolls() {
      let count = 0;
      for (const bot of bots.values()) count += bot.polls.size;
      return count;
    },
    get stalledPolls() {
      let count = 0;
      for (const bot of bots.values()) count += bot.stalled.size;
      return count;
    },
    pollCountFor: (token) => botFor(token).pollCount,
    pendingUpdates: (token) => botFor(token).queue.length,
    injectMessage,
    fileDownloads,
    addFile(bytes, name = 'file.bin') {
      const id = `file-${files.size + 1}`;
      files.set(id, { bytes, path: `documents/${id}-${name}` });
      return id;
    },
    addChat(chatId) {
      chatRecord(chatId > 0 ? { id: chatId, type: 'private', first_name: 'User' } : { id: chatId, type: 'group', title: `Test group ${chatId}` });
    },
    injectRawUpdate,
    failNext(method, failure, failOptions = {}) {
      const times = Math.floor(failOptions.times ?? 1);
      if (times < 1) return;
      const key = failureKey(failOptions.token, method);
      const queue = failures.get(key) ?? [];
      queue.push({ failure, remaining: times });
      failures.set(key, queue);
    },
    clearFailures(method, token) {
      if (method === undefined) {
        failures.clear();
        return;
      }
      if (token !== undefined) {
        failures.delete(failureKey(token, method));
        return;
      }
      const suffix = `|${method.toLowerCase()}`;
      for (const key of [...failures.keys()]) if (key.endsWith(suffix)) failures.delete(key);
    },
    dropConnections() {
      for (const bot of bots.values()) {
        for (const poll of [...bot.polls, ...bot.stalled]) {
          poll.done = true;
          cancel(poll.timer);
        }
        bot.polls.clear();
        bot.stalled.clear();
      }
      for (const socket of sockets) socket.destroy();
      for (const request of outgoing) request.destroy(new Error('Connection reset by peer'));
    },
    stall(on) {
      if (on === stalled) return;
      stalled = on;
      for (const bot of bots.values()) {
        if (on) {
          for (const poll of bot.polls) {
            cancel(poll.timer);
            poll.timer = undefined;
            bot.stalled.add(poll);
          }
          bot.polls.clear();
        } else {
          const released = [...bot.stalled];
          bot.stalled.clear();
          for (const poll of released) if (!poll.done) admitPoll(poll);
        }
      }
    },
    deaf(on, token) {
      for (const bot of token === undefined ? bots.values() : [botFor(token)]) {
        if (bot.deaf === on) continue;
        bot.deaf = on;
        if (on) continue;
        if (bot.webhook !== undefined) pumpWebhook(bot);
        else scheduleFlush(bot);
      }
    },
    setTokenValid(token, valid) {
      if (!TOKEN_SHAPE.test(token)) throw new Error(`fake Telegram server: "${token}" is not shaped like a bot token`);
      const bot = bots.get(token) ?? addBot(token, `hearth_test_${bots.size + 1}_bot`);
      bot.valid = valid;
      if (!valid) {
        for (const poll of [...bot.polls]) finishPoll(poll, fail(401, 'Unauthorized'));
      }
    },
    revokeToken(token) {
      const bot = botFor(token);
      bot.valid = false;
      for (const poll of [...bot.polls]) finishPoll(poll, fail(401, 'Unauthorized'));
    },
    commandsFor: (token) => botFor(token).commands.get('default::|'),
    webhookFor(token) {
      const hook = botFor(token).webhook;
      if (hook === undefined) return undefined;
      return hook.secretToken === undefined ? { url: hook.url } : { url: hook.url, secretToken: hook.secretToken };
    },
    waitFor,
    waitForSent,
    close() {
      return new Promise<void>((resolve) => {
        if (closed) {
          resolve();
          return;
        }
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const stop of [...waiters]) stop(new Error('fake Telegram server: closed while waiting'));
        for (const wake of [...sleepers]) wake();
        for (const bot of bots.values()) {
          for (const poll of [...bot.polls, ...bot.stalled]) poll.done = true;
          bot.polls.clear();
          bot.stalled.clear();
          bot.webhook = undefined;
        }
        failures.clear();
        for (const request of outgoing) request.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
    },
  };
}
