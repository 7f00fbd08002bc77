import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { applyConnectionLimits, serverTimeouts } from './connection-limits.js';
import type { GatewayContext } from './gateway-context.js';
import { BodyTooLarge, bodyUnread, isJsonContentType, MalformedBody, readBody, readJsonBody } from './http-body.js';
import { sendError, sendJson } from './http-errors.js';
import { createOpenAIRoutes } from './openai-routes.js';
import { createRequestGuards } from './request-guards.js';
import { loadControlUi } from './control-ui.js';
import { createWsGateway } from './ws-gateway.js';

/** The largest request body a plugin route is given. */
const PLUGIN_ROUTE_MAX_BYTES = 1024 * 1024;

export interface GatewayServerOptions {
  port: number;
  host: string;
  /** A bound socket inherited from `hearth service` (its file descriptor): listened on instead of port and host. */
  fd?: number | undefined;
}

/** The WebChat page (served at `/webchat`), read once at start from the package's `src/ui/` folder. */
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

/**
 * The control plane on one port: health, readiness, the OpenAI-compatible API, the Control UI at
 * `/`, WebChat at `/webchat` and the `/ws` RPC endpoint. Requests without a valid token are rate-limited per address; requests with
 * one are bounded by the work queue. Everything except health, readiness, the static page and
 * the platforms' webhooks needs the bearer token.
 */
