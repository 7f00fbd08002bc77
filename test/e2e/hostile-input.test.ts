/**
 * Hostile input against the real gateway: every bad frame or request gets an error (or a close
 * with a reason), never a crash, and after each one a well-behaved client is still served
 * (`/health` 200 and a chat turn answered, over WebSocket and over HTTP).
 *
 * One gateway serves the whole file. Its limits are low (5 requests/s without a token, burst 20;
 * 2 requests running and 8 waiting per connection; 0.5 s for headers, 1 s for a body) so the
 * flood and slow-client tests are quick and deterministic; hostile HTTP requests come from their
 * own loopback addresses (127.0.0.x, one per test) so that their per-address buckets and
 * connection counts are not the bystander's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import WebSocket from 'ws';
import { connectGateway, type GatewayClient } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, startTestGateway, type TestGateway, waitFor } from '../support/gateway-harness.js';

const MAX_PAYLOAD_BYTES = 100_000;
const RATE_PER_SECOND = 5;
const RATE_BURST = 20;
const FAILED_AUTH_BURST = 6;
const PER_CONNECTION = 2;
const QUEUE_PER_CONNECTION = 8;
const HEADERS_TIMEOUT_MS = 500;
const BODY_TIMEOUT_MS = 1000;
const MAX_CONNECTIONS_PER_ADDRESS = 24;
/** Where the next hostile HTTP test sends from: its own address, so its own rate-limit bucket. */
let hostileHost = 100;
let hostileAddress = '127.0.0.100';
/** Where the HTTP flood comes from. */
const FLOOD_ADDRESS = '127.0.0.9';
/** The well-behaved HTTP client. */
const BYSTANDER_ADDRESS = '127.0.0.1';

interface Frame {
  type?: string;
  id?: unknown;
  ok?: boolean;
  payload?: unknown;
  event?: string;
  error?: { code: string; message: string; retryable?: boolean; retryAfterMs?: number; details?: unknown };
}

interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

let fake: FakeModelServer;
let gateway: TestGateway;
let bystander: GatewayClient;
const finals = new Map<string, { state: string; text: string }>();
const rawSockets = new Set<WebSocket>();

/** One HTTP request on a fresh connection from `localAddress`. `body` as an array is sent chunked. */
function http(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | string[]; localAddress?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, gateway.url);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        localAddress: options.localAddress ?? BYSTANDER_ADDRESS,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`HTTP ${path} timed out`)));
    req.on('error', reject);
    if (Array.isArray(options.body)) {
      for (const chunk of options.body) req.write(chunk);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

const auth = (token = gateway.token) => ({ authorization: `Bearer ${token}` });
const jsonHeaders = (token = gateway.token) => ({ ...auth(token), 'content-type': 'application/json' });

function assertOpenAIError(result: HttpResult, status: number, code?: string): { message: string; type: string; code: string } {
  assert.equal(result.status, status, `expected HTTP ${status}, got ${result.status}: ${result.text}`);
  assert.match(String(result.headers['content-type']), /application\/json/);
  const body = JSON.parse(result.text) as { error?: { message?: unknown; type?: unknown; code?: unknown } };
  assert.ok(body.error, `no error object in ${result.text}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok((body.error.message as string).length > 0);
  assert.equal(typeof body.error.type, 'string');
  assert.equal(typeof body.error.code, 'string');
  if (code !== undefined) assert.equal(body.error.code, code);
  return body.error as { message: string; type: string; code: string };
}

/** A raw WebSocket that records every frame it receives and how it closed. */
interface RawSocket {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** Waits for (and removes) the first received frame that matches. */
  take(match: (frame: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame>;
  response(id: unknown, timeoutMs?: number): Promise<Frame>;
}

function wsUrl(path = '/ws'): string {
  return `${gateway.url.replace(/^http/, 'ws')}${path}`;
}

async function openRaw(options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  const ws = new WebSocket(wsUrl(), { perMessageDeflate: false, ...options });
  rawSockets.add(ws);
  const frames: Frame[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      frames.push({ type: 'binary' });
      return;
    }
    try {
      frames.push(JSON.parse(String(data)) as Frame);
    } catch {
      frames.push({ type: 'unparseable', payload: String(data) });
    }
  });
  ws.on('error', () => {
    // Surfaced through `closed`.
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      rawSockets.delete(ws);
      resolve({ code, reason: reason.toString() });
    });
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('WebSocket did not open in 5 s')), 5000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket upgrade refused with HTTP ${res.statusCode}`));
    });
  });
  const take = async (match: (frame: Frame) => boolean, what: string, timeoutMs = 5000): Promise<Frame> =>
    waitFor(
      () => {
        const index = frames.findIndex(match);
        if (index < 0) return undefined;
        return frames.splice(index, 1)[0];
      },
      what,
      timeoutMs,
      10,
    );
  return {
    ws,
    frames,
    closed,
    send(frame) {
      ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    take,
    response: (id, timeoutMs) => take((frame) => frame.type === 'res' && frame.id === id, `a response to request ${String(id)}`, timeoutMs),
  };
}

