import { type AttachmentDownload, saveAttachments } from '../save-attachments.js';
import { timingSafeEqual } from 'node:crypto';
import { Api, GrammyError, HttpError } from 'grammy';
import type { Message, Update } from 'grammy/types';
import type {
  AttachmentInfo,
  Channel,
  ChannelProbeResult,
  ChannelRunContext,
  ChannelTarget,
  InboundMessage,
  OutboundMessage,
  SendReceipt,
  WebhookRequest,
} from '../../contracts/channel.js';
import { ChannelError } from '../../contracts/channel.js';
import { pause } from '../abort-helpers.js';
import { markdownToTelegramHtml } from '../markdown.js';

export interface TelegramChannelOptions {
  accountId: string;
  botToken: string;
  /** Bot API base URL; default https://api.telegram.org. */
  apiRoot?: string;
  /** Long-poll timeout in seconds (default 30). */
  pollTimeoutSeconds?: number;
  /** Webhook mode: Telegram pushes updates to `url` with `secret`; the gateway passes them to `receiveWebhook`. */
  webhook?: { url: string; secret: string; checkIntervalMs?: number };
}

/** grammY's Node build types signals with the abort-controller package; the native one works. */
type GrammySignal = NonNullable<Parameters<Api['getMe']>[0]>;
const toGrammy = (signal: AbortSignal) => signal as unknown as GrammySignal;

