import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The keep-alive connection pools of one provider; `destroy()` closes them. */
export interface ConnectionPool {
  http: HttpAgent;
  https: HttpsAgent;
  destroy(): void;
}

export function createConnectionPool(): ConnectionPool {
  const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 };
  const http = new HttpAgent(options);
  const https = new HttpsAgent(options);
  return {
    http,
    https,
    destroy() {
      http.destroy();
      https.destroy();
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
    readonly headers: IncomingMessage['headers'],
    readonly error: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

const MAX_ERROR_BODY = 64 * 1024;

async function readErrorBody(response: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ERROR_BODY) break;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
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
  pool: ConnectionPool;
}

/**
 * POSTs a JSON body and yields the `data:` payloads of the server-sent-event response, stopping
 * at `[DONE]` or the end of the stream. A non-2xx answer throws a ProviderHttpError; network
 * failures and aborts throw the request's own error.
 */
export async function* postForEvents(options: SsePostRequest): AsyncGenerator<string, void, undefined> {
  const secure = options.url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = send(options.url, {
      method: 'POST',
      agent: secure ? options.pool.https : options.pool.http,
      headers: { ...options.headers, 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(options.body) },
      signal: options.signal,
    });
    request.once('response', resolve);
    request.once('error', reject);
    request.end(options.body);
  });
  if ((response.statusCode ?? 0) >= 300) {
    throw new ProviderHttpError(response.statusCode ?? 0, response.headers, await readErrorBody(response));
  }
  response.setEncoding('utf8');
  let buffer = '';
  let done = false;
  // The response is read to its end even after `[DONE]`: leaving the loop early would destroy
  // the socket instead of returning it to the keep-alive pool.
  for await (const chunk of response as AsyncIterable<string>) {
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