async function connectRaw(raw: RawSocket): Promise<void> {
  raw.send({ type: 'req', id: 'connect', method: 'connect', params: { auth: { token: gateway.token }, client: { name: 'hostile-test', version: '1' } } });
  const response = await raw.response('connect');
  assert.equal(response.ok, true, `connect failed: ${JSON.stringify(response)}`);
}

/**
 * Opens a raw connection from the current hostile address, writes `head`, then writes `drip`
 * every 200 ms until the gateway answers and closes (or 10 s pass); resolves with what it
 * answered and how long it held the connection.
 */
function trickle(head: string, drip = ' '): Promise<{ answer: string; heldMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = netConnect({ host: '127.0.0.1', port: gateway.port, localAddress: hostileAddress });
    let answer = '';
    const finish = () => {
      clearInterval(timer);
      clearTimeout(cap);
      socket.destroy();
      resolve({ answer, heldMs: Date.now() - started });
    };
    const timer = setInterval(() => {
      if (socket.writable) socket.write(drip === ' ' ? drip : `${drip}\r\n`);
    }, 200);
    const cap = setTimeout(finish, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('close', finish);
    socket.on('error', finish);
    socket.write(head);
  });
}

/** Sends frames in one socket write, so they reach the gateway together. */
function sendTogether(raw: RawSocket, frames: unknown[]): void {
  const socket = (raw.ws as unknown as { _socket: Socket })._socket;
  socket.cork();
  for (const frame of frames) raw.send(frame);
  socket.uncork();
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

function isOpen(raw: RawSocket): boolean {
  return raw.ws.readyState === WebSocket.OPEN;
}

/** A chat turn on the bystander's WebSocket; resolves with the final reply. */
async function wsTurn(client: GatewayClient, text: string, sessionKey = 'agent:main:webchat:direct:bystander'): Promise<string> {
  const accepted = await client.call<{ runId: string }>('chat.send', { sessionKey, text, idempotencyKey: randomUUID() }, 10_000);
  const final = await waitFor(() => finals.get(accepted.runId), `the final chat event of ${accepted.runId}`, 10_000);
  assert.equal(final.state, 'final', `turn failed: ${final.text}`);
  return final.text;
}

/** A chat completion from the well-behaved HTTP client. */
async function httpTurn(text: string): Promise<string> {
  const result = await http('/v1/chat/completions', {
    method: 'POST',
    headers: jsonHeaders(),
    body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: text }] }),
  });
  assert.equal(result.status, 200, result.text);
  const body = JSON.parse(result.text) as { choices: { message: { content: string } }[] };
  return body.choices[0]!.message.content;
}

/** The gateway is alive and serves a normal client over HTTP and WebSocket. */
async function assertStillServing(step: string): Promise<void> {
  assert.equal(gateway.child.exitCode, null, `the gateway exited after ${step}:\n${gateway.output()}`);
  const health = await http('/health');
  assert.equal(health.status, 200);
  assert.deepEqual(JSON.parse(health.text), { ok: true });
  const wsText = `ws still served after ${step}`;
  assert.equal(await wsTurn(bystander, wsText), `echo: ${wsText}`);
  const httpText = `http still served after ${step}`;
  assert.equal(await httpTurn(httpText), `echo: ${httpText}`);
}

