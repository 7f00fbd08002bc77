import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/pg-test-database.js';
import { createLeases, readLeases } from './leases.js';
import { createSessionOwnership } from './session-ownership.js';

// Against the machine's real PostgreSQL (127.0.0.1:5432), in a database made for this file.
let database: TestDatabase;

/** Resolves once `check` holds, asking every 20 ms; fails with `what` after 5 s. */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The lane's lease as the database has it (expiry by the database's clock), or undefined when nobody holds it. */
const leaseOf = async (db: Pool, lane: string) => (await readLeases(db, `session:${lane}`))[0];

before(async () => {
  database = await createTestDatabase('hearth_sessions');
});

after(async () => {
  await database?.drop();
});

test('a session runs on one node at a time; a quiet one is kept for the linger time, then another node may take it', async () => {
  const lost: string[] = [];
  const reader = database.pool(1);
  const ownership = async (node: string) =>
    createSessionOwnership({ leases: await createLeases(database.pool(), node), ttlMs: 2000, lingerMs: 300, onLost: (lane) => lost.push(`${node}:${lane}`), onError: () => {} });
  const a = await ownership('node-a');
  const b = await ownership('node-b');
  assert.equal(await a.claim('agent:main:ada'), true);
  assert.equal(await b.claim('agent:main:ada'), false, 'node-a holds it');
  a.release('agent:main:ada');
  assert.equal(await b.claim('agent:main:ada'), false, 'kept while it lingers');
  assert.equal(await a.claim('agent:main:ada'), true, 'a new turn on the holder keeps it');
  a.release('agent:main:ada');
  await until(async () => a.held().length === 0 && (await leaseOf(reader, 'agent:main:ada')) === undefined, 'node-a to give the lease back after the linger time');
  assert.equal(await b.claim('agent:main:ada'), true, 'given back after the linger time');
  assert.deepEqual(b.held(), ['agent:main:ada']);
  await a.renew();
  assert.deepEqual(lost, []);
  await b.releaseAll();
  assert.equal(await a.claim('agent:main:ada'), true, 'released at stop: taken at once');
});

test('a node whose lease another node took (after it expired) is told it lost the session at its next renewal', async () => {
  const lost: string[] = [];
  const reader = database.pool(1);
  const slow = createSessionOwnership({ leases: await createLeases(database.pool(), 'node-slow'), ttlMs: 200, onLost: (lane, reason) => lost.push(`${lane}: ${reason}`), onError: () => {} });
  const other = createSessionOwnership({ leases: await createLeases(database.pool(), 'node-other'), ttlMs: 2000, onLost: () => {}, onError: () => {} });
  assert.equal(await slow.claim('agent:main:bob'), true);
  await until(async () => ((await leaseOf(reader, 'agent:main:bob'))?.expiresInMs ?? 0) < 0, 'node-slow\'s lease to expire');
  assert.equal(await other.claim('agent:main:bob'), true, 'expired: another node takes it');
  await slow.renew();
  assert.deepEqual(lost, ['agent:main:bob: another node holds it']);
  assert.deepEqual(slow.held(), []);
  await other.releaseAll();
});
