import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/support/pg-test-database.js';
import { checkSharedWorkspaces } from './shared-workspaces.js';

let database: TestDatabase;
const dirs: string[] = [];

before(async () => {
  database = await createTestDatabase('hearth_workspaces');
});

after(async () => {
  await database?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('nodes starting together on one shared workspaces folder agree; a node on a folder of its own is told to mount the shared one', async () => {
  const shared = mkdtempSync(join(tmpdir(), 'hearth-shared-'));
  const own = mkdtempSync(join(tmpdir(), 'hearth-own-'));
  dirs.push(shared, own);
  const pool = database.pool(4);
  const together = await Promise.all([0, 1, 2].map(() => checkSharedWorkspaces(pool, join(shared, 'workspaces'))));
  assert.deepEqual(together, [null, null, null]);
  const alone = await checkSharedWorkspaces(pool, join(own, 'workspaces'));
  assert.match(alone ?? '', /workspaces folder \(.*hearth-own-.*\) is not the one the other nodes use.*mount the cluster's shared folder there/);
  assert.equal(await checkSharedWorkspaces(pool, join(shared, 'workspaces')), null, 'a node restarted on the shared folder still agrees');
});