/** The Telegram Bot API's limit for one message, in characters. */
export const TELEGRAM_MAX_MESSAGE = 4096;
/** The largest webhook body read: an update is a few KiB; 1 MiB leaves room for long captions and entities. */
const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** Maps a grammY failure to what the supervisor and the outbox can act on. */
export function toChannelError(error: unknown, action: string): ChannelError {
  if (error instanceof ChannelError) return error;
  if (error instanceof GrammyError) {
    const code = error.error_code;
    const detail = `Telegram refused to ${action}: ${code} ${error.description}`;
    if (code === 401 || (code === 404 && error.method === 'getMe')) return new ChannelError('auth', detail, { cause: error });
    if (code === 429) {
      const seconds = error.parameters.retry_after ?? 1;
      return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: seconds * 1000 });
    }
    if (code === 409) return new ChannelError('transient', `${detail} (another program polls this bot or a webhook is set; stop the other one)`, { cause: error });
    if (code >= 500) return new ChannelError('transient', detail, { cause: error });
    return new ChannelError('rejected', detail, { cause: error });
  }
  if (error instanceof HttpError) return new ChannelError('transient', `could not reach Telegram to ${action}: ${error.message}`, { cause: error });
  return new ChannelError('transient', `${action} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function attachmentsOf(message: Message): AttachmentInfo[] {
  const list: AttachmentInfo[] = [];
  const photo = message.photo?.at(-1);
  if (photo) list.push({ kind: 'image', id: photo.file_id, ...(photo.file_size === undefined ? {} : { sizeBytes: photo.file_size }) });
  if (message.document) {
    const doc = message.document;
    list.push({
      kind: 'file',
      id: doc.file_id,
      ...(doc.file_name === undefined ? {} : { name: doc.file_name }),
      ...(doc.mime_type === undefined ? {} : { mimeType: doc.mime_type }),
      ...(doc.file_size === undefined ? {} : { sizeBytes: doc.file_size }),
    });
  }
  if (message.voice) list.push({ kind: 'audio', id: message.voice.file_id, name: 'voice message' });
  if (message.audio) list.push({ kind: 'audio', id: message.audio.file_id, ...(message.audio.title === undefined ? {} : { name: message.audio.title }) });
  if (message.video) list.push({ kind: 'video', id: message.video.file_id });
  if (message.sticker) list.push({ kind: 'sticker', id: message.sticker.file_id, ...(message.sticker.emoji === undefined ? {} : { name: message.sticker.emoji }) });
  return list;
}

/**
 * Turns a Bot API update into an InboundMessage, or explains why it cannot. Only `message`
 * updates carry something to answer; other kinds are skipped quietly (null reason).
 */
export function normalizeTelegramUpdate(update: Update, bot: { id: number; username: string }): { message: InboundMessage } | { skip: string | null } {
  const message = update.message;
  if (!message) return { skip: typeof update.update_id === 'number' ? null : 'an update without update_id' };
  const chat = message.chat as Message['chat'] | undefined;
  const from = message.from;
  if (!chat || typeof chat.id !== 'number' || !from || typeof from.id !== 'number') return { skip: 'a message without chat or sender' };
  if (from.id === bot.id) return { skip: null };
  const text = message.text ?? message.caption ?? '';
  const entities = message.entities ?? message.caption_entities ?? [];
  const handle = `@${bot.username}`.toLowerCase();
  const mentionsBot = entities.some((entity) => {
    if (entity.type === 'text_mention') return entity.user.id === bot.id;
    const value = text.slice(entity.offset, entity.offset + entity.length).toLowerCase();
    if (entity.type === 'mention') return value === handle;
    if (entity.type === 'bot_command') return value.endsWith(handle);
    return false;
  });
  const topic = message.is_topic_message === true && message.message_thread_id !== undefined;
  const reply = message.reply_to_message;
  // In forum topics every message "replies" to the topic's first message; only a reply to the bot counts.
  const replyToBot = reply?.from?.id === bot.id && !(topic && reply.message_id === message.message_thread_id);
  const kind = chat.type === 'private' ? 'direct' : topic ? 'thread' : 'group';
  const name = [from.first_name, from.last_name].filter((part) => part).join(' ');
  return {
    message: {
      messageId: String(message.message_id),
      chat: {
        id: String(chat.id),
        kind,
        ...(kind === 'thread' ? { threadId: String(message.message_thread_id) } : {}),
        ...('title' in chat && typeof chat.title === 'string' ? { title: chat.title } : {}),
      },
      sender: { id: String(from.id), ...(name ? { name } : {}), ...(from.username ? { username: from.username } : {}) },
      text,
      mentionsBot,
      replyToBot,
      ...(reply ? { replyToMessageId: String(reply.message_id) } : {}),
      attachments: attachmentsOf(message),
    },
  };
}

/** Fetches a file a message carried: `getFile`, then `<apiRoot>/file/bot<token>/<file_path>`, as the Bot API serves it. */
function telegramDownload(api: Api, token: string, apiRoot = 'https://api.telegram.org'): AttachmentDownload {
  return async (attachment, signal) => {
    const file = await api.getFile(attachment.id as string, toGrammy(signal));
    if (!file.file_path) throw new Error('Telegram gave no file_path (files over 20 MB cannot be downloaded by bots)');
    const response = await fetch(`${apiRoot.replace(/\/+$/u, '')}/file/bot${token}/${file.file_path}`, { signal });
    if (!response.ok) throw new Error(`the download answered ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
}

/** HTML back to readable text, for a resend when Telegram refuses our formatting. */
function htmlToText(html: string): string {
  return html
    .replace(/<[^>]+>/gu, '')
    .replace(/&lt;/gu, '<')
    .replace(/&gt;/gu, '>')
    .replace(/&quot;/gu, '"')
    .replace(/&amp;/gu, '&');
}

/**
 * A Telegram bot account over the Bot API (grammY's `Api` client): long polling with the offset
 * confirmed only after each message is persisted, so a crash re-delivers rather than loses.
 */
