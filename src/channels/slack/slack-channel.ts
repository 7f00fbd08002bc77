import { createHmac, timingSafeEqual } from 'node:crypto';
import { subscribe as subscribeDiagnostics, unsubscribe as unsubscribeDiagnostics } from 'node:diagnostics_channel';
import { type Logger, LogLevel, SocketModeClient, type SocketModeOptions } from '@slack/socket-mode';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { AttachmentInfo, Channel, ChannelProbeResult, ChannelRunContext, InboundMessage, OutboundMessage, SendReceipt, WebhookRequest } from '../../contracts/channel.js';
import { ChannelError, isChannelError } from '../../contracts/channel.js';
import { pause, untilAborted } from '../abort-helpers.js';
import { markdownToSlackMrkdwn } from '../markdown.js';

const slackCallCancelled = () => new ChannelError('transient', 'the Slack call was cancelled');

export interface SlackChannelOptions {
  accountId: string;
  /** Bot User OAuth Token (`xoxb-…`): Web API calls (auth.test, chat.postMessage, users.info). */
  botToken: string;
  /** App-level token (`xapp-…`, scope `connections:write`): opens Socket Mode connections (not used in HTTP mode). */
  appToken?: string;
  /** Web API base URL; default https://slack.com/api/. */
  apiRoot?: string;
  /**
   * `socket` (the default): Hearth opens a Socket Mode connection. `http`: Slack POSTs Events API
   * requests to the gateway's `/channels/slack/<accountId>/webhook`, handed to `receiveWebhook`.
   */
  mode?: 'socket' | 'http';
  /** HTTP mode: the app's Signing Secret (Basic Information → App Credentials); every request must be signed with it. */
  signingSecret?: string;
  /** HTTP mode: how often auth.test confirms the bot token still works (the sign of life); default 30 s. */
  checkIntervalMs?: number;
}

/**
 * The longest text Hearth puts in one Slack message. Slack accepts up to 40,000 characters (and
 * truncates beyond), but messages over a few thousand characters are hard to read in the client.
 */
export const SLACK_MAX_MESSAGE = 4000;

const DEFAULT_API_ROOT = 'https://slack.com/api/';
/** The longest one Web API request may take (send, auth.test, apps.connections.open). */
const CALL_TIMEOUT_MS = 30_000;
/** The longest a sender-name lookup (users.info) may delay handing a message over. */
const LOOKUP_TIMEOUT_MS = 5_000;
/** How long `run`/`close` wait for a socket to finish its close handshake before moving on. */
const DISCONNECT_WAIT_MS = 3_000;
/** Messages remembered (channel + ts) to drop the second copy (message + app_mention, redeliveries). */
const SEEN_LIMIT = 2_000;
/** Sender names remembered, and for how long. */
const NAME_CACHE_LIMIT = 1_000;
const NAME_TTL_MS = 3_600_000;
/** Envelopes waiting to be handled; beyond this they are left unacknowledged and Slack sends them again. */
const MAX_QUEUED_ENVELOPES = 1_000;
/** A server-requested reconnect sooner than this after the last one counts as a failure (supervisor backoff). */
const MIN_REFRESH_INTERVAL_MS = 2_000;
/** The frame type a rejected envelope is rewritten to, so the client still builds its acknowledgement. */
const REJECTED_FRAME = 'hearth_rejected_envelope';
/** The frame types Slack sends over Socket Mode; the client re-emits a frame's type as an event, so others are refused. */
const FRAME_TYPES: readonly string[] = ['hello', 'disconnect', 'events_api', 'slash_commands', 'interactive'];
/**
 * The client's own lifecycle event names: it re-emits each event's `type` on itself, so an event
 * named like one of these (e.g. `disconnected`, `authenticated`) would drive its state machine.
 */
const CLIENT_EVENT_NAMES: readonly string[] = [
  'connecting',
  'connected',
  'authenticated',
  'disconnecting',
  'disconnected',
  'reconnecting',
  'close',
  'error',
  'ws_message',
  'slack_event',
  'outgoing_message',
  'unable_to_socket_mode_start',
  REJECTED_FRAME,
];