export function createGatewayServer(context: GatewayContext) {
  const gatewayConfig = () => context.config().gateway;
  const guards = createRequestGuards(gatewayConfig, () => context.token());
  const openai = createOpenAIRoutes(context);
  const ws = createWsGateway(context, {
    maxPayloadBytes: gatewayConfig().maxPayloadBytes,
    guards,
    maxConnectionsPerAddress: () => gatewayConfig().maxConnectionsPerAddress,
    allowedOrigins: () => gatewayConfig().allowedOrigins,
  });
  const page = loadWebChatPage();
  const controlUi = loadControlUi();
  let server: Server | undefined;
  let ownOrigins: string[] = [];
  let refused: (socket: Socket) => boolean = () => false;

  /** Route, account and the platform's secret header first; only then a body capped for that platform. */
  async function webhook(request: IncomingMessage, response: ServerResponse, platform: string, accountId: string) {
    const check = context.channels.checkWebhook(platform, accountId, request.headers);
    if ('status' in check) {
      response.writeHead(check.status, { 'content-type': 'text/plain; charset=utf-8', ...(bodyUnread(request) ? { connection: 'close' } : {}) });
      response.end(check.body ?? '');
      return;
    }
    const limit = Math.min(check.maxBodyBytes, gatewayConfig().maxPayloadBytes);
    let body: Buffer;
    try {
      body = await readBody(request, limit);
    } catch (error) {
      if (error instanceof BodyTooLarge) sendError(response, 413, 'PAYLOAD_TOO_LARGE', `The webhook body is larger than ${limit} bytes.`, { headers: { connection: 'close' } });
      else response.destroy();
      return;
    }
    const answer = await context.channels.webhook(platform, accountId, { headers: request.headers, body });
    response.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain; charset=utf-8' });
    response.end(answer.body ?? '');
  }

  async function chatCompletions(request: IncomingMessage, response: ServerResponse, route: 'chatCompletions' | 'responses' = 'chatCompletions') {
    if (!isJsonContentType(request)) {
      sendError(response, 415, 'UNSUPPORTED_MEDIA_TYPE', `Send the request body as JSON with Content-Type: application/json (got ${JSON.stringify(request.headers['content-type'] ?? 'none')}).`);
      return;
    }
    const limit = gatewayConfig().maxPayloadBytes;
    let body: unknown;
    try {
      body = await readJsonBody(request, limit);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        sendError(response, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes (gateway.maxPayloadBytes).`, { headers: { connection: 'close' } });
      } else if (error instanceof MalformedBody) {
        sendError(response, 400, 'invalid_json', `The request body is not valid JSON: ${error.message}.`);
      } else {
        response.destroy();
      }
      return;
    }
    await guards.admitHttp(request, response, () => openai[route](request, response, body));
  }

  /** A plugin's HTTP route (docs/plugins.md): `/plugins/<id>/<path>`, with the gateway's token. */
  async function pluginRoute(request: IncomingMessage, response: ServerResponse, id: string, path: string, query: URLSearchParams | null) {
    let body: Buffer;
    try {
      body = await readBody(request, PLUGIN_ROUTE_MAX_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) sendError(response, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${PLUGIN_ROUTE_MAX_BYTES} bytes.`, { headers: { connection: 'close' } });
      else request.socket.destroy();
      return;
    }
    const controller = new AbortController();
    response.on('close', () => controller.abort());
    const headers = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : Array.isArray(value) ? [[name, value.join(', ')]] : [])));
    const answer = await context.plugins.handleRoute(id, request.method ?? 'GET', path, { query: Object.fromEntries(query ?? []), headers, body: body.toString('utf8') }, controller.signal);
    response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
    response.end(answer.body);
  }

  async function route(request: IncomingMessage, response: ServerResponse) {
    if (refused(request.socket)) {
      request.socket.destroy();
      return;
    }
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? null : new URLSearchParams(target.slice(queryAt + 1));
    const method = request.method ?? 'GET';

    if (path === '/health' && method === 'GET') {
      sendJson(response, 200, { ok: true });
      return;
    }
    const authenticatedRoute = path === '/metrics' || path.startsWith('/v1/') || path.startsWith('/plugins/');
    if (!authenticatedRoute && !guards.anonymous(request, response)) return;
    if (path === '/readyz' && method === 'GET') {
      const components = context.components();
      const ready = Object.values(components).every((component) => component.status === 'ok' || component.status === 'degraded');
      sendJson(response, ready ? 200 : 503, { ready, components });
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && controlUi.serve(request, response, path)) return;
    if ((path === '/webchat' || path === '/webchat/') && method === 'GET') {
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
      await webhook(request, response, hook[1] as string, hook[2] as string);
      return;
    }
    if (hook && method === 'GET' && !query?.has('token')) {
      // The platform's check of the webhook URL (Meta's subscription handshake); the adapter checks its secret.
      const answer = context.channels.verifyWebhook(hook[1] as string, hook[2] as string, Object.fromEntries(query ?? []));
      response.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      response.end(answer.body ?? '');
      return;
    }
    // Requests to token-only paths that do not reach a token check count as requests without one.
    if (authenticatedRoute && query?.has('token') && !guards.anonymous(request, response)) return;
    if (query?.has('token')) {
      sendError(response, 400, 'BAD_REQUEST', 'Tokens are never accepted in the query string; send Authorization: Bearer <token>.');
      return;
    }
    if (path === '/metrics' && method === 'GET') {
      if (!guards.authorized(request, response)) return;
      await guards.admitHttp(request, response, async () => {
        const text = await context.metrics.render();
        response.writeHead(200, { 'content-type': context.metrics.contentType, 'content-length': Buffer.byteLength(text) });
        response.end(text);
      });
      return;
    }
    if (path === '/v1/models' && method === 'GET') {
      if (guards.authorized(request, response)) await guards.admitHttp(request, response, async () => openai.models(request, response));
      return;
    }
    if (path === '/v1/chat/completions') {
      if (method !== 'POST') {
        if (!guards.anonymous(request, response)) return;
        sendError(response, 405, 'method_not_allowed', 'Use POST for /v1/chat/completions.', { headers: { allow: 'POST' } });
        return;
      }
      if (guards.authorized(request, response)) await chatCompletions(request, response);
      return;
    }
    if (path === '/v1/responses') {
      if (method !== 'POST') {
        if (!guards.anonymous(request, response)) return;
        sendError(response, 405, 'method_not_allowed', 'Use POST for /v1/responses.', { headers: { allow: 'POST' } });
        return;
      }
      if (guards.authorized(request, response)) await chatCompletions(request, response, 'responses');
      return;
    }
    const plugin = /^\/plugins\/([a-z0-9][a-z0-9-]{0,23})(\/.*)$/u.exec(path);
    if (plugin) {
      if (guards.authorized(request, response)) await guards.admitHttp(request, response, () => pluginRoute(request, response, plugin[1]!, plugin[2]!, query));
      return;
    }
    if (authenticatedRoute && !guards.anonymous(request, response)) return;
    sendError(response, 404, 'NOT_FOUND', `Nothing at ${method} ${path}. See /v1/models, /v1/chat/completions, /v1/responses, /ws, /health, /readyz.`);
  }

  return {
    async listen(options: GatewayServerOptions): Promise<{ port: number; host: string }> {
      const connectionLimits = () => gatewayConfig();
      server = createServer({ keepAliveTimeout: 5000, ...serverTimeouts(connectionLimits()) }, (request, response) => {
        route(request, response).catch((error) => {
          context.logger.error({ err: error, url: request.url }, 'http request failed');
          sendError(response, 500, 'INTERNAL', 'The gateway failed to handle this request; see the gateway log.');
        });
      });
      server.on('upgrade', (request, socket, head) => {
        if (refused(request.socket)) {
          socket.destroy();
          return;
        }
        const path = new URL(request.url ?? '/', 'http://gateway').pathname;
        if (path !== '/ws') {
          socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
          return;
        }
        ws.handleUpgrade(request, socket, head, ownOrigins);
      });
      refused = applyConnectionLimits(server, connectionLimits).refused;
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        const listened = () => {
          listening.off('error', reject);
          resolve();
        };
        if (options.fd === undefined) listening.listen(options.port, options.host, listened);
        else listening.listen({ fd: options.fd }, listened);
      });
      const address = listening.address() as AddressInfo;
      const host = options.fd === undefined ? options.host : address.address;
      const hosts = new Set([host, '127.0.0.1', 'localhost', '[::1]']);
      ownOrigins = [...hosts].map((name) => `http://${name}:${address.port}`);
      return { port: address.port, host };
    },
    /**
     * Draining: takes no new connection and closes the idle kept-alive ones, so new requests go to
     * whatever else listens (the next version under `hearth service`) instead of being refused
     * here; requests in progress and open WebSockets go on until `close`.
     */
    stopListening(): void {
      server?.close();
      server?.closeIdleConnections();
    },
    /** Stops accepting connections; open WebSockets are closed with 1001. */
    async close(): Promise<void> {
      guards.close();
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
    /** Requests with the token running and waiting (`gateway.concurrency`). */
    requestStats: () => guards.work.stats(),
  };
}
