import { createHash } from 'node:crypto';
import {
  Client,
  type ClientOptions,
  type CloseEvent,
  DiscordAPIError,
  DiscordjsError,
  DiscordjsErrorCodes,
  Events,
  GatewayIntentBits,
  HTTPError,
  type Message,
  MessageType,
  Partials,
  RateLimitError,
  REST,
  type RateLimitData,
  Routes,
  type SessionInfo,
  SimpleShardingStrategy,
} from 'discord.js';
import type { AttachmentInfo, Channel, ChannelProbeResult, ChannelRunContext, ChannelTarget, InboundMessage, OutboundMessage, SendReceipt } from '../../contracts/channel.js';
import { ChannelError } from '../../contracts/channel.js';
import { untilAborted } from '../abort-helpers.js';

/** The error an aborted call settles with: the signal's own reason (a timeout or a stop). */
const abortReason = (signal: AbortSignal) => () => (signal.reason instanceof Error ? signal.reason : new Error('aborted'));

export interface DiscordChannelOptions {
  accountId: string;
  /** The bot token from the Discord Developer Portal (Bot → Token). */
  token: string;
  /** REST API base URL without the version (default https://discord.com/api); the gateway URL is discovered from it. */
  apiRoot?: string;
}

/** Discord's limit for one message's content, in characters. */
export const DISCORD_MAX_MESSAGE = 2000;

/** Rate limits shorter than this are waited out inside the send; longer ones go back to the outbox. */
const INLINE_RATE_LIMIT_MS = 5000;
/** How often the heartbeat acknowledgement time is checked for a sign of life. */
const HEARTBEAT_CHECK_MS = 1000;
/** Discord accepts a nonce of at most 25 characters. */
const NONCE_LENGTH = 25;
/** The most user → DM channel ids remembered for `message send --to <user id>`. */
const DM_CACHE_LIMIT = 1000;

/** Discord's JSON error codes this adapter acts on. */
const UNKNOWN_CHANNEL = 10003;

/** The intents Hearth asks for; Message Content is privileged and must be switched on in the Developer Portal. */
const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent];

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Maps a discord.js / @discordjs/rest failure to what the supervisor and the outbox can act on. */
export function toChannelError(error: unknown, action: string): ChannelError {
  if (error instanceof ChannelError) return error;
  if (error instanceof RateLimitError) {
    const retryAfterMs = Math.max(0, Math.ceil(Math.max(error.retryAfter, error.timeToReset)));
    return new ChannelError('rate-limited', `Discord rate-limited the request to ${action} (${error.global ? 'global' : error.scope} limit, retry in ${retryAfterMs} ms)`, {
      cause: error,
      retryAfterMs,
    });
  }
  if (error instanceof DiscordAPIError) {
    const detail = `Discord refused to ${action}: ${error.status} (code ${String(error.code)}) ${error.message}`;
    if (error.status === 401) return new ChannelError('auth', detail, { cause: error });
    if (error.status === 429) return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: 1000 });
    if (error.status >= 500) return new ChannelError('transient', detail, { cause: error });
    return new ChannelError('rejected', detail, { cause: error });
  }
  if (error instanceof HTTPError) {
    const detail = `Discord answered ${error.status} to ${action}`;
    if (error.status === 401) return new ChannelError('auth', detail, { cause: error });
    if (error.status === 429) return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: 1000 });
    if (error.status >= 500) return new ChannelError('transient', detail, { cause: error });
    return new ChannelError('rejected', detail, { cause: error });
  }
  if (error instanceof DiscordjsError && error.code === DiscordjsErrorCodes.TokenInvalid) {
    return new ChannelError('auth', `Discord refused the bot token (${action})`, { cause: error });
  }
  return new ChannelError('transient', `could not ${action} on Discord: ${errorText(error)}`, { cause: error });
}

/**
 * What a gateway close that discord.js will not recover from means. Only these close codes end a
 * connection for good; every other drop is resumed by discord.js itself.
 */