/** HTTP mode: how far a request's timestamp may be from now before it counts as a replay (Slack's own rule: 5 minutes). */
const MAX_REQUEST_AGE_S = 300;
/** The largest Events API body read: events are a few KiB; 1 MiB leaves room for long messages with blocks. */
const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** HTTP mode: the default pause between two auth.test checks. */
const DEFAULT_CHECK_INTERVAL_MS = 30_000;

/** Message subtypes that are a person writing something; every other subtype (edits, joins, bot posts) is skipped. */
const PERSON_SUBTYPES: readonly string[] = ['file_share', 'thread_broadcast', 'me_message'];
/** Slack error codes that mean the token (or the app's setup) is refused: no retry helps until the config changes. */
const AUTH_ERRORS: readonly string[] = [
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'no_permission',
  'missing_scope',
  'ekm_access_denied',
  'team_access_not_granted',
];
/** Slack error codes for a failure on Slack's side: retry with backoff. */
const TRANSIENT_ERRORS: readonly string[] = ['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** The parts of a `@slack/web-api` error Hearth looks at (checked by `code`, which survives duplicate package copies). */
function slackErrorParts(error: unknown): { code?: string; platformError?: string; retryAfter?: number; statusCode?: number } {
  if (!isRecord(error)) return {};
  const record = error;
  const data = record.data;
  const retryFromData = isRecord(data) && isRecord(data.response_metadata) ? data.response_metadata.retryAfter : undefined;
  const retry = typeof record.retryAfter === 'number' ? record.retryAfter : typeof retryFromData === 'number' ? retryFromData : undefined;
  const platformError = isRecord(data) ? str(data.error) : undefined;
  const code = str(record.code);
  return {
    ...(code === undefined ? {} : { code }),
    ...(platformError === undefined ? {} : { platformError }),
    ...(retry === undefined ? {} : { retryAfter: retry }),
    ...(typeof record.statusCode === 'number' ? { statusCode: record.statusCode } : {}),
  };
}

/** Maps a Slack Web API / Socket Mode failure to what the supervisor and the outbox can act on. */
export function toChannelError(error: unknown, action: string): ChannelError {
  if (isChannelError(error)) return error;
  const parts = slackErrorParts(error);
  const reason = error instanceof Error ? error.message : error === undefined ? 'the connection closed' : String(error);
  switch (parts.code) {
    case 'slack_webapi_rate_limited_error': {
      const seconds = parts.retryAfter ?? 1;
      return new ChannelError('rate-limited', `Slack rate-limited the call to ${action}: retry after ${seconds} s`, { cause: error, retryAfterMs: seconds * 1000 });
    }
    case 'slack_webapi_platform_error': {
      const code = parts.platformError ?? 'unknown_error';
      const detail = `Slack refused to ${action}: ${code}`;
      if (AUTH_ERRORS.includes(code)) return new ChannelError('auth', detail, { cause: error });
      if (code === 'ratelimited') return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: (parts.retryAfter ?? 1) * 1000 });
      if (TRANSIENT_ERRORS.includes(code)) return new ChannelError('transient', detail, { cause: error });
      return new ChannelError('rejected', detail, { cause: error });
    }
    case 'slack_webapi_http_error': {
      const status = parts.statusCode ?? 0;
      const detail = `Slack answered HTTP ${status} to ${action}`;
      if (status === 429) return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: (parts.retryAfter ?? 1) * 1000 });
      if (status === 401 || status === 403) return new ChannelError('auth', detail, { cause: error });
      if (status >= 500 || status === 408 || status === 0) return new ChannelError('transient', detail, { cause: error });
      return new ChannelError('rejected', detail, { cause: error });
    }
    case 'slack_webapi_request_error':
      return new ChannelError('transient', `could not reach Slack to ${action}: ${reason}`, { cause: error });
    default:
      return new ChannelError('transient', `${action} failed: ${reason}`, { cause: error });
  }
}

/** The bot as the normalizer needs it: its user id (what `<@…>` mentions use) and its handle. */
export interface SlackBotIdentity {
  userId: string;
  name: string;
}

/**
 * Slack's message markup as readable text: `<@U…>` → `@name`, `<#C…|general>` → `#general`,
 * `<https://x|label>` → `label (https://x)`, `&lt;`/`&gt;`/`&amp;` unescaped. The bot's own mention
 * becomes `@<bot name>` so mention patterns can match it.
 */
