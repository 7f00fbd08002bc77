import { createClient, Method } from 'matrix-js-sdk';
import type {
  Channel,
  ChannelProbeResult,
  ChannelRunContext,
  ChannelTarget,
  InboundMessage,
  OutboundMessage,
  SendReceipt,
} from '../../contracts/channel.js';
import { ChannelError } from '../../contracts/channel.js';
import { markdownToPlainText } from '../markdown.js';
import { MATRIX_BACKFILL_MAX_EVENTS, readRoomGap } from './matrix-backfill.js';
import { toMatrixChannelError } from './matrix-errors.js';
import {
  applyStateEvent,
  isObject,
  listOf,
  type MatrixBotIdentity,
  memberCount,
  normalizeMatrixEvent,
  type RoomInfo,
  roomFromState,
} from './matrix-events.js';
import { markdownToMatrixHtml } from './matrix-html.js';
import { decideInvite, type MatrixInvitePolicy, readInvite } from './matrix-invites.js';
import { deadlineSignal } from '../../runtime/deadline.js';

/** Where the adapter keeps its sync token between runs and restarts (the Store's channel cursors). */
export interface MatrixCursorStore {
  read(key: string): Promise<string | null>;
  /** Resolves once the value is durable. */
  write(key: string, value: string): Promise<void>;
}

export interface MatrixLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface MatrixChannelOptions {
  accountId: string;
  /** The client API's base URL, e.g. https://matrix.example.org (no /_matrix path). */
  homeserverUrl: string;
  /** The bot's full user id, e.g. @hearth:example.org. */
  userId: string;
  accessToken: string;
  /** Which invites are accepted: the account's routing policy. */
  invites: MatrixInvitePolicy;
  cursors: MatrixCursorStore;
  logger: MatrixLogger;
  /** How long one /sync waits for news (default 30 s). */
  pollTimeoutMs?: number;
}

/**
 * The longest text of one message. Matrix caps a whole event at 64 KiB of JSON, and a message
 * carries its text twice (plain `body` and HTML `formatted_body`); 16,000 characters leaves room.
 */
export const MATRIX_MAX_MESSAGE = 16_000;
/** Events above this many bytes are sent without the HTML copy, so they stay under the 64 KiB cap. */
const MAX_CONTENT_BYTES = 60_000;
/** How long a "typing…" lasts unless renewed (the gateway renews it every few seconds while a turn runs). */
const TYPING_TIMEOUT_MS = 10_000;
/** The bot's own event ids remembered to recognise replies to it. */
const OWN_EVENTS_KEPT = 1000;

/**
 * The sync filter, inline (the spec allows a JSON filter in place of a filter id, which saves a
 * call and a stored id that a homeserver reset would invalidate). No presence or typing from
 * others; account data only for m.direct; up to 100 events per room per batch.
 */
const SYNC_FILTER = JSON.stringify({
  presence: { types: [] },
  account_data: { types: ['m.direct'] },
  room: { timeline: { limit: 100 }, ephemeral: { types: [] }, account_data: { types: [] } },
});

/** What one connection knows about the rooms: rebuilt on every run (state is fetched when needed). */
interface RunState {
  bot: MatrixBotIdentity;
  rooms: Map<string, RoomInfo>;
  /** Rooms the bot's m.direct account data lists as direct chats. */
  direct: Set<string>;
}

const roomPath = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

/** The room ids of an m.direct account data content ({ "@user:server": ["!room:server", …] }). */
function directRoomsOf(content: unknown): Set<string> {
  const rooms = new Set<string>();
  if (!isObject(content)) return rooms;
  for (const list of Object.values(content)) for (const roomId of listOf(list)) if (typeof roomId === 'string') rooms.add(roomId);
  return rooms;
}

/** Gaps left partly unread after outages that the probe keeps counting (the oldest are forgotten). */
const UNREAD_GAPS_KEPT = 100;

