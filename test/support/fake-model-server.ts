/**
 * A scripted model server for tests and benchmarks: a real HTTP server on 127.0.0.1 (random free
 * port) speaking OpenAI `POST /v1/chat/completions` + `POST /v1/responses` + `GET /v1/models`,
 * Anthropic `POST /v1/messages`, Gemini `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`
 * (and `:generateContent`) and Ollama `POST /api/chat` (NDJSON), streamed and whole. Each request takes the next scripted step (FIFO),
 * else the default step, else an instant echo. It also answers Ollama's `GET /api/tags`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  anthropicMessage,
  anthropicStallFrames,
  anthropicStreamFrames,
  echoText,
  errorBody,
  type FakeApi,
  type FakeReply,
  geminiBody,
  geminiStreamFrames,
  malformedFrame,
  ollamaBody,
  ollamaStreamFrames,
  openaiCompletion,
  openaiStallFrames,
  openaiStreamFrames,
  type ReplyContext,
  responsesBody,
  responsesStreamFrames,
} from './fake-model-wire.js';

/** What the server does with one request. */
export type FakeStep =
  /** Reply with this text, split into chunks of `chunkSize` characters (default 8), `delayMs` apart. */
  | { text: string; chunkSize?: number; delayMs?: number }
  /** Reply with tool calls (arguments are JSON-encoded unless already a string), after optional text. */
  | { toolCalls: { name: string; arguments: unknown }[]; text?: string }
  /** Fail with this HTTP status; `body` replaces the API's usual error body. */
  | { status: number; retryAfterSeconds?: number; body?: unknown }
  /** Send headers (and, with `afterText`, the first text chunk), then never anything more. */
  | { stall: true; afterText?: string }
  /** Send one chunk that is not valid JSON, then end the response. */
  | { malformed: true }
  /** Read the request and never answer (no headers, no bytes) until the client or `close()` ends it. */
  | { hang: true }
  /** Decide per request. */
  | ((request: RecordedRequest) => FakeStep);

/** A model-API request the server received (chat completions, messages, models), in arrival order. */
export interface RecordedRequest {
  api: FakeApi;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (undefined for requests without one). */
  body: unknown;
  /** The client's TCP port: which process sent the request (a benchmark maps it to a pid through /proc). */
  remotePort?: number;
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `url + '/v1'`, for OpenAI-compatible clients. */
  openaiBaseUrl: string;
  /** `url`, for the Anthropic SDK (which appends `/v1/messages`). */
  anthropicBaseUrl: string;
  /** `url + '/v1beta'`, for the Gemini API. */
  geminiBaseUrl: string;
  /** `url`, for Ollama's native API (`/api/chat`). */
  ollamaBaseUrl: string;
  /** Requests received so far (the oldest are dropped beyond `maxRecordedRequests`). */
  requests: RecordedRequest[];
  /** Queues steps, used one per model request in order. */
  script(...steps: FakeStep[]): void;
  /** The step used when the script is empty; `null` restores the echo. */
  setDefault(step: FakeStep | null): void;
  /** Stops listening and destroys every open socket (including stalled responses). */
  close(): Promise<void>;
}

export interface FakeModelServerOptions {
  defaultStep?: FakeStep;
  /** Cap on `requests` so long benchmarks do not grow memory without bound (default 10,000). */
  maxRecordedRequests?: number;
}

type ConcreteStep = Exclude<FakeStep, (request: RecordedRequest) => FakeStep>;

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };
const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson' };

/** Streamed frames and the whole body of a reply, per API. */
function renderStream(api: FakeApi, reply: FakeReply, context: ReplyContext): string[] {
  switch (api) {
    case 'openai':
      return openaiStreamFrames(reply, context);
    case 'openai-responses':
      return responsesStreamFrames(reply, context);
    case 'gemini':
      return geminiStreamFrames(reply, context);
    case 'ollama':
      return ollamaStreamFrames(reply, context);
    default:
      return anthropicStreamFrames(reply, context);
  }
}