export function slackTextToPlain(text: string, bot: SlackBotIdentity): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)(?:\|([^>]*))?>/gu, (_all, id: string, label: string | undefined) => (id === bot.userId ? `@${bot.name}` : `@${label || id}`))
    .replace(/<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>/gu, (_all, id: string, label: string | undefined) => `#${label || id}`)
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/gu, '@$1')
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/gu, (_all, id: string, label: string | undefined) => label || `@${id}`)
    .replace(/<!date\^[^|>]*\|([^>]*)>/gu, '$1')
    .replace(/<((?:https?|mailto|tel):[^|>\s]+)(?:\|([^>]*))?>/gu, (_all, url: string, label: string | undefined) => {
      if (!label || label === url || `mailto:${label}` === url || `tel:${label}` === url) return label || url;
      return `${label} (${url})`;
    })
    .replace(/&lt;/gu, '<')
    .replace(/&gt;/gu, '>')
    .replace(/&amp;/gu, '&');
}

/** One header's value, or undefined when it is missing or repeated. */
function headerOf(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** What of an Events API request's signature can be checked before its body is read: present, well-formed, fresh. */
export function slackHeaderProblem(headers: WebhookRequest['headers'], nowMs: number): string | null {
  const timestamp = headerOf(headers, 'x-slack-request-timestamp');
  const signature = headerOf(headers, 'x-slack-signature');
  if (timestamp === undefined || signature === undefined) return 'missing X-Slack-Signature or X-Slack-Request-Timestamp';
  if (!/^\d{1,12}$/u.test(timestamp)) return 'malformed X-Slack-Request-Timestamp';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_REQUEST_AGE_S) return 'stale X-Slack-Request-Timestamp (more than 5 minutes off)';
  if (!/^v0=[0-9a-f]{64}$/u.test(signature)) return 'malformed X-Slack-Signature';
  return null;
}

/**
 * Checks an Events API request's signature: `X-Slack-Signature` must be `v0=` and the hex
 * HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` keyed with the signing secret, and the
 * timestamp at most five minutes from `nowMs` (older requests may be replays). Returns why the
 * request is refused, or null when it is genuine.
 */
export function slackSignatureProblem(signingSecret: string, request: WebhookRequest, nowMs: number): string | null {
  const headerProblem = slackHeaderProblem(request.headers, nowMs);
  if (headerProblem !== null) return headerProblem;
  const timestamp = headerOf(request.headers, 'x-slack-request-timestamp') as string;
  const signature = headerOf(request.headers, 'x-slack-signature') as string;
  const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(request.body).digest('hex')}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'wrong X-Slack-Signature';
  return null;
}

function attachmentsOf(event: Record<string, unknown>): AttachmentInfo[] {
  const files = Array.isArray(event.files) ? event.files : [];
  const list: AttachmentInfo[] = [];
  for (const file of files.slice(0, 20)) {
    if (!isRecord(file)) continue;
    const mimeType = str(file.mimetype);
    const kind: AttachmentInfo['kind'] = mimeType?.startsWith('image/') ? 'image' : mimeType?.startsWith('audio/') ? 'audio' : mimeType?.startsWith('video/') ? 'video' : 'file';
    const id = str(file.id);
    const name = str(file.name) ?? str(file.title);
    list.push({
      kind,
      ...(id === undefined ? {} : { id }),
      ...(name === undefined ? {} : { name }),
      ...(mimeType === undefined ? {} : { mimeType }),
      ...(typeof file.size === 'number' && Number.isFinite(file.size) ? { sizeBytes: file.size } : {}),
    });
  }
  return list;
}

/**
 * Turns an Events API event (`message` or `app_mention`) into an InboundMessage, or explains why
 * it cannot. Other event types, edits, joins and bot messages (ours and other apps') are skipped
 * quietly (null reason); events missing their channel, sender or ts are reported.
 *
 * Chats: `im` → direct (chat id = the D… channel; thread replies in a DM stay direct); channels,
 * private channels and group DMs → group (chat id = the channel), or thread when `thread_ts` names
 * another message (threadId = thread_ts). The message id is the event's `ts`.
 */
