import type { Channel, ChannelProbeResult, ChannelRunContext, ChannelTarget, OutboundMessage, SendReceipt } from '../../contracts/channel.js';
import { ChannelError, isChannelError } from '../../contracts/channel.js';
import { markdownToPlainText } from '../markdown.js';
import { normalizeSignalEvent, parseSignalMessageId, type SignalSelf, signalMessageId } from './signal-envelope.js';
import { readServerSentEvents, type ServerSentEvent } from './signal-events.js';
import { createSignalRpc } from './signal-rpc.js';

export interface SignalChannelOptions {
  accountId: string;
  /** The Signal account the daemon serves: its phone number (+E.164), or its ACI for an account without one. */
  account: string;
  /** The daemon's HTTP address (`signal-cli daemon --http`); default http://127.0.0.1:8080. */
  rpcUrl?: string;
  /**
   * How long the open events stream may send nothing before the probe calls the account deaf.
   * signal-cli sends a keep-alive every 15 s; default 45 s.
   */
  silenceLimitMs?: number;
}

export const DEFAULT_SIGNAL_RPC_URL = 'http://127.0.0.1:8080';
/**
 * Signal shows up to 2000 characters as one message; signal-cli sends longer text as a
 * long-message attachment, which some linked devices show only as a file.
 */
export const SIGNAL_MAX_MESSAGE = 2000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
const PHONE = /^\+\d{5,16}$/u;

/** A direct chat's id is the person's ACI or phone number; anything else is a group id (base64). */
export function isSignalPerson(chatId: string): boolean {
  return UUID.test(chatId) || PHONE.test(chatId) || /^(PNI:|u:)/u.test(chatId);
}

const targetParams = (target: ChannelTarget) => (isSignalPerson(target.chatId) ? { recipient: [target.chatId] } : { groupId: target.chatId });

/**
 * A Signal account through signal-cli's HTTP daemon: JSON-RPC requests for sending and typing,
 * the Server-Sent Events stream for receiving. Each event is handed to the gateway before the next
 * is read; after a dropped stream the adapter reconnects with the last event id it handled, so a
 * daemon that keeps recent events sends what was missed, and one in `--receive-mode
 * on-connection` leaves messages queued at Signal until the stream is back.
 */
