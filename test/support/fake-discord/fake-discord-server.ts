/**
 * A fake Discord for tests: one HTTP server on 127.0.0.1 (random free port) serving the REST API v10
 * under `/api/v10` and the gateway WebSocket (JSON encoding, optional zlib-stream) on the same port.
 * The real discord.js v14 client connects to it when given `rest: { api: server.apiBase }`; the
 * gateway address comes from `GET /gateway/bot`. Tests script it: inject messages, fail or
 * rate-limit REST calls, drop or stall gateway connections, revoke tokens, and read back what the
 * bot sent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createDeflate, type Deflate, constants as zlibConstants } from 'node:zlib';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  applicationObject,
  ChannelKind,
  createSnowflakes,
  currentUserObject,
  dmChannelObject,
  type FakeDiscordUser,
  type GuildLayout,
  guildCreateObject,
  guildObject,
  Intent,
  memberObject,
  messageObject,
  type StoredMessage,
  textChannelObject,
  threadObject,
  userObject,
} from './fake-discord-payloads.js';

export type { FakeDiscordUser } from './fake-discord-payloads.js';

/** One bot account the server accepts. */
export interface FakeDiscordBot {
  token: string;
  user: { id: string; username: string };
  /** The bot's application id (the same as its user id, as for modern Discord bots). */
  applicationId: string;
}

export interface FakeDiscordServerOptions {
  /** Bot tokens the server accepts, one bot user per token (default `['fake-bot-token']`). */
  tokens?: string[];
  /** Usernames for those bots, in the same order (default `hearth-bot`, `hearth-bot-2`, ...). */
  botUsernames?: string[];
  /** The HELLO heartbeat interval in milliseconds (default 41,250 like Discord; tests use ~100-300). */
  heartbeatIntervalMs?: number;
  /**
   * Intent bits an IDENTIFY may not ask for, like privileged intents not switched on in the
   * developer portal; asking closes the gateway with 4014 "Disallowed intent(s)" (default none).
   */
  disallowedIntents?: number;
  /** Echo messages a bot creates or edits over REST back as MESSAGE_CREATE / MESSAGE_UPDATE, as Discord does (default true). */
  echoOwnMessages?: boolean;
  /** Cap on each recorded array and on stored messages (default 10,000). */
  maxRecorded?: number;
  /** How long a nonce sent with `enforce_nonce` keeps a resend from creating a second message (default 5 minutes: Discord says "a few minutes"). */
  nonceWindowMs?: number;
}

/** A message for `injectMessage`, as if a user had posted it. */
export interface InjectMessageInput {
  kind: 'dm' | 'guild' | 'thread';
  /** Defaults: the guild text channel, the thread, or the author's DM channel with the bot. */
  channelId?: string;
  author: { id: string; username: string; bot?: boolean };
  content: string;
  /** Prepend `<@botId> ` and list the bot in `mentions`. */
  mentionBot?: boolean;
  /** Prepend `<@&botRoleId> ` and list the role in `mention_roles`. */
  mentionRole?: boolean;
  /** Make it a reply to a message authored by the bot (its latest in the channel, else a made-up one); the reply pings the bot. */
  replyToBot?: boolean;
  /** Which bot (user id) is mentioned, replied to or DMed; default the first bot. */
  botUserId?: string;
}

/** A message the bot created, edited or deleted over REST. */
export interface SentMessageRecord {
  method: 'create' | 'edit' | 'delete';
  channelId: string;
  /** The message id (new for `create`). */
  id: string;
  /** The message text after the call. */
  content: string;
  /** From `message_reference` (replies). */
  messageReference?: { messageId: string; channelId?: string; guildId?: string; failIfNotExists?: boolean };
  botUserId: string;
  at: number;
  /** The JSON body as sent (from `payload_json` for uploads); `{}` for deletes. */
  body: Record<string, unknown>;
  /** Uploaded files, for multipart sends. */
  files: { name: string; size: number }[];
}

/** One typing indicator the bot sent. */
export interface TypingRecord {
  channelId: string;
  botUserId: string;
  at: number;
}

/** One reaction the bot added. */
export interface ReactionRecord {
  channelId: string;
  messageId: string;
  emoji: string;
  botUserId: string;
  at: number;
}

/** One REST request, whatever its outcome. */
export interface RestRequestRecord {
  method: string;
  path: string;
  status: number;
  botUserId?: string;
  at: number;
}

/** One payload a gateway client sent (tokens included; they are fake). */
export interface GatewayClientFrame {
  op: number;
  d: unknown;
  botUserId?: string;
  at: number;
}

/** REST routes `failNext` can break. */
export type FakeDiscordRoute = 'createMessage' | 'editMessage' | 'typing' | 'openDm';

/** How the next call on a route fails. */
export type FakeDiscordFailure =
  /** A Discord rate limit: 429 with `retry_after` (seconds) in the body and `retry-after` / `x-ratelimit-*` headers. */
  | { status: 429; retryAfter: number; global?: boolean }
  /** A Discord outage answer with `{ message: '<status>: ...', code: 0 }`. */
  | { status: 500 | 502 | 503 }
  /** Close the TCP connection without answering. */
  | { status: 'hangup' };

