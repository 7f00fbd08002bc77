import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';

/**
 * The keep-alive connections of one provider (an undici pool per origin, created on first use,
 * so the module is loaded only when a model is first called); `destroy()` closes them.
 */
export interface ConnectionPool {
  get(origin: string): Promise<Pool>;
  destroy(): void;
}

export function createConnectionPool(): ConnectionPool {
  const pools = new Map<string, Promise<Pool>>();
  return {
    get(origin) {
      let pool = pools.get(origin);
      if (!pool) {
        pool = import('undici').then(({ Pool: UndiciPool }) => new UndiciPool(origin, { connections: 64, keepAliveTimeout: 30_000 }));
        pools.set(origin, pool);
      }
      return pool;
    },
    destroy() {
      for (const pool of pools.values()) void pool.then((ready) => ready.destroy()).catch(() => undefined);
      pools.clear();
    },
  };
}

/**
 * A provider's refusal: the HTTP status, headers and parsed error body, shaped like the official
 * SDKs' errors so `classifyProviderError` reads it the same way.
 */
export class ProviderHttpError extends Error {
  override readonly name = 'APIError';
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly error: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

const MAX_ERROR_BODY = 64 * 1024;

async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<unknown> {
  let text = '';
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (text.length < MAX_ERROR_BODY) text += chunk.toString('utf8');
  }
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return parsed.error ?? parsed;
  } catch {
    return text.slice(0, 2000);
  }
}

export interface SsePostRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /** The call fails (see `isIdleTimeout`) when no headers or no body bytes arrive for this long. */
  idleTimeoutMs: number;
  pool: ConnectionPool;
}

/** Whether an error from `postForEvents` is its idle timeout. */
export function isIdleTimeout(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/**
 * POSTs a JSON body and yields the `data:` payloads of the server-sent-event response, stopping
 * at `[DONE]` or the end of the stream. A non-2xx answer throws a ProviderHttpError; network
 * failures and aborts throw the request's own error.
 */
export async function* postForEvents(options: SsePostRequest): AsyncGenerator<string, void, undefined> {
  const pool = await options.pool.get(options.url.origin);
  const response = await pool.request({
    path: `${options.url.pathname}${options.url.search}`,
    method: 'POST',
    headers: { ...options.headers, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: options.body,
    signal: options.signal,
    headersTimeout: options.idleTimeoutMs,
    bodyTimeout: options.idleTimeoutMs,
  });
  if (response.statusCode >= 300) {
    throw new ProviderHttpError(response.statusCode, response.headers as IncomingHttpHeaders, await readErrorBody(response.body));
  }
  response.body.setEncoding('utf8');
  let buffer = '';
  let done = false;
  // The body is read to its end even after `[DONE]`, so the connection goes back to the pool.
  for await (const chunk of response.body as AsyncIterable<string>) {
    if (done) continue;
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line.startsWith('data:')) {
        const data = line.slice(5).trimStart();
        if (data === '[DONE]') {
          done = true;
          break;
        }
        yield data;
      }
      newline = buffer.indexOf('\n');
    }
  }
  const rest = buffer.trim();
  if (!done && rest.startsWith('data:') && rest.slice(5).trim() !== '[DONE]') yield rest.slice(5).trimStart();
}
