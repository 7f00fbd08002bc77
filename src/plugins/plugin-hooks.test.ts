import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../test/support/gateway-harness.js';
import { createHookRegistry, dispatchHook, type HookFailure, onHook, removeHooksOf } from './plugin-hooks.js';

type HooksModule = typeof import('./plugin-hooks.js');

const HOOKS_URL = new URL('./plugin-hooks.js', import.meta.url).href;
const message = { channel: 'telegram', sessionKey: 's1', text: 'hello' };
const call = { tool: 'exec', args: { command: 'ls' }, agentId: 'main', sessionKey: 's1', runId: 'r1' };

// Seed 000 (OpenClaw): two import graphs held two copies of an event module, each with its own
// listeners, so listeners registered through one copy never fired through the other. Here the
// state lives on the registry object, so which copy's functions touch it does not matter.
test('seed 000: two copies of the hooks module share a registry passed between them', async () => {
  const first = (await import(`${HOOKS_URL}?copy=1`)) as HooksModule;
  const second = (await import(`${HOOKS_URL}?copy=2`)) as HooksModule;
  assert.notEqual(first, second, 'two distinct module instances');
  assert.notEqual(first.onHook, second.onHook);

  const fromFirst = first.createHookRegistry();
  const seen: string[] = [];
  second.onHook(fromFirst, 'message_received', (payload) => {
    seen.push(`second:${payload.text}`);
  });
  await first.dispatchHook(fromFirst, 'message_received', message);
  assert.deepEqual(seen, ['second:hello'], 'registered through copy 2, fired through copy 1');

  const fromSecond = second.createHookRegistry();
  first.onHook(fromSecond, 'before_tool_call', () => ({ refuse: 'no' }), 'guard');
  assert.deepEqual(await second.dispatchHook(fromSecond, 'before_tool_call', call), { refuse: 'no', owner: 'guard' }, 'registered through copy 1, fired through copy 2');
});

test('the hooks module holds no state: registries are independent, even from one copy', async () => {
  const one = createHookRegistry();
  const two = createHookRegistry();
  onHook(one, 'message_sending', () => ({ text: 'from one' }));
  assert.equal(await dispatchHook(two, 'message_sending', message), 'hello');
  assert.equal(await dispatchHook(one, 'message_sending', message), 'from one');
  assert.equal(two.handlers.message_sending.length, 0);
});

test('the hooks module source has no module-level let, Map, Set or globalThis', () => {
  const source = readFileSync(join(REPO_ROOT, 'src', 'plugins', 'plugin-hooks.ts'), 'utf8');
  const topLevel = source.split('\n').filter((line) => /^(export )?(let|var|const) /.test(line));
  for (const line of topLevel) {
    assert.doesNotMatch(line, /^(export )?(let|var) /, line);
    assert.doesNotMatch(line, /new (Map|Set|WeakMap|WeakSet)\b/, line);
  }
  assert.doesNotMatch(source, /globalThis|Symbol\.for/);
});

test('before_tool_call: the first refusal wins and later handlers do not run', async () => {
  const registry = createHookRegistry();
  const ran: string[] = [];
  onHook(registry, 'before_tool_call', () => {
    ran.push('a');
  }, 'a');
  onHook(registry, 'before_tool_call', (payload) => (payload.tool === 'exec' ? { refuse: 'no shell' } : undefined), 'b');
  onHook(registry, 'before_tool_call', () => {
    ran.push('c');
    return { refuse: 'c says no' };
  }, 'c');
  assert.deepEqual(await dispatchHook(registry, 'before_tool_call', call), { refuse: 'no shell', owner: 'b' });
  assert.deepEqual(ran, ['a']);
  assert.deepEqual(await dispatchHook(registry, 'before_tool_call', { ...call, tool: 'read' }), { refuse: 'c says no', owner: 'c' });
});

test('message_sending: each handler sees the text the previous one left; other returns are ignored', async () => {
  const registry = createHookRegistry();
  onHook(registry, 'message_sending', (payload) => ({ text: `${payload.text}!` }));
  onHook(registry, 'message_sending', () => ({ text: 42 }) as unknown as { text: string });
  onHook(registry, 'message_sending', (payload) => ({ text: payload.text.toUpperCase() }));
  assert.equal(await dispatchHook(registry, 'message_sending', message), 'HELLO!');
});

test('a handler that throws or rejects is reported and skipped; the others still run', async () => {
  const registry = createHookRegistry();
  const failures: HookFailure[] = [];
  const seen: string[] = [];
  onHook(registry, 'after_tool_call', () => {
    throw new Error('sync boom');
  }, 'bad-sync');
  onHook(registry, 'after_tool_call', async () => {
    throw new Error('async boom');
  }, 'bad-async');
  onHook(registry, 'after_tool_call', (payload) => {
    seen.push(payload.result.content);
  }, 'good');
  await dispatchHook(registry, 'after_tool_call', { ...call, result: { content: 'done', isError: false } }, (failure) => failures.push(failure));
  assert.deepEqual(seen, ['done']);
  assert.deepEqual(failures.map((failure) => [failure.owner, failure.hook, (failure.error as Error).message]), [
    ['bad-sync', 'after_tool_call', 'sync boom'],
    ['bad-async', 'after_tool_call', 'async boom'],
  ]);
  onHook(registry, 'message_sending', () => {
    throw new Error('no text');
  }, 'bad-sync');
  assert.equal(await dispatchHook(registry, 'message_sending', message, (failure) => failures.push(failure)), 'hello');
});

test('unsubscribe removes one handler; removeHooksOf removes everything of one owner', async () => {
  const registry = createHookRegistry();
  const seen: string[] = [];
  const off = onHook(registry, 'message_received', () => {
    seen.push('x');
  }, 'x');
  onHook(registry, 'message_received', () => {
    seen.push('y');
  }, 'y');
  onHook(registry, 'message_sending', () => ({ text: 'y' }), 'y');
  off();
  off();
  await dispatchHook(registry, 'message_received', message);
  assert.deepEqual(seen, ['y']);
  removeHooksOf(registry, 'y');
  await dispatchHook(registry, 'message_received', message);
  assert.deepEqual(seen, ['y']);
  assert.equal(await dispatchHook(registry, 'message_sending', message), 'hello');
});

test('a hook takes a bounded number of handlers', () => {
  const registry = createHookRegistry();
  for (let index = 0; index < 64; index += 1) onHook(registry, 'message_received', () => {});
  assert.throws(() => onHook(registry, 'message_received', () => {}), /already has 64 handlers/);
});