export function gatewayCloseError(code: number): ChannelError {
  switch (code) {
    case 4004:
      return new ChannelError('auth', 'Discord refused the bot token (gateway close 4004 "Authentication failed")');
    case 4014:
      return new ChannelError(
        'auth',
        'Discord refused the gateway intents (close 4014 "Disallowed intents"): switch on the Message Content Intent under Bot → Privileged Gateway Intents in the Developer Portal',
      );
    case 4013:
      return new ChannelError('transient', 'Discord refused the gateway intents (close 4013 "Invalid intents")');
    case 4010:
    case 4011:
      return new ChannelError('transient', `Discord refused the shard setup (close ${code}): this bot is in too many servers for one connection`);
    case 4012:
      return new ChannelError('transient', 'Discord refused the gateway API version (close 4012)');
    default:
      return new ChannelError('transient', `the Discord gateway closed the connection for good (close ${code})`);
  }
}

function attachmentKind(contentType: string | null): AttachmentInfo['kind'] {
  if (contentType === null) return 'file';
  if (contentType.startsWith('image/')) return 'image';
  if (contentType.startsWith('audio/')) return 'audio';
  if (contentType.startsWith('video/')) return 'video';
  return 'file';
}

function attachmentsOf(message: Message): AttachmentInfo[] {
  const list: AttachmentInfo[] = [];
  for (const attachment of message.attachments.values()) {
    list.push({
      kind: attachmentKind(attachment.contentType),
      id: attachment.id,
      ...(attachment.name ? { name: attachment.name } : {}),
      ...(attachment.contentType ? { mimeType: attachment.contentType } : {}),
      ...(typeof attachment.size === 'number' ? { sizeBytes: attachment.size } : {}),
    });
  }
  for (const sticker of message.stickers.values()) list.push({ kind: 'sticker', id: sticker.id, ...(sticker.name ? { name: sticker.name } : {}) });
  return list;
}

function mentionPattern(botId: string): RegExp {
  return new RegExp(`<@!?${botId}>`, 'u');
}

/**
 * Turns a discord.js `messageCreate` message into an InboundMessage, or explains why it cannot.
 * Messages from bots (this one included), webhooks and system messages are skipped quietly (null
 * reason). A thread message belongs to its parent channel (`chat.id`) with the thread as
 * `chat.threadId`, so a channel allowlist covers its threads and each thread is its own session.
 */