function renderWhole(api: FakeApi, reply: FakeReply, context: ReplyContext): unknown {
  switch (api) {
    case 'openai':
      return openaiCompletion(reply, context);
    case 'openai-responses':
      return responsesBody(reply, context);
    case 'gemini':
      return geminiBody(reply, context);
    case 'ollama':
      return ollamaBody(reply, context);
    default:
      return anthropicMessage(reply, context);
  }
}

/** The frames sent before a stall: the stream's start and, with `afterText`, one text piece. */
function renderStall(api: FakeApi, afterText: string | undefined, context: ReplyContext): string[] {
  const reply: FakeReply = { text: afterText ?? '', toolCalls: [], chunkSize: Number.MAX_SAFE_INTEGER };
  switch (api) {
    case 'openai':
      return openaiStallFrames(afterText, context);
    case 'openai-responses':
      return responsesStreamFrames(reply, context, true);
    case 'gemini':
      return afterText ? [geminiStreamFrames(reply, context)[0]?.replace('"finishReason":"STOP",', '') ?? ''] : [];
    case 'ollama':
      return afterText ? (ollamaStreamFrames(reply, context).slice(0, 1)) : [];
    default:
      return anthropicStallFrames(afterText, context);
  }
}

/** Which API a request path speaks, and the model a Gemini path names. */
function routeOf(path: string): { api: FakeApi; model?: string; stream?: boolean } | undefined {
  if (path === '/v1/chat/completions') return { api: 'openai' };
  if (path === '/v1/responses') return { api: 'openai-responses' };
  if (path === '/v1/messages') return { api: 'anthropic' };
  if (path === '/api/chat') return { api: 'ollama' };
  const gemini = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/.exec(path);
  if (gemini) return { api: 'gemini', model: decodeURIComponent(gemini[1] ?? ''), stream: gemini[2] === 'streamGenerateContent' };
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** Starts a fake model server on a random free loopback port. */
export async function startFakeModelServer(options: FakeModelServerOptions = {}): Promise<FakeModelServer> {
  const queue: FakeStep[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const maxRecorded = options.maxRecordedRequests ?? 10_000;
  let defaultStep: FakeStep | null = options.defaultStep ?? null;
  let counter = 0;

  function resolveStep(recorded: RecordedRequest): ConcreteStep {
    let step: FakeStep = queue.shift() ?? defaultStep ?? { text: echoText(recorded.api, recorded.body) };
    for (let depth = 0; typeof step === 'function'; depth += 1) {
      if (depth > 10) throw new Error('fake model server: a step function kept returning functions');
      step = step(recorded);
    }
    return step;
  }

  function toReply(step: { text: string; chunkSize?: number } | { toolCalls: { name: string; arguments: unknown }[]; text?: string }): FakeReply {
    const toolCalls =
      'toolCalls' in step
        ? step.toolCalls.map((call) => {
            counter += 1;
            return { id: `call_${counter}`, name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}) };
          })
        : [];
    const chunkSize = 'chunkSize' in step && step.chunkSize !== undefined ? Math.max(1, step.chunkSize) : 8;
    return { text: step.text ?? '', toolCalls, chunkSize };
  }

  /** Writes frames one by one `delayMs` apart (all at once without a delay), then ends. */
  function writeFrames(response: ServerResponse, frames: string[], delayMs: number, ndjson: boolean): void {
    response.writeHead(200, ndjson ? NDJSON_HEADERS : SSE_HEADERS);
    if (delayMs <= 0) {
      response.end(frames.join(''));
      return;
    }
    let index = 0;
    let timer: NodeJS.Timeout | undefined;
    response.on('close', () => clearTimeout(timer));
    const next = (): void => {
      if (response.destroyed) return;
      response.write(frames[index]);
      index += 1;
      if (index >= frames.length) response.end();
      else timer = setTimeout(next, delayMs);
    };
    next();
  }

  function respond(route: { api: FakeApi; model?: string; stream?: boolean }, step: ConcreteStep, body: Record<string, unknown>, rawLength: number, response: ServerResponse): void {
    const api = route.api;
    // Ollama streams unless told not to; Gemini says it in the path; the others in the body.
    const stream = route.stream ?? (api === 'ollama' ? body.stream !== false : body.stream === true);
    const ndjson = api === 'ollama';
    counter += 1;
    const context: ReplyContext = {
      model: route.model ?? (typeof body.model === 'string' ? body.model : 'fake-model'),
      includeUsage: api !== 'openai' || (isRecord(body.stream_options) && body.stream_options.include_usage === true),
      inputTokens: Math.max(1, Math.ceil(rawLength / 4)),
      messageId: api === 'openai' ? `chatcmpl-fake${counter}` : `msg_fake${counter}`,
    };
    if ('status' in step) {
      const headers: Record<string, string> = step.retryAfterSeconds === undefined ? {} : { 'retry-after': String(step.retryAfterSeconds) };
      sendJson(response, step.status, step.body ?? errorBody(api, step.status), headers);
      return;
    }
    if ('stall' in step) {
      response.writeHead(200, stream ? (ndjson ? NDJSON_HEADERS : SSE_HEADERS) : { 'content-type': 'application/json' });
      if (stream) response.write(renderStall(api, step.afterText, context).join(''));
      else response.flushHeaders();
      return;
    }
    if ('hang' in step) return;
    if ('malformed' in step) {
      if (stream) {
        response.writeHead(200, ndjson ? NDJSON_HEADERS : SSE_HEADERS);
        response.end(malformedFrame(api));
      } else {
        sendJson(response, 200, '{"id": "broken", "choices": [');
      }
      return;
    }
    const reply = toReply(step);
    if (!stream) {
      sendJson(response, 200, renderWhole(api, reply, context));
      return;
    }
    writeFrames(response, renderStream(api, reply, context), 'delayMs' in step ? (step.delayMs ?? 0) : 0, ndjson);
  }

  function record(entry: RecordedRequest): void {
    if (requests.length >= maxRecorded) requests.splice(0, Math.max(1, Math.floor(maxRecorded / 10)));
    requests.push(entry);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const method = request.method ?? 'GET';
    if (method === 'GET' && path === '/v1/models') {
      record({ api: 'openai', method, path, headers: request.headers, body: undefined });
      sendJson(response, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 1_700_000_000, owned_by: 'fake' }], has_more: false });
      return;
    }
    if (method === 'GET' && path === '/api/tags') {
      sendJson(response, 200, { models: [{ name: 'fake-model', model: 'fake-model' }] });
      return;
    }
    const route = routeOf(path);
    if (route === undefined || method !== 'POST') {
      sendJson(response, 404, { error: { message: `No route for ${method} ${path}`, type: 'not_found_error' } });
      return;
    }
    const raw = await readBody(request);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    const api = route.api;
    const recorded: RecordedRequest = { api, method, path, headers: request.headers, body, remotePort: request.socket.remotePort };
    record(recorded);
    if (!isRecord(body)) {
      sendJson(response, 400, { ...(api === 'anthropic' ? { type: 'error' } : {}), error: { type: 'invalid_request_error', message: 'The request body is not a JSON object.' } });
      return;
    }
    respond(route, resolveStep(recorded), body, raw.length, response);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: { message: String(error), type: 'server_error' } });
      else response.destroy();
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
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    geminiBaseUrl: `${url}/v1beta`,
    ollamaBaseUrl: url,
    requests,
    script(...steps) {
      queue.push(...steps);
    },
    setDefault(step) {
      defaultStep = step;
    },
    close() {
      return new Promise<void>((resolve) => {
        queue.length = 0;
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
    },
  };
}

/** The config that points the gateway's default agent at this server's echo model (spread it into a test config). */
export function fakeModelConfig(model: Pick<FakeModelServer, 'openaiBaseUrl'>) {
  return {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
    agents: { defaults: { model: 'fake/echo' } },
  };
}