/**
 * A Matrix account over the Client-Server API (matrix-js-sdk's HTTP client).
 *
 * The adapter calls /sync itself through the SDK's `http.authedRequest` rather than running the
 * SDK's own sync loop (`startClient`): that loop advances its token as soon as a response is
 * processed and keeps it in the SDK's store (memory or IndexedDB), while Hearth must save the
 * token only after every message of the batch is persisted (receive resolved). Driving /sync here
 * makes that order explicit: fetch a batch, hand each message over, then save `next_batch` in the
 * Store, so a crash re-reads the batch (the inbox drops the duplicates) and never skips one.
 */
export function createMatrixChannel(options: MatrixChannelOptions): Channel {
  const client = createClient({
    baseUrl: options.homeserverUrl.replace(/\/+$/u, ''),
    userId: options.userId,
    accessToken: options.accessToken,
    // The SDK would log every request to the console; the adapter reports what matters itself.
    logger: silentLogger(),
  });
  const { userId, logger } = options;
  const pollTimeoutMs = options.pollTimeoutMs ?? 30_000;
  const cursorKey = `matrix:${options.accountId}:${userId}`;
  const log = { channel: 'matrix', accountId: options.accountId };
  const ownEvents = new Set<string>();
  /**
   * End-to-end encrypted messages seen and not read, the rooms they came from, and whether they are
   * all that arrived lately (no readable message since the last one): what the probe reports.
   */
  const encrypted = { messages: 0, rooms: new Set<string>(), latest: false };
  /**
   * Events of gaps past the backfill cap that were not read, per gap (room and `prev_batch`, so a
   * batch read again after a failure is not counted twice): what the probe reports. The newest
   * UNREAD_GAPS_KEPT gaps are kept.
   */
  const unread = new Map<string, { roomId: string; events: number }>();

  function request<T>(method: Method, path: string, action: string, signal: AbortSignal, options: { query?: Record<string, string>; body?: object; timeoutMs?: number } = {}) {
    // Not the SDK's localTimeoutMs: its timer is never cleared and would hold the process open at shutdown.
    const bounded = deadlineSignal(options.timeoutMs ?? 30_000, signal);
    return client.http
      .authedRequest<T>(method, path, options.query, options.body, { abortSignal: bounded.signal })
      .catch((error: unknown) => {
        throw toMatrixChannelError(error, action);
      })
      .finally(bounded.clear);
  }

  /** A read that may find nothing (404 M_NOT_FOUND) without that being a failure. */
  async function optional<T>(path: string, action: string, signal: AbortSignal): Promise<T | null> {
    try {
      return await request<T>(Method.Get, path, action, signal);
    } catch (error) {
      if (error instanceof ChannelError && error.kind === 'rejected') return null;
      throw error;
    }
  }

  function remember(eventId: string) {
    ownEvents.add(eventId);
    if (ownEvents.size > OWN_EVENTS_KEPT) ownEvents.delete(ownEvents.values().next().value as string);
  }

  async function roomInfo(run: RunState, roomId: string, signal: AbortSignal): Promise<RoomInfo> {
    const known = run.rooms.get(roomId);
    if (known) return known;
    const state = await request<unknown>(Method.Get, `${roomPath(roomId)}/state`, `read the state of ${roomId}`, signal);
    const room = roomFromState(listOf(state));
    run.rooms.set(roomId, room);
    return room;
  }

  /** Whether the message a group message replies to is the bot's (a reply to the bot needs no mention). */
  async function repliesToBot(roomId: string, eventId: string, signal: AbortSignal): Promise<boolean> {
    const event = await optional<unknown>(`${roomPath(roomId)}/event/${encodeURIComponent(eventId)}`, 'read the replied-to event', signal).catch(() => null);
    return isObject(event) && event.sender === userId;
  }

  async function handleInvite(roomId: string, entry: unknown, signal: AbortSignal): Promise<void> {
    const invite = readInvite(roomId, entry, userId);
    const decision = decideInvite(invite, options.invites);
    const about = { ...log, roomId, inviter: invite.inviter, direct: invite.direct, ...(invite.encrypted ? { encrypted: true } : {}) };
    try {
      if (decision.join) {
        await request(Method.Post, `/join/${encodeURIComponent(roomId)}`, `join ${roomId}`, signal, { body: {} });
        logger.info(about, `joined a Matrix room on invite: ${decision.reason}`);
      } else {
        await request(Method.Post, `${roomPath(roomId)}/leave`, `decline the invite to ${roomId}`, signal, { body: { reason: 'Not accepted by this bot\'s policy.' } });
        logger.warn(about, `declined a Matrix invite: ${decision.reason}`);
      }
    } catch (error) {
      // A room that is gone or refuses us is logged; a network failure or a rate limit retries the batch.
      if (!(error instanceof ChannelError) || error.kind !== 'rejected') throw error;
      logger.warn({ ...about, err: error.message }, `could not ${decision.join ? 'join' : 'decline'} a Matrix invite`);
    }
  }

  function reportEncrypted(context: ChannelRunContext, roomId: string, event: { eventId: string; sender: string }) {
    encrypted.messages += 1;
    encrypted.rooms.add(roomId);
    encrypted.latest = true;
    context.reject(
      `an end-to-end encrypted message in ${roomId} was not read or answered: Hearth's Matrix channel does not support encrypted rooms (talk to the bot in a room without encryption)`,
      { roomId, ...event },
    );
  }

  /** The bot's own join (not a profile change while joined): what came before it in a room is history. */
  function isOwnJoin(event: unknown): boolean {
    if (!isObject(event) || event.type !== 'm.room.member' || event.state_key !== userId) return false;
    if (!isObject(event.content) || event.content.membership !== 'join') return false;
    const previous = isObject(event.unsigned) && isObject(event.unsigned.prev_content) ? event.unsigned.prev_content.membership : undefined;
    return previous !== 'join';
  }

  /**
   * The events a limited sync left out of a room's timeline (more arrived since the last sync than
   * the filter's timeline limit, e.g. while the gateway was down), oldest first: paged back with
   * /rooms/{roomId}/messages from the timeline's `prev_batch` to the `since` token of this sync.
   * State events are left out (the sync's `state` already holds the room's state at the timeline's
   * start). A gap the homeserver refuses to show is logged and skipped, so it cannot stop the sync.
   */
  async function readGap(roomId: string, timeline: Record<string, unknown>, since: string, context: ChannelRunContext): Promise<unknown[]> {
    const events = listOf(timeline.events);
    // The bot joined within this timeline: whatever came before is history from before it was there.
    if (events.some(isOwnJoin)) return [];
    const about = { ...log, roomId };
    if (typeof timeline.prev_batch !== 'string' || timeline.prev_batch.length === 0) {
      logger.warn(about, 'more messages arrived in a Matrix room than one sync returns, and the homeserver gave no prev_batch to read the rest: the oldest of them were not read');
      return [];
    }
    const known = new Set(events.flatMap((event) => (isObject(event) && typeof event.event_id === 'string' ? [event.event_id] : [])));
    const readPage = async (query: { from: string; to: string; limit: number }) => {
      const page = await request<unknown>(Method.Get, `${roomPath(roomId)}/messages`, `read the messages missed in ${roomId}`, context.signal, {
        query: { dir: 'b', from: query.from, to: query.to, limit: String(query.limit) },
      });
      context.progress();
      return page;
    };
    try {
      const gap = await readRoomGap(readPage, { from: timeline.prev_batch, to: since, known, stopAt: isOwnJoin });
      if (gap.dropped > 0) {
        unread.set(`${roomId}\u0000${timeline.prev_batch}`, { roomId, events: gap.dropped });
        if (unread.size > UNREAD_GAPS_KEPT) unread.delete(unread.keys().next().value as string);
        logger.warn(
          { ...about, read: gap.events.length, dropped: gap.dropped, more: gap.more },
          `more than ${MATRIX_BACKFILL_MAX_EVENTS} events arrived in a Matrix room between two syncs: the newest ${MATRIX_BACKFILL_MAX_EVENTS} of them were read back, the ${gap.dropped}${gap.more ? ' or more' : ''} oldest were not read or answered`,
        );
      }
      if (gap.events.length > 0) logger.info({ ...about, events: gap.events.length }, 'read back the events a Matrix sync left out of a room (more arrived than one sync returns)');
      return gap.events.filter((event) => !(isObject(event) && typeof event.state_key === 'string'));
    } catch (error) {
      // Not allowed to see them (history visibility, a room since left): a retry would not help.
      if (!(error instanceof ChannelError) || error.kind !== 'rejected') throw error;
      logger.warn({ ...about, err: error.message }, 'could not read back the messages a Matrix sync left out of a room: the oldest of them were not read');
      return [];
    }
  }

  /**
   * One joined room's part of a batch: state changes, then each message handed over in order.
   * Returns the last event handed over (for the read receipt). `since` is the token the sync
   * resumed from; null marks the first sync of an account: what it returns happened before
   * Hearth started and is not answered. When the timeline is limited on a resumed sync, the
   * events it left out are read back first and handed over before the timeline's own.
   */
  async function handleJoinedRoom(run: RunState, roomId: string, entry: unknown, context: ChannelRunContext, since: string | null): Promise<string | null> {
    if (!isObject(entry)) {
      context.reject(`a joined room entry for ${roomId} that is not an object`, entry);
      return null;
    }
    const { signal } = context;
    const history = since === null;
    const known = run.rooms.get(roomId);
    const state = listOf(isObject(entry.state) ? entry.state.events : undefined);
    if (known) for (const event of state) applyStateEvent(known, event);
    else if (history) run.rooms.set(roomId, roomFromState(state));
    const timeline = isObject(entry.timeline) ? entry.timeline : {};
    const gap = since !== null && timeline.limited === true ? await readGap(roomId, timeline, since, context) : [];
    let handled: string | null = null;
    for (const event of [...gap, ...listOf(timeline.events)]) {
      if (isObject(event) && typeof event.state_key === 'string') {
        const room = run.rooms.get(roomId);
        if (room) applyStateEvent(room, event);
        continue;
      }
      if (history) continue;
      const worth = isObject(event) && (event.type === 'm.room.message' || event.type === 'm.room.encrypted') && event.sender !== userId;
      const room = worth ? await roomInfo(run, roomId, signal) : (run.rooms.get(roomId) ?? roomFromState([]));
      const direct = run.direct.has(roomId) || memberCount(room) === 2;
      const outcome = normalizeMatrixEvent(event, { roomId, room, direct, bot: run.bot, ownEvents });
      if ('skip' in outcome) {
        if (outcome.skip !== null) context.reject(outcome.skip, event);
        continue;
      }
      if ('encrypted' in outcome) {
        reportEncrypted(context, roomId, outcome.encrypted);
        continue;
      }
      const message: InboundMessage = outcome.message;
      if (!message.replyToBot && message.replyToMessageId !== undefined && message.chat.kind !== 'direct' && !message.mentionsBot) {
        message.replyToBot = await repliesToBot(roomId, message.replyToMessageId, signal);
      }
      await context.receive(message);
      encrypted.latest = false;
      handled = message.messageId;
    }
    return handled;
  }

  /** Hands over one /sync batch; resolves once every message in it is persisted. Returns the rooms' last handled events. */
  async function handleBatch(run: RunState, sync: Record<string, unknown>, context: ChannelRunContext, since: string | null): Promise<Map<string, string>> {
    for (const event of listOf(isObject(sync.account_data) ? sync.account_data.events : undefined)) {
      if (isObject(event) && event.type === 'm.direct') run.direct = directRoomsOf(event.content);
    }
    const rooms = isObject(sync.rooms) ? sync.rooms : {};
    const handled = new Map<string, string>();
    if (isObject(rooms.invite)) for (const [roomId, entry] of Object.entries(rooms.invite)) await handleInvite(roomId, entry, context.signal);
    if (isObject(rooms.join)) {
      for (const [roomId, entry] of Object.entries(rooms.join)) {
        const last = await handleJoinedRoom(run, roomId, entry, context, since);
        if (last !== null) handled.set(roomId, last);
      }
    }
    if (isObject(rooms.leave)) for (const roomId of Object.keys(rooms.leave)) run.rooms.delete(roomId);
    return handled;
  }

  /** Marks the messages handed over as read: people see the bot got them. Best effort. */
  function sendReceipts(handled: Map<string, string>, signal: AbortSignal) {
    for (const [roomId, eventId] of handled) {
      request(Method.Post, `${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, 'send a read receipt', signal, { body: {} }).catch(() => undefined);
    }
  }

  async function connect(signal: AbortSignal): Promise<RunState> {
    const whoami = await request<{ user_id?: unknown }>(Method.Get, '/account/whoami', 'check the access token (whoami)', signal).catch((error: unknown) => {
      // Nothing Matrix at homeserverUrl, or no such endpoint: retrying will not help until the config changes.
      if (error instanceof ChannelError && error.kind === 'rejected') throw new ChannelError('auth', error.message, { cause: error });
      throw error;
    });
    if (whoami.user_id !== userId) {
      throw new ChannelError('auth', `the access token belongs to ${String(whoami.user_id)}, not to the configured userId ${userId}`);
    }
    const profile = await optional<{ displayname?: unknown }>(`/profile/${encodeURIComponent(userId)}/displayname`, 'read the bot\'s display name', signal);
    const direct = await optional<unknown>(`/user/${encodeURIComponent(userId)}/account_data/m.direct`, 'read the direct chats (m.direct)', signal);
    const displayName = typeof profile?.displayname === 'string' && profile.displayname.length > 0 ? profile.displayname : null;
    return { bot: { userId, displayName }, rooms: new Map(), direct: directRoomsOf(direct) };
  }

  return {
    platform: 'matrix',
    accountId: options.accountId,
    // The outbox chunks Markdown; `send` makes the plain `body` and the HTML `formatted_body` from it.
    format: { maxMessageLength: MATRIX_MAX_MESSAGE, render: (markdown) => markdown },

    async run(context: ChannelRunContext): Promise<void> {
      const { signal } = context;
      try {
        const run = await connect(signal);
        let since = await options.cursors.read(cursorKey);
        let first = true;
        while (!signal.aborted) {
          // The first sync returns at once, so the account is reported connected only when sync answers.
          const timeout = first ? 0 : pollTimeoutMs;
          const sync = await request<unknown>(Method.Get, '/sync', 'fetch new events (sync)', signal, {
            query: { filter: SYNC_FILTER, timeout: String(timeout), ...(since === null ? {} : { since }) },
            timeoutMs: timeout + 30_000,
          });
          if (first) {
            first = false;
            context.connected({ botId: userId, botName: run.bot.displayName ? `${run.bot.displayName} (${userId})` : userId });
          }
          context.progress();
          if (!isObject(sync) || typeof sync.next_batch !== 'string' || sync.next_batch.length === 0) {
            context.reject('a sync response without next_batch', sync);
            throw new ChannelError('transient', 'the homeserver answered /sync without next_batch');
          }
          // Without a saved token this is the account's first sync: it returns recent history, not news.
          const handled = await handleBatch(run, sync, context, since);
          if (sync.next_batch !== since) {
            since = sync.next_batch;
            await options.cursors.write(cursorKey, since);
          }
          sendReceipts(handled, signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
    },

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendReceipt> {
      const { target } = message;
      const content: Record<string, unknown> = {
        msgtype: 'm.text',
        body: markdownToPlainText(message.text),
        format: 'org.matrix.custom.html',
        formatted_body: markdownToMatrixHtml(message.text),
        // The bot's replies mention nobody (no notification beyond the room's usual one).
        'm.mentions': {},
        ...relationFor(target),
      };
      if (Buffer.byteLength(JSON.stringify(content)) > MAX_CONTENT_BYTES) {
        delete content.format;
        delete content.formatted_body;
      }
      // The idempotency key is the transaction id: the homeserver answers a resend with the first event.
      const path = `${roomPath(target.chatId)}/send/m.room.message/${encodeURIComponent(message.idempotencyKey)}`;
      const sent = await request<{ event_id?: unknown }>(Method.Put, path, `send a message to ${target.chatId}`, signal, { body: content });
      if (typeof sent.event_id !== 'string') throw new ChannelError('transient', 'the homeserver answered a send without event_id');
      remember(sent.event_id);
      // The reply is there: stop "typing…" now rather than when it times out.
      request(Method.Put, `${roomPath(target.chatId)}/typing/${encodeURIComponent(userId)}`, 'stop typing', signal, { body: { typing: false } }).catch(() => undefined);
      return { messageId: sent.event_id };
    },

    async typing(target: ChannelTarget, signal: AbortSignal): Promise<void> {
      await request(Method.Put, `${roomPath(target.chatId)}/typing/${encodeURIComponent(userId)}`, 'show typing', signal, { body: { typing: true, timeout: TYPING_TIMEOUT_MS } });
    },

    /**
     * `whoami` checks the token. People who write only in encrypted rooms get no answer at all, so
     * when encrypted messages are the latest that arrived the account is degraded, with the fix.
     * Events left unread past the backfill cap after an outage are counted in the detail.
     */
    async probe(signal: AbortSignal): Promise<ChannelProbeResult> {
      const whoami = await request<{ user_id?: unknown }>(Method.Get, '/account/whoami', 'check the access token (whoami)', signal);
      const unreadRooms = new Set([...unread.values()].map((gap) => gap.roomId));
      const unreadEvents = [...unread.values()].reduce((sum, gap) => sum + gap.events, 0);
      const missed =
        unreadEvents === 0
          ? ''
          : `; ${unreadEvents} older event(s) in ${unreadRooms.size} room(s) (${[...unreadRooms].slice(0, 3).join(', ')}) were not read after an outage: more than ${MATRIX_BACKFILL_MAX_EVENTS} arrived in one room between two syncs`;
      const detail = `the homeserver accepts the access token of ${String(whoami.user_id)}${missed}`;
      if (encrypted.messages === 0) return { status: 'ok', detail };
      const seen = `${encrypted.messages} end-to-end encrypted message(s) in ${encrypted.rooms.size} room(s) (${[...encrypted.rooms].slice(0, 3).join(', ')}) were not read: encrypted rooms are not supported`;
      if (!encrypted.latest) return { status: 'ok', detail: `${detail}; ${seen}` };
      return {
        status: 'degraded',
        detail: `${detail}, but the latest messages to the bot were end-to-end encrypted and were not answered; ${seen}`,
        suggestedAction:
          'Hearth cannot read encrypted Matrix rooms: talk to the bot in a room created with encryption off (in Element, switch off "Enable end-to-end encryption" when creating the room or direct chat) and invite the bot there.',
      };
    },

    async close(): Promise<void> {
      client.http.abort();
    },
  };
}

type SdkLogger = NonNullable<Parameters<typeof createClient>[0]['logger']>;

/** A matrix-js-sdk logger that drops everything. */
function silentLogger(): SdkLogger {
  const quiet = () => undefined;
  const logger: SdkLogger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet, getChild: () => logger };
  return logger;
}

/** Where a reply goes in the room: into its thread, or as a reply to the message it answers. */
function relationFor(target: ChannelTarget): Record<string, unknown> {
  if (target.threadId !== undefined) {
    return {
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: target.threadId,
        // Clients without threads show it as a reply to the message it answers.
        is_falling_back: true,
        'm.in_reply_to': { event_id: target.replyToMessageId ?? target.threadId },
      },
    };
  }
  if (target.replyToMessageId !== undefined) return { 'm.relates_to': { 'm.in_reply_to': { event_id: target.replyToMessageId } } };
  return {};
}