export interface FakeDiscordServer {
  /** What to pass as discord.js `rest: { api }` (`http://127.0.0.1:<port>/api`; the library appends `/v10`). */
  apiBase: string;
  /** The gateway address `GET /gateway/bot` returns (`ws://127.0.0.1:<port>`). */
  gatewayUrl: string;
  /** The first bot's token. */
  token: string;
  /** The first bot's user. */
  botUser: { id: string; username: string };
  /** Every bot the server accepts, in `tokens` order. */
  bots: readonly FakeDiscordBot[];
  guildId: string;
  /** The guild text channel. */
  textChannelId: string;
  /** A public thread under the text channel. */
  threadId: string;
  /** A mentionable role every bot member has. */
  botRoleId: string;
  /** Messages the bots created, edited or deleted (oldest dropped beyond the cap). */
  sent: SentMessageRecord[];
  /** Typing indicators the bots sent. */
  typing: TypingRecord[];
  /** Reactions the bots added. */
  reactions: ReactionRecord[];
  /** Every REST request. */
  restRequests: RestRequestRecord[];
  /** Every gateway payload received from clients. */
  gatewayFrames: GatewayClientFrame[];
  /** Gateway connections opened so far. */
  readonly connectionCount: number;
  /** Successful IDENTIFYs so far. */
  readonly identifyCount: number;
  /** Successful RESUMEs so far. */
  readonly resumeCount: number;
  /** Gateway connections open right now. */
  readonly openConnections: number;
  /**
   * Posts a user message: MESSAGE_CREATE goes to every bot session that would see it (guild and
   * thread messages to all bots, DMs to the addressed bot), subject to their intents. Sessions that
   * are disconnected or stalled get it on resume. Returns the message id.
   */
  injectMessage(input: InjectMessageInput): string;
  /** Dispatches any event (`t`, `d`) to every session, or only that bot's sessions; no checks, for malformed payloads. */
  injectRawDispatch(t: string, d: unknown, botUserId?: string): void;
  /** Sends this text as-is on every live, unstalled gateway connection (for invalid JSON and the like). */
  injectRawFrame(text: string): void;
  /** Resolves once `predicate` holds (checked every few milliseconds); rejects after `timeoutMs` (default 5,000). */
  waitFor(predicate: () => boolean, timeoutMs?: number, label?: string): Promise<void>;
  /** Makes the next `times` (default 1) calls on `route` fail this way, after earlier queued failures. */
  failNext(route: FakeDiscordRoute, failure: FakeDiscordFailure, times?: number): void;
  /** Abruptly terminates every gateway socket (no close frame); sessions stay resumable. */
  dropConnections(): void;
  /** Sends op 7 RECONNECT on every live connection (clients should close and resume). */
  requestReconnect(): void;
  /** Sends op 9 INVALID SESSION (not resumable) on live connections and forgets every session. */
  invalidateSessions(): void;
  /**
   * `true`: the connections open now stop answering heartbeats and stop receiving dispatches
   * (events meanwhile are kept for resume), like a zombie connection. New connections behave
   * normally. `false`: the stalled connections that are still open catch up and carry on.
   */
  stall(on?: boolean): void;
  /**
   * Revokes a bot token (default the first). `'all'`: REST answers 401 and the gateway closes that
   * bot's sockets and later IDENTIFY/RESUME with 4004. `'gateway'`: only the gateway part.
   */
  revokeToken(token?: string, scope?: 'all' | 'gateway'): void;
  /** Undoes `revokeToken`. */
  restoreToken(token?: string): void;
  /** Closes the gateway and HTTP server, destroys every socket and stops timers and pending `waitFor`s. */
  close(): Promise<void>;
}

interface BotAccount extends FakeDiscordBot {
  userRecord: FakeDiscordUser;
  restRevoked: boolean;
  gatewayRevoked: boolean;
}

interface DispatchFrame {
  op: 0;
  t: string;
  s: number;
  d: unknown;
}

interface Session {
  id: string;
  bot: BotAccount;
  intents: number;
  seq: number;
  /** Recent dispatches, replayed on RESUME. */
  backlog: DispatchFrame[];
  connection: Connection | null;
}

interface Connection {
  socket: WebSocket;
  session: Session | null;
  stalled: boolean;
  /** The highest sequence number written to this socket. */
  lastSentSeq: number;
  deflate: Deflate | null;
}

interface DmChannel {
  id: string;
  botId: string;
  recipient: FakeDiscordUser;
}

interface Waiter {
  timer: NodeJS.Timeout | undefined;
  reject: (error: Error) => void;
}

const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
  RequestSoundboardSounds: 31,
} as const;

const MAX_CONTENT = 2000;
const BACKLOG_LIMIT = 1000;
const SESSION_LIMIT = 200;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function pushCapped<T>(list: T[], entry: T, cap: number): void {
  if (list.length >= cap) list.splice(0, Math.max(1, Math.floor(cap / 10)));
  list.push(entry);
}

function firstOf<T>(list: readonly T[]): T {
  const first = list[0];
  if (first === undefined) throw new Error('fake discord: at least one token is required');
  return first;
}

function formBodyError(field: string, code: string, message: string): Record<string, unknown> {
  return { code: 50035, message: 'Invalid Form Body', errors: { [field]: { _errors: [{ code, message }] } } };
}

