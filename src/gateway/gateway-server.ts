import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bearerToken, tokenMatches } from './auth.js';
import type { GatewayContext } from './gateway-context.js';
import { sendError, sendJson } from './http-errors.js';
import { createOpenAIRoutes } from './openai-routes.js';
import { createRateLimiter } from './rate-limiter.js';
import { createWsGateway } from './ws-gateway.js';

export interface GatewayServerOptions {
  port: number;
  host: string;
}

/** The WebChat page, read once at start from the package's `src/ui/` folder. */
function loadWebChatPage(): Buffer {
  try {
    return readFileSync(fileURLToPath(new URL('../../../src/ui/webchat.html', import.meta.url)));
  } catch {
    return Buffer.from('<!doctype html><title>Hearth</title><p>The WebChat page is missing from this install (src/ui/webchat.html).</p>');
  }
}

/** A small hearth-fire icon, so browsers' automatic favicon request is answered. */
const FAVICON = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2b1d14"/>' +
    '<path d="M16 5c1 5 7 8 7 14a7 7 0 0 1-14 0c0-3 2-5 3-6 0 3 1 4 2 4 0-4 1-8 2-12z" fill="#f08a24"/></svg>',
);

class BodyTooLarge extends Error {}
class MalformedBody extends Error {}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(request, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MalformedBody((error as Error).message);
  }
}

/**
 * The control plane on one port: health, readiness, the OpenAI-compatible API, WebChat and the
 * `/ws` RPC endpoint. Every request passes the per-client rate limit; everything except health,
 * readiness and the static page needs the bearer token.
 */