export function normalizeSlackEvent(event: unknown, bot: SlackBotIdentity): { message: InboundMessage } | { skip: string | null } {
  if (!isRecord(event) || typeof event.type !== 'string') return { skip: 'an event without a type' };
  if (event.type !== 'message' && event.type !== 'app_mention') return { skip: null };
  const subtype = event.subtype;
  if (subtype !== undefined && !(typeof subtype === 'string' && PERSON_SUBTYPES.includes(subtype))) return { skip: null };
  if (event.bot_id !== undefined || isRecord(event.bot_profile)) return { skip: null };
  const channel = str(event.channel);
  const user = str(event.user);
  const ts = str(event.ts);
  if (channel === undefined || user === undefined || ts === undefined || !/^\d+(\.\d+)?$/u.test(ts)) return { skip: `a ${event.type} event without channel, sender or ts` };
  if (user === bot.userId) return { skip: null };
  if (event.text !== undefined && typeof event.text !== 'string') return { skip: `a ${event.type} event whose text is not a string` };
  const raw = typeof event.text === 'string' ? event.text : '';
  const channelType = str(event.channel_type);
  const direct = channelType === 'im' || (channelType === undefined && channel.startsWith('D')) || (channelType === 'app_home' && channel.startsWith('D'));
  const threadTs = str(event.thread_ts);
  const inThread = !direct && threadTs !== undefined && threadTs !== ts;
  const kind = direct ? 'direct' : inThread ? 'thread' : 'group';
  const mentionsBot = event.type === 'app_mention' || raw.includes(`<@${bot.userId}>`) || raw.includes(`<@${bot.userId}|`);
  const profile = isRecord(event.user_profile) ? event.user_profile : undefined;
  const name = str(profile?.real_name) ?? str(profile?.display_name);
  const username = str(profile?.name) ?? str(profile?.display_name);
  return {
    message: {
      messageId: ts,
      chat: { id: channel, kind, ...(inThread ? { threadId: threadTs } : {}) },
      sender: { id: user, ...(name === undefined ? {} : { name }), ...(username === undefined ? {} : { username }) },
      text: slackTextToPlain(raw, bot),
      mentionsBot,
      replyToBot: inThread && event.parent_user_id === bot.userId,
      ...(inThread ? { replyToMessageId: threadTs } : {}),
      attachments: attachmentsOf(event),
    },
  };
}

/** What a Socket Mode frame told us, for the connection that received it. */
interface FrameHooks {
  /** Any frame arrived (a sign of life). */
  frame(): void;
  /** A frame could not be understood; it is skipped (and acknowledged when it has an envelope id). */
  invalid(reason: string, payload: unknown): void;
  /** Slack asked the client to reconnect (`disconnect` frame: a routine refresh). */
  refresh(): void;
}

/** Why a frame cannot be handed to the client library, or null when it is safe. */
function frameProblem(frame: unknown): string | null {
  if (!isRecord(frame)) return 'a Socket Mode frame that is not a JSON object';
  if (typeof frame.type !== 'string') return 'a Socket Mode frame without a type';
  if (!FRAME_TYPES.includes(frame.type)) return `a Socket Mode frame of unknown type "${frame.type.slice(0, 64)}"`;
  if (frame.type === 'events_api') {
    if (typeof frame.envelope_id !== 'string') return 'an events_api envelope without envelope_id';
    if (!isRecord(frame.payload)) return 'an events_api envelope without payload';
    if (!isRecord(frame.payload.event)) return 'an events_api envelope without payload.event';
    const type = frame.payload.event.type;
    if (typeof type !== 'string') return 'an events_api envelope whose event has no type';
    if (CLIENT_EVENT_NAMES.includes(type)) return `an events_api envelope with the reserved event type "${type}"`;
  }
  return null;
}

/**
 * `@slack/socket-mode`'s client with every frame checked before the library parses it: the
 * library dereferences `payload.event.type` unguarded, so a hostile or broken envelope would end
 * in an unhandled rejection. Rejected envelopes are passed on rewritten to a harmless type so the
 * library still builds their acknowledgement (Slack then stops sending them).
 */
class GuardedSocketModeClient extends SocketModeClient {
  readonly #hooks: FrameHooks;

  constructor(options: SocketModeOptions, hooks: FrameHooks) {
    super(options);
    this.#hooks = hooks;
  }

