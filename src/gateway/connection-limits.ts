import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

/** Node's options for the header and body deadlines; its check runs often enough to keep them. */
export function serverTimeouts(limits: ConnectionLimits) {
  return {
    headersTimeout: limits.headersTimeoutMs,
    // Node's request timeout counts from the first byte, so the body gets its own time after the headers'.
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs) / 4))),
  };
}

function rawResponse(status: string, message: string): string {
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', code: status.startsWith('408') ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST', param: null } });
  return `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Past this many times `gateway.maxConnections`, Node drops new connections without an answer (writing one is work a flood should not get). */
const HARD_CAP_FACTOR = 2;

/** Answers a connection over a cap with `status` and `message`, then closes it. */
function refuse(socket: Socket, status: string, message: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: text/plain\r\n\r\n${message}\n`, () => socket.destroy());
}

/** Counts open connections in total and per remote address; an address's entry leaves with its last connection. */
function createConnectionCounts() {
  const perAddress = new Map<string, number>();
  const counts = { total: 0 };
  return {
    /** Counts `socket` until it closes; returns the counts with it included. */
    add(socket: Socket, address: string): { total: number; fromAddress: number } {
      counts.total += 1;
      const fromAddress = (perAddress.get(address) ?? 0) + 1;
      perAddress.set(address, fromAddress);
      socket.once('close', () => {
        counts.total -= 1;
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left <= 0) perAddress.delete(address);
        else perAddress.set(address, left);
      });
      return { total: counts.total, fromAddress };
    },
  };
}

/**
 * Caps open connections per remote address (past the cap a connection is answered 429 and
 * closed) and in total (503 and closed), and answers a request whose headers or body are too
 * slow with 408 and a close. `limits()` is read for every connection, so a config reload applies
 * from the next one (the deadline check's interval is set at start).
 */
export function applyConnectionLimits(server: Server, limits: () => ConnectionLimits): { refused(socket: Socket): boolean } {
  const counts = createConnectionCounts();
  /** Connections over a cap: being closed; a request that still arrives on one is not served. */
  const overCap = new WeakSet<Socket>();
  server.maxConnections = limits().maxConnections * HARD_CAP_FACTOR;

  server.on('connection', (socket: Socket) => {
    const current = limits();
    const timeouts = serverTimeouts(current);
    server.maxConnections = current.maxConnections * HARD_CAP_FACTOR;
    server.headersTimeout = timeouts.headersTimeout;
    server.requestTimeout = timeouts.requestTimeout;
    const address = socket.remoteAddress ?? 'unknown';
    const open = counts.add(socket, address);
    if (open.fromAddress > current.maxConnectionsPerAddress) {
      overCap.add(socket);
      refuse(socket, '429 Too Many Requests', `Too many open connections from ${address} (gateway.maxConnectionsPerAddress is ${current.maxConnectionsPerAddress}).`);
    } else if (open.total > current.maxConnections) {
      overCap.add(socket);
      refuse(socket, '503 Service Unavailable', `The gateway has as many open connections as it takes (gateway.maxConnections is ${current.maxConnections}); try again shortly.`);
    }
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const answered = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
    if (!socket.writable || answered) {
      socket.destroy();
      return;
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const current = limits();
      // Destroyed once written: a client still trickling would otherwise keep the half-closed socket.
      socket.end(
        rawResponse(
          '408 Request Timeout',
          `The request did not arrive in time: headers must arrive within ${current.headersTimeoutMs} ms (gateway.headersTimeoutMs) and the body within ${current.bodyTimeoutMs} ms more (gateway.bodyTimeoutMs).`,
        ),
        () => socket.destroy(),
      );
      return;
    }
    socket.end(rawResponse('400 Bad Request', 'The request is not valid HTTP.'), () => socket.destroy());
  });

  return { refused: (socket) => overCap.has(socket) };
}
