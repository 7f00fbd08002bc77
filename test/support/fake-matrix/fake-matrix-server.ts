/**
 * A fake Matrix homeserver for tests: a real HTTP server on 127.0.0.1 (random free port) speaking
 * the Client-Server API's wire format for the endpoints a bot uses (`/_matrix/client/versions`,
 * and under `/_matrix/client/v3`: `account/whoami`, `sync`, `rooms/{id}/send|typing|receipt|
 * state|event|messages|leave|join`, `join/{id}`, `profile/{user}/displayname`, `user/{user}/
 * account_data/{type}`, `user/{user}/filter`), with the spec's error bodies (`{errcode, error}`,
 * 429 with `retry_after_ms`), so matrix-js-sdk's HTTP client talks to it as to Synapse.
 *
 * Every change (a message, a membership, account data) is appended to one stream; a sync token
 * is a position in it (`s<n>`). `/sync?since=` returns what came after that position and holds
 * the request (long poll, `timeout`) while nothing did, so a dropped connection or a restart
 * resumes exactly where the client's token says. A room's pagination token (`prev_batch`,
 * `/messages`' `start` and `end`) is Synapse-like, `t<n>-<pos>`: the point before the room's n-th
 * event (pos: the stream position there); `/messages` also takes a sync token as `from` or `to`.
 * Tests script it: people post messages and invite the bot, sends fail with 429/5xx, every
 * connection drops, a token is revoked.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FAKE_MATRIX_SERVER_NAME = 'hearth.test';

type Json = Record<string, unknown>;

/** A client event as the server stores it. */
export interface FakeMatrixEvent {
  type: string;
  event_id: string;
  sender: string;
  room_id: string;
  origin_server_ts: number;
  content: Json;
  state_key?: string;
}

/** A message a client sent through `PUT /rooms/{id}/send/{type}/{txnId}`. */
export interface FakeMatrixSent {
  userId: string;
  roomId: string;
  eventType: string;
  txnId: string;
  eventId: string;
  content: Json;
  at: number;
}

export interface FakeMatrixTyping {
  userId: string;
  roomId: string;
  typing: boolean;
  timeout: number | null;
  at: number;
}

export interface FakeMatrixReceipt {
  userId: string;
  roomId: string;
  receiptType: string;
  eventId: string;
  at: number;
}

export interface FakeMatrixSyncCall {
  userId: string;
  since: string | null;
  timeout: number;
  at: number;
}

/** A `GET /rooms/{id}/messages` call, with what it answered. */
export interface FakeMatrixMessagesCall {
  userId: string;
  roomId: string;
  dir: string;
  from: string | null;
  to: string | null;
  limit: number;
  /** Events in the answer's chunk, and its `end` (absent: no more). */
  returned: number;
  end: string | null;
}

/** A scripted answer to the next send(s): 429 with `retry_after_ms`, a server error, or a refusal. */
export type FakeMatrixFailure = { status: 429; retryAfterMs: number } | { status: 500 } | { status: 403; errcode: 'M_FORBIDDEN' };

type StreamChange =
  | { kind: 'event'; event: FakeMatrixEvent }
  | { kind: 'account-data'; userId: string; type: string }
  /** Raw JSON put into one user's next sync as-is (a room's timeline event or its whole `rooms.join` entry). */
  | { kind: 'raw'; userId: string; roomId: string; event?: unknown; entry?: unknown };

/** A change at its position in the stream (sync tokens are positions). */
type StreamEntry = StreamChange & { pos: number };

interface Room {
  id: string;
  /** Current state, keyed `<type>\u0000<state_key>`. */
  state: Map<string, FakeMatrixEvent>;
  events: FakeMatrixEvent[];
}

/** A held /sync: woken on every change, it answers once the change concerns its user. */
interface Waiter {
  wake(): void;
}