  protected override async onWebSocketMessage(data: string | ArrayBuffer, isBinary: boolean): Promise<void> {
    try {
      this.#hooks.frame();
      if (isBinary) return;
      const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        this.#hooks.invalid('a Socket Mode frame that is not JSON', text);
        return;
      }
      const problem = frameProblem(frame);
      if (problem !== null) {
        this.#hooks.invalid(problem, frame);
        const envelopeId = isRecord(frame) ? frame.envelope_id : undefined;
        if (typeof envelopeId === 'string') await super.onWebSocketMessage(JSON.stringify({ type: REJECTED_FRAME, envelope_id: envelopeId }), false);
        return;
      }
      if (isRecord(frame) && frame.type === 'disconnect') this.#hooks.refresh();
      await super.onWebSocketMessage(text, false);
    } catch (error) {
      this.#hooks.invalid(`a Socket Mode frame the client failed on: ${error instanceof Error ? error.message : String(error)}`, typeof data === 'string' ? data : '(binary)');
    }
  }
}

/** The client library's logs are dropped: failures reach the supervisor as `run` rejections and send errors. */
function quietLogger(): Logger {
  let level = LogLevel.ERROR;
  const drop = () => undefined;
  return {
    debug: drop,
    info: drop,
    warn: drop,
    error: drop,
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: drop,
  };
}

/** Waits for `promise` at most `ms`, never rejecting. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/** The arguments `@slack/socket-mode` passes to `slack_event` listeners. */
interface SocketEvent {
  ack(response?: Record<string, unknown>): Promise<void>;
  type: unknown;
  envelope_id: unknown;
  body: unknown;
}

function isSocketEvent(value: unknown): value is SocketEvent {
  return isRecord(value) && typeof value.ack === 'function';
}

/** A pong or ping frame as undici reports it on its diagnostics channels. */
function frameSocketUrl(message: unknown): string | undefined {
  if (!isRecord(message) || !isRecord(message.websocket)) return undefined;
  const url = (message.websocket as { url?: unknown }).url;
  return typeof url === 'string' ? url : undefined;
}

const normalizeUrl = (url: string) => {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
};

/**
 * A Slack app account over Socket Mode (`@slack/socket-mode`) and the Web API (`@slack/web-api`).
 * Each `run` opens one connection (the client's own reconnect loop is off: the supervisor owns
 * reconnecting, with backoff), checks the bot token with auth.test, and hands every message over
 * before acknowledging its envelope, so an unpersisted message is sent again by Slack.
 *
 * In HTTP mode (`mode: "http"`) Slack POSTs Events API requests instead: the gateway hands each one
 * to `receiveWebhook`, which checks its signature, answers Slack's `url_verification` challenge,
 * and answers an event only after its message is persisted (an error makes Slack retry; the same
 * dedupe by channel and ts drops the retries). `run` then only checks the bot token every ~30 s.
 *
 * Replies go to the chat's top level unless the message came from a thread (then `thread_ts`);
 * Slack has no reply-to-a-message other than threads, so `replyToMessageId` is not used. There is
 * no `typing`: Slack's Web API has no typing indicator for bots in channels or DMs
 * (`assistant.threads.setStatus` only works in AI-assistant threads, on the thread's own replies).
 */
