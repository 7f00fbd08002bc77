import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertQuarantined, FAST, plugin, quarantined, statusOf, waitFor, waitForLog, withHost } from '../../test/support/plugin-host-harness.js';
import { MAX_ROUTE_BODY_BYTES } from './plugin-protocol.js';

const NEVER = new AbortController().signal;
const EMPTY = { query: {}, headers: {}, body: '' };
const TEXT = 'text/plain; charset=utf-8';

test('webhook: its routes are listed; GET /status answers JSON with api.config; POST /echo shouts the body and echoes ?n=', () =>
  withHost(['webhook'], { settings: () => ({ greeting: 'hello' }) }, async (host) => {
    assert.deepEqual(host.routes(), [
      { plugin: 'webhook', method: 'GET', path: '/status' },
      { plugin: 'webhook', method: 'POST', path: '/echo' },
      { plugin: 'webhook', method: 'GET', path: '/boom' },
    ]);
    assert.deepEqual(statusOf(host, 'webhook').registered, { tools: [], hooks: [], routes: ['GET /status', 'POST /echo', 'GET /boom'] });

    const status = await host.handleRoute('webhook', 'GET', '/status', EMPTY, NEVER);
    assert.equal(status.status, 200);
    assert.deepEqual(status.headers, { 'content-type': 'application/json' });
    assert.deepEqual(JSON.parse(status.body), { ok: true, plugin: 'webhook', greeting: 'hello' });

    const echo = await host.handleRoute(
      'webhook',
      'POST',
      '/echo',
      { query: { n: '42' }, headers: { Authorization: 'Bearer gateway-token', Cookie: 'a=b', 'Content-Type': 'text/plain', 'X-Trace': 't1' }, body: 'hello there' },
      NEVER,
    );
    assert.equal(echo.status, 200);
    assert.equal(echo.body, 'HELLO THERE');
    // The plugin saw lower-case names and no credentials; its set-cookie and hop-by-hop headers are dropped.
    assert.deepEqual(echo.headers, { 'content-type': TEXT, 'x-n': '42', 'x-saw-headers': 'content-type,x-trace' });
  }));

test('a route the manifest does not declare fails the activation, naming it', () =>
  withHost(
    [],
    {
      extra: plugin('sneaky-route', { routes: ['GET /ok'] }, "export default (api) => { api.registerRoute('GET', '/ok', () => 'ok'); api.registerRoute('POST', '/admin', () => 'mine'); };\n"),
    },
    async (host, home) => {
      assertQuarantined(host, home, 'sneaky-route', /route "POST \/admin" is not declared in hearth\.plugin\.json registers\.routes/);
      assert.deepEqual(host.routes(), []);
    },
  ));

test('a handler that throws answers 500 naming the plugin, not the error; the plugin keeps running', () =>
  withHost(['webhook'], {}, async (host, home) => {
    const answer = await host.handleRoute('webhook', 'GET', '/boom', EMPTY, NEVER);
    assert.equal(answer.status, 500);
    assert.equal(answer.headers['content-type'], TEXT);
    assert.match(answer.body, /Plugin "webhook" failed to answer GET \/boom/);
    assert.doesNotMatch(answer.body, /boom in a route|at .*index\.js/);
    await waitForLog(home, 'route "GET /boom" failed: boom in a route');
    assert.equal(statusOf(host, 'webhook').state, 'running');
    assert.equal((await host.handleRoute('webhook', 'GET', '/status', EMPTY, NEVER)).status, 200);
  }));

test('unknown plugins, paths and methods answer 404 (405 with allow for a known path); a large body 413', () =>
  withHost(['webhook'], {}, async (host) => {
    for (const [plugin, method, path] of [
      ['nobody', 'GET', '/status'],
      ['webhook', 'GET', '/nothing'],
      ['webhook', 'GET', '/../status'],
      ['webhook', 'GET', ''],
    ] as const) {
      const answer = await host.handleRoute(plugin, method, path, EMPTY, NEVER);
      assert.equal(answer.status, 404, `${plugin} ${method} ${path}`);
      assert.match(answer.body, /No running plugin answers/);
    }
    const wrongMethod = await host.handleRoute('webhook', 'DELETE', '/echo', EMPTY, NEVER);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
    const large = await host.handleRoute('webhook', 'POST', '/echo', { ...EMPTY, body: 'x'.repeat(MAX_ROUTE_BODY_BYTES + 1) }, NEVER);
    assert.equal(large.status, 413);
  }));