describe('hostile input', () => {
  before(async () => {
    fake = await startFakeModelServer();
    gateway = await startTestGateway({
      config: {
        gateway: {
          maxPayloadBytes: MAX_PAYLOAD_BYTES,
          rateLimit: { perSecond: RATE_PER_SECOND, burst: RATE_BURST, failedAuthPerMinute: 600, failedAuthBurst: FAILED_AUTH_BURST },
          concurrency: { perConnection: PER_CONNECTION, queuePerConnection: QUEUE_PER_CONNECTION },
          headersTimeoutMs: HEADERS_TIMEOUT_MS,
          bodyTimeoutMs: BODY_TIMEOUT_MS,
          maxConnectionsPerAddress: MAX_CONNECTIONS_PER_ADDRESS,
          allowedOrigins: ['https://trusted.example'],
        },
        models: { providers: { fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 } } },
        agents: { defaults: { model: 'fake/echo' } },
      },
    });
    bystander = await connectGateway(gateway.url, gateway.token, { name: 'bystander', version: '1' });
    bystander.onEvent((event, payload) => {
      const chat = payload as { runId?: string; state?: string; text?: string };
      if (event === 'chat' && chat.runId && (chat.state === 'final' || chat.state === 'error')) {
        finals.set(chat.runId, { state: chat.state, text: chat.text ?? '' });
      }
    });
    await assertStillServing('start');
  });

  after(async () => {
    for (const ws of rawSockets) ws.terminate();
    bystander?.close();
    if (gateway) {
      const code = await withTimeout(gateway.stop(), 15_000, 'the gateway to stop').catch(async (error: unknown) => {
        await gateway.kill();
        throw error;
      });
      assert.equal(code, 0, `the gateway did not stop cleanly:\n${gateway.output()}`);
      removeHome(gateway.home);
    }
    await fake?.close();
  });

  describe('over WebSocket', () => {
    test('malformed JSON gets BAD_REQUEST and the connection stays open', async () => {
      const raw = await openRaw();
      await connectRaw(raw);
      raw.send('{"type":"req","id":');
      const error = await raw.take((frame) => frame.type === 'res' && frame.ok === false, 'an error response');
      assert.equal(error.error?.code, 'BAD_REQUEST');
      assert.match(error.error?.message ?? '', /JSON/i);
      raw.send('not json at all');
      assert.equal((await raw.take((frame) => frame.ok === false, 'a second error')).error?.code, 'BAD_REQUEST');
      // Valid JSON that is not a request frame.
      raw.send({ hello: 'world' });
      assert.equal((await raw.take((frame) => frame.ok === false, 'a third error')).error?.code, 'BAD_REQUEST');
      raw.send({ type: 'req', id: 'after', method: 'health' });
      const ok = await raw.response('after');
      assert.equal(ok.ok, true, 'the connection no longer serves requests');
      assert.ok(isOpen(raw));
      raw.ws.close();
      await assertStillServing('malformed JSON');
    });

    test('an unknown method gets UNKNOWN_METHOD with the request id', async () => {
      const raw = await openRaw();
      await connectRaw(raw);
      raw.send({ type: 'req', id: 'u1', method: 'no.such.method', params: {} });
      const response = await raw.response('u1');
      assert.equal(response.ok, false);
      assert.equal(response.error?.code, 'UNKNOWN_METHOD');
      assert.match(response.error?.message ?? '', /no\.such\.method/);
      assert.match(response.error?.message ?? '', /chat\.send/, 'the message should list the known methods');
      assert.ok(isOpen(raw));
      raw.ws.close();
      await assertStillServing('an unknown method');
    });

    test(
      'method names that are Object.prototype properties get UNKNOWN_METHOD',
      async () => {
        const raw = await openRaw();
        try {
          await connectRaw(raw);
          for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
            raw.send({ type: 'req', id: `proto-${method}`, method, params: {} });
            const response = await raw.response(`proto-${method}`, 2000);
            assert.equal(response.error?.code, 'UNKNOWN_METHOD', `${method}: ${JSON.stringify(response)}`);
          }
        } finally {
          raw.ws.close();
        }
        await assertStillServing('Object.prototype method names');
      },
    );

    test('bad params get BAD_REQUEST naming the field', async () => {
      const raw = await openRaw();
      await connectRaw(raw);
      raw.send({ type: 'req', id: 'p1', method: 'chat.send', params: { idempotencyKey: 'k1' } });
      const missing = await raw.response('p1');
      assert.equal(missing.ok, false);
      assert.equal(missing.error?.code, 'BAD_REQUEST');
      assert.match(missing.error?.message ?? '', /chat\.send/);
      assert.match(missing.error?.message ?? '', /\btext\b/);
      raw.send({ type: 'req', id: 'p2', method: 'chat.send', params: { text: 'hi' } });
      const noKey = await raw.response('p2');
      assert.equal(noKey.error?.code, 'BAD_REQUEST');
      assert.match(noKey.error?.message ?? '', /idempotencyKey/);
      raw.send({ type: 'req', id: 'p3', method: 'chat.send', params: { text: 'hi', idempotencyKey: 'k3', sessionKey: 'not a session key' } });
      const badKey = await raw.response('p3');
      assert.equal(badKey.error?.code, 'BAD_REQUEST');
      assert.match(badKey.error?.message ?? '', /sessionKey/);
      raw.send({ type: 'req', id: 'p4', method: 'chat.send', params: 'just a string' });
      assert.equal((await raw.response('p4')).error?.code, 'BAD_REQUEST');
      raw.send({ type: 'req', id: 'p5', method: 'chat.history', params: { limit: -5 } });
      const badLimit = await raw.response('p5');
      assert.equal(badLimit.error?.code, 'BAD_REQUEST');
      assert.match(badLimit.error?.message ?? '', /limit/);
      assert.ok(isOpen(raw));
      raw.ws.close();
      await assertStillServing('bad params');
    });

    test('malformed and binary frames before connect get an error, not a crash', async () => {
      const raw = await openRaw();
      raw.send('{{{ not json');
      const malformed = await raw.take((frame) => frame.ok === false, 'an error response');
      assert.ok(['BAD_REQUEST', 'AUTH_REQUIRED'].includes(malformed.error?.code ?? ''), JSON.stringify(malformed));
      if (isOpen(raw)) {
        raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
        const binary = await raw.take((frame) => frame.ok === false, 'an error response');
        assert.ok(['BAD_REQUEST', 'AUTH_REQUIRED'].includes(binary.error?.code ?? ''), JSON.stringify(binary));
      }
      // Whatever came before, a connect still works on a connection that was left open.
      if (isOpen(raw)) await connectRaw(raw);
      raw.ws.close();
      await assertStillServing('malformed frames before connect');
    });

    test('a frame before connect gets AUTH_REQUIRED and close 1008', async () => {
      const raw = await openRaw();
      raw.send({ type: 'req', id: 'early', method: 'health', params: {} });
      const response = await raw.response('early');
      assert.equal(response.ok, false);
      assert.equal(response.error?.code, 'AUTH_REQUIRED');
      const closed = await withTimeout(raw.closed, 5000, 'the close');
      assert.equal(closed.code, 1008);
      assert.ok(closed.reason.length > 0, 'the close should carry a reason');
      await assertStillServing('a frame before connect');
    });

    test('a token in the WebSocket URL does not authenticate', async () => {
      const ws = new WebSocket(wsUrl(`/ws?token=${encodeURIComponent(gateway.token)}`), { perMessageDeflate: false });
      rawSockets.add(ws);
      const frames: Frame[] = [];
      ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
      ws.on('error', () => {});
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 5000, 'the WebSocket to open');
      ws.send(JSON.stringify({ type: 'req', id: 'q1', method: 'status', params: {} }));
      assert.equal(await withTimeout(closed, 5000, 'the close'), 1008);
      rawSockets.delete(ws);
      assert.equal(frames.find((frame) => frame.id === 'q1')?.error?.code, 'AUTH_REQUIRED');
      await assertStillServing('a token in the WebSocket URL');
    });

    test('a frame over 64 KiB before connect is refused with close 1009', async () => {
      const raw = await openRaw();
      // Well-formed and under gateway.maxPayloadBytes, so only the pre-connect limit applies.
      raw.send({ type: 'req', id: 'big', method: 'connect', params: { auth: { token: gateway.token }, pad: 'x'.repeat(70_000) } });
      const closed = await withTimeout(raw.closed, 5000, 'the close');
      assert.equal(closed.code, 1009);
      const error = raw.frames.find((frame) => frame.ok === false);
      assert.equal(error?.error?.code, 'PAYLOAD_TOO_LARGE', `frames received: ${JSON.stringify(raw.frames)}`);
      await assertStillServing('a large pre-connect frame');
    });

    test('after connect, frames up to gateway.maxPayloadBytes are accepted; a larger one gets an error naming the limit and a close 1009 with a reason', async () => {
      const raw = await openRaw();
      await connectRaw(raw);
      raw.send({ type: 'req', id: 'padded', method: 'status', params: { pad: 'x'.repeat(80_000) } });
      assert.equal((await raw.response('padded')).ok, true);
      raw.send({ type: 'req', id: 'huge', method: 'status', params: { pad: 'x'.repeat(MAX_PAYLOAD_BYTES + 1000) } });
      const closed = await withTimeout(raw.closed, 5000, 'the close');
      assert.equal(closed.code, 1009);
      assert.match(closed.reason, /gateway\.maxPayloadBytes/, 'the close reason names the limit');
      const error = raw.frames.find((frame) => frame.ok === false);
      assert.equal(error?.error?.code, 'PAYLOAD_TOO_LARGE', `frames received: ${JSON.stringify(raw.frames)}`);
      assert.match(error?.error?.message ?? '', new RegExp(`${MAX_PAYLOAD_BYTES} bytes \\(gateway\\.maxPayloadBytes\\)`));
      await assertStillServing('an oversized frame after connect');
    });

    test('connect with a wrong or missing token is refused and closed', async () => {
      const wrong = await openRaw();
      wrong.send({ type: 'req', id: 'c1', method: 'connect', params: { auth: { token: 'definitely-not-the-token' }, client: { name: 'x', version: '1' } } });
      const wrongResponse = await wrong.response('c1');
      assert.equal(wrongResponse.ok, false);
      assert.equal(wrongResponse.error?.code, 'AUTH_INVALID');
      assert.ok(!wrongResponse.error?.message.includes(gateway.token), 'the error must not reveal the token');
      assert.equal((await withTimeout(wrong.closed, 5000, 'the close')).code, 1008);

      const missing = await openRaw();
      missing.send({ type: 'req', id: 'c2', method: 'connect', params: { client: { name: 'x', version: '1' } } });
      assert.equal((await missing.response('c2')).error?.code, 'AUTH_REQUIRED');
      assert.equal((await withTimeout(missing.closed, 5000, 'the close')).code, 1008);

      const empty = await openRaw();
      empty.send({ type: 'req', id: 'c3', method: 'connect', params: { auth: { token: '' } } });
      const emptyResponse = await empty.response('c3');
      assert.ok(['AUTH_INVALID', 'AUTH_REQUIRED'].includes(emptyResponse.error?.code ?? ''), JSON.stringify(emptyResponse));
      assert.equal((await withTimeout(empty.closed, 5000, 'the close')).code, 1008);

      const noParams = await openRaw();
      noParams.send({ type: 'req', id: 'c4', method: 'connect' });
      assert.equal((await noParams.response('c4')).error?.code, 'AUTH_REQUIRED');
      assert.equal((await withTimeout(noParams.closed, 5000, 'the close')).code, 1008);
      await assertStillServing('bad tokens');
    });

    test('a binary frame gets BAD_REQUEST', async () => {
      const raw = await openRaw();
      await connectRaw(raw);
      raw.ws.send(Buffer.from([0x00, 0xff, 0x10, 0x7b]), { binary: true });
      const error = await raw.take((frame) => frame.ok === false, 'an error response');
      assert.equal(error.error?.code, 'BAD_REQUEST');
      assert.match(error.error?.message ?? '', /binary/i);
      raw.send({ type: 'req', id: 'after-binary', method: 'health' });
      assert.equal((await raw.response('after-binary')).ok, true);
      raw.ws.close();
      await assertStillServing('a binary frame');
    });

    test('an upgrade from a foreign Origin is refused with 403; own and allowed origins connect', async () => {
      const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(wsUrl(), { origin: 'https://evil.example', perMessageDeflate: false });
        const timer = setTimeout(() => reject(new Error('no answer to the upgrade in 5 s')), 5000);
        ws.on('error', () => {});
        ws.once('open', () => {
          clearTimeout(timer);
          ws.terminate();
          reject(new Error('a WebSocket from a foreign origin was accepted'));
        });
        ws.once('unexpected-response', (req, res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => {
            clearTimeout(timer);
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body });
          });
        });
      });
      assert.equal(status.status, 403);
      assert.match(status.body, /allowedOrigins/);

      const own = await openRaw({ origin: gateway.url });
      await connectRaw(own);
      own.ws.close();
      const allowed = await openRaw({ origin: 'https://trusted.example' });
      await connectRaw(allowed);
      allowed.ws.close();
      await assertStillServing('a foreign origin');
    });

    test('an upgrade to another path is refused with 404', async () => {
      const result = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(wsUrl('/not-ws'), { perMessageDeflate: false });
        const timer = setTimeout(() => reject(new Error('no answer to the upgrade in 5 s')), 5000);
        ws.on('error', () => {});
        ws.once('open', () => {
          clearTimeout(timer);
          ws.terminate();
          reject(new Error('an upgrade on /not-ws was accepted'));
        });
        ws.once('unexpected-response', (req, res) => {
          clearTimeout(timer);
          res.resume();
          req.destroy();
          resolve(res.statusCode ?? 0);
        });
      });
      assert.equal(result, 404);
      await assertStillServing('an upgrade to another path');
    });

    test('a flood from one connection is queued and bounded (OVERLOADED with retryAfterMs) while a second client is served', async () => {
      const flooder = await openRaw();
      await connectRaw(flooder);
      const total = 60;
      // One write, so the frames arrive together as a flood does.
      sendTogether(flooder, Array.from({ length: total }, (_, index) => ({ type: 'req', id: `f${index}`, method: 'health', params: {} })));
      // The second client, at the same time.
      const served = wsTurn(bystander, 'served during a flood');

      const answered = () => flooder.frames.filter((frame) => frame.type === 'res').length;
      await waitFor(() => answered() >= total, `answers to all ${total} flood frames`, 10_000);
      const responses = flooder.frames.filter((frame) => frame.type === 'res');
      const refused = responses.filter((frame) => frame.error?.code === 'OVERLOADED');
      const ok = responses.filter((frame) => frame.ok === true);
      assert.equal(refused.length + ok.length, total, `unexpected answers: ${JSON.stringify(responses.filter((frame) => frame.ok !== true && frame.error?.code !== 'OVERLOADED'))}`);
      assert.ok(ok.length >= PER_CONNECTION + QUEUE_PER_CONNECTION, `only ${ok.length} frames were served`);
      assert.ok(refused.length > 0, 'nothing was refused: the queue is not bounded');
      assert.equal(responses.filter((frame) => frame.error?.code === 'RATE_LIMITED').length, 0, 'an authenticated connection was rate limited');
      for (const frame of refused) {
        assert.equal(frame.error?.retryable, true);
        assert.ok((frame.error?.retryAfterMs ?? 0) > 0, `retryAfterMs ${frame.error?.retryAfterMs}`);
        assert.match(frame.error?.message ?? '', /gateway\.concurrency/);
        assert.ok(String(frame.id).startsWith('f'), `an OVERLOADED response has id ${JSON.stringify(frame.id)}`);
      }
      assert.equal(await withTimeout(served, 10_000, 'the second client'), 'echo: served during a flood');
      // The flooder is served again at once; its connection was never closed.
      assert.ok(isOpen(flooder));
      flooder.send({ type: 'req', id: 'after-flood', method: 'health' });
      assert.equal((await flooder.response('after-flood')).ok, true);
      flooder.ws.close();
      await assertStillServing('a WebSocket flood');
    });

    test('an authenticated client sending more than the old rate limit, a few at a time, is never refused', async () => {
      const client = await openRaw();
      try {
        await connectRaw(client);
        // 150 requests in about a second, PER_CONNECTION at a time: far over 5/s with a burst of 20.
        for (let round = 0; round < 150 / PER_CONNECTION; round++) {
          const ids = Array.from({ length: PER_CONNECTION }, (_, index) => `p${round}-${index}`);
          for (const id of ids) client.send({ type: 'req', id, method: 'health' });
          for (const id of ids) assert.equal((await client.response(id)).ok, true, `request ${id} was refused`);
        }
      } finally {
        client.ws.close();
      }
    });

    test('a client that keeps flooding is disconnected with 1008', async () => {
      const flooder = await openRaw();
      await connectRaw(flooder);
      let closed: { code: number; reason: string } | undefined;
      void flooder.closed.then((result) => {
        closed = result;
      });
      // Flood until the gateway gives up on the client (bounded): it disconnects after a run of
      // refused frames.
      const deadline = Date.now() + 8000;
      let sent = 0;
      while (closed === undefined && Date.now() < deadline) {
        if (flooder.ws.readyState === WebSocket.OPEN && flooder.ws.bufferedAmount < 1_000_000) {
          sendTogether(flooder, Array.from({ length: 100 }, () => ({ type: 'req', id: `g${sent++}`, method: 'health' })));
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const result = closed ?? (await withTimeout(flooder.closed, 2000, `the flooder to be disconnected after ${sent} frames`));
      assert.equal(result.code, 1008);
      assert.match(result.reason, /too many requests/i);
      await assertStillServing('a persistent WebSocket flood');
    });
  });

  describe('over HTTP', () => {
    beforeEach(() => {
      hostileHost += 1;
      hostileAddress = `127.0.0.${hostileHost}`;
    });

    test('a malformed JSON body gets 400 with an OpenAI-style error', async () => {
      const result = await http('/v1/chat/completions', {
        method: 'POST',
        headers: jsonHeaders(),
        body: '{"model": "hearth", "messages": [',
        localAddress: hostileAddress,
      });
      const error = assertOpenAIError(result, 400);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /JSON/);
      await assertStillServing('a malformed JSON body');
    });

    test('well-formed JSON that is not a valid request gets 400', async () => {
      const bodies: unknown[] = [
        [],
        'a string',
        null,
        { model: 'hearth' },
        { model: 'hearth', messages: [] },
        { model: 'hearth', messages: [{ role: 'wizard', content: 'hi' }] },
        { model: 'hearth', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] }] },
        { model: 'hearth', messages: [{ role: 'user', content: 'hi' }], user: 'a\u0000b' },
      ];
      for (const body of bodies) {
        const result = await http('/v1/chat/completions', { method: 'POST', headers: jsonHeaders(), body: JSON.stringify(body), localAddress: hostileAddress });
        assertOpenAIError(result, 400);
      }
      await assertStillServing('invalid request bodies');
    });

    test('a missing token gets 401', async () => {
      const models = await http('/v1/models', { localAddress: hostileAddress });
      assertOpenAIError(models, 401, 'AUTH_REQUIRED');
      assert.match(String(models.headers['www-authenticate']), /Bearer/);
      const completion = await http('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: 'hi' }] }),
        localAddress: hostileAddress,
      });
      assertOpenAIError(completion, 401, 'AUTH_REQUIRED');
      await assertStillServing('a missing token');
    });

    test('a wrong token gets 401', async () => {
      for (const header of ['Bearer wrong-token', `Bearer ${gateway.token}x`, `Basic ${Buffer.from(`user:${gateway.token}`).toString('base64')}`, 'Bearer']) {
        const result = await http('/v1/models', { headers: { authorization: header }, localAddress: hostileAddress });
        assert.equal(result.status, 401, `${header}: ${result.text}`);
        assert.ok(!result.text.includes(gateway.token), 'the error must not reveal the token');
      }
      const completion = await http('/v1/chat/completions', {
        method: 'POST',
        headers: jsonHeaders('wrong-token'),
        body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: 'hi' }] }),
        localAddress: hostileAddress,
      });
      assertOpenAIError(completion, 401, 'AUTH_INVALID');
      await assertStillServing('a wrong token');
    });

    test('a token in the query string is refused', async () => {
      const token = encodeURIComponent(gateway.token);
      const alone = await http(`/v1/models?token=${token}`, { localAddress: hostileAddress });
      assert.ok(alone.status === 400 || alone.status === 401, `got ${alone.status}`);
      assertOpenAIError(alone, alone.status);
      const completion = await http(`/v1/chat/completions?token=${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: 'hi' }] }),
        localAddress: hostileAddress,
      });
      assert.ok(completion.status === 400 || completion.status === 401, `got ${completion.status}`);
      assert.doesNotMatch(completion.text, /echo:/);
      await assertStillServing('a token in the query string');
    });

    test('an unknown path gets 404, a wrong method 405', async () => {
      assertOpenAIError(await http('/v1/nothing-here', { headers: auth(), localAddress: hostileAddress }), 404);
      assertOpenAIError(await http('/../../etc/passwd', { headers: auth(), localAddress: hostileAddress }), 404);
      assertOpenAIError(await http('/v1/models', { method: 'DELETE', headers: auth(), localAddress: hostileAddress }), 404);
      const wrongMethod = await http('/v1/chat/completions', { headers: auth(), localAddress: hostileAddress });
      assertOpenAIError(wrongMethod, 405);
      assert.equal(wrongMethod.headers.allow, 'POST');
      await assertStillServing('unknown paths');
    });

    test('a body over gateway.maxPayloadBytes gets 413, declared or streamed', async () => {
      const big = JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: 'x'.repeat(MAX_PAYLOAD_BYTES + 10_000) }] });
      const declared = await http('/v1/chat/completions', { method: 'POST', headers: jsonHeaders(), body: big, localAddress: hostileAddress });
      assertOpenAIError(declared, 413, 'PAYLOAD_TOO_LARGE');
      assert.match(JSON.parse(declared.text).error.message, /maxPayloadBytes/);
      // Chunked: no content-length, so the limit must be enforced while reading.
      const pieces: string[] = [];
      for (let start = 0; start < big.length; start += 16_384) pieces.push(big.slice(start, start + 16_384));
      const streamed = await http('/v1/chat/completions', { method: 'POST', headers: jsonHeaders(), body: pieces, localAddress: hostileAddress });
      assertOpenAIError(streamed, 413, 'PAYLOAD_TOO_LARGE');
      await assertStillServing('an oversized body');
    });

    test('a request that is not HTTP gets 400 and the connection is closed', async () => {
      const reply = await withTimeout(
        new Promise<string>((resolve, reject) => {
          const socket = netConnect({ host: '127.0.0.1', port: gateway.port, localAddress: hostileAddress });
          let text = '';
          socket.setEncoding('utf8');
          socket.on('data', (chunk: string) => {
            text += chunk;
          });
          socket.on('end', () => resolve(text));
          socket.on('close', () => resolve(text));
          socket.on('error', reject);
          socket.write('GARBAGE \u0001\u0002 NOT-HTTP\r\n\r\n');
        }),
        5000,
        'the answer to a non-HTTP request',
      );
      assert.match(reply, /^HTTP\/1\.1 400/);
      await assertStillServing('a non-HTTP request');
    });

    test('a flood without a token gets 429 with retry-after per address while another client is served', async () => {
      const total = 40;
      // In waves of 10, so the flood stays under the per-address connection cap.
      const flood = async () => {
        const all: HttpResult[] = [];
        for (let wave = 0; wave < total / 10; wave++) all.push(...(await Promise.all(Array.from({ length: 10 }, () => http('/readyz', { localAddress: FLOOD_ADDRESS })))));
        return all;
      };
      const flooding = flood();
      // Another client, at the same time.
      const served = httpTurn('served during an HTTP flood');
      const results = await withTimeout(flooding, 15_000, 'the flood');
      const limited = results.filter((result) => result.status === 429);
      const ok = results.filter((result) => result.status === 200);
      assert.equal(limited.length + ok.length, total, `unexpected statuses: ${results.map((result) => result.status).join(',')}`);
      assert.ok(limited.length >= total - 25, `only ${limited.length} of ${total} requests were limited`);
      assert.ok(ok.length >= 15, `only ${ok.length} requests were served before the limit`);
      for (const result of limited) {
        assertOpenAIError(result, 429, 'RATE_LIMITED');
        const retryAfter = Number(result.headers['retry-after']);
        assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `retry-after: ${result.headers['retry-after']}`);
      }
      assert.equal(await withTimeout(served, 10_000, 'the other client'), 'echo: served during an HTTP flood');
      // /health is never rate limited, even for the flooding address; the token is never limited.
      assert.equal((await http('/health', { localAddress: FLOOD_ADDRESS })).status, 200);
      assert.equal((await http('/v1/models', { headers: auth(), localAddress: FLOOD_ADDRESS })).status, 200);
      // After retry-after, the flooding client is served again.
      const retryAfter = Math.max(...limited.map((result) => Number(result.headers['retry-after'])));
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      assert.equal((await http('/readyz', { localAddress: FLOOD_ADDRESS })).status, 200);
      await assertStillServing('an HTTP flood');
    });

    test('requests with the token are not rate limited: 10 clients on one address doing 200 requests get no 429', async () => {
      const statuses: number[] = [];
      let next = 0;
      const client = async () => {
        while (next < 200) {
          next += 1;
          const result = await http('/v1/chat/completions', {
            method: 'POST',
            headers: jsonHeaders(),
            body: JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: `request ${next}` }] }),
            localAddress: hostileAddress,
          });
          statuses.push(result.status);
        }
      };
      await withTimeout(Promise.all(Array.from({ length: 10 }, client)), 30_000, '200 requests from 10 clients');
      const counts: Record<number, number> = {};
      for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
      assert.deepEqual(counts, { 200: statuses.length }, `statuses: ${JSON.stringify(counts)}`);
      await assertStillServing('200 requests with the token');
    });

    test('wrong tokens are limited per address: past the burst even the right token waits, other addresses are served', async () => {
      for (let attempt = 0; attempt < FAILED_AUTH_BURST; attempt++) {
        assertOpenAIError(await http('/v1/models', { headers: auth(`wrong-${attempt}`), localAddress: hostileAddress }), 401, 'AUTH_INVALID');
      }
      const blocked = await http('/v1/models', { headers: auth('wrong-again'), localAddress: hostileAddress });
      assertOpenAIError(blocked, 429, 'RATE_LIMITED');
      assert.match(JSON.parse(blocked.text).error.message, /wrong tokens/);
      // A guess that happens to be right is not let through while the address is blocked.
      assertOpenAIError(await http('/v1/models', { headers: auth(), localAddress: hostileAddress }), 429, 'RATE_LIMITED');
      const ws = new WebSocket(wsUrl(), { localAddress: hostileAddress });
      rawSockets.add(ws);
      const refused = await new Promise<{ code: number; reason: string; error?: string }>((resolve, reject) => {
        let error: string | undefined;
        ws.on('message', (data) => {
          error = (JSON.parse(String(data)) as Frame).error?.code;
        });
        ws.on('open', () => ws.send(JSON.stringify({ type: 'req', id: 'c', method: 'connect', params: { auth: { token: gateway.token } } })));
        ws.on('close', (code, reason) => resolve({ code, reason: String(reason), ...(error ? { error } : {}) }));
        ws.on('error', reject);
      });
      rawSockets.delete(ws);
      assert.deepEqual(refused, { code: 1008, reason: 'too many wrong tokens', error: 'RATE_LIMITED' });
      // Other addresses are not affected, and the address recovers (600 a minute: one every 100 ms).
      assert.equal((await http('/v1/models', { headers: auth() })).status, 200);
      await new Promise((resolve) => setTimeout(resolve, Number(blocked.headers['retry-after']) * 1000));
      assert.equal((await http('/v1/models', { headers: auth(), localAddress: hostileAddress })).status, 200);
      await assertStillServing('wrong tokens');
    });

    test('a chat completion whose body is not declared as JSON gets 415', async () => {
      const body = JSON.stringify({ model: 'hearth', messages: [{ role: 'user', content: 'plain' }] });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
        const headers: Record<string, string> = { ...auth(), ...(type ? { 'content-type': type } : {}) };
        const result = await http('/v1/chat/completions', { method: 'POST', headers, body, localAddress: hostileAddress });
        const error = assertOpenAIError(result, 415, 'UNSUPPORTED_MEDIA_TYPE');
        assert.match(error.message, /application\/json/);
        assert.doesNotMatch(result.text, /echo:/);
      }
      const withCharset = await http('/v1/chat/completions', {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'Application/JSON; charset=utf-8' },
        body,
        localAddress: hostileAddress,
      });
      assert.equal(withCharset.status, 200, withCharset.text);
      await assertStillServing('a body not declared as JSON');
    });

    test('a trickled body or trickled headers get 408 and a close within the configured timeouts', async () => {
      const bodyLimit = HEADERS_TIMEOUT_MS + BODY_TIMEOUT_MS;
      const trickles = [
        ...Array.from({ length: 5 }, () =>
          trickle(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gateway.token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`),
        ),
        trickle('POST /channels/telegram/default/webhook HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n', 'x-padding: a'),
        trickle('GET /readyz HTTP/1.1\r\nhost: x\r\n', 'x-padding: a'),
      ];
      // While they trickle, the bystander is served.
      await assertStillServing('trickling clients');
      const results = await withTimeout(Promise.all(trickles), 10_000, 'the gateway to drop the trickling clients');
      for (const result of results) {
        assert.match(result.answer, /^HTTP\/1\.1 408/, `answer: ${JSON.stringify(result.answer.slice(0, 200))}`);
        assert.match(result.answer, /gateway\.(headers|body)TimeoutMs/);
        // Node checks the deadlines every quarter of the shorter timeout.
        assert.ok(result.heldMs < bodyLimit + 1000, `a trickling client was held ${result.heldMs} ms`);
      }
      await assertStillServing('trickled bodies');
    });

    test('a webhook for an account that does not exist is answered 404 before its body is read', async () => {
      const result = await withTimeout(
        trickle('POST /channels/telegram/nobody/webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 4000000\r\n\r\n{'),
        5000,
        'the answer to the webhook',
      );
      assert.match(result.answer, /^HTTP\/1\.1 404/);
      assert.ok(result.heldMs < HEADERS_TIMEOUT_MS + BODY_TIMEOUT_MS, `held ${result.heldMs} ms: the gateway waited for the body`);
      await assertStillServing('a webhook for no account');
    });

    test('connections from one address are capped; past the cap they are answered 429 and closed', async () => {
      const sockets: Socket[] = [];
      try {
        for (let index = 0; index < MAX_CONNECTIONS_PER_ADDRESS; index++) {
          const socket = netConnect({ host: '127.0.0.1', port: gateway.port, localAddress: hostileAddress });
          sockets.push(socket);
          await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        }
        const over = await trickle('GET /health HTTP/1.1\r\nhost: x\r\n\r\n');
        assert.match(over.answer, /^HTTP\/1\.1 429/);
        assert.match(over.answer, /gateway\.maxConnectionsPerAddress/);
        assert.equal((await http('/health')).status, 200, 'another address was refused');
      } finally {
        for (const socket of sockets) socket.destroy();
      }
      await waitFor(async () => (await http('/health', { localAddress: hostileAddress }).catch(() => ({ status: 0 }))).status === 200, 'the address to be served again', 5000);
      await assertStillServing('too many connections');
    });
  });

  test('no hostile request made the gateway log a secret or crash a request', () => {
    const output = gateway.output();
    const withToken = output.split('\n').filter((line) => line.includes(gateway.token));
    assert.ok(
      withToken.every((line) => line.startsWith('Open http://')),
      `the token appears outside the start banner:\n${withToken.join('\n')}`,
    );
    assert.ok(!output.includes('definitely-not-the-token'), 'a presented (wrong) token was logged');
    assert.doesNotMatch(output, /http request failed/, 'an HTTP request hit the 500 handler');
  });
});
