import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WsModule from 'ws';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { removeHome, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const WebSocket = loadCommonJs('ws') as typeof WsModule;

let gateway: TestGateway | undefined;

before(async () => {
  gateway = await startTestGateway({ config: { models: { providers: { fake: { api: 'openai-chat', baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 } } }, agents: { defaults: { model: 'fake/echo' } } } });
});

after(async () => {
  await gateway?.stop();
  if (gateway) removeHome(gateway.home);
});

/** Opens a WebSocket; resolves with the socket once open, or the HTTP status it was refused with. */
function open(url: string): Promise<{ socket?: WsModule; status?: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
    const timer = setTimeout(() => reject(new Error('no answer to the upgrade within 10 s')), 10_000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

test('the first burst of WebSocket connections after start is held to 64 per address like any other', async () => {
  const results = await Promise.all(Array.from({ length: 66 }, () => open(gateway!.url)));
  try {
    const opened = results.filter((result) => result.socket).length;
    const refused = results.filter((result) => result.status === 429).length;
    assert.equal(opened, 64, `${opened} connections opened`);
    assert.equal(refused, 2);
  } finally {
    for (const result of results) result.socket?.terminate();
  }
});
