import type { InboundMessage } from '../contracts/channel.js';
import type { PluginChannelAccount, PluginChannelContext, PluginChannelDefinition, PluginChannelErrorKind, PluginInboundMessage } from './plugin-api.js';
import {
  CHANNEL_ERROR_KINDS,
  type ChannelErrorInfo,
  type HostMessage,
  MAX_CONTENT_CHARS,
  MAX_ID_CHARS,
  MAX_NOTE_CHARS,
  messageOf,
  type PluginChannelInfo,
  truncate,
  type WorkerMessage,
} from './plugin-protocol.js';

/**
 * The worker's side of a plugin's channels: checks what `registerChannel` is given, and runs the
 * host's channel requests (run, send, typing, probe) against the plugin's definitions. A received
 * message crosses to the host, and the plugin's `receive` resolves when the host has stored it.
 */

export interface RegisteredChannel {
  info: PluginChannelInfo;
  definition: PluginChannelDefinition;
}

type Send = (message: WorkerMessage) => void;
type ChannelRequest = Extract<HostMessage, { type: 'channel' }>;

/** Messages a plugin may hand over that the host has not acknowledged yet. */
const MAX_UNACKNOWLEDGED = 256;
/** How long `receive` waits for the host to store a message. */
const ACK_TIMEOUT_MS = 120_000;
/** Signs of life cross at most this often per run. */
const PROGRESS_EVERY_MS = 1000;
/** How long a new run of an account waits for its previous run to end. */
const PREVIOUS_RUN_WAIT_MS = 5000;

/** The channel as kept (defaults filled in), or why it is refused. */
export function checkChannel(channel: PluginChannelDefinition, declared: ReadonlySet<string>, registered: ReadonlyMap<string, RegisteredChannel>): RegisteredChannel | string {
  const platform = typeof channel?.platform === 'string' ? channel.platform : '(no platform)';
  if (!declared.has(platform)) return `channel "${truncate(platform, 40)}" is not declared in hearth.plugin.json registers.channels`;
  if (registered.has(platform)) return `channel "${platform}" is registered twice`;
  for (const method of ['run', 'send'] as const) if (typeof channel[method] !== 'function') return `channel "${platform}" has no ${method} function`;
  for (const method of ['typing', 'probe'] as const) {
    if (channel[method] !== undefined && typeof channel[method] !== 'function') return `channel "${platform}": ${method} must be a function`;
  }
  const maxMessageLength = channel.maxMessageLength ?? 4000;
  if (!Number.isInteger(maxMessageLength) || maxMessageLength < 64 || maxMessageLength > 100_000) return `channel "${platform}": maxMessageLength must be an integer from 64 to 100000`;
  const markup = channel.markup ?? 'plain';
  if (markup !== 'plain' && markup !== 'markdown') return `channel "${platform}": markup must be "plain" or "markdown"`;
  const stallTimeoutMs = channel.stallTimeoutMs ?? 120_000;
  if (!Number.isInteger(stallTimeoutMs) || stallTimeoutMs < 1000 || stallTimeoutMs > 3_600_000) return `channel "${platform}": stallTimeoutMs must be an integer from 1000 to 3600000`;
  return {
    info: { platform, maxMessageLength, markup, stallTimeoutMs, typing: channel.typing !== undefined, probe: channel.probe !== undefined },
    definition: channel,
  };
}

/** The error a channel method throws to say what went wrong (`api.channelError`). */
export function channelError(kind: PluginChannelErrorKind, message: string, options?: { retryAfterMs?: number }): Error {
  const error = new Error(String(message)) as Error & { kind: PluginChannelErrorKind; retryAfterMs?: number };
  error.kind = CHANNEL_ERROR_KINDS.includes(kind) ? kind : 'transient';
  if (options?.retryAfterMs !== undefined) error.retryAfterMs = options.retryAfterMs;
  return error;
}

/** What a channel method threw, as it crosses: its `kind` if it names one, else `transient`. */
function errorInfo(error: unknown): ChannelErrorInfo {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as { kind?: unknown; retryAfterMs?: unknown };
  const kind = CHANNEL_ERROR_KINDS.find((known) => known === fields.kind) ?? 'transient';
  const retry = fields.retryAfterMs;
  const retryAfterMs = Number.isInteger(retry) && (retry as number) >= 0 && (retry as number) <= 86_400_000 ? (retry as number) : null;
  return { kind, message: truncate(messageOf(error), MAX_NOTE_CHARS), retryAfterMs };
}

