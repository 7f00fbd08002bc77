/**
 * The channel port: what every chat-platform adapter (Telegram, Discord, Slack, IRC, …) provides
 * and what it hands to the gateway. An adapter only translates: it never decides whether to
 * answer (routing does) and never runs the agent.
 */

/** The platforms built into this build (`channels.<platform>` in the config). */
export const BUILTIN_PLATFORMS = ['telegram', 'discord', 'slack', 'irc', 'signal', 'feishu', 'whatsapp', 'matrix', 'email'] as const;

/** The name of a platform a plugin provides: its `channels.<platform>` config key, part of session keys. */
export const PLUGIN_PLATFORM_PATTERN = /^[a-z][a-z0-9-]{0,23}$/;

/** Names a plugin's platform cannot take: the built-in platforms and WebChat. */
export const RESERVED_PLATFORMS: readonly string[] = [...BUILTIN_PLATFORMS, 'webchat'];

/** Direct message, group chat, or a thread/topic inside a group. */
export type ChatKind = 'direct' | 'group' | 'thread';

/** A file or media item that came with a message. */
export interface AttachmentInfo {
  kind: 'image' | 'audio' | 'video' | 'file' | 'sticker' | 'other';
  id?: string;
  name?: string;
  mimeType?: string;
  sizeBytes?: number;
  /** `media/<sha256>` once the adapter saved the content (ChannelRunContext.saveMedia). */
  media?: string;
  /** Why the content was not saved (too large, the download failed), for the transcript. */
  notSaved?: string;
}

/** One message a person sent, normalised from a platform event. */
export interface InboundMessage {
  /** The platform's id of this message, unique within its chat (used to drop redeliveries). */
  messageId: string;
  chat: {
    id: string;
    kind: ChatKind;
    /** Thread or forum topic inside the chat (kind `thread`). */
    threadId?: string;
    title?: string;
  };
  sender: { id: string; name?: string; username?: string };
  text: string;
  /** The bot was mentioned by the platform's own mention mechanism (not a text pattern). */
  mentionsBot: boolean;
  /** The message replies to one of the bot's messages. */
  replyToBot: boolean;
  replyToMessageId?: string;
  attachments: AttachmentInfo[];
}

/** Where a message goes: a chat, optionally a thread in it and a message to reply to. */
export interface ChannelTarget {
  chatId: string;
  threadId?: string;
  replyToMessageId?: string;
}

/** One platform message to send (already converted and chunked to the platform's limits). */
export interface OutboundMessage {
  target: ChannelTarget;
  text: string;
  /**
   * Stable for this piece of this outbox entry, so a platform that deduplicates sends (Discord's
   * nonce) can recognise a resend after a crash.
   */
  idempotencyKey: string;
}

/** What the platform returned for a sent message. */
export interface SendReceipt {
  messageId: string;
}

/** How the adapter formats text and how long a message may be. */
export interface ChannelFormat {
  /** The longest text of one platform message, in characters. */
  maxMessageLength: number;
  /** Converts the agent's Markdown into what the platform renders. */
  render(markdown: string): string;
}

/**
 * A live account's view of its connection, reported to the supervisor. `progress` is called on
 * every sign of life (a poll returned, a heartbeat was acknowledged); the supervisor reconnects
 * when it stops for longer than the stall timeout.
 */
export interface ChannelRunContext {
  signal: AbortSignal;
  /** Hands a received message to the gateway; resolves once it is persisted (safe to acknowledge). */
  receive(message: InboundMessage): Promise<void>;
  /** Reports a platform payload that could not be understood; it is logged and skipped. */
  reject(reason: string, payload: unknown): void;
  /** The connection is open and authenticated; `botName` is the bot's handle on the platform. */
  connected(info: { botId: string; botName: string }): void;
  progress(): void;
  /**
   * Saves a received file by content hash (in `$HEARTH_HOME/media/` or the object store
   * `media.to` names) and resolves to its reference (`media/<sha256>`) for AttachmentInfo.media;
   * rejects when it is larger than `media.maxBytes` (which `mediaMaxBytes` says, so adapters can
   * skip downloading it) or when the store cannot be written.
   */
  saveMedia?(bytes: Uint8Array): Promise<{ ref: string; sha256: string; sizeBytes: number }>;
  mediaMaxBytes?: number;
}

/**
 * One account on one platform. `run` connects and serves until the signal aborts (resolve) or the
 * connection is lost (reject with the reason); the supervisor calls it again with backoff.
 * Errors that no retry fixes (a revoked token) reject with a ChannelError of kind `auth`.
 */
export interface Channel {
  readonly platform: string;
  readonly accountId: string;
  readonly format: ChannelFormat;
  run(context: ChannelRunContext): Promise<void>;
  /** Sends one message. Rejects with a ChannelError saying whether and when to retry. */
  send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt>;
  /** Optional: shows "typing…" in the target chat once (the platform clears it after a few seconds). */
  typing?(target: ChannelTarget, signal: AbortSignal): Promise<void>;
  /**
   * Optional: handles the platform's HTTP push (webhook mode) for this account. Resolves with the
   * HTTP status to answer only after the message is persisted, so a failure makes the platform
   * retry. Must verify the platform's signature or secret itself.
   */
  receiveWebhook?(request: WebhookRequest): Promise<WebhookAnswer>;
  /**
   * Optional, with `receiveWebhook`: checks a push's headers (the platform's secret, what of its
   * signature can be checked without the body) before the body is read. Returns the answer that
   * refuses it, or the largest body this platform sends, which the gateway then reads.
   */
  checkWebhookHeaders?(headers: WebhookRequest['headers']): { status: number; body?: string } | { maxBodyBytes: number };
  /**
   * Optional, with `receiveWebhook`: answers the platform's check of the webhook URL, a GET with
   * query parameters (Meta's `hub.mode`, `hub.verify_token`, `hub.challenge`). Returns the answer:
   * the challenge when the platform proved it knows the account's secret, a refusal otherwise.
   */
  verifyWebhook?(query: Record<string, string>): { status: number; body?: string };
  /**
   * Optional: a synthetic check that the account works end to end, for an account that has not
   * handled a message lately. Resolves `degraded` when the platform shows messages are not
   * arriving (Telegram: updates waiting that never reach us); rejects with a ChannelError when the
   * platform cannot be reached or refuses. Small and cheap: called about once a minute.
   */
  probe?(signal: AbortSignal): Promise<ChannelProbeResult>;
  /** Releases the client's resources; called once, after the last `run` ended. */
  close(): Promise<void>;
}

