import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_CONTENT_CHARS, MAX_ROUTE_BODY_BYTES, parseHostMessage, parseRouteDeclaration, parseWorkerData, parseWorkerMessage, truncate } from './plugin-protocol.js';

const INBOUND = { messageId: 'm1', chat: { id: 'c1', kind: 'group', threadId: 't1' }, sender: { id: 'u1', name: 'Ada' }, text: 'hi', mentionsBot: true, replyToBot: false, attachments: [{ kind: 'image', name: 'a.png' }] };

test('worker messages of every type are accepted when they fit', () => {
  const messages = [
    {
      type: 'ready',
      tools: [{ name: 'shout', description: 'd', parameters: { type: 'object' } }],
      hooks: ['message_sending'],
      routes: ['GET /status'],
      channels: [{ platform: 'loopchat', maxMessageLength: 1000, markup: 'plain', stallTimeoutMs: 10_000, typing: true, probe: false }],
    },
    { type: 'activation-failed', error: 'boom' },
    { type: 'result', id: 3, content: 'ok', isError: false },
    { type: 'hook-result', id: 4, refuse: null, text: 'hi', errors: [] },
    { type: 'route-result', id: 6, status: 200, headers: { 'content-type': 'application/json' }, body: '{}', error: null },
    { type: 'route-result', id: 7, status: 500, headers: {}, body: '', error: 'route "GET /boom" failed: boom' },
    { type: 'pong', id: 5 },
    { type: 'log', message: 'hello' },
    { type: 'channel-result', id: 8, value: { messageId: 's1' }, error: null },
    { type: 'channel-result', id: 9, value: null, error: { kind: 'rate-limited', message: 'slow down', retryAfterMs: 1500 } },
    { type: 'channel-inbound', id: 2, seq: 0, message: INBOUND },
    { type: 'channel-connected', id: 2, botId: 'b1', botName: 'loopbot' },
    { type: 'channel-progress', id: 2 },
    { type: 'channel-reject', id: 2, reason: 'not a message', payload: '{"poll":{}}' },
  ];
  for (const message of messages) assert.deepEqual(parseWorkerMessage(message), { ok: true, message });
});

test('anything else from a worker is a protocol problem, described', () => {
  const cases: [unknown, RegExp][] = [
    [null, /a message without a type/],
    ['ready', /a message without a type/],
    [{ type: 'hello' }, /unknown type "hello"/],
    [{ type: 'toString' }, /unknown type "toString"/],
    [{ type: 'pong' }, /"pong" message .*field "id" is missing or invalid/],
    [{ type: 'pong', id: -1 }, /field "id"/],
    [{ type: 'pong', id: 1, extra: true }, /unexpected field "extra"/],
    [{ type: 'result', id: 1, content: 'x'.repeat(MAX_CONTENT_CHARS + 1), isError: false }, /field "content"/],
    [{ type: 'ready', tools: [{ name: 'x', description: 'd' }], hooks: [], routes: [], channels: [] }, /field "tools"/],
    [{ type: 'ready', tools: [], hooks: ['on_boot'], routes: [], channels: [] }, /field "hooks"/],
    [{ type: 'ready', tools: [], hooks: [], channels: [] }, /field "routes"/],
    [{ type: 'ready', tools: [], hooks: [], routes: ['GET /../etc'], channels: [] }, /field "routes"/],
    [{ type: 'ready', tools: [], hooks: [], routes: [], channels: [{ platform: 'Telegram!', maxMessageLength: 1000, markup: 'plain', stallTimeoutMs: 10_000, typing: true, probe: false }] }, /field "channels"/],
    [{ type: 'channel-result', id: 1, value: null, error: { kind: 'fatal', message: 'x', retryAfterMs: null } }, /field "error"/],
    [{ type: 'channel-inbound', id: 1, seq: 0, message: { ...INBOUND, sender: { id: '' } } }, /field "message"/],
    [{ type: 'channel-inbound', id: 1, seq: 0, message: { ...INBOUND, chat: { id: 'c1', kind: 'forum' } } }, /field "message"/],
    [{ type: 'channel-inbound', id: 1, seq: 0, message: { ...INBOUND, isAdmin: true } }, /field "message"/],
    [{ type: 'route-result', id: 1, status: 99, headers: {}, body: '', error: null }, /field "status"/],
    [{ type: 'route-result', id: 1, status: 200, headers: { 'x-a': 'b\r\nset-cookie: x' }, body: '', error: null }, /field "headers"/],
    [{ type: 'route-result', id: 1, status: 200, headers: { 'bad name': 'b' }, body: '', error: null }, /field "headers"/],
    [{ type: 'route-result', id: 1, status: 200, headers: {}, body: 'x'.repeat(MAX_ROUTE_BODY_BYTES + 1), error: null }, /field "body"/],
    [{ type: 'hook-result', id: 1, refuse: 7, text: null, errors: [] }, /field "refuse"/],
  ];
  for (const [raw, problem] of cases) {
    const parsed = parseWorkerMessage(raw);
    assert.equal(parsed.ok, false, JSON.stringify(raw)?.slice(0, 80));
    assert.ok(!parsed.ok);
    assert.match(parsed.problem, problem);
  }
});

