import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/support/pg-test-database.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { createLeases } from './leases.js';

// Against the machine's real PostgreSQL (127.0.0.1:5432), in a database made for this file.
let database: TestDatabase;
const pool = async () => database.pool();

/** Resolves once `check` holds, asking every 20 ms; fails with `what` after 5 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

before(async () => {
  database = await createTestDatabase('hearth_leases');
});

after(async () => {
  await database?.drop();
});

test('a lease is held by one node at a time, renewed by its holder, and taken by another once it expires', async () => {
  const a = await createLeases(await pool(), 'node-a');
  const b = await createLeases(await pool(), 'node-b');
  assert.equal(await a.acquire('channel:telegram:default', 400), true);
  assert.equal(await b.acquire('channel:telegram:default', 400), false, 'another node holds it');
  assert.equal(await a.acquire('channel:telegram:default', 400), true, 'the holder renews it');
  const [row] = await b.list('channel:');
  assert.equal(row?.holder, 'node-a');
  assert.ok((row?.expiresInMs ?? 0) > 0 && (row?.expiresInMs ?? 0) <= 400);
  await until(async () => ((await b.list('channel:telegram:default'))[0]?.expiresInMs ?? 0) < 0, 'node-a\'s lease to expire');
  assert.equal(await b.acquire('channel:telegram:default', 400), true, 'expired: the other node takes it');
  assert.equal(await a.acquire('channel:telegram:default', 400), false, 'the old holder cannot take it back while it is held');
  await b.release('channel:telegram:default');
  assert.equal(await a.acquire('channel:telegram:default', 400), true, 'released: taken at once');
});

test('many nodes racing for one lease: exactly one wins each round', async () => {
  const nodes = await Promise.all(Array.from({ length: 6 }, async (_, i) => createLeases(await pool(), `racer-${i}`)));
  const wins = await Promise.all(nodes.map((node) => node.acquire('cron:leader', 5000)));
  assert.equal(wins.filter(Boolean).length, 1);
});

test('a lease keeper starts work where it holds the lease; when its node dies, another keeper takes over within the lease time', async () => {
  const events: string[] = [];
  const keeper = (name: string, leases: Awaited<ReturnType<typeof createLeases>>) =>
    createLeaseKeeper({ leases, ttlMs: 600, wanted: () => ['channel:irc:default'], onAcquired: (lease) => events.push(`${name} +${lease}`), onLost: (lease, why) => events.push(`${name} -${lease}: ${why}`) });
  const first = keeper('a', await createLeases(await pool(), 'keeper-a'));
  const second = keeper('b', await createLeases(await pool(), 'keeper-b'));
  await first.tick();
  await second.tick();
  assert.deepEqual(events, ['a +channel:irc:default']);
  assert.deepEqual(second.held(), []);
  // Node a dies: it renews no more (its timer is never started here), so its lease runs out.
  const diedAt = Date.now();
  second.start();
  while (!events.includes('b +channel:irc:default') && Date.now() - diedAt < 3000) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(events.includes('b +channel:irc:default'), events.join('\n'));
  assert.ok(Date.now() - diedAt < 600 + 250, `taken over ${Date.now() - diedAt} ms after the last renewal`);
  await first.tick();
  assert.ok(events.includes('a -channel:irc:default: another node holds it'), 'the old holder learns it lost the lease and stops its work');
  await second.stop();
  assert.ok(events.includes('b -channel:irc:default: this node is stopping'));
});
