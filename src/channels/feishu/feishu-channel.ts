import { createHash } from 'node:crypto';
import { Client, type Logger } from '@larksuiteoapi/node-sdk';
import type { Channel, ChannelProbeResult, ChannelRunContext, InboundMessage, OutboundMessage, SendReceipt, WebhookAnswer, WebhookRequest } from '../../contracts/channel.js';
import { ChannelError } from '../../contracts/channel.js';
import { pause, untilAborted } from '../abort-helpers.js';
import { markdownToPlainText } from '../markdown.js';
import { type FeishuBotIdentity, MESSAGE_EVENT, normalizeFeishuMessage } from './feishu-events.js';
import { createFeishuHttp, createTokenCache, isFeishuApiError, STALE_TOKEN_CODES, toChannelError } from './feishu-http.js';
import { feishuHeaderProblem, MAX_WEBHOOK_BODY_BYTES, readFeishuPush } from './feishu-webhook.js';

export interface FeishuChannelOptions {
  accountId: string;
  /** The app's App ID (`cli_…`). */
  appId: string;
  /** The app's App Secret: exchanged for a tenant_access_token (cached until shortly before it expires). */
  appSecret: string;
  /** Every push carries it (v2 events in `header.token`); pushes without it are refused. */
  verificationToken: string;
  /** When set, pushes are encrypted with it and every event must carry a correct X-Lark-Signature. */
  encryptKey?: string;
  /** Open platform base URL; default https://open.feishu.cn (Lark: https://open.larksuite.com). */
  apiRoot?: string;
  /** How often the bot info is read again to confirm the credentials still work (the sign of life); default 30 s. */
  checkIntervalMs?: number;
}

/**
 * The longest text Hearth puts in one Feishu message. Feishu takes request bodies up to 150 KB,
 * but messages over a few thousand characters are hard to read in the client.
 */
export const FEISHU_MAX_MESSAGE = 4000;

const DEFAULT_API_ROOT = 'https://open.feishu.cn';
/** The longest one API call may take (token, send, bot info). */
const CALL_TIMEOUT_MS = 30_000;
/** The longest a sender-name lookup may delay handing a message over (Feishu expects an answer within a few seconds). */
const LOOKUP_TIMEOUT_MS = 2_000;
const DEFAULT_CHECK_INTERVAL_MS = 30_000;
/** Event and message ids remembered to answer Feishu's redeliveries without handing them over again. */
const SEEN_LIMIT = 2_000;
/** Ids of messages the bot sent, remembered to tell a reply to the bot. */
const SENT_LIMIT = 2_000;
const NAME_CACHE_LIMIT = 1_000;
const NAME_TTL_MS = 3_600_000;

const cancelled = () => new ChannelError('transient', 'the Feishu call was cancelled');
const quiet = () => undefined;
/** The SDK logs every failed call itself; failures reach Hearth's log once, where they are handled. */
const quietLogger: Logger = { error: quiet, warn: quiet, info: quiet, debug: quiet, trace: quiet };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** A bounded set: the oldest entry goes when it grows past `limit`. */
function boundedSet(limit: number) {
  const items = new Set<string>();
  return {
    has: (key: string) => items.has(key),
    add(key: string) {
      items.add(key);
      if (items.size > limit) {
        const oldest = items.values().next();
        if (oldest.done !== true) items.delete(oldest.value);
      }
    },
  };
}

/** Feishu drops a second send with the same `uuid` within an hour (at most 50 characters). */
const sendUuid = (idempotencyKey: string) => createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);

/** What bot/v3/info says about the app's bot; `activateStatus` 2 means the tenant has it enabled. */
interface BotInfo extends FeishuBotIdentity {
  activateStatus: number | undefined;
}

/**
 * A Feishu / Lark app's bot. Events arrive over HTTP (the app's event subscription points at
 * `/channels/feishu/<accountId>/webhook`, handed to `receiveWebhook`); messages go out through the
 * SDK's Client (im/v1/messages, or the reply API in groups). There is no connection: `run` reads
 * the bot's info now and then as the sign of life. Feishu has no typing indicator for bots.
 */