test('host messages and worker data are checked on the worker side too', () => {
  assert.ok(parseHostMessage({ type: 'call', id: 1, tool: 't', args: { a: 1 }, context: { agentId: 'a', sessionKey: 's', runId: 'r' } }).ok);
  assert.ok(parseHostMessage({ type: 'hook', id: 1, hook: 'before_tool_call', payload: {} }).ok);
  assert.ok(parseHostMessage({ type: 'route', id: 1, method: 'POST', path: '/echo', query: { n: '1' }, headers: { 'content-type': 'text/plain' }, body: 'hi' }).ok);
  assert.equal(parseHostMessage({ type: 'route', id: 1, method: 'PATCH', path: '/echo', query: {}, headers: {}, body: '' }).ok, false);
  assert.equal(parseHostMessage({ type: 'route', id: 1, method: 'GET', path: '/a/..', query: {}, headers: {}, body: '' }).ok, false);
  assert.equal(parseHostMessage({ type: 'route', id: 1, method: 'GET', path: '/a', query: { n: 1 }, headers: {}, body: '' }).ok, false);
  assert.equal(parseHostMessage({ type: 'call', id: 1, tool: 't', args: {}, context: { agentId: 'a' } }).ok, false);
  assert.equal(parseHostMessage({ type: 'exec', id: 1 }).ok, false);
  assert.ok(parseHostMessage({ type: 'channel', id: 1, op: 'send', platform: 'loopchat', account: { accountId: 'default', settings: {} }, args: { text: 'hi' } }).ok);
  assert.ok(parseHostMessage({ type: 'channel-ack', seq: 3, error: null }).ok);
  assert.equal(parseHostMessage({ type: 'channel', id: 1, op: 'delete', platform: 'loopchat', account: { accountId: 'default', settings: {} }, args: null }).ok, false);
  assert.ok(parseWorkerData({ pluginId: 'p', entryPath: '/x.js', config: {}, declared: { tools: [], hooks: [], routes: ['GET /status'], channels: ['loopchat'] } }));
  assert.equal(parseWorkerData({ pluginId: 'p', entryPath: '/x.js', config: {}, declared: { tools: [], hooks: [] } }), null);
  assert.equal(parseWorkerData({ pluginId: 'p', entryPath: '/x.js', declared: { tools: [], hooks: ['nope'] } }), null);
});

test('truncate keeps short text and says where it cut long text', () => {
  assert.equal(truncate('short', 100), 'short');
  const cut = truncate('x'.repeat(200), 100);
  assert.ok(cut.length <= 100);
  assert.match(cut, /\[cut at 100 chars\]$/);
});

test('route declarations: a method, then 1 to 8 segments of [A-Za-z0-9._-], none "." or ".."', () => {
  assert.deepEqual(parseRouteDeclaration('GET /status'), { method: 'GET', path: '/status' });
  assert.deepEqual(parseRouteDeclaration('DELETE /a/b.c/d_e/F-9/5/6/7/8'), { method: 'DELETE', path: '/a/b.c/d_e/F-9/5/6/7/8' });
  for (const text of ['GET', 'GET /', 'get /x', 'PATCH /x', 'GET x', 'GET /x/', 'GET //x', 'GET /./x', 'GET /x/..', 'GET /x y', 'GET  /x', 'GET /%2e', 'GET /1/2/3/4/5/6/7/8/9']) {
    assert.equal(parseRouteDeclaration(text), null, text);
  }
});
