import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { gatewaySchema } from '../config/schema.js';
import { createRequestGuards } from './request-guards.js';

function get(port: number, token: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, headers: { authorization: `Bearer ${token}` } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.end();
  });
}

/** Waits (at most 5 s) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('requests with the token wait in the queue and get 503 with Retry-After only when it is full', async () => {
  const config = gatewaySchema().parse({ concurrency: { perConnection: 1, total: 1, queuePerConnection: 1, queueTotal: 1 } });
  const guards = createRequestGuards(() => config, () => 'the-token-123');
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started = 0;
  let server: Server | undefined;
  try {
    server = createServer((request, response) => {
      if (!guards.authorized(request, response)) return;
      void guards.admitHttp(request, response, async () => {
        started += 1;
        if (started === 1) await held;
        response.end('done');
      });
    });
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const { port } = listening.address() as AddressInfo;
    const first = get(port, 'the-token-123');
    await until(() => started === 1, 'the first request to start');
    const queued = get(port, 'the-token-123');
    await until(() => guards.work.stats().queued === 1, 'the second request to wait');
    const refused = await get(port, 'the-token-123');
    assert.equal(refused.status, 503);
    assert.equal(refused.retryAfter, '1');
    assert.match(refused.body, /OVERLOADED/);
    assert.match(refused.body, /gateway\.concurrency/);
    release();
    assert.deepEqual([(await first).status, (await queued).status], [200, 200], 'the queued request was served once the first finished');
  } finally {
    release();
    guards.close();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  }
});