/** Starts a fake Discord (REST + gateway) on a random free loopback port. */
export async function startFakeDiscordServer(options: FakeDiscordServerOptions = {}): Promise<FakeDiscordServer> {
  const snowflake = createSnowflakes();
  const maxRecorded = options.maxRecorded ?? 10_000;
  const nonceWindowMs = options.nonceWindowMs ?? 5 * 60_000;
  const heartbeatInterval = options.heartbeatIntervalMs ?? 41_250;
  const disallowedIntents = options.disallowedIntents ?? 0;
  const echoOwnMessages = options.echoOwnMessages ?? true;
  const createdAt = Date.now() - 86_400_000;

  const tokens = options.tokens ?? ['fake-bot-token'];
  const owner: FakeDiscordUser = { id: snowflake(createdAt), username: 'guild-owner' };
  const accounts: BotAccount[] = tokens.map((token, index) => {
    const id = snowflake(createdAt);
    const username = options.botUsernames?.[index] ?? (index === 0 ? 'hearth-bot' : `hearth-bot-${index + 1}`);
    return { token, user: { id, username }, applicationId: id, userRecord: { id, username, bot: true }, restRevoked: false, gatewayRevoked: false };
  });
  const firstBot = firstOf(accounts);
  const layout: GuildLayout = {
    guildId: snowflake(createdAt),
    name: 'Hearth Test Guild',
    ownerId: owner.id,
    createdAt,
    textChannelId: snowflake(createdAt),
    textChannelName: 'general',
    threadId: snowflake(createdAt),
    threadName: 'hearth-thread',
    botRoleId: snowflake(createdAt),
    bots: accounts.map((account) => account.userRecord),
  };

  const users = new Map<string, FakeDiscordUser>([[owner.id, owner], ...accounts.map((account): [string, FakeDiscordUser] => [account.user.id, account.userRecord])]);
  const messages = new Map<string, StoredMessage>();
  /** `channel|author|nonce` → the message created with that nonce and when (for `enforce_nonce`). */
  const nonces = new Map<string, { messageId: string; at: number }>();
  const lastMessageByChannel = new Map<string, string>();
  const dmChannels = new Map<string, DmChannel>();
  const dmByPair = new Map<string, DmChannel>();
  const sessions = new Map<string, Session>();
  const connections = new Set<Connection>();
  const failures = new Map<FakeDiscordRoute, FakeDiscordFailure[]>();
  const sockets = new Set<Socket>();
  const waiters = new Set<Waiter>();
  let threadMessageCount = 0;
  let connectionCount = 0;
  let identifyCount = 0;
  let resumeCount = 0;
  let closed = false;

  const sent: SentMessageRecord[] = [];
  const typing: TypingRecord[] = [];
  const reactions: ReactionRecord[] = [];
  const restRequests: RestRequestRecord[] = [];
  const gatewayFrames: GatewayClientFrame[] = [];

  const isBotId = (userId: string): boolean => accounts.some((account) => account.user.id === userId);
  const memberRoles = (userId: string): string[] => (isBotId(userId) ? [layout.botRoleId] : []);
  const findAccount = (token: string): BotAccount | undefined => accounts.find((account) => account.token === token);
  const accountFor = (token: string | undefined): BotAccount => {
    const account = token === undefined ? firstBot : findAccount(token);
    if (account === undefined) throw new Error('fake discord: unknown token');
    return account;
  };

  function storeMessage(message: StoredMessage): void {
    if (messages.size >= maxRecorded) {
      const oldest = messages.keys().next();
      if (oldest.done !== true) messages.delete(oldest.value);
    }
    messages.set(message.id, message);
    lastMessageByChannel.set(message.channelId, message.id);
    if (message.channelId === layout.threadId) threadMessageCount += 1;
  }

  function dmChannelFor(botId: string, recipient: FakeDiscordUser, channelId?: string): DmChannel {
    const key = `${botId}:${recipient.id}`;
    const existing = dmByPair.get(key);
    if (existing !== undefined && (channelId === undefined || existing.id === channelId)) return existing;
    const channel: DmChannel = { id: channelId ?? snowflake(), botId, recipient };
    dmChannels.set(channel.id, channel);
    dmByPair.set(key, channel);
    return channel;
  }

  // ---- gateway -------------------------------------------------------------------------------

  function writeText(connection: Connection, text: string): void {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    if (connection.deflate !== null) connection.deflate.write(text);
    else connection.socket.send(text);
  }

  function writeFrame(connection: Connection, frame: { op: number; d: unknown; s?: number | null; t?: string | null }): void {
    writeText(connection, JSON.stringify({ t: frame.t ?? null, s: frame.s ?? null, op: frame.op, d: frame.d }));
    connection.deflate?.flush(zlibConstants.Z_SYNC_FLUSH);
  }

  function dispatch(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const frame: DispatchFrame = { op: 0, t, s: session.seq, d };
    session.backlog.push(frame);
    if (session.backlog.length > BACKLOG_LIMIT) session.backlog.shift();
    const connection = session.connection;
    if (connection !== null && !connection.stalled) {
      writeFrame(connection, frame);
      connection.lastSentSeq = frame.s;
    }
  }

  function closeWith(connection: Connection, code: number, reason: string): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.close(code, reason);
  }

  function forgetSession(session: Session): void {
    sessions.delete(session.id);
    if (session.connection !== null) session.connection.session = null;
    session.connection = null;
  }

  function rememberSession(session: Session): void {
    sessions.set(session.id, session);
    if (sessions.size <= SESSION_LIMIT) return;
    for (const candidate of sessions.values()) {
      if (candidate.connection === null) {
        sessions.delete(candidate.id);
        if (sessions.size <= SESSION_LIMIT) return;
      }
    }
  }

  function attach(connection: Connection, session: Session): void {
    const previous = session.connection;
    if (previous !== null && previous !== connection) {
      previous.session = null;
      previous.socket.terminate();
    }
    session.connection = connection;
    connection.session = session;
  }

  function handleIdentify(connection: Connection, d: unknown): void {
    if (connection.session !== null) {
      closeWith(connection, 4005, 'Already authenticated.');
      return;
    }
    if (!isRecord(d)) {
      closeWith(connection, 4002, 'Error while decoding payload.');
      return;
    }
    const account = typeof d.token === 'string' ? findAccount(d.token.replace(/^Bot\s+/i, '')) : undefined;
    if (account === undefined || account.gatewayRevoked) {
      closeWith(connection, 4004, 'Authentication failed.');
      return;
    }
    if (typeof d.intents !== 'number' || !Number.isInteger(d.intents) || d.intents < 0) {
      closeWith(connection, 4013, 'Invalid intent(s).');
      return;
    }
    if ((d.intents & disallowedIntents) !== 0) {
      closeWith(connection, 4014, 'Disallowed intent(s).');
      return;
    }
    const shard = d.shard;
    if (shard !== undefined && !(Array.isArray(shard) && shard[0] === 0 && shard[1] === 1)) {
      closeWith(connection, 4010, 'Invalid shard.');
      return;
    }
    identifyCount += 1;
    const session: Session = { id: `fake-session-${snowflake()}`, bot: account, intents: d.intents, seq: 0, backlog: [], connection: null };
    rememberSession(session);
    attach(connection, session);
    dispatch(session, 'READY', {
      v: 10,
      user_settings: {},
      user: currentUserObject(account.userRecord),
      guilds: [{ id: layout.guildId, unavailable: true }],
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: gatewayUrl,
      relationships: [],
      private_channels: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['fake'],
      application: { id: account.applicationId, flags: 0 },
      shard: [0, 1],
      _trace: ['["fake-discord-gateway",{"micros":0}]'],
    });
    const textLast = lastMessageByChannel.get(layout.textChannelId) ?? null;
    const threadLast = lastMessageByChannel.get(layout.threadId) ?? null;
    dispatch(session, 'GUILD_CREATE', guildCreateObject(layout, textLast, threadLast, threadMessageCount));
  }

  function handleResume(connection: Connection, d: unknown): void {
    if (connection.session !== null) {
      closeWith(connection, 4005, 'Already authenticated.');
      return;
    }
    if (!isRecord(d)) {
      closeWith(connection, 4002, 'Error while decoding payload.');
      return;
    }
    const account = typeof d.token === 'string' ? findAccount(d.token.replace(/^Bot\s+/i, '')) : undefined;
    if (account === undefined || account.gatewayRevoked) {
      closeWith(connection, 4004, 'Authentication failed.');
      return;
    }
    const session = typeof d.session_id === 'string' ? sessions.get(d.session_id) : undefined;
    const seq = typeof d.seq === 'number' ? d.seq : -1;
    const oldest = session?.backlog[0]?.s ?? Number.POSITIVE_INFINITY;
    const replayable = session !== undefined && seq >= 0 && seq <= session.seq && (seq === session.seq || oldest <= seq + 1);
    if (session === undefined || session.bot !== account || !replayable) {
      if (session !== undefined) forgetSession(session);
      writeFrame(connection, { op: GatewayOp.InvalidSession, d: false });
      return;
    }
    resumeCount += 1;
    attach(connection, session);
    for (const frame of session.backlog) {
      if (frame.s > seq) {
        writeFrame(connection, frame);
        connection.lastSentSeq = frame.s;
      }
    }
    dispatch(session, 'RESUMED', { _trace: ['["fake-discord-gateway",{"micros":0}]'] });
  }

  function handleClientFrame(connection: Connection, data: RawData): void {
    let payload: unknown;
    try {
      payload = JSON.parse(rawText(data));
    } catch {
      closeWith(connection, 4002, 'Error while decoding payload.');
      return;
    }
    if (!isRecord(payload) || typeof payload.op !== 'number') {
      closeWith(connection, 4002, 'Error while decoding payload.');
      return;
    }
    const op = payload.op;
    const botUserId = connection.session?.bot.user.id;
    pushCapped(gatewayFrames, { op, d: payload.d, ...(botUserId === undefined ? {} : { botUserId }), at: Date.now() }, maxRecorded);
    switch (op) {
      case GatewayOp.Heartbeat:
        if (!connection.stalled) writeFrame(connection, { op: GatewayOp.HeartbeatAck, d: null });
        return;
      case GatewayOp.Identify:
        handleIdentify(connection, payload.d);
        return;
      case GatewayOp.Resume:
        handleResume(connection, payload.d);
        return;
      case GatewayOp.PresenceUpdate:
      case GatewayOp.VoiceStateUpdate:
      case GatewayOp.RequestSoundboardSounds:
        if (connection.session === null) closeWith(connection, 4003, 'Not authenticated.');
        return;
      case GatewayOp.RequestGuildMembers: {
        const session = connection.session;
        if (session === null) {
          closeWith(connection, 4003, 'Not authenticated.');
          return;
        }
        const request = isRecord(payload.d) ? payload.d : {};
        const members = [owner, ...layout.bots].map((user) => memberObject(user, memberRoles(user.id), createdAt, true));
        dispatch(session, 'GUILD_MEMBERS_CHUNK', {
          guild_id: layout.guildId,
          members,
          chunk_index: 0,
          chunk_count: 1,
          not_found: [],
          ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
        });
        return;
      }
      default:
        closeWith(connection, 4001, 'Unknown opcode.');
        return;
    }
  }

  /** The MESSAGE_CREATE/UPDATE body a session gets, or null when its intents keep the event away. */
  function messageEventFor(session: Session, message: StoredMessage): Record<string, unknown> | null {
    const isDm = message.guildId === undefined;
    const needed = isDm ? Intent.DirectMessages : Intent.GuildMessages;
    if ((session.intents & needed) === 0) return null;
    const body = messageObject(message, { gateway: true, memberRoles, joinedAt: createdAt });
    const botId = session.bot.user.id;
    const seesContent =
      isDm || (session.intents & Intent.MessageContent) !== 0 || message.author.id === botId || message.mentions.some((user) => user.id === botId);
    if (!seesContent) {
      body.content = '';
      body.embeds = [];
      body.attachments = [];
      body.components = [];
    }
    return body;
  }

  /** Sessions of bots that can see this channel: all bots for guild channels, the owning bot for a DM. */
  function sessionsForChannel(channelId: string): Session[] {
    const dm = dmChannels.get(channelId);
    return [...sessions.values()].filter((session) => dm === undefined || session.bot.user.id === dm.botId);
  }

  function dispatchMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', message: StoredMessage): void {
    for (const session of sessionsForChannel(message.channelId)) {
      const body = messageEventFor(session, message);
      if (body !== null) dispatch(session, t, body);
    }
  }

  // ---- REST ----------------------------------------------------------------------------------

  function respond(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (status === 204) {
      response.writeHead(204, headers);
      response.end();
      return;
    }
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    response.end(text);
  }

  function bucketHeaders(bucket: string): Record<string, string> {
    const now = Date.now() / 1000;
    return {
      'x-ratelimit-bucket': bucket,
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': (now + 5).toFixed(3),
      'x-ratelimit-reset-after': '5.000',
    };
  }

  /** Applies the next queued failure for `route`: returns the status it answered with (0 for a hang-up), or null when none is queued. */
  function applyFailure(route: FakeDiscordRoute, bucket: string, request: IncomingMessage, response: ServerResponse): number | null {
    const queue = failures.get(route);
    const failure = queue?.shift();
    if (failure === undefined) return null;
    if (failure.status === 'hangup') {
      request.socket.destroy();
      return 0;
    }
    if (failure.status === 429) {
      const retryAfter = Math.max(0, failure.retryAfter);
      const global = failure.global === true;
      const headers: Record<string, string> = {
        'retry-after': String(retryAfter),
        'x-ratelimit-scope': global ? 'global' : 'user',
        ...(global
          ? { 'x-ratelimit-global': 'true' }
          : {
              'x-ratelimit-bucket': bucket,
              'x-ratelimit-limit': '5',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset': (Date.now() / 1000 + retryAfter).toFixed(3),
              'x-ratelimit-reset-after': retryAfter.toFixed(3),
            }),
      };
      respond(response, 429, { message: 'You are being rate limited.', retry_after: retryAfter, global }, headers);
      return 429;
    }
    const text = failure.status === 500 ? 'Internal Server Error' : failure.status === 502 ? 'Bad Gateway' : 'Service Unavailable';
    respond(response, failure.status, { message: `${failure.status}: ${text}`, code: 0 });
    return failure.status;
  }

  async function parseBody(request: IncomingMessage): Promise<{ json: Record<string, unknown> | null; files: { name: string; size: number }[] }> {
    const raw = await readBody(request);
    const type = request.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://127.0.0.1/', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(raw) }).formData();
      const files: { name: string; size: number }[] = [];
      let json: Record<string, unknown> | null = {};
      form.forEach((value, key) => {
        if (typeof value === 'string') {
          if (key === 'payload_json') {
            try {
              const parsed: unknown = JSON.parse(value);
              json = isRecord(parsed) ? parsed : null;
            } catch {
              json = null;
            }
          }
        } else {
          files.push({ name: value.name, size: value.size });
        }
      });
      return { json, files };
    }
    if (raw.length === 0) return { json: {}, files: [] };
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      return { json: isRecord(parsed) ? parsed : null, files: [] };
    } catch {
      return { json: null, files: [] };
    }
  }

  function channelObjectFor(channelId: string, account: BotAccount): Record<string, unknown> | null {
    if (channelId === layout.textChannelId) return textChannelObject(layout, lastMessageByChannel.get(channelId) ?? null);
    if (channelId === layout.threadId) return threadObject(layout, lastMessageByChannel.get(channelId) ?? null, threadMessageCount);
    const dm = dmChannels.get(channelId);
    if (dm !== undefined && dm.botId === account.user.id) return dmChannelObject(dm.id, dm.recipient, lastMessageByChannel.get(channelId) ?? null);
    return null;
  }

  function restMessage(message: StoredMessage): Record<string, unknown> {
    return messageObject(message, { gateway: false, memberRoles, joinedAt: createdAt });
  }

  function referenceFrom(body: Record<string, unknown>): SentMessageRecord['messageReference'] {
    const reference = body.message_reference;
    if (!isRecord(reference) || typeof reference.message_id !== 'string') return undefined;
    return {
      messageId: reference.message_id,
      ...(typeof reference.channel_id === 'string' ? { channelId: reference.channel_id } : {}),
      ...(typeof reference.guild_id === 'string' ? { guildId: reference.guild_id } : {}),
      ...(typeof reference.fail_if_not_exists === 'boolean' ? { failIfNotExists: reference.fail_if_not_exists } : {}),
    };
  }

  const CHANNEL_ROUTE = /^\/channels\/(\d+)$/;
  const MESSAGES_ROUTE = /^\/channels\/(\d+)\/messages$/;
  const MESSAGE_ROUTE = /^\/channels\/(\d+)\/messages\/(\d+)$/;
  const TYPING_ROUTE = /^\/channels\/(\d+)\/typing$/;
  const REACTION_ROUTE = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/@me$/;
  const USER_ROUTE = /^\/users\/(\d+)$/;
  const GUILD_ROUTE = /^\/guilds\/(\d+)$/;
  const MEMBER_ROUTE = /^\/guilds\/(\d+)\/members\/(\d+)$/;

  /** Answers one API request; returns the status sent (0 for a hang-up). */
  async function handleApi(method: string, path: string, request: IncomingMessage, response: ServerResponse, account: BotAccount): Promise<number> {
    const notFound = (message: string, code: number): number => {
      respond(response, 404, { message, code });
      return 404;
    };
    const ok = (body: unknown, bucket = 'fake-bucket-misc', status = 200): number => {
      respond(response, status, body, bucketHeaders(bucket));
      return status;
    };

    if (method === 'GET' && path === '/gateway/bot') {
      return ok({ url: gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } });
    }
    if (method === 'GET' && path === '/users/@me') return ok(currentUserObject(account.userRecord));
    if (method === 'GET' && path === '/applications/@me') return ok(applicationObject(account.applicationId, account.userRecord, owner));
    if (method === 'GET' && path === '/oauth2/applications/@me') return ok(applicationObject(account.applicationId, account.userRecord, owner));

    let match = USER_ROUTE.exec(path);
    if (method === 'GET' && match !== null) {
      const user = users.get(match[1] ?? '');
      return user === undefined ? notFound('Unknown User', 10013) : ok(userObject(user));
    }
    if (method === 'POST' && path === '/users/@me/channels') {
      const failed = applyFailure('openDm', 'fake-bucket-dm', request, response);
      if (failed !== null) return failed;
      const { json } = await parseBody(request);
      const recipientId = json?.recipient_id;
      if (typeof recipientId !== 'string' || !/^\d+$/.test(recipientId)) {
        respond(response, 400, formBodyError('recipient_id', 'NUMBER_TYPE_COERCE', `Value "${String(recipientId)}" is not snowflake.`));
        return 400;
      }
      const recipient = users.get(recipientId) ?? { id: recipientId, username: `user-${recipientId}` };
      users.set(recipient.id, recipient);
      const channel = dmChannelFor(account.user.id, recipient);
      return ok(dmChannelObject(channel.id, recipient, lastMessageByChannel.get(channel.id) ?? null), 'fake-bucket-dm');
    }
    match = GUILD_ROUTE.exec(path);
    if (method === 'GET' && match !== null) return match[1] === layout.guildId ? ok(guildObject(layout)) : notFound('Unknown Guild', 10004);
    match = MEMBER_ROUTE.exec(path);
    if (method === 'GET' && match !== null) {
      const user = users.get(match[2] ?? '');
      if (match[1] !== layout.guildId) return notFound('Unknown Guild', 10004);
      if (user === undefined) return notFound('Unknown Member', 10007);
      return ok(memberObject(user, memberRoles(user.id), createdAt, true));
    }
    match = CHANNEL_ROUTE.exec(path);
    if (method === 'GET' && match !== null) {
      const channel = channelObjectFor(match[1] ?? '', account);
      return channel === null ? notFound('Unknown Channel', 10003) : ok(channel);
    }
    match = TYPING_ROUTE.exec(path);
    if (method === 'POST' && match !== null) {
      const channelId = match[1] ?? '';
      if (channelObjectFor(channelId, account) === null) return notFound('Unknown Channel', 10003);
      const failed = applyFailure('typing', 'fake-bucket-typing', request, response);
      if (failed !== null) return failed;
      pushCapped(typing, { channelId, botUserId: account.user.id, at: Date.now() }, maxRecorded);
      respond(response, 204, undefined, bucketHeaders('fake-bucket-typing'));
      return 204;
    }
    match = REACTION_ROUTE.exec(path);
    if (method === 'PUT' && match !== null) {
      const channelId = match[1] ?? '';
      const messageId = match[2] ?? '';
      if (channelObjectFor(channelId, account) === null) return notFound('Unknown Channel', 10003);
      if (messages.get(messageId)?.channelId !== channelId) return notFound('Unknown Message', 10008);
      pushCapped(reactions, { channelId, messageId, emoji: decodeURIComponent(match[3] ?? ''), botUserId: account.user.id, at: Date.now() }, maxRecorded);
      respond(response, 204, undefined, bucketHeaders('fake-bucket-reactions'));
      return 204;
    }
    match = MESSAGES_ROUTE.exec(path);
    if (method === 'POST' && match !== null) {
      const channelId = match[1] ?? '';
      const channel = channelObjectFor(channelId, account);
      if (channel === null) return notFound('Unknown Channel', 10003);
      const failed = applyFailure('createMessage', 'fake-bucket-create-message', request, response);
      if (failed !== null) return failed;
      const { json, files } = await parseBody(request);
      if (json === null) {
        respond(response, 400, { message: 'The request body contains invalid JSON.', code: 50109 });
        return 400;
      }
      const content = typeof json.content === 'string' ? json.content : '';
      if (content.length > MAX_CONTENT) {
        respond(response, 400, formBodyError('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`));
        return 400;
      }
      const embeds = Array.isArray(json.embeds) ? json.embeds : [];
      const components = Array.isArray(json.components) ? json.components : [];
      const stickers = Array.isArray(json.sticker_ids) ? json.sticker_ids : [];
      if (content.length === 0 && embeds.length === 0 && components.length === 0 && stickers.length === 0 && files.length === 0 && json.poll === undefined) {
        respond(response, 400, { message: 'Cannot send an empty message', code: 50006 });
        return 400;
      }
      const nonceKey = typeof json.nonce === 'string' || typeof json.nonce === 'number' ? `${channelId}|${account.user.id}|${json.nonce}` : undefined;
      if (json.enforce_nonce === true && nonceKey !== undefined) {
        const earlier = nonces.get(nonceKey);
        const existing = earlier !== undefined && Date.now() - earlier.at <= nonceWindowMs ? messages.get(earlier.messageId) : undefined;
        if (existing !== undefined) return ok(restMessage(existing), 'fake-bucket-create-message');
      }
      const reference = referenceFrom(json);
      const referenced = reference === undefined ? undefined : messages.get(reference.messageId);
      if (reference !== undefined && referenced === undefined && reference.failIfNotExists !== false) {
        respond(response, 400, formBodyError('message_reference', 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message'));
        return 400;
      }
      const now = Date.now();
      const guildId = dmChannels.has(channelId) ? undefined : layout.guildId;
      const mentions: FakeDiscordUser[] = [];
      for (const idMatch of content.matchAll(/<@!?(\d+)>/g)) {
        const user = users.get(idMatch[1] ?? '');
        if (user !== undefined && !mentions.some((entry) => entry.id === user.id)) mentions.push(user);
      }
      const message: StoredMessage = {
        id: snowflake(now),
        channelId,
        ...(guildId === undefined ? {} : { guildId }),
        channelType: typeof channel.type === 'number' ? channel.type : ChannelKind.GuildText,
        author: account.userRecord,
        content,
        mentions,
        mentionRoles: [...content.matchAll(/<@&(\d+)>/g)].map((roleMatch) => roleMatch[1] ?? '').filter((id) => id === layout.botRoleId),
        ...(reference !== undefined && referenced !== undefined
          ? { reference: { message_id: referenced.id, channel_id: referenced.channelId, ...(guildId === undefined ? {} : { guild_id: guildId }) }, referenced }
          : {}),
        createdAt: now,
        editedAt: null,
        ...(typeof json.nonce === 'string' || typeof json.nonce === 'number' ? { nonce: json.nonce } : {}),
        embeds,
        attachments: files.map((file, index) => ({ id: snowflake(now), filename: file.name, size: file.size, url: `${baseUrl}/attachments/${channelId}/${index}/${file.name}`, proxy_url: `${baseUrl}/attachments/${channelId}/${index}/${file.name}` })),
        components,
        flags: typeof json.flags === 'number' ? json.flags : 0,
        tts: json.tts === true,
      };
      storeMessage(message);
      if (nonceKey !== undefined) {
        if (nonces.size >= maxRecorded) nonces.delete(nonces.keys().next().value ?? '');
        nonces.set(nonceKey, { messageId: message.id, at: now });
      }
      pushCapped(
        sent,
        { method: 'create', channelId, id: message.id, content, ...(reference === undefined ? {} : { messageReference: reference }), botUserId: account.user.id, at: now, body: json, files },
        maxRecorded,
      );
      const status = ok(restMessage(message), 'fake-bucket-create-message');
      if (echoOwnMessages) dispatchMessage('MESSAGE_CREATE', message);
      return status;
    }
    match = MESSAGE_ROUTE.exec(path);
    if (match !== null && (method === 'GET' || method === 'PATCH' || method === 'DELETE')) {
      const channelId = match[1] ?? '';
      const messageId = match[2] ?? '';
      if (channelObjectFor(channelId, account) === null) return notFound('Unknown Channel', 10003);
      const message = messages.get(messageId);
      if (message === undefined || message.channelId !== channelId) return notFound('Unknown Message', 10008);
      if (method === 'GET') return ok(restMessage(message));
      if (method === 'DELETE') {
        if (message.author.id !== account.user.id && message.guildId === undefined) {
          respond(response, 403, { message: 'Cannot execute action on a DM channel', code: 50003 });
          return 403;
        }
        messages.delete(messageId);
        pushCapped(sent, { method: 'delete', channelId, id: messageId, content: message.content, botUserId: account.user.id, at: Date.now(), body: {}, files: [] }, maxRecorded);
        respond(response, 204, undefined, bucketHeaders('fake-bucket-delete-message'));
        for (const session of sessionsForChannel(channelId)) {
          const intent = message.guildId === undefined ? Intent.DirectMessages : Intent.GuildMessages;
          if ((session.intents & intent) !== 0) dispatch(session, 'MESSAGE_DELETE', { id: messageId, channel_id: channelId, ...(message.guildId === undefined ? {} : { guild_id: message.guildId }) });
        }
        return 204;
      }
      const failed = applyFailure('editMessage', 'fake-bucket-edit-message', request, response);
      if (failed !== null) return failed;
      if (message.author.id !== account.user.id) {
        respond(response, 403, { message: 'Cannot edit a message authored by another user', code: 50005 });
        return 403;
      }
      const { json, files } = await parseBody(request);
      if (json === null) {
        respond(response, 400, { message: 'The request body contains invalid JSON.', code: 50109 });
        return 400;
      }
      if (typeof json.content === 'string' && json.content.length > MAX_CONTENT) {
        respond(response, 400, formBodyError('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`));
        return 400;
      }
      const now = Date.now();
      if (typeof json.content === 'string') message.content = json.content;
      if (Array.isArray(json.embeds)) message.embeds = json.embeds;
      if (Array.isArray(json.components)) message.components = json.components;
      message.editedAt = now;
      pushCapped(
        sent,
        { method: 'edit', channelId, id: messageId, content: message.content, ...(message.reference === undefined ? {} : { messageReference: { messageId: message.reference.message_id, channelId: message.reference.channel_id } }), botUserId: account.user.id, at: now, body: json, files },
        maxRecorded,
      );
      const status = ok(restMessage(message), 'fake-bucket-edit-message');
      if (echoOwnMessages) dispatchMessage('MESSAGE_UPDATE', message);
      return status;
    }
    return notFound('404: Not Found', 0);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const fullPath = (request.url ?? '/').split('?')[0] ?? '/';
    const at = Date.now();
    const prefix = '/api/v10';
    if (!fullPath.startsWith(`${prefix}/`)) {
      respond(response, 404, { message: '404: Not Found', code: 0 });
      pushCapped(restRequests, { method, path: fullPath, status: 404, at }, maxRecorded);
      return;
    }
    const path = fullPath.slice(prefix.length);
    if (method === 'GET' && path === '/gateway') {
      respond(response, 200, { url: gatewayUrl });
      pushCapped(restRequests, { method, path, status: 200, at }, maxRecorded);
      return;
    }
    const auth = request.headers.authorization ?? '';
    const account = auth.startsWith('Bot ') ? findAccount(auth.slice(4)) : undefined;
    if (account === undefined || account.restRevoked) {
      request.resume();
      respond(response, 401, { message: '401: Unauthorized', code: 0 });
      pushCapped(restRequests, { method, path, status: 401, at }, maxRecorded);
      return;
    }
    const status = await handleApi(method, path, request, response, account);
    if (!request.complete) request.resume();
    pushCapped(restRequests, { method, path, status, botUserId: account.user.id, at }, maxRecorded);
  }

  // ---- servers -------------------------------------------------------------------------------

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) respond(response, 500, { message: `500: Internal Server Error (${String(error)})`, code: 0 });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
  wss.on('connection', (socket, request) => {
    connectionCount += 1;
    const query = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams;
    const connection: Connection = { socket, session: null, stalled: false, lastSentSeq: 0, deflate: null };
    connections.add(connection);
    socket.on('error', () => {});
    socket.on('message', (data) => handleClientFrame(connection, data));
    socket.on('close', (code) => {
      connections.delete(connection);
      connection.deflate?.destroy();
      const session = connection.session;
      if (session === null || session.connection !== connection) return;
      session.connection = null;
      // A clean close (1000/1001) ends the session, as on Discord; anything else leaves it resumable.
      if (code === 1000 || code === 1001) forgetSession(session);
    });
    const version = query.get('v');
    if (version !== null && version !== '10') {
      socket.close(4012, 'Invalid API version.');
      return;
    }
    const encoding = query.get('encoding');
    if (encoding !== null && encoding !== 'json') {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const compress = query.get('compress');
    if (compress === 'zlib-stream') {
      const deflate = createDeflate();
      let pending: Buffer = Buffer.alloc(0);
      deflate.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        // Each flushed message ends with the zlib sync marker 00 00 ff ff, which is what clients wait for.
        if (pending.length >= 4 && pending.readUInt32BE(pending.length - 4) === 0x0000ffff) {
          const frame = pending;
          pending = Buffer.alloc(0);
          if (socket.readyState === socket.OPEN) socket.send(frame, { binary: true });
        }
      });
      deflate.on('error', () => socket.terminate());
      connection.deflate = deflate;
    } else if (compress !== null) {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    writeFrame(connection, { op: GatewayOp.Hello, d: { heartbeat_interval: heartbeatInterval, _trace: ['["fake-discord-gateway",{"micros":0}]'] } });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const gatewayUrl = `ws://127.0.0.1:${port}`;

  function botFor(botUserId: string | undefined): BotAccount {
    if (botUserId === undefined) return firstBot;
    const account = accounts.find((candidate) => candidate.user.id === botUserId);
    if (account === undefined) throw new Error(`fake discord: no bot with user id ${botUserId}`);
    return account;
  }

  function injectMessage(input: InjectMessageInput): string {
    const bot = botFor(input.botUserId);
    const author: FakeDiscordUser = { id: input.author.id, username: input.author.username, ...(input.author.bot === true ? { bot: true } : {}) };
    users.set(author.id, author);
    let channelId: string;
    let channelType: number;
    let guildId: string | undefined;
    if (input.kind === 'dm') {
      channelId = dmChannelFor(bot.user.id, author, input.channelId).id;
      channelType = ChannelKind.DM;
    } else {
      channelId = input.channelId ?? (input.kind === 'thread' ? layout.threadId : layout.textChannelId);
      channelType = input.kind === 'thread' ? ChannelKind.PublicThread : ChannelKind.GuildText;
      guildId = layout.guildId;
    }
    const now = Date.now();
    let content = input.content;
    const mentions: FakeDiscordUser[] = [];
    const mentionRoles: string[] = [];
    if (input.mentionRole === true) {
      content = `<@&${layout.botRoleId}> ${content}`;
      mentionRoles.push(layout.botRoleId);
    }
    if (input.mentionBot === true) {
      content = `<@${bot.user.id}> ${content}`;
      mentions.push(bot.userRecord);
    }
    let referenced: StoredMessage | undefined;
    if (input.replyToBot === true) {
      const lastId = [...messages.values()].reverse().find((message) => message.channelId === channelId && message.author.id === bot.user.id)?.id;
      referenced = lastId === undefined ? undefined : messages.get(lastId);
      if (referenced === undefined) {
        referenced = {
          id: snowflake(now - 1000),
          channelId,
          ...(guildId === undefined ? {} : { guildId }),
          channelType,
          author: bot.userRecord,
          content: 'An earlier reply from the bot.',
          mentions: [],
          mentionRoles: [],
          createdAt: now - 1000,
          editedAt: null,
          embeds: [],
          attachments: [],
          components: [],
          flags: 0,
          tts: false,
        };
        storeMessage(referenced);
      }
      if (!mentions.some((user) => user.id === bot.user.id)) mentions.push(bot.userRecord);
    }
    const message: StoredMessage = {
      id: snowflake(now),
      channelId,
      ...(guildId === undefined ? {} : { guildId }),
      channelType,
      author,
      content,
      mentions,
      mentionRoles,
      ...(referenced === undefined
        ? {}
        : { reference: { message_id: referenced.id, channel_id: channelId, ...(guildId === undefined ? {} : { guild_id: guildId }) }, referenced }),
      createdAt: now,
      editedAt: null,
      nonce: snowflake(now),
      embeds: [],
      attachments: [],
      components: [],
      flags: 0,
      tts: false,
    };
    storeMessage(message);
    dispatchMessage('MESSAGE_CREATE', message);
    return message.id;
  }

  return {
    apiBase: `${baseUrl}/api`,
    gatewayUrl,
    token: firstBot.token,
    botUser: firstBot.user,
    bots: accounts.map((account) => ({ token: account.token, user: account.user, applicationId: account.applicationId })),
    guildId: layout.guildId,
    textChannelId: layout.textChannelId,
    threadId: layout.threadId,
    botRoleId: layout.botRoleId,
    sent,
    typing,
    reactions,
    restRequests,
    gatewayFrames,
    get connectionCount() {
      return connectionCount;
    },
    get identifyCount() {
      return identifyCount;
    },
    get resumeCount() {
      return resumeCount;
    },
    get openConnections() {
      return connections.size;
    },
    injectMessage,
    injectRawDispatch(t, d, botUserId) {
      for (const session of [...sessions.values()]) {
        if (botUserId === undefined || session.bot.user.id === botUserId) dispatch(session, t, d);
      }
    },
    injectRawFrame(text) {
      for (const connection of connections) {
        if (!connection.stalled) {
          writeText(connection, text);
          connection.deflate?.flush(zlibConstants.Z_SYNC_FLUSH);
        }
      }
    },
    waitFor(predicate, timeoutMs = 5000, label = 'condition') {
      if (closed) return Promise.reject(new Error('fake discord: server closed'));
      return new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const waiter: Waiter = { timer: undefined, reject };
        const finish = (error?: Error): void => {
          waiters.delete(waiter);
          if (error === undefined) resolve();
          else reject(error);
        };
        const check = (): void => {
          let done: boolean;
          try {
            done = predicate();
          } catch (error) {
            finish(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          if (done) finish();
          else if (Date.now() >= deadline) finish(new Error(`fake discord: timed out after ${timeoutMs} ms waiting for ${label}`));
          else waiter.timer = setTimeout(check, 5);
        };
        waiters.add(waiter);
        check();
      });
    },
    failNext(route, failure, times = 1) {
      const queue = failures.get(route) ?? [];
      for (let index = 0; index < times; index += 1) queue.push(failure);
      failures.set(route, queue);
    },
    dropConnections() {
      for (const connection of [...connections]) connection.socket.terminate();
    },
    requestReconnect() {
      for (const connection of connections) {
        if (!connection.stalled) writeFrame(connection, { op: GatewayOp.Reconnect, d: null });
      }
    },
    invalidateSessions() {
      for (const connection of connections) {
        if (!connection.stalled && connection.session !== null) writeFrame(connection, { op: GatewayOp.InvalidSession, d: false });
      }
      for (const session of [...sessions.values()]) forgetSession(session);
    },
    stall(on = true) {
      for (const connection of connections) {
        if (on) {
          connection.stalled = true;
          continue;
        }
        if (!connection.stalled) continue;
        connection.stalled = false;
        const session = connection.session;
        if (session === null) continue;
        for (const frame of session.backlog) {
          if (frame.s > connection.lastSentSeq) {
            writeFrame(connection, frame);
            connection.lastSentSeq = frame.s;
          }
        }
      }
    },
    revokeToken(token, scope = 'all') {
      const account = accountFor(token);
      account.gatewayRevoked = true;
      if (scope === 'all') account.restRevoked = true;
      for (const connection of [...connections]) {
        if (connection.session?.bot === account) closeWith(connection, 4004, 'Authentication failed.');
      }
      for (const session of [...sessions.values()]) {
        if (session.bot === account) forgetSession(session);
      }
    },
    restoreToken(token) {
      const account = accountFor(token);
      account.gatewayRevoked = false;
      account.restRevoked = false;
    },
    close() {
      closed = true;
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('fake discord: server closed'));
      }
      waiters.clear();
      failures.clear();
      return new Promise<void>((resolve) => {
        for (const connection of connections) {
          connection.deflate?.destroy();
          connection.socket.terminate();
        }
        connections.clear();
        sessions.clear();
        wss.close(() => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
          sockets.clear();
        });
      });
    },
  };
}