export function createSignalChannel(options: SignalChannelOptions): Channel {
  const rpcUrl = (options.rpcUrl ?? DEFAULT_SIGNAL_RPC_URL).replace(/\/+$/u, '');
  const rpc = createSignalRpc(rpcUrl, options.account);
  const silenceLimitMs = options.silenceLimitMs ?? 45_000;
  const self: SignalSelf = { account: options.account, uuid: UUID.test(options.account) ? options.account : null };
  /** The id of the last event handed over, sent as Last-Event-ID when the stream reconnects. */
  let lastEventId: string | null = null;
  /** When the open events stream last sent anything; null while it is not open. */
  let streamActivityAt: number | null = null;

  /** Proves the daemon answers and serves this account; learns the account's ACI on the way. */
  async function checkAccount(signal: AbortSignal): Promise<string> {
    const version = await rpc.call<{ version?: string }>('version', {}, signal, 'report its version', { global: true });
    try {
      const found = await rpc.call<{ number?: string | null; uuid?: string | null }[]>('listContacts', { recipient: [options.account], allRecipients: true }, signal, 'look up the account (listContacts)');
      const me = Array.isArray(found) ? found.find((item) => item.number === options.account || item.uuid === options.account) : undefined;
      if (me?.uuid) self.uuid = me.uuid;
    } catch (error) {
      // Only a refusal of the account (auth) or a failure to answer counts; an older daemon may not know the parameters.
      if (!isChannelError(error) || error.kind !== 'rejected') throw error;
    }
    return version?.version ?? 'unknown';
  }

  async function handleEvent(event: ServerSentEvent, context: ChannelRunContext): Promise<void> {
    if (event.event !== 'receive' && event.event !== 'message') return;
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch {
      context.reject('an event whose data is not JSON', event.data.slice(0, 200));
      if (event.id) lastEventId = event.id;
      return;
    }
    payload = unwrap(payload);
    const served = (payload as { account?: unknown } | null)?.account;
    if (typeof served === 'string' && PHONE.test(served) && PHONE.test(options.account) && served !== options.account) {
      throw new ChannelError('auth', `the signal-cli daemon at ${rpcUrl} serves ${served}, not ${options.account}`);
    }
    const normalized = normalizeSignalEvent(payload, self);
    if ('message' in normalized) await context.receive(normalized.message);
    else if (normalized.skip !== null) context.reject(normalized.skip, payload);
    // Confirmed only after the message is persisted: a reconnect asks again for anything later.
    if (event.id) lastEventId = event.id;
  }

  async function serveEvents(context: ChannelRunContext): Promise<void> {
    const { signal } = context;
    const url = `${rpcUrl}/api/v1/events?account=${encodeURIComponent(options.account)}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal });
    } catch (error) {
      throw new ChannelError('transient', `could not open the events stream at ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (response.status === 400) throw new ChannelError('auth', `the signal-cli daemon at ${rpcUrl} does not serve ${options.account} (events stream: HTTP 400)`);
    if (response.status !== 200 || !response.body) throw new ChannelError('transient', `the events stream answered HTTP ${response.status}`);
    streamActivityAt = Date.now();
    context.connected({ botId: self.uuid ?? options.account, botName: options.account });
    try {
      await readServerSentEvents(response.body, {
        onActivity: () => {
          streamActivityAt = Date.now();
          context.progress();
        },
        onEvent: (event) => handleEvent(event, context),
      });
    } catch (error) {
      if (signal.aborted || isChannelError(error)) throw error;
      throw new ChannelError('transient', `the events stream broke off: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      streamActivityAt = null;
      await response.body.cancel().catch(() => undefined);
    }
    throw new ChannelError('transient', 'the signal-cli daemon closed the events stream');
  }

  async function probe(signal: AbortSignal): Promise<ChannelProbeResult> {
    const version = await checkAccount(signal);
    const activity = streamActivityAt;
    if (activity !== null && Date.now() - activity > silenceLimitMs) {
      return {
        status: 'degraded',
        detail: `signal-cli ${version} answers for ${options.account}, but the events stream has sent nothing, not even a keep-alive, for ${Math.round((Date.now() - activity) / 1000)} s`,
        suggestedAction: `Messages are not arriving from the daemon at ${rpcUrl}: restart signal-cli (and check that no proxy between it and Hearth buffers the /api/v1/events stream).`,
      };
    }
    return { status: 'ok', detail: `signal-cli ${version} answers for ${options.account}${activity === null ? '' : '; the events stream is open'}` };
  }

  return {
    platform: 'signal',
    accountId: options.accountId,
    format: { maxMessageLength: SIGNAL_MAX_MESSAGE, render: markdownToPlainText },

    async run(context: ChannelRunContext): Promise<void> {
      try {
        await checkAccount(context.signal);
        await serveEvents(context);
      } catch (error) {
        if (context.signal.aborted) return;
        throw error;
      }
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const quoted = message.target.replyToMessageId === undefined ? null : parseSignalMessageId(message.target.replyToMessageId);
      const params = {
        ...targetParams(message.target),
        message: message.text,
        ...(quoted ? { quoteTimestamp: quoted.timestamp, quoteAuthor: quoted.author } : {}),
      };
      const result = await rpc.call<{ timestamp?: number }>('send', params, signal, 'send a message');
      if (typeof result?.timestamp !== 'number') throw new ChannelError('transient', 'signal-cli sent no timestamp for the message');
      return { messageId: signalMessageId(result.timestamp, self.uuid ?? options.account) };
    },

    async typing(target: ChannelTarget, signal: AbortSignal): Promise<void> {
      await rpc.call('sendTyping', targetParams(target), signal, 'show typing');
    },

    probe,

    async close(): Promise<void> {},
  };
}

/** The receive event inside a JSON-RPC notification (`{method: "receive", params}`) or a subscription result. */
function unwrap(payload: unknown): unknown {
  let current = payload;
  if (typeof current === 'object' && current !== null && (current as { method?: unknown }).method === 'receive') current = (current as { params?: unknown }).params;
  if (typeof current === 'object' && current !== null && 'subscription' in current && 'result' in current) current = (current as { result?: unknown }).result;
  return current;
}
