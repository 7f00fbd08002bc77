import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { type GatewayProcess, waitReady } from './gateway-process.js';

const running: GatewayProcess = {
  pkg: '/p',
  pid: 1,
  startedAt: Date.now(),
  exited: new Promise(() => {}),
  hasExited: () => false,
  signal: () => {},
  stop: async () => {},
};

test('the readiness gate fails on a component the new version broke, not on one that was already down', async () => {
  const server = createServer((_request, response) => {
    response.writeHead(503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ready: false, components: { store: { status: 'ok' }, channels: { status: 'down' } } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal(await waitReady(running, url, 2000, { store: 'ok', channels: 'down' }), null, 'down before and after: not the new version\'s doing');
    assert.match((await waitReady(running, url, 600, { store: 'ok', channels: 'ok' })) ?? '', /not ready within 1 s \(\/readyz answered 503: channels down \(was ok\)\)/u);
  } finally {
    server.close();
  }
});

test('the readiness gate fails on a component the new version degraded although /readyz answers 200, naming it and what it says', async () => {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ready: true, components: { store: { status: 'ok' }, models: { status: 'degraded', detail: 'no model configured for main' } } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.match(
      (await waitReady(running, url, 600, { store: 'ok', models: 'ok' })) ?? '',
      /not ready within 1 s \(\/readyz answered 200: models degraded \(was ok\) — no model configured for main\)/u,
    );
    assert.equal(await waitReady(running, url, 2000, { store: 'ok', models: 'degraded' }), null, 'degraded before the switch too');
    assert.equal(await waitReady(running, url, 2000), null, 'a first start has nothing to compare with: 200 is ready');
  } finally {
    server.close();
  }
});