/** The plugin's serving of the host's channel requests, and of the host's acknowledgements. */
export function createChannelServer(channels: ReadonlyMap<string, RegisteredChannel>, running: Map<number, AbortController>, send: Send) {
  const acks = new Map<number, { settle(error: string | null): void }>();
  /** The run in progress per account (`platform:accountId`). */
  const runs = new Map<string, Promise<unknown>>();
  const sequence = { next: 0 };

  const receive = (runId: number, signal: AbortSignal, raw: PluginInboundMessage): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('this run has ended: the gateway stopped or reconnected the account'));
      if (acks.size >= MAX_UNACKNOWLEDGED) return reject(new Error(`${MAX_UNACKNOWLEDGED} messages are already waiting to be stored; await receive() before handing over more`));
      const message = normaliseInbound(raw);
      const seq = sequence.next++;
      const timer = setTimeout(() => settle('the gateway did not store the message in time'), ACK_TIMEOUT_MS);
      const settle = (error: string | null) => {
        if (!acks.delete(seq)) return;
        clearTimeout(timer);
        if (error === null) resolve();
        else reject(new Error(error));
      };
      acks.set(seq, { settle });
      send({ type: 'channel-inbound', id: runId, seq, message });
    });

  const contextFor = (runId: number, signal: AbortSignal): PluginChannelContext => {
    const progress = { last: 0 };
    return Object.freeze({
      signal,
      receive: (message: PluginInboundMessage) => receive(runId, signal, message),
      reject(reason: string, payload?: unknown) {
        send({ type: 'channel-reject', id: runId, reason: truncate(String(reason), MAX_NOTE_CHARS), payload: truncate(preview(payload), MAX_NOTE_CHARS) });
      },
      connected(info: { botId: string; botName: string }) {
        send({ type: 'channel-connected', id: runId, botId: truncate(String(info?.botId ?? ''), MAX_ID_CHARS), botName: truncate(String(info?.botName ?? ''), MAX_NOTE_CHARS) });
      },
      progress() {
        const at = Date.now();
        if (at - progress.last < PROGRESS_EVERY_MS) return;
        progress.last = at;
        send({ type: 'channel-progress', id: runId });
      },
    });
  };

  const run = async (request: ChannelRequest, channel: RegisteredChannel, account: PluginChannelAccount, signal: AbortSignal): Promise<unknown> => {
    const key = `${request.platform}:${account.accountId}`;
    const previous = runs.get(key);
    if (previous !== undefined) await Promise.race([previous, new Promise((done) => setTimeout(done, PREVIOUS_RUN_WAIT_MS).unref())]);
    const task = Promise.resolve().then(() => channel.definition.run(account, contextFor(request.id, signal)));
    const settled = task.then(
      () => undefined,
      () => undefined,
    );
    runs.set(key, settled);
    try {
      await task;
      return null;
    } finally {
      if (runs.get(key) === settled) runs.delete(key);
    }
  };

  const call = async (request: ChannelRequest, channel: RegisteredChannel, signal: AbortSignal): Promise<unknown> => {
    const account: PluginChannelAccount = { accountId: request.account.accountId, settings: request.account.settings };
    const { definition } = channel;
    if (request.op === 'run') return run(request, channel, account, signal);
    if (request.op === 'send') {
      const receipt = (await definition.send(account, request.args as Parameters<PluginChannelDefinition['send']>[1], { signal })) as { messageId?: unknown } | undefined;
      return { messageId: truncate(String(receipt?.messageId ?? ''), MAX_ID_CHARS) };
    }
    if (request.op === 'typing') {
      await definition.typing?.(account, request.args as Parameters<PluginChannelDefinition['send']>[1]['target'], { signal });
      return null;
    }
    if (definition.probe === undefined) throw new Error(`channel "${request.platform}" has no probe`);
    return probeResult(await definition.probe(account, { signal }));
  };

  return {
    /** Runs one channel request and answers it with its value or what it threw. */
    async handle(request: ChannelRequest): Promise<void> {
      const channel = channels.get(request.platform);
      if (channel === undefined) {
        return send({ type: 'channel-result', id: request.id, value: null, error: { kind: 'rejected', message: `this plugin has no channel "${request.platform}"`, retryAfterMs: null } });
      }
      const controller = new AbortController();
      running.set(request.id, controller);
      try {
        send({ type: 'channel-result', id: request.id, value: await call(request, channel, controller.signal), error: null });
      } catch (error) {
        send({ type: 'channel-result', id: request.id, value: null, error: errorInfo(error) });
      } finally {
        running.delete(request.id);
      }
    },
    /** The host stored (or could not store) a message a run handed over. */
    acknowledge(seq: number, error: string | null): void {
      acks.get(seq)?.settle(error);
    },
  };
}

