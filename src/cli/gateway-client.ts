import { randomUUID } from 'node:crypto';
import type WsModule from 'ws';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { HearthError } from '../contracts/errors.js';

export interface GatewayClient {
  call<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
  close(): void;
}

/** Thrown when nothing answers at the gateway address. */
export class GatewayUnreachable extends Error {
  override readonly name = 'GatewayUnreachable';
}

/**
 * Connects to a gateway's `/ws` endpoint and authenticates. Requests time out (default 30 s);
 * pending requests are rejected when the connection closes.
 */
export async function connectGateway(url: string, token: string, client = { name: 'hearth-cli', version: '1' }): Promise<GatewayClient> {
  const wsUrl = `${url.replace(/^http/, 'ws').replace(/\/+$/, '')}/ws`;
  // Loaded here, not at import: commands that never connect (and the gateway itself) skip it.
  const WebSocket = loadCommonJs('ws') as typeof WsModule;
  const socket = new WebSocket(wsUrl, { perMessageDeflate: false });
  const pending = new Map<string, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  const listeners = new Set<(event: string, payload: unknown) => void>();

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new GatewayUnreachable(`The gateway at ${url} did not answer within 5 s.`));
    }, 5000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new GatewayUnreachable(error.code === 'ECONNREFUSED' ? `No gateway is running at ${url}.` : `Cannot reach the gateway at ${url}: ${error.message}`));
    });
  });

  socket.on('message', (data) => {
    let frame: { type?: string; id?: string; ok?: boolean; payload?: unknown; error?: { code: string; message: string }; event?: string };
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if (frame.type === 'res' && typeof frame.id === 'string') {
      const entry = pending.get(frame.id);
      if (!entry) return;
      pending.delete(frame.id);
      clearTimeout(entry.timer);
      if (frame.ok) entry.resolve(frame.payload);
      else entry.reject(new HearthError((frame.error?.code ?? 'INTERNAL') as never, frame.error?.message ?? 'request failed'));
    } else if (frame.type === 'event' && typeof frame.event === 'string') {
      for (const listener of listeners) listener(frame.event, frame.payload);
    }
  });
  socket.on('close', (_code, reason) => {
    for (const entry of pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new GatewayUnreachable(`The gateway closed the connection${reason.length ? `: ${reason.toString()}` : ''}.`));
    }
    pending.clear();
  });
  socket.on('error', () => {
    // Surfaced through 'close' and the pending requests.
  });

  const call = <T>(method: string, params?: unknown, timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (socket.readyState !== WebSocket.OPEN) {
        reject(new GatewayUnreachable('The connection to the gateway is closed.'));
        return;
      }
      const id = randomUUID();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`The gateway did not answer ${method} within ${timeoutMs} ms.`));
      }, timeoutMs);
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ type: 'req', id, method, params }));
    });

  await call('connect', { auth: { token }, client });
  return {
    call,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      socket.close();
    },
  };
}