test('answers that do not fit are 502: a body over 1 MB, a bad status; a custom status and headers pass', () =>
  withHost(
    [],
    {
      extra: plugin(
        'odd',
        { routes: ['GET /big', 'GET /bad-status', 'PUT /made'] },
        [
          'export default (api) => {',
          "  api.registerRoute('GET', '/big', () => 'é'.repeat(600_000));",
          "  api.registerRoute('GET', '/bad-status', () => ({ status: 700 }));",
          "  api.registerRoute('put', '/made', () => ({ status: 201, headers: { Location: '/x', 'Transfer-Encoding': 'chunked', 'Content-Length': '1' } }));",
          '};',
        ].join('\n'),
      ),
    },
    async (host) => {
      const big = await host.handleRoute('odd', 'GET', '/big', EMPTY, NEVER);
      assert.equal(big.status, 502);
      assert.match(big.body, /Plugin "odd" gave an invalid answer to GET \/big: its route "GET \/big" returned a body of 1200000 bytes, more than the 1048576 allowed/);
      const badStatus = await host.handleRoute('odd', 'GET', '/bad-status', EMPTY, NEVER);
      assert.equal(badStatus.status, 502);
      assert.match(badStatus.body, /returned the status 700/);
      assert.deepEqual(await host.handleRoute('odd', 'PUT', '/made', EMPTY, NEVER), { status: 201, headers: { 'content-type': TEXT, location: '/x' }, body: '' });
    },
  ));

test('hangs: a route that never answers is 504 and quarantines the plugin; then its route is 503', () =>
  withHost(['hangs', 'webhook'], { timeouts: { ...FAST, callMs: 300 } }, async (host, home) => {
    assert.deepEqual(host.routes().filter((route) => route.plugin === 'hangs'), [{ plugin: 'hangs', method: 'GET', path: '/hang' }]);
    const started = Date.now();
    const answer = await host.handleRoute('hangs', 'GET', '/hang', EMPTY, NEVER);
    assert.ok(Date.now() - started >= 290, 'it waited for the timeout');
    assert.equal(answer.status, 504);
    assert.match(answer.body, /Plugin "hangs" stopped answering: route "GET \/hang" did not answer within 300 ms; it was disabled/);
    await quarantined(host, 'hangs');
    assertQuarantined(host, home, 'hangs', /stopped answering: route "GET \/hang" did not answer within 300 ms/);

    const again = await host.handleRoute('hangs', 'GET', '/hang', EMPTY, NEVER);
    assert.equal(again.status, 503);
    assert.match(again.body, /^Plugin "hangs" is quarantined: stopped answering/);
    assert.deepEqual(host.routes().map((route) => route.plugin), ['webhook', 'webhook', 'webhook'], 'a quarantined plugin has no routes');
    assert.equal((await host.handleRoute('webhook', 'GET', '/status', EMPTY, NEVER)).status, 200);
  }));

test('a plugin that is restarting answers 503 with retry-after', () =>
  withHost(
    [],
    {
      maxRestarts: 1,
      restartBackoffMs: 60_000,
      extra: plugin('flaky', { routes: ['POST /crash'] }, "export default (api) => { api.registerRoute('POST', '/crash', () => { setTimeout(() => { throw new Error('crash later'); }, 10); return 'ok'; }); };\n"),
    },
    async (host) => {
      assert.equal((await host.handleRoute('flaky', 'POST', '/crash', EMPTY, NEVER)).body, 'ok');
      await waitFor(host, () => statusOf(host, 'flaky').state === 'restarting', 'flaky restarting');
      const answer = await host.handleRoute('flaky', 'POST', '/crash', EMPTY, NEVER);
      assert.equal(answer.status, 503);
      assert.equal(answer.headers['retry-after'], '1');
      assert.match(answer.body, /Plugin "flaky" is restarting after a crash; try again in a moment/);
    },
  ));