function probeResult(value: unknown): { status: 'ok' | 'degraded'; detail: string; suggestedAction?: string } {
  const result = (typeof value === 'object' && value !== null ? value : {}) as { status?: unknown; detail?: unknown; suggestedAction?: unknown };
  if (result.status !== 'ok' && result.status !== 'degraded') throw new Error('probe returned no status "ok" or "degraded"');
  const detail = truncate(typeof result.detail === 'string' ? result.detail : '', MAX_NOTE_CHARS);
  return typeof result.suggestedAction === 'string' ? { status: result.status, detail, suggestedAction: truncate(result.suggestedAction, MAX_NOTE_CHARS) } : { status: result.status, detail };
}

/** A plugin's message in the gateway's shape, or a TypeError naming the field that is wrong. */
export function normaliseInbound(raw: PluginInboundMessage): InboundMessage {
  const message = record(raw, 'the message');
  const chat = record(message.chat, 'chat');
  const sender = record(message.sender, 'sender');
  const kind = chat.kind ?? 'direct';
  if (kind !== 'direct' && kind !== 'group' && kind !== 'thread') throw new TypeError('chat.kind must be "direct", "group" or "thread"');
  if (typeof message.text !== 'string') throw new TypeError('text must be a string');
  if (message.text.length > MAX_CONTENT_CHARS) throw new TypeError(`text is longer than ${MAX_CONTENT_CHARS} characters`);
  const attachments = message.attachments ?? [];
  if (!Array.isArray(attachments) || attachments.length > 32) throw new TypeError('attachments must be a list of at most 32');
  return {
    messageId: id(message.messageId, 'messageId'),
    chat: { id: id(chat.id, 'chat.id'), kind, ...optionalId(chat.threadId, 'threadId', 'chat.threadId'), ...optionalText(chat.title, 'title') },
    sender: { id: id(sender.id, 'sender.id'), ...optionalText(sender.name, 'name'), ...optionalText(sender.username, 'username') },
    text: message.text,
    mentionsBot: message.mentionsBot === true,
    replyToBot: message.replyToBot === true,
    ...optionalId(message.replyToMessageId, 'replyToMessageId', 'replyToMessageId'),
    attachments: attachments.map((item, index) => attachment(item, index)),
  };
}

const ATTACHMENT_KINDS: readonly string[] = ['image', 'audio', 'video', 'file', 'sticker', 'other'];

function attachment(raw: unknown, index: number): InboundMessage['attachments'][number] {
  const item = record(raw, `attachments[${index}]`);
  const kind = ATTACHMENT_KINDS.includes(item.kind as string) ? (item.kind as InboundMessage['attachments'][number]['kind']) : 'other';
  const size = Number.isSafeInteger(item.sizeBytes) && (item.sizeBytes as number) >= 0 ? { sizeBytes: item.sizeBytes as number } : {};
  return { kind, ...optionalId(item.id, 'id', `attachments[${index}].id`), ...optionalText(item.name, 'name'), ...optionalText(item.mimeType, 'mimeType', 200), ...size };
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function id(value: unknown, what: string): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_ID_CHARS) throw new TypeError(`${what} must be a string of 1 to ${MAX_ID_CHARS} characters`);
  return text;
}

function optionalId<K extends string>(value: unknown, key: K, what: string): Partial<Record<K, string>> {
  return value === undefined || value === null ? {} : ({ [key]: id(value, what) } as Record<K, string>);
}

function optionalText<K extends string>(value: unknown, key: K, max = MAX_NOTE_CHARS): Partial<Record<K, string>> {
  return typeof value === 'string' ? ({ [key]: truncate(value, max) } as Record<K, string>) : {};
}

function preview(payload: unknown): string {
  if (payload === undefined) return '';
  try {
    return typeof payload === 'string' ? payload : (JSON.stringify(payload) ?? String(payload));
  } catch {
    return String(payload);
  }
}