/** What a channel's `probe` found. */
export interface ChannelProbeResult {
  status: 'ok' | 'degraded';
  /** What was checked and seen, for people (no secrets). */
  detail: string;
  /** What the operator can do when it is degraded. */
  suggestedAction?: string;
}

/** What the gateway answers a platform's push with (the body is plain text unless `contentType` says otherwise). */
export interface WebhookAnswer {
  status: number;
  body?: string;
  /** E.g. `application/json` for a platform that reads a JSON answer (Feishu's URL challenge). */
  contentType?: string;
}

/** An HTTP request the platform pushed to the gateway for one account. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The raw body (platforms sign the exact bytes). */
  body: Buffer;
}

/** Why a platform call failed, in terms the delivery and supervision logic can act on. */
export type ChannelErrorKind =
  /** The credentials were refused: retrying will not help until the config changes. */
  | 'auth'
  /** The platform asked us to slow down; retry after `retryAfterMs`. */
  | 'rate-limited'
  /** Network failure or a 5xx: retry with backoff. */
  | 'transient'
  /** The platform refused this message (chat gone, bot blocked, bad request): do not retry. */
  | 'rejected';

const CHANNEL_ERROR = Symbol.for('hearth.channel-error');

export class ChannelError extends Error {
  readonly [CHANNEL_ERROR] = true;
  readonly kind: ChannelErrorKind;
  readonly retryAfterMs: number | undefined;

  constructor(kind: ChannelErrorKind, message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChannelError';
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isChannelError(value: unknown): value is ChannelError {
  return typeof value === 'object' && value !== null && (value as { [CHANNEL_ERROR]?: unknown })[CHANNEL_ERROR] === true;
}

/** An account's state as `hearth channels status` shows it. */
export interface ChannelAccountStatus {
  channel: string;
  accountId: string;
  state: 'starting' | 'connected' | 'reconnecting' | 'unhealthy' | 'stopped';
  connected: boolean;
  authenticated: boolean;
  botName: string | null;
  since: number;
  lastInboundAt: number | null;
  lastOutboundAt: number | null;
  lastError: string | null;
  suggestedAction: string | null;
  reconnects: number;
  /** Replies waiting to be delivered through this account, and replies given up on. */
  outbox: { pending: number; failed: number };
}

/** How one health dimension of an account is doing; `unknown` until it can be told. */
export type ChannelHealthStatus = 'ok' | 'degraded' | 'down' | 'unknown';

/**
 * The three things checked for every account: `transport` (the connection is open),
 * `application` (the platform accepted the credentials), `functional` (messages actually arrive:
 * one was handled within the window, or the adapter's probe says so).
 */
export type ChannelHealthDimension = 'transport' | 'application' | 'functional';

export interface ChannelDimensionHealth {
  status: ChannelHealthStatus;
  /** When it last became degraded or down; null while ok or unknown. */
  degradedSince: number | null;
  detail: string | null;
  suggestedAction: string | null;
}

/** One account's health as `channels.health.list|get|probe` return it. */
export interface ChannelHealthReport {
  channel: string;
  account: string;
  /** The worst of the three dimensions. */
  status: ChannelHealthStatus;
  dimensions: Record<ChannelHealthDimension, ChannelDimensionHealth>;
  /** When the functional dimension was last checked (tick or probe); null before the first check. */
  checkedAt: number | null;
  /** The degraded episode in progress: self-recovery attempts so far, and when the operator was alerted. */
  episode: { since: number; recoveryAttempts: number; maxRecoveryAttempts: number; lastAttemptAt: number | null; alertedAt: number | null } | null;
  /** The last alert raised for this account (kept after it recovered) and when it last recovered. */
  lastAlert: ChannelHealthAlert | null;
  recoveredAt: number | null;
}

/** Raised once per degraded episode, after bounded self-recovery did not help. */
export interface ChannelHealthAlert {
  event: 'channel.health';
  channel: string;
  account: string;
  /** The dimension at fault (application before transport before functional when several are). */
  dimension: ChannelHealthDimension;
  status: 'degraded' | 'down';
  degradedSince: number;
  detail: string | null;
  suggestedAction: string | null;
  recoveryAttempts: number;
  at: number;
}

/** Sent when an account that raised an alert is healthy again (the all-clear for that alert). */
export interface ChannelHealthRecovered {
  event: 'channel.health.recovered';
  channel: string;
  account: string;
  /** When the episode began. */
  degradedSince: number;
  recoveryAttempts: number;
  at: number;
}

export type ChannelHealthEvent = ChannelHealthAlert | ChannelHealthRecovered;
