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