export interface FakeMatrixServer {
  /** The homeserver URL a client is configured with (`homeserverUrl`). */
  baseUrl: string;
  /** Adds a user; with a token it can log in (a bot), without one the test acts for it. Returns the user id. */
  addUser(localpart: string, options?: { accessToken?: string; displayName?: string }): string;
  setTokenValid(accessToken: string, valid: boolean): void;
  /** Creates a room whose `members` are joined (the first creates it). */
  createRoom(options: { members: string[]; name?: string; encrypted?: boolean }): string;
  /** `inviter` invites `invitee` (is_direct marks a DM invite). */
  invite(roomId: string, inviter: string, invitee: string, options?: { direct?: boolean }): void;
  /** Sets a user's `m.direct` account data. */
  setDirect(userId: string, content: Record<string, string[]>): void;
  /** Posts an event as `sender` (a person); returns its event id. */
  post(roomId: string, sender: string, content: Json, type?: string): string;
  /** Puts raw JSON into `userId`'s next sync: a timeline event (`event`) or a whole `rooms.join` entry (`entry`). */
  injectRaw(userId: string, roomId: string, raw: { event?: unknown; entry?: unknown }): void;
  membership(roomId: string, userId: string): string | null;
  readonly sent: FakeMatrixSent[];
  readonly typing: FakeMatrixTyping[];
  readonly receipts: FakeMatrixReceipt[];
  readonly syncs: FakeMatrixSyncCall[];
  readonly messagesCalls: FakeMatrixMessagesCall[];
  /** The next sends of `userId` fail like this, in order. */
  failSends(userId: string, failures: FakeMatrixFailure[]): void;
  /** Every send of `userId` fails with a 500 while on. */
  setSendsFailing(userId: string, on: boolean): void;
  /** Destroys every open connection (held syncs included). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Contents of events a test posts that the server treats as opaque. */
export const fakeMatrixEvent = {
  /** An `m.room.encrypted` content as a client with end-to-end encryption sends it (Megolm). */
  megolm: (): Json => ({
    algorithm: 'm.megolm.v1.aes-sha2',
    ciphertext: `AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAtHaZTwyNg37afzg8f3r9IsN9r${randomBytes(8).toString('base64')}`,
    device_id: 'ADAPHONE',
    sender_key: 'IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA',
    session_id: 'X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ',
  }),
};

const matrixError = (status: number, errcode: string, error: string, extra: Json = {}) => ({ status, body: { errcode, error, ...extra } });

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Stripped state (`invite_state`): type, state_key, sender and content only. */
const stripped = (event: FakeMatrixEvent) => ({ type: event.type, state_key: event.state_key, sender: event.sender, content: event.content });

/** The event as a client sees it in a room timeline or state (no room_id inside a room's sync entry). */
const clientEvent = (event: FakeMatrixEvent, now: number) => {
  const { room_id: _room, ...rest } = event;
  return { ...rest, unsigned: { age: Math.max(0, now - event.origin_server_ts) } };
};

export async function startFakeMatrixServer(): Promise<FakeMatrixServer> {
  const tokens = new Map<string, { userId: string; valid: boolean }>();
  const profiles = new Map<string, { displayName?: string }>();
  const accountData = new Map<string, Map<string, Json>>();
  const rooms = new Map<string, Room>();
  const stream: StreamEntry[] = [];
  const waiters = new Set<Waiter>();
  const transactions = new Map<string, string>();
  const failures = new Map<string, FakeMatrixFailure[]>();
  const failing = new Set<string>();
  const sockets = new Set<Socket>();
  const sent: FakeMatrixSent[] = [];
  const typing: FakeMatrixTyping[] = [];
  const receipts: FakeMatrixReceipt[] = [];
  const syncs: FakeMatrixSyncCall[] = [];
  const messagesCalls: FakeMatrixMessagesCall[] = [];
  /** Each event's position in the stream. */
  const positions = new Map<FakeMatrixEvent, number>();
  let position = 0;
  let counter = 0;

  const eventId = () => `$${(++counter).toString(36)}${randomBytes(9).toString('base64url')}`;

  function append(change: StreamChange): void {
    position += 1;
    stream.push({ ...change, pos: position });
    for (const waiter of [...waiters]) waiter.wake();
  }

  function addEvent(roomId: string, sender: string, type: string, content: Json, stateKey?: string): FakeMatrixEvent {
    const room = rooms.get(roomId);
    if (!room) throw new Error(`no room ${roomId}`);
    const event: FakeMatrixEvent = { type, event_id: eventId(), sender, room_id: roomId, origin_server_ts: Date.now(), content, ...(stateKey === undefined ? {} : { state_key: stateKey }) };
    room.events.push(event);
    if (stateKey !== undefined) room.state.set(`${type}\u0000${stateKey}`, event);
    append({ kind: 'event', event });
    positions.set(event, position);
    return event;
  }

  function membershipOf(roomId: string, userId: string): string | null {
    const member = rooms.get(roomId)?.state.get(`m.room.member\u0000${userId}`);
    return typeof member?.content.membership === 'string' ? member.content.membership : null;
  }

  function setMembership(roomId: string, sender: string, userId: string, membership: string, extra: Json = {}): FakeMatrixEvent {
    const displayName = profiles.get(userId)?.displayName;
    return addEvent(roomId, sender, 'm.room.member', { membership, ...(displayName ? { displayname: displayName } : {}), ...extra }, userId);
  }

  /** The pagination token of the point before the room's `index`-th event. */
  function roomToken(room: Room, index: number): string {
    const before = room.events[index - 1];
    return `t${index}-${before ? (positions.get(before) ?? 0) : 0}`;
  }

  /** The point in a room a pagination token (`t<n>-<pos>`) or a sync token (`s<pos>`) names, as an event index; null when it is neither. */
  function roomPoint(room: Room, token: string): number | null {
    const topological = /^t(\d+)-\d+$/u.exec(token);
    if (topological) return Math.min(Number(topological[1]), room.events.length);
    const stream = /^s(\d+)$/u.exec(token);
    if (stream) {
      const at = Number(stream[1]);
      return room.events.filter((event) => (positions.get(event) ?? 0) <= at).length;
    }
    return null;
  }

  /**
   * `GET /rooms/{id}/messages`: up to `limit` events (default 10, at most 1000) from `from` in
   * direction `dir` (`b`: newest first), not past `to`. As Synapse does, `end` is there whenever
   * the chunk is not empty, so the page after the last one comes back empty, without `end`.
   */
  function messages(userId: string, room: Room, url: URL): { status: number; body: unknown } {
    const dir = url.searchParams.get('dir');
    if (dir !== 'b' && dir !== 'f') return matrixError(400, 'M_INVALID_PARAM', 'Unknown dir');
    const fromParam = url.searchParams.get('from');
    const toParam = url.searchParams.get('to');
    const limitParam = Number(url.searchParams.get('limit') ?? '10');
    if (!Number.isInteger(limitParam) || limitParam < 0) return matrixError(400, 'M_INVALID_PARAM', 'limit must be a non-negative integer');
    const limit = Math.min(limitParam, 1000);
    const from = fromParam === null ? (dir === 'b' ? room.events.length : 0) : roomPoint(room, fromParam);
    const to = toParam === null ? (dir === 'b' ? 0 : room.events.length) : roomPoint(room, toParam);
    if (from === null || to === null) return matrixError(400, 'M_INVALID_PARAM', 'Invalid pagination token');
    let chunk: FakeMatrixEvent[];
    let next: number;
    if (dir === 'b') {
      next = Math.max(Math.min(to, from), from - limit);
      chunk = room.events.slice(next, from).reverse();
    } else {
      next = Math.min(Math.max(to, from), from + limit);
      chunk = room.events.slice(from, next);
    }
    const end = chunk.length > 0 ? roomToken(room, next) : null;
    messagesCalls.push({ userId, roomId: room.id, dir, from: fromParam, to: toParam, limit, returned: chunk.length, end });
    const now = Date.now();
    return {
      status: 200,
      body: { chunk: chunk.map((event) => ({ ...clientEvent(event, now), room_id: room.id })), start: fromParam ?? roomToken(room, from), ...(end === null ? {} : { end }), state: [] },
    };
  }

  /** What `userId` sees after stream position `since` (null: an initial sync); empty when nothing happened. */
  function syncBody(userId: string, since: number | null, timelineLimit: number): { body: Json; empty: boolean } {
    const now = Date.now();
    const join: Record<string, Json> = {};
    const invite: Record<string, Json> = {};
    const leave: Record<string, Json> = {};
    const data: Json[] = [];
    const after = since ?? 0;
    const newer = stream.filter((entry) => entry.pos > after);
    for (const room of rooms.values()) {
      const membership = membershipOf(room.id, userId);
      const own = room.state.get(`m.room.member\u0000${userId}`);
      if (membership === 'invite' && own && (since === null || newer.some((entry) => entry.kind === 'event' && entry.event === own))) {
        invite[room.id] = { invite_state: { events: [...room.state.values()].filter((event) => event.type !== 'm.room.member' || event.state_key === userId || event.state_key === own.sender).map(stripped) } };
        continue;
      }
      if ((membership === 'leave' || membership === 'ban') && own && since !== null && newer.some((entry) => entry.kind === 'event' && entry.event === own)) {
        leave[room.id] = { timeline: { events: [clientEvent(own, now)], limited: false } };
        continue;
      }
      if (membership !== 'join') continue;
      const joinedNow = own !== undefined && newer.some((entry) => entry.kind === 'event' && entry.event === own);
      const events = since === null || joinedNow ? room.events : newer.filter((entry) => entry.kind === 'event' && entry.event.room_id === room.id).map((entry) => (entry as { event: FakeMatrixEvent }).event);
      const shown = events.slice(-timelineLimit);
      const limited = shown.length < events.length;
      const first = shown[0];
      // A first sync of the room carries its state as of the timeline's start; an incremental one only the gap's.
      const state = since === null || joinedNow || limited ? [...room.state.values()].filter((event) => !shown.includes(event)) : [];
      if (shown.length === 0 && state.length === 0 && since !== null) continue;
      join[room.id] = {
        summary: {},
        state: { events: state.map((event) => clientEvent(event, now)) },
        timeline: { events: shown.map((event) => clientEvent(event, now)), limited, prev_batch: roomToken(room, first ? room.events.indexOf(first) : room.events.length) },
        ephemeral: { events: [] },
        account_data: { events: [] },
        unread_notifications: { highlight_count: 0, notification_count: 0 },
      };
    }
    for (const entry of newer) {
      if (entry.kind !== 'raw' || entry.userId !== userId) continue;
      if (entry.entry !== undefined) join[entry.roomId] = entry.entry as Json;
      else {
        join[entry.roomId] ??= { timeline: { events: [], limited: false } };
        const target = join[entry.roomId] as { timeline?: { events?: unknown[] } };
        if (target.timeline && Array.isArray(target.timeline.events)) target.timeline.events.push(entry.event);
      }
    }
    const types = new Set(newer.filter((entry) => entry.kind === 'account-data' && entry.userId === userId).map((entry) => (entry as { type: string }).type));
    for (const [type, content] of accountData.get(userId) ?? []) if (since === null || types.has(type)) data.push({ type, content });
    const roomsPart = { join, invite, leave, knock: {} };
    const empty = Object.keys(join).length + Object.keys(invite).length + Object.keys(leave).length + data.length === 0;
    return {
      body: { next_batch: `s${position}`, rooms: roomsPart, account_data: { events: data }, presence: { events: [] }, to_device: { events: [] }, device_lists: { changed: [], left: [] }, device_one_time_keys_count: {} },
      empty,
    };
  }

  async function sync(userId: string, url: URL, response: ServerResponse): Promise<{ status: number; body: unknown } | null> {
    const sinceParam = url.searchParams.get('since');
    const since = sinceParam === null ? null : /^s(\d+)$/u.exec(sinceParam) ? Number(sinceParam.slice(1)) : Number.NaN;
    if (Number.isNaN(since)) return matrixError(400, 'M_INVALID_PARAM', 'Unknown since token');
    const timeout = Math.min(Math.max(Number(url.searchParams.get('timeout') ?? '0') || 0, 0), 60_000);
    let limit = 10;
    const filter = url.searchParams.get('filter');
    if (filter?.startsWith('{')) {
      try {
        const parsed = JSON.parse(filter) as { room?: { timeline?: { limit?: unknown } } };
        if (typeof parsed.room?.timeline?.limit === 'number') limit = Math.max(0, parsed.room.timeline.limit);
      } catch {
        return matrixError(400, 'M_NOT_JSON', 'filter is not JSON');
      }
    }
    syncs.push({ userId, since: sinceParam, timeout, at: Date.now() });
    let result = syncBody(userId, since, limit);
    if (since !== null && result.empty && timeout > 0) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          wake: () => {
            if (!syncBody(userId, since, limit).empty) finish();
          },
        };
        const timer = setTimeout(finish, timeout);
        response.on('close', finish);
        function finish() {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        }
        waiters.add(waiter);
      });
      if (response.destroyed) return null;
      result = syncBody(userId, since, limit);
    }
    return { status: 200, body: result.body };
  }

  function send(userId: string, token: string, roomId: string, eventType: string, txnId: string, content: Json): { status: number; body: unknown } {
    const known = transactions.get(`${token}\u0000${txnId}`);
    if (known) return { status: 200, body: { event_id: known } };
    const queued = failures.get(userId);
    const failure = queued?.shift() ?? (failing.has(userId) ? ({ status: 500 } as const) : undefined);
    if (failure?.status === 429) return matrixError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: failure.retryAfterMs });
    if (failure?.status === 500) return matrixError(500, 'M_UNKNOWN', 'Internal server error');
    if (failure?.status === 403) return matrixError(403, 'M_FORBIDDEN', 'You are not allowed to send here');
    if (membershipOf(roomId, userId) !== 'join') return matrixError(403, 'M_FORBIDDEN', `User ${userId} not in room ${roomId}`);
    const event = addEvent(roomId, userId, eventType, content);
    transactions.set(`${token}\u0000${txnId}`, event.event_id);
    sent.push({ userId, roomId, eventType, txnId, eventId: event.event_id, content, at: Date.now() });
    return { status: 200, body: { event_id: event.event_id } };
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<{ status: number; body: unknown } | null> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    if (url.pathname === '/_matrix/client/versions') return { status: 200, body: { versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'], unstable_features: {} } };
    const prefix = '/_matrix/client/v3/';
    if (!url.pathname.startsWith(prefix)) return matrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
    if (!token) return matrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    const account = tokens.get(token);
    if (!account?.valid) return matrixError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false });
    const { userId } = account;
    const parts = url.pathname.slice(prefix.length).split('/').map((part) => decodeURIComponent(part));
    const raw = method === 'GET' ? '' : await readBody(request);
    let body: Json = {};
    if (raw !== '') {
      try {
        const parsed = JSON.parse(raw) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return matrixError(400, 'M_BAD_JSON', 'Content must be a JSON object');
        body = parsed as Json;
      } catch {
        return matrixError(400, 'M_NOT_JSON', 'Content not JSON.');
      }
    }
    const [first, second, third, fourth, fifth] = parts;
    if (method === 'GET' && first === 'account' && second === 'whoami') return { status: 200, body: { user_id: userId, device_id: 'HEARTHTEST', is_guest: false } };
    if (method === 'GET' && first === 'sync') return sync(userId, url, response);
    if (method === 'GET' && first === 'profile' && second && third === 'displayname') {
      const name = profiles.get(second)?.displayName;
      return name ? { status: 200, body: { displayname: name } } : matrixError(404, 'M_NOT_FOUND', 'Profile was not found');
    }
    if (first === 'user' && second === userId && third === 'account_data' && fourth && method === 'GET') {
      const content = accountData.get(userId)?.get(fourth);
      return content ? { status: 200, body: content } : matrixError(404, 'M_NOT_FOUND', 'Account data not found');
    }
    if (first === 'user' && second === userId && third === 'filter' && method === 'POST') return { status: 200, body: { filter_id: String(++counter) } };
    if (method === 'POST' && (first === 'join' || (first === 'rooms' && third === 'join'))) {
      const roomId = first === 'join' ? (second ?? '') : (second ?? '');
      if (!rooms.has(roomId)) return matrixError(404, 'M_NOT_FOUND', 'No known servers');
      const membership = membershipOf(roomId, userId);
      if (membership !== 'join' && membership !== 'invite') return matrixError(403, 'M_FORBIDDEN', 'You are not invited to this room.');
      if (membership !== 'join') setMembership(roomId, userId, userId, 'join');
      return { status: 200, body: { room_id: roomId } };
    }
    if (first !== 'rooms' || !second) return matrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const roomId = second;
    const room = rooms.get(roomId);
    if (!room) return matrixError(404, 'M_NOT_FOUND', 'Unknown room');
    const membership = membershipOf(roomId, userId);
    if (method === 'POST' && third === 'leave') {
      if (membership === 'join' || membership === 'invite') setMembership(roomId, userId, userId, 'leave', typeof body.reason === 'string' ? { reason: body.reason } : {});
      return { status: 200, body: {} };
    }
    if (membership !== 'join') return matrixError(403, 'M_FORBIDDEN', `User ${userId} not in room ${roomId}`);
    if (method === 'PUT' && third === 'send' && fourth && fifth) return send(userId, token, roomId, fourth, fifth, body);
    if (method === 'PUT' && third === 'typing' && fourth) {
      if (fourth !== userId) return matrixError(403, 'M_FORBIDDEN', 'Cannot set another user\'s typing state');
      if (typeof body.typing !== 'boolean') return matrixError(400, 'M_BAD_JSON', 'typing must be a boolean');
      typing.push({ userId, roomId, typing: body.typing, timeout: typeof body.timeout === 'number' ? body.timeout : null, at: Date.now() });
      return { status: 200, body: {} };
    }
    if (method === 'POST' && third === 'receipt' && fourth && fifth) {
      if (!room.events.some((event) => event.event_id === fifth)) return matrixError(404, 'M_NOT_FOUND', 'Unknown event');
      receipts.push({ userId, roomId, receiptType: fourth, eventId: fifth, at: Date.now() });
      return { status: 200, body: {} };
    }
    if (method === 'GET' && third === 'state' && !fourth) return { status: 200, body: [...room.state.values()].map((event) => ({ ...clientEvent(event, Date.now()), room_id: roomId })) };
    if (method === 'GET' && third === 'messages' && !fourth) return messages(userId, room, url);
    if (method === 'GET' && third === 'event' && fourth) {
      const event = room.events.find((item) => item.event_id === fourth);
      return event ? { status: 200, body: { ...clientEvent(event, Date.now()), room_id: roomId } } : matrixError(404, 'M_NOT_FOUND', 'Event not found.');
    }
    return matrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  const server = createServer((request, response) => {
    route(request, response)
      .then((answer) => {
        if (!answer || response.destroyed) return;
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body));
      })
      .catch((error: unknown) => {
        if (response.destroyed) return;
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: String(error) }));
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

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    addUser(localpart, options = {}) {
      const userId = `@${localpart}:${FAKE_MATRIX_SERVER_NAME}`;
      profiles.set(userId, options.displayName ? { displayName: options.displayName } : {});
      if (options.accessToken) tokens.set(options.accessToken, { userId, valid: true });
      return userId;
    },
    setTokenValid(accessToken, valid) {
      const account = tokens.get(accessToken);
      if (account) account.valid = valid;
    },
    createRoom({ members, name, encrypted }) {
      const creator = members[0];
      if (!creator) throw new Error('a room needs a creator');
      const id = `!${randomBytes(9).toString('base64url')}:${FAKE_MATRIX_SERVER_NAME}`;
      rooms.set(id, { id, state: new Map(), events: [] });
      addEvent(id, creator, 'm.room.create', { creator, room_version: '10' }, '');
      setMembership(id, creator, creator, 'join');
      addEvent(id, creator, 'm.room.join_rules', { join_rule: 'invite' }, '');
      addEvent(id, creator, 'm.room.history_visibility', { history_visibility: 'shared' }, '');
      if (name) addEvent(id, creator, 'm.room.name', { name }, '');
      if (encrypted) addEvent(id, creator, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' }, '');
      for (const member of members.slice(1)) setMembership(id, member, member, 'join');
      return id;
    },
    invite(roomId, inviter, invitee, options = {}) {
      setMembership(roomId, inviter, invitee, 'invite', options.direct ? { is_direct: true } : {});
    },
    setDirect(userId, content) {
      const data = accountData.get(userId) ?? new Map<string, Json>();
      data.set('m.direct', content);
      accountData.set(userId, data);
      append({ kind: 'account-data', userId, type: 'm.direct' });
    },
    post(roomId, sender, content, type = 'm.room.message') {
      return addEvent(roomId, sender, type, content).event_id;
    },
    injectRaw(userId, roomId, raw) {
      append({ kind: 'raw', userId, roomId, ...raw });
    },
    membership: membershipOf,
    sent,
    typing,
    receipts,
    syncs,
    messagesCalls,
    failSends(userId, list) {
      failures.set(userId, [...(failures.get(userId) ?? []), ...list]);
    },
    setSendsFailing(userId, on) {
      if (on) failing.add(userId);
      else failing.delete(userId);
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const waiter of [...waiters]) waiter.wake();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