export function createFeishuChannel(options: FeishuChannelOptions): Channel {
  const domain = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/u, '');
  const cache = createTokenCache();
  const clientOptions = { appId: options.appId, appSecret: options.appSecret, domain, cache, logger: quietLogger };
  const client = new Client({ ...clientOptions, httpInstance: createFeishuHttp(CALL_TIMEOUT_MS) });
  // Name lookups share the token cache but give up sooner: they delay the answer to a push.
  const lookups = new Client({ ...clientOptions, httpInstance: createFeishuHttp(LOOKUP_TIMEOUT_MS) });
  const secrets = { verificationToken: options.verificationToken, ...(options.encryptKey === undefined ? {} : { encryptKey: options.encryptKey }) };
  const seen = boundedSet(SEEN_LIMIT);
  const sent = boundedSet(SENT_LIMIT);
  const names = new Map<string, { name?: string; at: number }>();
  /** Messages being handed over right now, by message id (a redelivery can arrive while the first is stored). */
  const inflight = new Map<string, Promise<void>>();
  /** The connected run that pushed events go to; null before the bot info was read and after the run ended. */
  let hook: { context: ChannelRunContext; bot: FeishuBotIdentity } | null = null;

  /** Runs a call, once more with a new tenant_access_token when Feishu says the cached one went stale. */
  async function withFreshToken<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(isFeishuApiError(error) && error.code !== undefined && STALE_TOKEN_CODES.includes(error.code))) throw error;
      cache.clear();
      return work();
    }
  }

  /** Reads bot/v3/info (getting a tenant_access_token first when none is cached). */
  async function readBot(signal: AbortSignal): Promise<BotInfo> {
    const answer: unknown = await untilAborted(
      withFreshToken(() => client.request({ method: 'GET', url: '/open-apis/bot/v3/info' })),
      signal,
      cancelled,
    ).catch((error: unknown) => {
      throw toChannelError(error, "read the bot's info (bot/v3/info)");
    });
    const bot = isRecord(answer) && isRecord(answer.bot) ? answer.bot : undefined;
    const openId = str(bot?.open_id);
    if (openId === undefined) {
      throw new ChannelError('auth', 'Feishu answered bot/v3/info without the bot\'s open_id: the app has no bot (open platform → your app → Features → Bot), or no published version');
    }
    return { openId, name: str(bot?.app_name) ?? openId, activateStatus: typeof bot?.activate_status === 'number' ? bot.activate_status : undefined };
  }

  /** The sender's name from the contact API (cached); nothing when the lookup fails or the app lacks the permission. */
  async function senderName(openId: string): Promise<string | undefined> {
    const cached = names.get(openId);
    if (cached && Date.now() - cached.at < NAME_TTL_MS) return cached.name;
    try {
      const answer: unknown = await withFreshToken(() => lookups.contact.user.get({ path: { user_id: openId }, params: { user_id_type: 'open_id' } }));
      const user = isRecord(answer) && isRecord(answer.data) && isRecord(answer.data.user) ? answer.data.user : {};
      const name = str(user.name) ?? str(user.en_name) ?? str(user.nickname);
      names.delete(openId);
      names.set(openId, { ...(name === undefined ? {} : { name }), at: Date.now() });
      if (names.size > NAME_CACHE_LIMIT) {
        const oldest = names.keys().next();
        if (oldest.done !== true) names.delete(oldest.value);
      }
      return name;
    } catch (error) {
      // A refusal (no contact permission, a user outside the app's range; a stale token was renewed
      // already) will not change soon; network trouble and rate limits are retried next time.
      const kind = toChannelError(error, 'look up the sender').kind;
      if (kind === 'rejected' || kind === 'auth') names.set(openId, { at: Date.now() });
      return undefined;
    }
  }

  /**
   * Hands one message to the gateway unless it was handed over already (Feishu pushes again when
   * an answer is slow or lost). A copy arriving while the first is still being stored waits for
   * it and shares its outcome. Rejects when the gateway could not persist it.
   */
  async function handOver(context: ChannelRunContext, eventId: string, message: InboundMessage): Promise<void> {
    const key = `message:${message.messageId}`;
    if (seen.has(key) || seen.has(`event:${eventId}`)) return;
    const running = inflight.get(key);
    if (running !== undefined) return running;
    const work = (async () => {
      const name = await senderName(message.sender.id);
      if (name !== undefined) message.sender = { ...message.sender, name };
      await context.receive(message);
      seen.add(key);
      seen.add(`event:${eventId}`);
    })();
    inflight.set(key, work);
    try {
      await work;
    } finally {
      inflight.delete(key);
    }
  }

  /** Handles one checked event: a message is stored before Feishu hears 200. */
  async function handleEvent(eventId: string, eventType: string, event: Record<string, unknown>): Promise<WebhookAnswer> {
    const current = hook;
    // Not connected yet (or stopping): Feishu pushes the event again later.
    if (current === null) return { status: 503, body: 'not ready' };
    current.context.progress();
    if (eventType !== MESSAGE_EVENT) return { status: 200 };
    const normalized = normalizeFeishuMessage(event, current.bot, (messageId) => sent.has(messageId));
    if ('skip' in normalized) {
      if (normalized.skip !== null) current.context.reject(normalized.skip, event);
      return { status: 200 };
    }
    try {
      await handOver(current.context, eventId, normalized.message);
    } catch {
      return { status: 500, body: 'could not store the message; retry' };
    }
    return { status: 200 };
  }

  /** Sends one text message: a reply (in the topic, for a thread) when there is a message to reply to. */
  async function post(message: OutboundMessage, signal: AbortSignal): Promise<unknown> {
    const { target } = message;
    const data = { msg_type: 'text', content: JSON.stringify({ text: message.text }), uuid: sendUuid(message.idempotencyKey) };
    const create = () => withFreshToken(() => client.im.message.create({ params: { receive_id_type: 'chat_id' }, data: { ...data, receive_id: target.chatId } }));
    const replyTo = target.threadId ?? target.replyToMessageId;
    if (replyTo === undefined) return untilAborted(create(), signal, cancelled);
    const reply = () => withFreshToken(() => client.im.message.reply({ path: { message_id: replyTo }, data: { ...data, ...(target.threadId === undefined ? {} : { reply_in_thread: true }) } }));
    try {
      return await untilAborted(reply(), signal, cancelled);
    } catch (error) {
      // The message replied to is gone (recalled, deleted): say it in the chat instead.
      if (toChannelError(error, 'reply').kind !== 'rejected' || signal.aborted) throw error;
      return untilAborted(create(), signal, cancelled);
    }
  }

  return {
    platform: 'feishu',
    accountId: options.accountId,
    format: { maxMessageLength: FEISHU_MAX_MESSAGE, render: markdownToPlainText },

    async run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      const interval = Math.max(100, options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS);
      let current: typeof hook = null;
      try {
        const bot = await readBot(signal);
        current = { context, bot };
        hook = current;
        context.connected({ botId: bot.openId, botName: bot.name });
        while (!signal.aborted) {
          await pause(interval, signal);
          if (signal.aborted) break;
          const again = await readBot(signal);
          if (again.openId !== bot.openId) throw new ChannelError('transient', `the app's bot is now ${again.openId}, not ${bot.openId}`);
          context.progress();
        }
      } catch (error) {
        if (signal.aborted) return;
        throw toChannelError(error, 'serve event pushes');
      } finally {
        if (hook === current) hook = null;
      }
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      try {
        const answer = await post(message, signal);
        const messageId = isRecord(answer) && isRecord(answer.data) ? str(answer.data.message_id) : undefined;
        if (messageId === undefined) throw new ChannelError('transient', 'Feishu answered the send without data.message_id');
        sent.add(messageId);
        return { messageId };
      } catch (error) {
        throw toChannelError(error, 'send a message (im/v1/messages)');
      }
    },

    /** A tenant_access_token and a bot/v3/info round trip; degraded while the tenant has not enabled the bot. */
    async probe(signal: AbortSignal): Promise<ChannelProbeResult> {
      const started = Date.now();
      const bot = await readBot(signal);
      const took = Date.now() - started;
      if (bot.activateStatus !== undefined && bot.activateStatus !== 2) {
        return {
          status: 'degraded',
          detail: `Feishu answered bot/v3/info as ${bot.name} in ${took} ms, but the app is not enabled in the tenant (activate_status ${bot.activateStatus}): no events will arrive`,
          suggestedAction: 'Publish a version of the app and have the tenant admin approve and enable it (Feishu admin console → Workplace → App management).',
        };
      }
      return { status: 'ok', detail: `Feishu answered bot/v3/info as ${bot.name} in ${took} ms` };
    },

    checkWebhookHeaders(headers: WebhookRequest['headers']): { status: number; body?: string } | { maxBodyBytes: number } {
      const problem = feishuHeaderProblem(headers);
      return problem === null ? { maxBodyBytes: MAX_WEBHOOK_BODY_BYTES } : { status: 401, body: problem };
    },

    async receiveWebhook(request: WebhookRequest): Promise<WebhookAnswer> {
      const push = readFeishuPush(request, secrets);
      switch (push.kind) {
        case 'refused':
          return { status: push.status, body: push.reason };
        case 'challenge':
          // The URL check needs no bot, so it is answered even before the bot info was read.
          return { status: 200, body: JSON.stringify({ challenge: push.challenge }), contentType: 'application/json; charset=utf-8' };
        case 'unreadable':
          hook?.context.reject(push.reason, push.payload);
          return { status: 200 };
        case 'event':
          return handleEvent(push.eventId, push.eventType, push.event);
      }
    },

    async close(): Promise<void> {
      hook = null;
    },
  };
}
