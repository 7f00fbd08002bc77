import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
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
    assert.deepEqual(await read, [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
    ]);
    await Promise.all(writes);
    assert.equal(order[0], 'read', 'the read was answered before the queued writes committed');
  } finally {
    await store.close();
  }
});