export function createTelegramChannel(options: TelegramChannelOptions): Channel {
  const api = new Api(options.botToken, { ...(options.apiRoot ? { apiRoot: options.apiRoot.replace(/\/+$/u, '') } : {}) });
  const download = telegramDownload(api, options.botToken, options.apiRoot);
  const pollTimeout = options.pollTimeoutSeconds ?? 30;
  let offset = 0;
  /** The live run in webhook mode: where pushed updates go. */
  let live: { context: ChannelRunContext; bot: { id: number; username: string } } | null = null;
  /** Updates taken in (polled or pushed), so the probe can tell whether any arrived between two checks. */
  let updatesTaken = 0;
  /** The last probe that saw updates waiting at Telegram: when, and how many had been taken then. */
  let waitingSeen: { at: number; taken: number } | null = null;

  /**
   * Telegram counts the updates it holds for the bot (in polling mode too). Some waiting at one
   * check is normal — one may be on its way — but still waiting at the next check with none
   * taken in between means the account is deaf: connected, polling, and getting nothing.
   */
  async function probe(signal: AbortSignal): Promise<ChannelProbeResult> {
    const info = await api.getWebhookInfo(toGrammy(signal)).catch((error: unknown) => {
      throw toChannelError(error, 'check for waiting updates (getWebhookInfo)');
    });
    const pending = info.pending_update_count;
    const seen = waitingSeen;
    if (pending === 0) {
      waitingSeen = null;
      return { status: 'ok', detail: 'no updates waiting at Telegram' };
    }
    if (seen === null || seen.taken !== updatesTaken) {
      waitingSeen = { at: Date.now(), taken: updatesTaken };
      return { status: 'ok', detail: `${pending} update(s) waiting at Telegram; checking that they arrive` };
    }
    const since = new Date(seen.at).toISOString();
    if (options.webhook) {
      const lastError = info.last_error_message ? ` (Telegram's last delivery error: ${info.last_error_message})` : '';
      return {
        status: 'degraded',
        detail: `${pending} update(s) have waited at Telegram since ${since} and none reached the webhook${lastError}`,
        suggestedAction: `Telegram cannot deliver to the webhook: check that webhookUrl reaches this gateway's /channels/telegram/${options.accountId}/webhook through your reverse proxy (HTTPS, valid certificate).`,
      };
    }
    return {
      status: 'degraded',
      detail: `${pending} update(s) have waited at Telegram since ${since} and none arrived, though polling answers`,
      suggestedAction:
        'Telegram holds messages this bot does not receive: make sure no other program polls this bot token or sets a webhook for it, and if apiRoot points at your own Bot API server, restart that server.',
    };
  }

  async function serveWebhook(context: ChannelRunContext, bot: { id: number; username: string }, webhook: NonNullable<TelegramChannelOptions['webhook']>) {
    const { signal } = context;
    await api.setWebhook(webhook.url, { secret_token: webhook.secret, allowed_updates: ['message'], drop_pending_updates: false }, toGrammy(signal)).catch((error: unknown) => {
      throw toChannelError(error, 'set the webhook (setWebhook)');
    });
    live = { context, bot };
    context.connected({ botId: String(bot.id), botName: `@${bot.username}` });
    try {
      // Telegram pushes the updates; checking the webhook now and then is the sign of life.
      while (!signal.aborted) {
        await pause(webhook.checkIntervalMs ?? 30_000, signal);
        if (signal.aborted) break;
        const info = await api.getWebhookInfo(toGrammy(signal)).catch((error: unknown) => {
          throw toChannelError(error, 'check the webhook (getWebhookInfo)');
        });
        if (info.url !== webhook.url) throw new ChannelError('transient', `the webhook is now "${info.url}", not ${webhook.url}: another program changed it`);
        context.progress();
      }
    } finally {
      live = null;
    }
  }

  const threadOptions = (target: ChannelTarget) => (target.threadId !== undefined ? { message_thread_id: Number(target.threadId) } : {});

  /** Telegram's secret header, checked before the body is read. */
  const checkWebhookHeaders = (headers: WebhookRequest['headers']): { status: number; body?: string } | { maxBodyBytes: number } => {
    const expected = options.webhook?.secret;
    const given = headers['x-telegram-bot-api-secret-token'];
    if (!expected || typeof given !== 'string' || given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      return { status: 401, body: 'wrong or missing secret token' };
    }
    return { maxBodyBytes: MAX_WEBHOOK_BODY_BYTES };
  };

  return {
    platform: 'telegram',
    accountId: options.accountId,
    format: { maxMessageLength: TELEGRAM_MAX_MESSAGE, render: markdownToTelegramHtml },

    async run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      try {
        const me = await api.getMe(toGrammy(signal)).catch((error: unknown) => {
          throw toChannelError(error, 'check the bot token (getMe)');
        });
        const bot = { id: me.id, username: me.username };
        if (options.webhook) {
          await serveWebhook(context, bot, options.webhook);
          return;
        }
        await api.deleteWebhook({ drop_pending_updates: false }, toGrammy(signal)).catch((error: unknown) => {
          throw toChannelError(error, 'switch to long polling (deleteWebhook)');
        });
        // Connected means updates arrive, not just that the token works: the first poll returns at
        // once, and only then is the account reported connected.
        let first = true;
        while (!signal.aborted) {
          const updates = await api
            .getUpdates({ offset, timeout: first ? 0 : pollTimeout, allowed_updates: ['message'] }, toGrammy(signal))
            .catch((error: unknown) => {
              throw toChannelError(error, 'fetch updates (getUpdates)');
            });
          if (first) {
            first = false;
            context.connected({ botId: String(me.id), botName: `@${me.username}` });
          }
          context.progress();
          if (!Array.isArray(updates)) {
            context.reject('getUpdates returned something that is not a list', updates);
            continue;
          }
          for (const update of updates) {
            updatesTaken += 1;
            const id = (update as { update_id?: unknown }).update_id;
            const normalized = normalizeTelegramUpdate(update, bot);
            if ('message' in normalized) await context.receive(await saveAttachments(normalized.message, context, download));
            else if (normalized.skip !== null) context.reject(normalized.skip, update);
            // The next poll confirms everything up to here: only after the messages above are persisted.
            if (typeof id === 'number' && id >= offset) offset = id + 1;
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const { target } = message;
      const reply = target.replyToMessageId !== undefined ? { reply_parameters: { message_id: Number(target.replyToMessageId), allow_sending_without_reply: true } } : {};
      const base = { ...threadOptions(target), ...reply, link_preview_options: { is_disabled: true } };
      try {
        const sent = await api.sendMessage(target.chatId, message.text, { ...base, parse_mode: 'HTML' }, toGrammy(signal));
        return { messageId: String(sent.message_id) };
      } catch (error) {
        if (error instanceof GrammyError && error.error_code === 400 && /can't parse entities/iu.test(error.description)) {
          const sent = await api.sendMessage(target.chatId, htmlToText(message.text), base, toGrammy(signal)).catch((inner: unknown) => {
            throw toChannelError(inner, 'send a message');
          });
          return { messageId: String(sent.message_id) };
        }
        throw toChannelError(error, 'send a message');
      }
    },

    async typing(target: ChannelTarget, signal: AbortSignal): Promise<void> {
      await api.sendChatAction(target.chatId, 'typing', threadOptions(target), toGrammy(signal)).catch((error: unknown) => {
        throw toChannelError(error, 'show typing');
      });
    },

    probe,

    checkWebhookHeaders,

    async receiveWebhook(request: WebhookRequest): Promise<{ status: number; body?: string }> {
      const refusal = checkWebhookHeaders(request.headers);
      if ('status' in refusal) return refusal;
      const current = live;
      // Not connected yet (or stopping): Telegram keeps the update and retries.
      if (!current) return { status: 503, body: 'not ready' };
      let update: Update;
      try {
        update = JSON.parse(request.body.toString('utf8')) as Update;
      } catch {
        current.context.reject('a webhook body that is not JSON', request.body.toString('utf8').slice(0, 200));
        return { status: 200 };
      }
      current.context.progress();
      updatesTaken += 1;
      const normalized = typeof update === 'object' && update !== null ? normalizeTelegramUpdate(update, current.bot) : { skip: 'a webhook body that is not an update' };
      if ('message' in normalized) {
        try {
          await current.context.receive(await saveAttachments(normalized.message, current.context, download));
        } catch {
          return { status: 500, body: 'could not store the message; retry' };
        }
      } else if (normalized.skip !== null) {
        current.context.reject(normalized.skip, update);
      }
      return { status: 200 };
    },

    async close(): Promise<void> {},
  };
}