export function createSlackChannel(options: SlackChannelOptions): Channel {
  const apiRoot = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/*$/u, '/');
  const clientOptions: Omit<WebClientOptions, 'logger' | 'logLevel'> = {
    slackApiUrl: apiRoot,
    // The outbox and the supervisor retry (with backoff and retry-after); the client must not wait half an hour.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: CALL_TIMEOUT_MS,
  };
  const web = new WebClient(options.botToken, { ...clientOptions, logger: quietLogger() });
  const lookups = new WebClient(options.botToken, { ...clientOptions, timeout: LOOKUP_TIMEOUT_MS, logger: quietLogger() });
  /** `channel:ts` of messages already handed over, oldest first. */
  const seen = new Set<string>();
  const names = new Map<string, { name?: string; username?: string; at: number }>();
  /** Connections of runs in progress, disconnected by `close`. */
  const live = new Set<SocketModeClient>();
  /** Messages being handed over right now, by `channel:ts` (HTTP requests can arrive side by side). */
  const inflight = new Map<string, Promise<void>>();
  /** HTTP mode: the connected run that pushed events go to; null before auth.test answered and after the run ended. */
  let hook: { context: ChannelRunContext; bot: SlackBotIdentity } | null = null;

  const remember = (key: string) => {
    seen.add(key);
    if (seen.size > SEEN_LIMIT) {
      const oldest = seen.values().next();
      if (oldest.done !== true) seen.delete(oldest.value);
    }
  };

  /** The sender's name from users.info (cached); nothing when the lookup fails or the scope is missing. */
  async function senderNames(userId: string): Promise<{ name?: string; username?: string }> {
    const cached = names.get(userId);
    if (cached && Date.now() - cached.at < NAME_TTL_MS) return cached;
    try {
      const answer = await lookups.users.info({ user: userId });
      const user = isRecord(answer.user) ? answer.user : {};
      const profile = isRecord(user.profile) ? user.profile : {};
      const name = str(profile.real_name) ?? str(user.real_name) ?? str(profile.display_name);
      const username = str(user.name) ?? str(profile.display_name);
      const entry = { ...(name === undefined ? {} : { name }), ...(username === undefined ? {} : { username }), at: Date.now() };
      names.delete(userId);
      names.set(userId, entry);
      if (names.size > NAME_CACHE_LIMIT) {
        const oldest = names.keys().next();
        if (oldest.done !== true) names.delete(oldest.value);
      }
      return entry;
    } catch (error) {
      // A refusal (missing users:read scope, unknown user) will not change soon: remember it; network trouble is retried next time.
      if (slackErrorParts(error).code === 'slack_webapi_platform_error') names.set(userId, { at: Date.now() });
      return {};
    }
  }

  /**
   * Hands one message to the gateway unless it was handed over already (a redelivery, or the
   * `message` and `app_mention` copies of one mention). A copy arriving while the first is still
   * being handed over waits for it and shares its outcome. Rejects when the gateway could not
   * persist it (then it is not remembered, so the next copy is tried again).
   */
  async function handOver(context: ChannelRunContext, message: InboundMessage): Promise<void> {
    const key = `${message.chat.id}:${message.messageId}`;
    if (seen.has(key)) return;
    const running = inflight.get(key);
    if (running !== undefined) return running;
    const work = (async () => {
      if (message.sender.name === undefined) {
        const looked = await senderNames(message.sender.id);
        if (looked.name !== undefined || looked.username !== undefined) message.sender = { ...message.sender, ...(looked.name === undefined ? {} : { name: looked.name }), ...(looked.username === undefined ? {} : { username: looked.username }) };
      }
      await context.receive(message);
      remember(key);
    })();
    inflight.set(key, work);
    try {
      await work;
    } finally {
      inflight.delete(key);
    }
  }

  const disconnect = (client: SocketModeClient) => settleWithin(client.disconnect(), DISCONNECT_WAIT_MS);

  /**
   * One Socket Mode connection: resolves `refresh` when Slack asked for a reconnect, `stopped`
   * when the signal aborted; rejects when the connection failed or was lost.
   */
  function connectOnce(context: ChannelRunContext, bot: SlackBotIdentity, onHello: () => void): Promise<'refresh' | 'stopped'> {
    const { signal } = context;
    let socketUrl: string | undefined;
    let refreshRequested = false;
    let settled = false;
    let queued = 0;
    let chain: Promise<void> = Promise.resolve();

    const onHeartbeat = (message: unknown) => {
      const url = frameSocketUrl(message);
      if (url !== undefined && socketUrl !== undefined && normalizeUrl(url) === socketUrl) context.progress();
    };

    const client = new GuardedSocketModeClient(
      {
        appToken: options.appToken ?? '',
        logger: quietLogger(),
        autoReconnectEnabled: false,
        // Pings every ~1.7 s; no pong for 5 s ends the connection (and this run).
        clientPingTimeout: 5_000,
        serverPingTimeout: 30_000,
        clientOptions: { ...clientOptions },
      },
      {
        frame: () => context.progress(),
        invalid: (reason, payload) => context.reject(reason, payload),
        refresh: () => {
          refreshRequested = true;
        },
      },
    );
    live.add(client);

    return new Promise<'refresh' | 'stopped'>((resolve, reject) => {
      const finish = (outcome: { ok: 'refresh' | 'stopped' } | { error: unknown }) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        unsubscribeDiagnostics('undici:websocket:pong', onHeartbeat);
        unsubscribeDiagnostics('undici:websocket:ping', onHeartbeat);
        void disconnect(client).then(() => {
          live.delete(client);
          if ('ok' in outcome) resolve(outcome.ok);
          else reject(outcome.error);
        });
      };
      const onAbort = () => finish({ ok: 'stopped' });

      /** Handles one envelope: hand the message over, then acknowledge. Never rejects. */
      async function handle(item: SocketEvent): Promise<void> {
        if (settled) return;
        if (item.type === 'events_api' && isRecord(item.body)) {
          const event = item.body.event;
          const normalized = normalizeSlackEvent(event, bot);
          if ('message' in normalized) {
            try {
              await handOver(context, normalized.message);
            } catch (error) {
              // Not persisted: leave it unacknowledged (Slack sends it again) and give up this connection.
              finish({ error: toChannelError(error, 'hand a message to the gateway') });
              return;
            }
          } else if (normalized.skip !== null) {
            context.reject(normalized.skip, event);
          }
        }
        // Acknowledge everything else too (slash commands, interactivity, rejected envelopes): Hearth does not use them.
        if (typeof item.envelope_id === 'string') await item.ack().catch(() => undefined);
      }

      signal.addEventListener('abort', onAbort, { once: true });
      client.on('slack_event', (item: unknown) => {
        if (!isSocketEvent(item) || settled) return;
        if (queued >= MAX_QUEUED_ENVELOPES) return;
        queued += 1;
        chain = chain
          .then(() => handle(item))
          .catch((error: unknown) => context.reject(`handling an envelope failed: ${error instanceof Error ? error.message : String(error)}`, item.body))
          .finally(() => {
            queued -= 1;
          });
      });
      client.on('authenticated', (answer: unknown) => {
        const url = isRecord(answer) ? str(answer.url) : undefined;
        if (url !== undefined) socketUrl = normalizeUrl(url);
      });
      client.on('disconnected', () => {
        if (refreshRequested) finish({ ok: 'refresh' });
        else finish({ error: new ChannelError('transient', 'the Slack Socket Mode connection closed') });
      });
      subscribeDiagnostics('undici:websocket:pong', onHeartbeat);
      subscribeDiagnostics('undici:websocket:ping', onHeartbeat);
      if (signal.aborted) {
        finish({ ok: 'stopped' });
        return;
      }
      client.start().then(
        () => {
          if (settled) {
            // Stopped while connecting: the client connected anyway after our disconnect.
            void disconnect(client);
            return;
          }
          onHello();
        },
        (error: unknown) => finish({ error: toChannelError(error, 'open a Socket Mode connection (apps.connections.open; check the app token)') }),
      );
    });
  }

  /** Asks auth.test who the bot token belongs to. */
  async function checkToken(signal: AbortSignal): Promise<SlackBotIdentity> {
    const me = await untilAborted(web.auth.test(), signal, slackCallCancelled).catch((error: unknown) => {
      throw toChannelError(error, 'check the bot token (auth.test)');
    });
    const userId = str(me.user_id);
    if (userId === undefined) throw new ChannelError('transient', 'auth.test answered without user_id');
    return { userId, name: str(me.user) ?? userId };
  }

  /**
   * HTTP mode: Slack pushes events to `receiveWebhook`; this keeps the run alive until the signal
   * aborts, checking the bot token with auth.test now and then as the sign of life. Rejects when
   * the check fails (an `auth` error when Slack refuses the token).
   */
  async function serveHttp(context: ChannelRunContext, bot: SlackBotIdentity): Promise<void> {
    const { signal } = context;
    const interval = Math.max(100, options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS);
    const current = { context, bot };
    hook = current;
    context.connected({ botId: bot.userId, botName: `@${bot.name}` });
    try {
      while (!signal.aborted) {
        await pause(interval, signal);
        if (signal.aborted) break;
        const again = await checkToken(signal);
        if (again.userId !== bot.userId) throw new ChannelError('transient', `the bot token now belongs to ${again.userId}, not ${bot.userId}`);
        context.progress();
      }
    } finally {
      if (hook === current) hook = null;
    }
  }

  return {
    platform: 'slack',
    accountId: options.accountId,
    format: { maxMessageLength: SLACK_MAX_MESSAGE, render: markdownToSlackMrkdwn },

    async run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      try {
        const bot = await checkToken(signal);
        if (options.mode === 'http') {
          await serveHttp(context, bot);
          return;
        }
        let announced = false;
        let lastRefreshAt = 0;
        while (!signal.aborted) {
          const outcome = await connectOnce(context, bot, () => {
            if (announced) return;
            announced = true;
            context.connected({ botId: bot.userId, botName: `@${bot.name}` });
          });
          if (outcome === 'stopped') return;
          // Slack asked for a reconnect (a routine refresh): open a new connection within this run.
          if (Date.now() - lastRefreshAt < MIN_REFRESH_INTERVAL_MS) throw new ChannelError('transient', 'Slack keeps asking for a reconnect');
          lastRefreshAt = Date.now();
        }
      } catch (error) {
        if (signal.aborted) return;
        throw toChannelError(error, options.mode === 'http' ? 'serve Events API requests' : 'keep the Socket Mode connection');
      }
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const { target } = message;
      try {
        const answer = await untilAborted(
          web.chat.postMessage({
            channel: target.chatId,
            text: message.text,
            ...(target.threadId === undefined ? {} : { thread_ts: target.threadId }),
            mrkdwn: true,
            unfurl_links: false,
          }),
          signal,
          slackCallCancelled,
        );
        const ts = str(answer.ts);
        if (ts === undefined) throw new ChannelError('transient', 'chat.postMessage answered without ts');
        return { messageId: ts };
      } catch (error) {
        throw toChannelError(error, 'send a message (chat.postMessage)');
      }
    },

    /** An auth.test round trip: the bot token works and Slack answers. */
    async probe(signal: AbortSignal): Promise<ChannelProbeResult> {
      const started = Date.now();
      const bot = await checkToken(signal);
      return { status: 'ok', detail: `Slack answered auth.test as @${bot.name} in ${Date.now() - started} ms` };
    },

    checkWebhookHeaders(headers: WebhookRequest['headers']): { status: number; body?: string } | { maxBodyBytes: number } {
      const secret = options.signingSecret;
      if (options.mode !== 'http' || secret === undefined || secret.length === 0) return { status: 404, body: 'this Slack account does not take Events API requests (mode is not "http")' };
      const problem = slackHeaderProblem(headers, Date.now());
      return problem === null ? { maxBodyBytes: MAX_WEBHOOK_BODY_BYTES } : { status: 401, body: problem };
    },

    async receiveWebhook(request: WebhookRequest): Promise<{ status: number; body?: string }> {
      const secret = options.signingSecret;
      if (options.mode !== 'http' || secret === undefined || secret.length === 0) return { status: 404, body: 'this Slack account does not take Events API requests (mode is not "http")' };
      const problem = slackSignatureProblem(secret, request, Date.now());
      if (problem !== null) return { status: 401, body: problem };
      const current = hook;
      const text = request.body.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        // Signed but unreadable: a retry would not fix it, so Slack is told it arrived.
        current?.context.reject('an Events API request whose body is not JSON', text.slice(0, 200));
        return { status: 200 };
      }
      // Slack checks the Request URL with a signed challenge; it needs no bot, so it is answered even before auth.test.
      if (isRecord(body) && body.type === 'url_verification') {
        const challenge = typeof body.challenge === 'string' ? body.challenge : undefined;
        if (challenge === undefined) {
          current?.context.reject('a url_verification request without challenge', body);
          return { status: 200 };
        }
        return { status: 200, body: challenge };
      }
      // Not connected yet (or stopping): Slack retries the request a few times.
      if (current === null) return { status: 503, body: 'not ready' };
      current.context.progress();
      if (!isRecord(body) || body.type !== 'event_callback') {
        const type = isRecord(body) && typeof body.type === 'string' ? body.type.slice(0, 64) : undefined;
        current.context.reject(type === undefined ? 'an Events API request without a type' : `an Events API request of type "${type}" Hearth does not use`, body);
        return { status: 200 };
      }
      const event = body.event;
      const normalized = normalizeSlackEvent(event, current.bot);
      if ('message' in normalized) {
        try {
          await handOver(current.context, normalized.message);
        } catch {
          return { status: 500, body: 'could not store the message; retry' };
        }
      } else if (normalized.skip !== null) {
        current.context.reject(normalized.skip, event);
      }
      return { status: 200 };
    },

    async close(): Promise<void> {
      hook = null;
      await Promise.all([...live].map((client) => disconnect(client)));
      live.clear();
    },
  };
}
