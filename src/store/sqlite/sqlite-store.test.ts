import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { unpackMessages } from '../../contracts/packed-messages.js';
import { runStoreContract } from '../store-contract.js';
import { createSqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
let counter = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

runStoreContract('sqlite', async () => createSqliteStore({ path: join(dir, `store-${counter++}.sqlite`) }));

test('sqlite: migrations are versioned and applied once; data survives reopening', async () => {
  const path = join(dir, 'reopen.sqlite');
  const first = createSqliteStore({ path });
  assert.deepEqual(await first.migrate(), []);
  await first.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'kept', now: 1 });
  await first.close();
  const second = createSqliteStore({ path });
  assert.deepEqual((await second.unfinishedTurns()).map((entry) => entry.text), ['kept']);
  await second.close();
});

test('sqlite: reading a turn\'s history does not wait behind the writes queued before it', async () => {
  const store = createSqliteStore({ path: join(dir, 'read-path.sqlite') });
  try {
    await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'first', now: 1 });
    await store.startTurn('r1', { now: 2, historyLimit: 0 });
    await store.completeTurn('r1', { status: 'ok', messages: [{ role: 'assistant', content: 'one' }], reply: 'one', toolCalls: [], deliverTo: null, now: 3 });
    await store.acceptTurn({ runId: 'r2', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'second', now: 4 });
    await store.startTurn('r2', { now: 5, historyLimit: 0 });
    const order: string[] = [];
    const writes = Array.from({ length: 50 }, (_, i) =>
      store.acceptTurn({ runId: `w${i}`, sessionKey: `agent:main:other-${i}`, agentId: 'main', source: 'ws', text: 'queued', now: 6 }).then(() => order.push('write')),
    );
    const read = store.turnHistory('r2', { maxEntries: 400, maxChars: 100_000 }).then((history) => {
      order.push('read');
      return history;
    });
    assert.deepEqual(unpackMessages(await read), [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
    ]);
    await Promise.all(writes);
    assert.equal(order[0], 'read', 'the read was answered before the queued writes committed');
  } finally {
    await store.close();
  }
});

test('sqlite: run steps, run records and session summaries read back what `hearth runs` and `sessions list` show', async () => {
  const store = createSqliteStore({ path: join(dir, 'runs.sqlite') });
  try {
    await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'what is the weather', now: 10 });
    assert.equal((await store.getRun('r1'))?.status, 'queued');
    await store.startTurn('r1', { now: 20, historyLimit: 10 });
    assert.equal((await store.getRun('r1'))?.status, 'running', 'a started run shows as running');
    await store.recordStep('r1', { kind: 'tool', name: 'weather', input: { city: 'Oslo' }, output: { sky: 'clear' }, startedAt: 21, durationMs: 5 });
    await store.recordStep('r1', { kind: 'tool', name: 'broken', error: 'the tool failed', startedAt: 27, durationMs: 1 });
    await store.completeTurn('r1', {
      status: 'error',
      messages: [],
      reply: '',
      toolCalls: [],
      usage: { inputTokens: 12, outputTokens: 3 },
      error: { code: 'MODEL_ERROR', message: 'the model went away' },
      deliverTo: null,
      steps: [{ kind: 'model', name: 'fake/echo', startedAt: 30, durationMs: 7, usage: { inputTokens: 12, outputTokens: 3 } }],
      now: 40,
    });
    assert.deepEqual(await store.listRunSteps('r1'), [
      { seq: 1, kind: 'tool', name: 'weather', input: { city: 'Oslo' }, output: { sky: 'clear' }, startedAt: 21, durationMs: 5 },
      { seq: 2, kind: 'tool', name: 'broken', input: undefined, output: undefined, error: 'the tool failed', startedAt: 27, durationMs: 1 },
      { seq: 3, kind: 'model', name: 'fake/echo', input: undefined, output: undefined, startedAt: 30, durationMs: 7, usage: { inputTokens: 12, outputTokens: 3 } },
    ]);
    const run = await store.getRun('r1');
    assert.equal(run?.status, 'error');
    assert.deepEqual(run?.error, { code: 'MODEL_ERROR', message: 'the model went away' });
    assert.deepEqual(run?.usage, { inputTokens: 12, outputTokens: 3 });
    assert.deepEqual(run?.toolCalls, []);
    assert.deepEqual(
      (await store.listRuns({ limit: 10 })).map((entry) => entry.runId),
      ['r1'],
    );
    assert.deepEqual(await store.listRuns({ limit: 10, sessionKey: 'agent:main:other' }), []);
    const [session] = await store.listSessions({ limit: 10 });
    assert.equal(session?.sessionKey, 'agent:main:main');
    assert.equal(session?.lastMessage, 'the model went away', 'a failed turn shows its error as the last message');
  } finally {
    await store.close();
  }
});

test('sqlite: a store used after close says which operation failed and why', async () => {
  const store = createSqliteStore({ path: join(dir, 'closed.sqlite') });
  await store.close();
  await assert.rejects(store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'hi', now: 1 }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STORE_ERROR');
    assert.match(error.message, /^The state database failed to accept a message: the database is closed\./u);
    return true;
  });
  await assert.rejects(store.getRun('r1'), /The state database failed to read a run: .*Run `hearth doctor` to check it\.$/u);
  await store.close();
});