export function normalizeDiscordMessage(message: Message, botId: string): { message: InboundMessage } | { skip: string | null } {
  const author = message.author as Message['author'] | null;
  if (!author || typeof author.id !== 'string') return { skip: 'a message without author' };
  if (typeof message.id !== 'string' || typeof message.channelId !== 'string' || message.channelId === '') return { skip: 'a message without id or channel' };
  if (author.id === botId || author.bot === true || message.webhookId || message.system) return { skip: null };

  const channel = message.channel as Message['channel'] | null;
  const direct = message.guildId === null;
  const thread = !direct && channel !== null && channel.isThread() && typeof channel.parentId === 'string' && channel.parentId !== '';
  let chat: InboundMessage['chat'];
  if (direct) chat = { id: message.channelId, kind: 'direct' };
  else if (thread && channel?.isThread()) {
    const parentName = channel.parent?.name;
    chat = { id: channel.parentId ?? message.channelId, kind: 'thread', threadId: message.channelId, title: parentName ? `#${parentName} › ${channel.name}` : channel.name };
  } else {
    const name = channel !== null && 'name' in channel && typeof channel.name === 'string' ? channel.name : undefined;
    chat = { id: message.channelId, kind: 'group', ...(name ? { title: `#${name}` } : {}) };
  }

  const content = typeof message.content === 'string' ? message.content : '';
  let text = content;
  try {
    text = message.cleanContent ?? content;
  } catch {
    // Mentions stay as <@id> when they cannot be resolved to names.
  }
  const mentionsBot = mentionPattern(botId).test(content) || message.mentions.has(botId, { ignoreEveryone: true, ignoreRepliedUser: true });
  const reply = message.type === MessageType.Reply ? message.reference?.messageId : undefined;
  const repliedAuthor = reply === undefined ? undefined : (message.mentions.repliedUser?.id ?? channel?.messages.cache.get(reply)?.author?.id);
  const name = message.member?.displayName ?? author.globalName ?? author.username;
  return {
    message: {
      messageId: message.id,
      chat,
      sender: { id: author.id, ...(name ? { name } : {}), ...(author.username ? { username: author.username } : {}) },
      text,
      mentionsBot,
      replyToBot: repliedAuthor === botId,
      ...(reply === undefined ? {} : { replyToMessageId: reply }),
      attachments: attachmentsOf(message),
    },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Message fields discord.js iterates over without checking. */
const MESSAGE_LISTS = ['mentions', 'mention_roles', 'mention_channels', 'attachments', 'embeds', 'components', 'sticker_items', 'reactions'];

/**
 * Why a gateway dispatch is too broken for discord.js to handle (it would throw), or null. Every
 * dispatch carries an object; message events need an id, a channel id and well-formed lists.
 */
export function malformedDispatch(packet: { t?: unknown; d?: unknown }): string | null {
  const { t, d } = packet;
  if (typeof t !== 'string') return null;
  if (!isObject(d)) return `a ${t} event without a payload object`;
  if (t !== 'MESSAGE_CREATE' && t !== 'MESSAGE_UPDATE') return null;
  if (typeof d.id !== 'string' || typeof d.channel_id !== 'string') return `a ${t} event without message or channel id`;
  if (d.author !== undefined && d.author !== null && !(isObject(d.author) && typeof d.author.id === 'string')) return `a ${t} event with a malformed author`;
  if (d.content !== undefined && typeof d.content !== 'string') return `a ${t} event whose content is not text`;
  for (const key of MESSAGE_LISTS) if (d[key] !== undefined && d[key] !== null && !Array.isArray(d[key])) return `a ${t} event whose ${key} is not a list`;
  return null;
}

/**
 * The nonce for one piece of one outbox entry: the same on every resend of that piece, so Discord
 * (with `enforce_nonce`) returns the message it already created instead of posting it again.
 * The destination and text are part of it, so two gateways (or a reset database) reusing an
 * outbox id never collide on a different message.
 */
export function discordNonce(message: OutboundMessage): string {
  const { target } = message;
  return createHash('sha256')
    .update(`${target.chatId}\n${target.threadId ?? ''}\n${message.idempotencyKey}\n${message.text}`)
    .digest('hex')
    .slice(0, NONCE_LENGTH);
}

type GatewayManager = Parameters<NonNullable<NonNullable<ClientOptions['ws']>['buildStrategy']>>[0];

/**
 * discord.js's default sharding with one fix: once `stopped()` is true, a shard never opens another
 * socket. @discordjs/ws 1.x waits 500 ms between reconnect attempts with the shard marked idle, and
 * `Client.destroy()` skips idle shards, so a client destroyed while Discord is unreachable would go
 * on reconnecting forever (and, once Discord is back, hold a second session). Every attempt first
 * asks for the stored session; after the stop that question is never answered, so the attempt
 * waits without a timer or socket and is garbage-collected.
 */
function stoppableSharding(stopped: () => boolean) {
  return (manager: GatewayManager) => {
    const options = manager.options as { retrieveSessionInfo: (shardId: number) => SessionInfo | null };
    const retrieve = options.retrieveSessionInfo;
    options.retrieveSessionInfo = (shardId) => (stopped() ? (new Promise<never>(() => {}) as unknown as SessionInfo | null) : retrieve(shardId));
    return new SimpleShardingStrategy(manager);
  };
}

/**
 * A Discord bot account: the gateway (discord.js `Client`, one per `run`) brings messages in;
 * replies and typing go out over REST (one `@discordjs/rest` instance for the channel's lifetime),
 * so sending does not depend on the gateway socket and keeps working while discord.js resumes a
 * dropped connection. Short rate limits and 5xx answers are retried inside @discordjs/rest;
 * longer rate limits come back as `rate-limited` for the outbox to wait out. Every send carries a
 * nonce derived from its idempotency key with `enforce_nonce`, so a resend after a crash does not
 * post twice.
 */
export function createDiscordChannel(options: DiscordChannelOptions): Channel {
  const api = options.apiRoot?.replace(/\/+$/u, '');
  const rest = new REST({
    ...(api ? { api } : {}),
    rejectOnRateLimit: (data: RateLimitData) => Math.max(data.retryAfter, data.timeToReset) > INLINE_RATE_LIMIT_MS,
  }).setToken(options.token);
  /** User id → DM channel id, for sends addressed to a person rather than a channel. */
  const dmChannels = new Map<string, string>();

  async function post(channelId: string, message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
    const { target } = message;
    const body = {
      content: message.text,
      nonce: discordNonce(message),
      enforce_nonce: true,
      allowed_mentions: { parse: [] },
      ...(target.replyToMessageId !== undefined ? { message_reference: { message_id: target.replyToMessageId, fail_if_not_exists: false } } : {}),
    };
    const sent = (await untilAborted(rest.post(Routes.channelMessages(channelId), { body, signal }), signal, abortReason(signal))) as { id?: unknown };
    if (typeof sent?.id !== 'string') throw new ChannelError('transient', 'Discord answered a message send without a message id');
    return { messageId: sent.id };
  }

  async function openDm(userId: string, signal: AbortSignal): Promise<string | null> {
    const known = dmChannels.get(userId);
    if (known !== undefined) return known;
    try {
      const channel = (await untilAborted(rest.post(Routes.userChannels(), { body: { recipient_id: userId }, signal }), signal, abortReason(signal))) as { id?: unknown };
      if (typeof channel?.id !== 'string') return null;
      if (dmChannels.size >= DM_CACHE_LIMIT) {
        const oldest = dmChannels.keys().next();
        if (oldest.done !== true) dmChannels.delete(oldest.value);
      }
      dmChannels.set(userId, channel.id);
      return channel.id;
    } catch {
      return null;
    }
  }

  return {
    platform: 'discord',
    accountId: options.accountId,
    format: { maxMessageLength: DISCORD_MAX_MESSAGE, render: (markdown: string) => markdown },

    run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      if (signal.aborted) return Promise.resolve();
      let stopped = false;
      const client = new Client({
        intents: INTENTS,
        partials: [Partials.Channel],
        allowedMentions: { parse: [] },
        ws: { buildStrategy: stoppableSharding(() => stopped) },
        ...(api ? { rest: { api } } : {}),
      });
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        let inbound: Promise<void> = Promise.resolve();
        let lastHeartbeat = -1;
        const heartbeatCheck = setInterval(() => {
          let latest = -1;
          for (const shard of client.ws.shards.values()) latest = Math.max(latest, shard.lastPingTimestamp);
          if (latest !== lastHeartbeat) {
            lastHeartbeat = latest;
            if (latest > 0) context.progress();
          }
        }, HEARTBEAT_CHECK_MS);

        const finish = (error?: ChannelError) => {
          if (settled) return;
          settled = true;
          stopped = true;
          clearInterval(heartbeatCheck);
          signal.removeEventListener('abort', onAbort);
          client
            .destroy()
            .catch(() => undefined)
            .then(() => inbound)
            .then(() => {
              if (error && !signal.aborted) reject(error);
              else resolve();
            });
        };
        const onAbort = () => finish();
        signal.addEventListener('abort', onAbort, { once: true });

        const handle = async (message: Message): Promise<void> => {
          const botId = client.user?.id;
          if (botId === undefined) return;
          if (message.author && message.guildId !== null) {
            // A thread the cache does not know yet (created while we were away): learn its parent channel.
            const channel = message.channel as Message['channel'] | null;
            if (channel === null || (channel.isThread() && !channel.parentId)) await client.channels.fetch(message.channelId, { force: true }).catch(() => undefined);
          }
          const normalized = normalizeDiscordMessage(message, botId);
          if ('skip' in normalized) {
            if (normalized.skip !== null) context.reject(normalized.skip, { id: message.id, channel_id: message.channelId, guild_id: message.guildId, content: message.content });
            return;
          }
          try {
            await context.receive(normalized.message);
          } catch (error) {
            // Discord does not redeliver a gateway event, so there is nothing to wait for: say so and go on.
            context.reject(`the gateway could not take message ${message.id} (it is not answered): ${errorText(error)}`, {
              id: message.id,
              channel_id: message.channelId,
            });
          }
        };

        client.on(Events.Raw, (packet: { t?: unknown; d?: unknown }) => {
          context.progress();
          const problem = malformedDispatch(packet);
          if (problem === null) return;
          context.reject(problem, packet);
          // discord.js handles the packet right after this event and throws on such shapes (an unhandled
          // rejection that would end the process); renamed, no handler matches it and it is dropped.
          packet.t = 'HEARTH_MALFORMED_DISPATCH';
        });
        client.on(Events.MessageCreate, (message) => {
          // One at a time, in the order Discord sent them; a message that breaks the handler is reported and the next one still runs.
          inbound = inbound
            .then(() => handle(message))
            .catch((error: unknown) => context.reject(`a message that could not be read: ${errorText(error)}`, { id: message.id, channel_id: message.channelId }));
        });
        client.once(Events.ClientReady, (ready) => {
          context.connected({ botId: ready.user.id, botName: `@${ready.user.username}` });
        });
        client.on(Events.ShardDisconnect, (event: CloseEvent) => finish(gatewayCloseError(event.code)));
        // discord.js reports socket errors here and then resumes by itself; without a listener they would throw.
        client.on(Events.ShardError, () => undefined);
        client.on(Events.Error, () => undefined);

        client.login(options.token).catch((error: unknown) => {
          if (error instanceof Error && /Authentication failed/iu.test(error.message)) finish(gatewayCloseError(4004));
          else if (error instanceof Error && /disallowed intent/iu.test(error.message)) finish(gatewayCloseError(4014));
          else finish(toChannelError(error, 'log in'));
        });
      });
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const { target } = message;
      const channelId = target.threadId ?? dmChannels.get(target.chatId) ?? target.chatId;
      try {
        return await post(channelId, message, signal);
      } catch (error) {
        // `hearth message send --to <user id>`: a user id is not a channel; open the DM and send there.
        if (error instanceof DiscordAPIError && error.code === UNKNOWN_CHANNEL && target.threadId === undefined && /^\d{5,20}$/u.test(target.chatId)) {
          const dm = await openDm(target.chatId, signal);
          if (dm !== null && dm !== target.chatId) {
            try {
              return await post(dm, message, signal);
            } catch (inner) {
              throw toChannelError(inner, 'send a message');
            }
          }
        }
        throw toChannelError(error, 'send a message');
      }
    },

    async typing(target: ChannelTarget, signal: AbortSignal): Promise<void> {
      const channelId = target.threadId ?? dmChannels.get(target.chatId) ?? target.chatId;
      await untilAborted(rest.post(Routes.channelTyping(channelId), { signal }), signal, abortReason(signal)).catch((error: unknown) => {
        throw toChannelError(error, 'show typing');
      });
    },

    /** A REST round trip (who am I): the token works and Discord answers. */
    async probe(signal: AbortSignal): Promise<ChannelProbeResult> {
      const started = Date.now();
      const me = (await untilAborted(rest.get(Routes.user(), { signal }), signal, abortReason(signal)).catch((error: unknown) => {
        throw toChannelError(error, 'check the bot (GET users/@me)');
      })) as { username?: unknown };
      const name = typeof me?.username === 'string' ? ` as @${me.username}` : '';
      return { status: 'ok', detail: `Discord answered GET users/@me${name} in ${Date.now() - started} ms` };
    },

    async close(): Promise<void> {
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
      rest.removeAllListeners();
    },
  };
}