export function createGatewayServer(context: GatewayContext) {
  const gatewayConfig = () => context.config().gateway;
  const limits = gatewayConfig().rateLimit;
  const limiter = createRateLimiter({ perSecond: limits.perSecond, burst: limits.burst });
  const openai = createOpenAIRoutes(context);
  const ws = createWsGateway(context, {
    maxPayloadBytes: gatewayConfig().maxPayloadBytes,
    limiter,
    allowedOrigins: () => gatewayConfig().allowedOrigins,
  });
  const page = loadWebChatPage();
  const pruneTimer = setInterval(() => limiter.prune(), 30_000);
  pruneTimer.unref();
  let server: Server | undefined;
  let ownOrigins: string[] = [];

  const authorized = (request: IncomingMessage, response: ServerResponse): boolean => {
    const header = request.headers.authorization;
    if (!header) {
      sendError(response, 401, 'AUTH_REQUIRED', 'Send Authorization: Bearer <token>. `hearth gateway token` prints the token.', {
        headers: { 'www-authenticate': 'Bearer' },
      });
      return false;
    }
    if (!tokenMatches(bearerToken(header), context.token())) {
      sendError(response, 401, 'AUTH_INVALID', 'The bearer token is wrong. `hearth gateway token` prints the right one.', {
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
      return false;
    }
    return true;
  };

  async function route(request: IncomingMessage, response: ServerResponse) {
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? null : new URLSearchParams(target.slice(queryAt + 1));
    const method = request.method ?? 'GET';

    if (path === '/health' && method === 'GET') {
      sendJson(response, 200, { ok: true });
      return;
    }
    const wait = limiter.take(`http:${request.socket.remoteAddress ?? 'unknown'}`);
    if (wait > 0) {
      sendError(response, 429, 'RATE_LIMITED', `Too many requests from this client; retry in ${Math.ceil(wait / 1000)} s.`, {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) },
      });
      return;
    }
    if (path === '/readyz' && method === 'GET') {
      const components = context.components();
      const ready = Object.values(components).every((component) => component.status === 'ok' || component.status === 'degraded');
      sendJson(response, ready ? 200 : 503, { ready, components });
      return;
    }
    if ((path === '/' || path === '/index.html') && method === 'GET') {
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': page.length,
        'cache-control': 'no-cache',
        'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:",
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      response.end(page);
      return;
    }
    if ((path === '/favicon.ico' || path === '/favicon.svg') && method === 'GET') {
      response.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': FAVICON.length, 'cache-control': 'max-age=86400' });
      response.end(FAVICON);
      return;
    }
    const hook = /^\/channels\/([a-z]+)\/([a-z0-9_-]{1,64})\/webhook$/u.exec(path);
    if (hook && method === 'POST') {
      // Platforms cannot send our bearer token; each adapter checks the platform's own secret.
      let body: Buffer;
      try {
        body = await readBody(request, gatewayConfig().maxPayloadBytes);
      } catch {
        sendError(response, 413, 'PAYLOAD_TOO_LARGE', 'The webhook body is too large.', { headers: { connection: 'close' } });
        return;
      }
      const answer = await context.channels.webhook(hook[1] as string, hook[2] as string, { headers: request.headers, body });
      response.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(answer.body ?? '');
      return;
    }
    if (query?.has('token')) {
      sendError(response, 400, 'BAD_REQUEST', 'Tokens are never accepted in the query string; send Authorization: Bearer <token>.');
      return;
    }
    if (path === '/metrics' && method === 'GET') {
      if (!authorized(request, response)) return;
      const text = await context.metrics.render();
      response.writeHead(200, { 'content-type': context.metrics.contentType, 'content-length': Buffer.byteLength(text) });
      response.end(text);
      return;
    }
    if (path === '/v1/models' && method === 'GET') {
      if (authorized(request, response)) openai.models(request, response);
      return;
    }
    if (path === '/v1/chat/completions') {
      if (method !== 'POST') {
        sendError(response, 405, 'method_not_allowed', 'Use POST for /v1/chat/completions.', { headers: { allow: 'POST' } });
        return;
      }
      if (!authorized(request, response)) return;
      let body: unknown;
      try {
        body = await readJsonBody(request, gatewayConfig().maxPayloadBytes);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          sendError(response, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${gatewayConfig().maxPayloadBytes} bytes (gateway.maxPayloadBytes).`, {
            headers: { connection: 'close' },
          });
        } else if (error instanceof MalformedBody) {
          sendError(response, 400, 'invalid_json', `The request body is not valid JSON: ${error.message}.`);
        } else {
          sendError(response, 400, 'BAD_REQUEST', 'The request body could not be read.');
        }
        return;
      }
      await openai.chatCompletions(request, response, body);
      return;
    }
    sendError(response, 404, 'NOT_FOUND', `Nothing at ${method} ${path}. See /v1/models, /v1/chat/completions, /ws, /health, /readyz.`);
  }

  return {
    async listen(options: GatewayServerOptions): Promise<{ port: number; host: string }> {
      server = createServer({ keepAliveTimeout: 5000, headersTimeout: 15_000, requestTimeout: 0 }, (request, response) => {
        route(request, response).catch((error) => {
          context.logger.error({ err: error, url: request.url }, 'http request failed');
          sendError(response, 500, 'INTERNAL', 'The gateway failed to handle this request; see the gateway log.');
        });
      });
      server.on('upgrade', (request, socket, head) => {
        const path = new URL(request.url ?? '/', 'http://gateway').pathname;
        if (path !== '/ws') {
          socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
          return;
        }
        ws.handleUpgrade(request, socket, head, ownOrigins);
      });
      server.on('clientError', (_error, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      });
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(options.port, options.host, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      const address = listening.address() as AddressInfo;
      const hosts = new Set([options.host, '127.0.0.1', 'localhost', '[::1]']);
      ownOrigins = [...hosts].map((host) => `http://${host}:${address.port}`);
      return { port: address.port, host: options.host };
    },
    /** Stops accepting connections; open WebSockets are closed with 1001. */
    async close(): Promise<void> {
      clearInterval(pruneTimer);
      openai.close();
      ws.close();
      const current = server;
      if (!current) return;
      await new Promise<void>((resolve) => {
        current.close(() => resolve());
        current.closeIdleConnections();
        setTimeout(() => {
          current.closeAllConnections();
          resolve();
        }, 2000).unref();
      });
    },
    connectionCount: () => ws.connectionCount(),
  };
}
