import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import { nodeHttps } from '../runtime/node-https.js';

/**
 * The keep-alive connections of one provider: one agent per protocol (Node's own HTTP client,
 * already loaded for the gateway's server, so a first model call costs no module load and no
 * extra memory); `destroy()` closes them.
 */
export interface ConnectionPool {
  agent(url: URL): HttpAgent;
  destroy(): void;
}

export function createConnectionPool(): ConnectionPool {
  const agents = new Map<string, HttpAgent>();
  return {
    agent(url) {
      let agent = agents.get(url.protocol);
      if (!agent) {
        const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: 'lifo' as const, timeout: 30_000 };
        agent = url.protocol === 'https:' ? new (nodeHttps().Agent)(options) : new HttpAgent(options);
        agents.set(url.protocol, agent);
      }
      return agent;
    },
    destroy() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
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

async function readErrorBody(body: IncomingMessage): Promise<unknown> {
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
  /** `sse` (default): yield the `data:` payloads; `ndjson`: yield each non-empty line (Ollama's native API). */
  format?: 'sse' | 'ndjson';
}

const IDLE_TIMEOUT = 'HEARTH_PROVIDER_IDLE_TIMEOUT';

/** Whether an error from `postForEvents` is its idle timeout. */
export function isIdleTimeout(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === IDLE_TIMEOUT;
}

function idleTimeoutError(ms: number, waitingFor: string): Error {
  return Object.assign(new Error(`no ${waitingFor} from the provider for ${ms} ms`), { code: IDLE_TIMEOUT });
}

/**
 * POSTs a JSON body and yields the `data:` payloads of the server-sent-event response, stopping
 * at `[DONE]` or the end of the stream. A non-2xx answer throws a ProviderHttpError; network
 * failures and aborts throw the request's own error.
 */
export async function* postForEvents(options: SsePostRequest): AsyncGenerator<string, void, undefined> {
  const { url, idleTimeoutMs } = options;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? nodeHttps().request : httpRequest)(url, {
      method: 'POST',
      agent: options.pool.agent(url),
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        accept: options.format === 'ndjson' ? 'application/x-ndjson' : 'text/event-stream',
        'content-length': Buffer.byteLength(options.body),
      },
      signal: options.signal,
    });
    // No response headers for the idle timeout: give up on this request.
    const timer = setTimeout(() => request.destroy(idleTimeoutError(idleTimeoutMs, 'response headers')), idleTimeoutMs);
    request.once('response', (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(options.body);
  });
  const status = response.statusCode ?? 0;
  if (status >= 300) throw new ProviderHttpError(status, response.headers, await readErrorBody(response));
  // No body bytes for the idle timeout: the stream stalled.
  let idle = setTimeout(() => response.destroy(idleTimeoutError(idleTimeoutMs, 'data')), idleTimeoutMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => response.destroy(idleTimeoutError(idleTimeoutMs, 'data')), idleTimeoutMs);
  };
  try {
    yield* readEvents(response, touch, options.format === 'ndjson');
  } finally {
    clearTimeout(idle);
  }
}

async function* readEvents(response: IncomingMessage, touch: () => void, ndjson: boolean): AsyncGenerator<string, void, undefined> {
  response.setEncoding('utf8');
  let buffer = '';
  let done = false;
  // The body is read to its end even after `[DONE]`, so the connection goes back to the pool.
  for await (const chunk of response as AsyncIterable<string>) {
    touch();
    if (done) continue;
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (ndjson) {
        if (line.trim() !== '') yield line;
      } else if (line.startsWith('data:')) {
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
  if (ndjson) {
    if (rest !== '') yield rest;
    return;
  }
  if (!done && rest.startsWith('data:') && rest.slice(5).trim() !== '[DONE]') yield rest.slice(5).trimStart();
}
