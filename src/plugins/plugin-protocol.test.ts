import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_CONTENT_CHARS, parseHostMessage, parseWorkerData, parseWorkerMessage, truncate } from './plugin-protocol.js';

test('worker messages of every type are accepted when they fit', () => {
  const messages = [
    { type: 'ready', tools: [{ name: 'shout', description: 'd', parameters: { type: 'object' } }], hooks: ['message_sending'] },
    { type: 'activation-failed', error: 'boom' },
    { type: 'result', id: 3, content: 'ok', isError: false },
    { type: 'hook-result', id: 4, refuse: null, text: 'hi', errors: [] },
    { type: 'pong', id: 5 },
    { type: 'log', message: 'hello' },
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
    [{ type: 'ready', tools: [{ name: 'x', description: 'd' }], hooks: [] }, /field "tools"/],
    [{ type: 'ready', tools: [], hooks: ['on_boot'] }, /field "hooks"/],
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
  assert.equal(parseHostMessage({ type: 'call', id: 1, tool: 't', args: {}, context: { agentId: 'a' } }).ok, false);
  assert.equal(parseHostMessage({ type: 'exec', id: 1 }).ok, false);
  assert.ok(parseWorkerData({ pluginId: 'p', entryPath: '/x.js', config: {}, declared: { tools: [], hooks: [] } }));
  assert.equal(parseWorkerData({ pluginId: 'p', entryPath: '/x.js', declared: { tools: [], hooks: ['nope'] } }), null);
});

test('truncate keeps short text and says where it cut long text', () => {
  assert.equal(truncate('short', 100), 'short');
  const cut = truncate('x'.repeat(200), 100);
  assert.ok(cut.length <= 100);
  assert.match(cut, /\[cut at 100 chars\]$/);
});
