import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type * as Ws from 'ws';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { z } from 'zod';
import { HearthError, isHearthError } from '../contracts/errors.js';
import type { TurnEvent } from '../sessions/turn-service.js';
import { createHealthFeed, healthSnapshot } from './health-feed.js';
import type { GatewayContext } from './gateway-context.js';
import { OVERLOADED_RETRY_AFTER_MS, type RequestGuards } from './request-guards.js';
import type { RpcConnection, RpcMethod } from './rpc/rpc-types.js';

export const PROTOCOL_VERSION = 1;
/** Frames before `connect` may not be larger than this. */
export const MAX_PREAUTH_FRAME_BYTES = 64 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_WATCHED_SESSIONS = 256;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Refused frames (rate limit, full queue) within VIOLATION_WINDOW_MS after which a client is disconnected. */
const MAX_VIOLATIONS = 200;
const VIOLATION_WINDOW_MS = 10_000;

/** The id of a request frame, for answering a frame refused before it is handled. */
function requestIdOf(data: Buffer): string | number | null {
  if (data.length > MAX_PREAUTH_FRAME_BYTES) return null;
  try {
    const id = (JSON.parse(data.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}

const frameSchema = z.looseObject({
  type: z.literal('req'),
  id: z.union([z.string().max(200), z.number()]),
  method: z.string().max(200),
  params: z.unknown().optional(),
});

const connectSchema = z.looseObject({
  auth: z.looseObject({ token: z.string().max(1024) }),
  client: z.looseObject({ name: z.string().max(200).optional(), version: z.string().max(100).optional() }).optional(),
});

export const EVENTS = ['chat', 'approval', 'health', 'memory.index.progress'] as const;

interface Connection extends RpcConnection {
  socket: WebSocket;
  authenticated: boolean;
  watched: Set<string>;
  seq: number;
  violations: number;
  violationsSince: number;
  /** Frames received before a successful connect. */
  preauthFrames: number;
  remote: string;
}

export interface WsGatewayOptions {
  maxPayloadBytes: number;
  guards: RequestGuards;
  /** Open WebSocket connections one address may hold. */
  maxConnectionsPerAddress: () => number;
  /** Origins a browser may connect from besides the gateway's own. */
  allowedOrigins: () => readonly string[];
}

/**
 * The RPC method table. Loaded at the first WebSocket upgrade, not at start-up: the methods'
 * modules and request schemas are a tenth of what the gateway loads before it is ready.
 */
async function loadMethods(): Promise<Readonly<Record<string, RpcMethod>>> {
  return (await import('./rpc/method-table.js')).rpcMethods;
}

/**
 * The `/ws` RPC endpoint. Each connection owns its watched-session set; the hub maps a session
 * to the connections watching it and is cleaned when a connection closes.
 */
export function createWsGateway(context: GatewayContext, options: WsGatewayOptions) {
  // `ws` is loaded at the first WebSocket upgrade, not at start-up.
  let server: Ws.WebSocketServer | undefined;
  const websocketServer = () => {
    if (server) return server;
    const { WebSocketServer } = loadCommonJs('ws') as typeof Ws;
    server = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false });
    return server;
  };
  const connections = new Set<Connection>();
  /** Open connections per remote address; an entry leaves when its last connection closes. */
  const perAddress = new Map<string, number>();
  const hub = new Map<string, Set<Connection>>();
  let methods: Readonly<Record<string, RpcMethod>> | undefined;
  let methodNames: string[] = ['connect'];
  let loadingMethods: Promise<void> | undefined;
  const ensureMethods = () => {
    loadingMethods ??= loadMethods().then((table) => {
      methods = table;
      methodNames = ['connect', ...Object.keys(table)].sort();
    });
    return loadingMethods;
  };

  const send = (connection: Connection, frame: unknown) => {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    if (connection.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      connection.socket.close(1013, 'client is not reading its messages');
      return;
    }
    connection.socket.send(JSON.stringify(frame));
  };

  const sendError = (connection: Connection, id: unknown, error: HearthError) => {
    send(connection, { type: 'res', id: id ?? null, ok: false, error: error.toJSON() });
  };

  const pushEvent = (connection: Connection, event: string, payload: unknown) => {
    connection.seq += 1;
    send(connection, { type: 'event', event, payload, seq: connection.seq });
  };

  const chatPayload = (event: TurnEvent) => {
    if (event.type === 'delta') return { runId: event.runId, sessionKey: event.sessionKey, state: 'delta', text: event.text };
    if (event.type === 'started') return { runId: event.runId, sessionKey: event.sessionKey, state: 'started', text: '' };
    const { outcome } = event;
    if (outcome.status === 'ok') {
      return {
        runId: outcome.runId,
        sessionKey: outcome.sessionKey,
        state: 'final',
        text: outcome.reply,
        toolCalls: outcome.toolCalls,
        usage: outcome.usage,
        modelRef: outcome.modelRef,
      };
    }
    const error = outcome.error ?? { code: 'TURN_FAILED', message: 'The turn failed.' };
    return { runId: outcome.runId, sessionKey: outcome.sessionKey, state: 'error', text: error.message, error, partial: outcome.reply };
  };

  const unsubscribe = context.turns.subscribe((event) => {
    const watchers = hub.get(event.sessionKey);
    if (!watchers || watchers.size === 0) return;
    const payload = chatPayload(event);
    for (const connection of watchers) pushEvent(connection, 'chat', payload);
  });

  // An approval is shown where its conversation is watched (WebChat's buttons).
  const unsubscribeApprovals = context.approvals.subscribe(({ type, approval }) => {
    const watchers = hub.get(approval.sessionKey);
    if (!watchers || watchers.size === 0) return;
    const { replyTo: _replyTo, ...shown } = approval;
    for (const connection of watchers) pushEvent(connection, 'approval', { state: type, approval: shown });
  });

  const healthFeed = createHealthFeed(() => healthSnapshot(context));

  const unwatchAll = (connection: Connection) => {
    for (const key of connection.watched) {
      const watchers = hub.get(key);
      watchers?.delete(connection);
      if (watchers && watchers.size === 0) hub.delete(key);
    }
    connection.watched.clear();
  };

  /** Answers a frame the gateway will not handle now; a client that keeps sending them is closed. */
  const refuse = (connection: Connection, data: Buffer, error: HearthError) => {
    // Refusals are counted over a sliding window, so a steady flood is closed too.
    const now = Date.now();
    if (now - connection.violationsSince > VIOLATION_WINDOW_MS) {
      connection.violationsSince = now;
      connection.violations = 0;
    }
    connection.violations += 1;
    if (connection.violations > MAX_VIOLATIONS) {
      connection.socket.close(1008, error.code === 'RATE_LIMITED' ? 'rate limit exceeded' : 'too many requests queued: the queue for this connection stayed full');
      return;
    }
    sendError(connection, requestIdOf(data), error);
  };

  /** Authenticated frames run in the connection's turn of the gateway's work queue. */
  const admitFrame = async (connection: Connection, data: Buffer, isBinary: boolean) => {
    const result = await options.guards.work.run(`ws:${connection.id}`, () => handleFrame(connection, data, isBinary));
    if (result.admitted) return;
    const { perConnection, queuePerConnection } = context.config().gateway.concurrency;
    refuse(
      connection,
      data,
      new HearthError(
        'OVERLOADED',
        `Too many requests at once: ${perConnection} may run per connection (gateway.concurrency.perConnection) and ${queuePerConnection} wait (gateway.concurrency.queuePerConnection); retry in ${OVERLOADED_RETRY_AFTER_MS} ms.`,
        { retryable: true, retryAfterMs: OVERLOADED_RETRY_AFTER_MS },
      ),
    );
  };

  async function handleFrame(connection: Connection, data: Buffer, isBinary: boolean) {
    if (!connection.authenticated && data.length > MAX_PREAUTH_FRAME_BYTES) {
      sendError(connection, null, new HearthError('PAYLOAD_TOO_LARGE', `Frames before connect may be at most ${MAX_PREAUTH_FRAME_BYTES} bytes.`));
      connection.socket.close(1009, 'frame too large before connect');
      return;
    }
    // The first frame (connect) is free; a wrong token counts against the address in checkToken.
    if (!connection.authenticated && connection.preauthFrames++ > 0) {
      const wait = options.guards.anonymousWait(connection.remote);
      if (wait > 0) {
        refuse(connection, data, new HearthError('RATE_LIMITED', `Too many requests without a token from this address; wait ${wait} ms.`, { retryable: true, retryAfterMs: wait }));
        return;
      }
    }
    if (isBinary) {
      sendError(connection, null, new HearthError('BAD_REQUEST', 'Binary frames are not supported; send JSON text frames.'));
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch (error) {
      sendError(connection, null, new HearthError('BAD_REQUEST', `Malformed JSON: ${(error as Error).message}.`));
      return;
    }
    const frame = frameSchema.safeParse(raw);
    if (!frame.success) {
      const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : null;
      sendError(connection, id, new HearthError('BAD_REQUEST', 'A request frame is {type:"req", id, method, params}.'));
      return;
    }
    const { id, method, params } = frame.data;
    if (method === 'connect') {
      const parsed = connectSchema.safeParse(params);
      if (!parsed.success) {
        sendError(connection, id, new HearthError('AUTH_REQUIRED', 'connect needs params {auth:{token}, client:{name, version}}.'));
        connection.socket.close(1008, 'connect without a token');
        return;
      }
      const refusal = options.guards.checkToken(connection.remote, parsed.data.auth.token);
      if (refusal !== null) {
        context.logger.warn({ remote: connection.remote }, 'websocket connect with a wrong token');
        const retry = refusal.code === 'RATE_LIMITED' ? { retryable: true, retryAfterMs: refusal.retryAfterMs } : {};
        sendError(connection, id, new HearthError(refusal.code, refusal.message, retry));
        connection.socket.close(1008, refusal.code === 'RATE_LIMITED' ? 'too many wrong tokens' : 'wrong token');
        return;
      }
      connection.authenticated = true;
      send(connection, {
        type: 'res',
        id,
        ok: true,
        payload: { protocol: PROTOCOL_VERSION, server: { version: context.version }, methods: methodNames, events: [...EVENTS] },
      });
      return;
    }
    if (!connection.authenticated) {
      sendError(connection, id, new HearthError('AUTH_REQUIRED', 'The first frame must be connect with {auth:{token}}.'));
      connection.socket.close(1008, 'connect first');
      return;
    }
    const handler = methods && Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (!handler) {
      sendError(connection, id, new HearthError('UNKNOWN_METHOD', `Unknown method "${method}". Known methods: ${methodNames.join(', ')}.`));
      return;
    }
    const checked = handler.params.safeParse(params);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'params';
      sendError(connection, id, new HearthError('BAD_REQUEST', `Invalid params for ${method}: ${where}: ${issue?.message ?? 'invalid'}.`));
      return;
    }
    try {
      const payload = await handler.handle(checked.data, connection, context);
      send(connection, { type: 'res', id, ok: true, payload });
    } catch (error) {
      const failure = isHearthError(error) ? error : new HearthError('INTERNAL', 'The request failed inside the gateway; see the gateway log.');
      if (!isHearthError(error)) context.logger.error({ err: error, method }, 'rpc method failed');
      sendError(connection, id, failure);
    }
  }

  const onConnection = (socket: WebSocket, request: IncomingMessage) => {
    const connection: Connection = {
      id: randomUUID(),
      socket,
      authenticated: false,
      watched: new Set(),
      seq: 0,
      violations: 0,
      violationsSince: 0,
      preauthFrames: 0,
      remote: request.socket.remoteAddress ?? 'unknown',
      notify(event: string, payload: unknown) {
        pushEvent(connection, event, payload);
      },
      watchHealth() {
        return healthFeed.watch(connection.id, (snapshot) => pushEvent(connection, 'health', snapshot));
      },
      watch(sessionKey: string) {
        if (connection.watched.has(sessionKey)) return;
        if (connection.watched.size >= MAX_WATCHED_SESSIONS) {
          const oldest = connection.watched.values().next().value as string;
          connection.watched.delete(oldest);
          hub.get(oldest)?.delete(connection);
        }
        connection.watched.add(sessionKey);
        let watchers = hub.get(sessionKey);
        if (!watchers) {
          watchers = new Set();
          hub.set(sessionKey, watchers);
        }
        watchers.add(connection);
      },
    };
    // ws closes the connection of a frame over maxPayload with 1009 and no reason: name the limit first.
    const close = socket.close.bind(socket);
    socket.close = (code?: number, reason?: string | Buffer) => {
      if (code !== 1009 || reason) return close(code, reason);
      sendError(connection, null, new HearthError('PAYLOAD_TOO_LARGE', `Frames may be at most ${options.maxPayloadBytes} bytes (gateway.maxPayloadBytes); split the request or raise the limit.`));
      return close(1009, `frame larger than gateway.maxPayloadBytes (${options.maxPayloadBytes} bytes)`);
    };
    connections.add(connection);
    perAddress.set(connection.remote, (perAddress.get(connection.remote) ?? 0) + 1);
    const handshake = setTimeout(() => {
      if (!connection.authenticated) socket.close(1008, 'no connect frame in time');
    }, HANDSHAKE_TIMEOUT_MS);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      (connection.authenticated ? admitFrame(connection, data, isBinary) : handleFrame(connection, data, isBinary)).catch((error) => context.logger.error({ err: error }, 'websocket frame handling failed'));
    });
    socket.on('error', (error) => context.logger.debug({ err: error, remote: connection.remote }, 'websocket error'));
    socket.on('close', () => {
      clearTimeout(handshake);
      options.guards.work.forget(`ws:${connection.id}`);
      unwatchAll(connection);
      healthFeed.unwatch(connection.id);
      connections.delete(connection);
      const open = (perAddress.get(connection.remote) ?? 1) - 1;
      if (open <= 0) perAddress.delete(connection.remote);
      else perAddress.set(connection.remote, open);
    });
  };

  const rejectUpgrade = (socket: Duplex, status: number, message: string) => {
    const reason = status === 429 ? 'Too Many Requests' : status === 403 ? 'Forbidden' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n${message}\n`);
  };

  const gateway = {
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, ownOrigins: readonly string[]): void {
      if (!methods) {
        // The checks below run once the methods are loaded, so a burst at start is counted too.
        ensureMethods().then(
          () => gateway.handleUpgrade(request, socket, head, ownOrigins),
          (error) => {
            context.logger.error({ err: error }, 'could not load the WebSocket methods');
            socket.end('HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\n\r\n');
          },
        );
        return;
      }
      const origin = request.headers.origin;
      if (origin !== undefined && !ownOrigins.includes(origin) && !options.allowedOrigins().includes(origin)) {
        context.logger.warn({ origin }, 'websocket from a foreign origin refused');
        rejectUpgrade(socket, 403, `Origin ${origin} is not allowed; add it to gateway.allowedOrigins to allow it.`);
        return;
      }
      const remote = request.socket.remoteAddress ?? 'unknown';
      const cap = options.maxConnectionsPerAddress();
      if ((perAddress.get(remote) ?? 0) >= cap) {
        rejectUpgrade(socket, 429, `Too many open connections from ${remote} (gateway.maxConnectionsPerAddress is ${cap}).`);
        return;
      }
      websocketServer().handleUpgrade(request, socket, head, (ws) => onConnection(ws, request));
    },
    connectionCount: () => connections.size,
    close() {
      unsubscribe();
      unsubscribeApprovals();
      healthFeed.stop();
      for (const connection of connections) connection.socket.close(1001, 'gateway shutting down');
      server?.close();
    },
  };
  return gateway;
}
