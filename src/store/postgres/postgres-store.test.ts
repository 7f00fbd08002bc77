import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import type { Store } from '../../contracts/store.js';
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from '../../../test/support/pg-test-database.js';
import { checkDamagedApprovalsAreSkipped, runStoreContract } from '../store-contract.js';
import { applyPostgresMigrations, postgresMigrations } from './postgres-migrations.js';
import { createPostgresStore, openPostgresStore } from './postgres-store.js';

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

const freshDatabase = async (): Promise<TestDatabase> => {
  const database = await createTestDatabase('hearth_store');
  databases.push(database);
  return database;
};

runStoreContract('postgres', async () => openPostgresStore({ url: (await freshDatabase()).url }));

const turn = (store: Store, runId: string, text = 'hello') =>
  store.acceptTurn({ runId, sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text, replyTo: { channel: 'webchat', target: 'main' }, now: 1000 });

test('postgres: two nodes starting at once migrate once; the schema is versioned', async () => {
  const database = await freshDatabase();
  const [a, b] = await Promise.all([applyPostgresMigrations(database.pool()), applyPostgresMigrations(database.pool())]);
  assert.deepEqual([...(a ?? []), ...(b ?? [])], postgresMigrations.map((migration) => migration.version), 'every migration applied once, by one of the two');
  const store = await openPostgresStore({ url: database.url });
  assert.deepEqual(await store.migrate(), []);
  await turn(store, 'r1', 'kept');
  await store.close();
  const again = await openPostgresStore({ url: database.url });
  assert.deepEqual((await again.unfinishedTurns()).map((entry) => entry.text), ['kept']);
  await again.close();
});

test('postgres: two nodes racing to complete the same turn: exactly one transcript, one run result, one reply queued', async () => {
  const database = await freshDatabase();
  const nodeA = await openPostgresStore({ url: database.url });
  const nodeB = await openPostgresStore({ url: database.url });
  try {
    for (let i = 0; i < 20; i++) {
      await turn(nodeA, `race-${i}`, `question ${i}`);
      await nodeA.startTurn(`race-${i}`, { now: 1001, historyLimit: 0 });
      await nodeB.startTurn(`race-${i}`, { now: 1001, historyLimit: 0 });
      const finish = (store: Store, reply: string) =>
        store.completeTurn(`race-${i}`, { status: 'ok', messages: [{ role: 'assistant', content: reply }], reply, toolCalls: [], deliverTo: { channel: 'webchat', target: 'main' }, now: 1002 });
      const results = await Promise.all([finish(nodeA, 'from A'), finish(nodeB, 'from B')]);
      assert.equal(results.filter((result) => result.outboxId !== null).length, 1, `turn ${i}: one winner`);
    }
    const transcript = await nodeA.readTranscript('agent:main:main', 1000);
    assert.equal(transcript.length, 40, 'a question and one reply per turn');
    assert.equal((await nodeB.undeliveredOutbox(100)).length, 20);
    assert.deepEqual(await nodeB.unfinishedTurns(), []);
    // A started turn is no longer startable once another node completed it.
    assert.equal(await nodeB.startTurn('race-0', { now: 2000, historyLimit: 0 }), null);
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});

test('postgres: two nodes accepting the same idempotency key at once queue one run', async () => {
  const database = await freshDatabase();
  const nodeA = await openPostgresStore({ url: database.url });
  const nodeB = await openPostgresStore({ url: database.url });
  try {
    for (let i = 0; i < 10; i++) {
      const idempotency = { scope: 'telegram:default:1', key: `message-${i}` };
      const both = await Promise.all(
        [nodeA, nodeB].map((store, n) =>
          store.acceptTurn({ runId: `k${i}-${n}`, sessionKey: 'agent:main:main', agentId: 'main', source: 'channel', text: `m${i}`, idempotency, now: 1000 }),
        ),
      );
      assert.equal(both.filter((accepted) => !accepted.duplicate).length, 1, `key ${i}: one run`);
      assert.equal(both[0]?.runId, both[1]?.runId);
    }
    assert.equal((await nodeA.unfinishedTurns()).length, 10);
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});

test('postgres: two nodes claiming the same outbox row and approval: the first decision wins', async () => {
  const database = await freshDatabase();
  const nodeA = await openPostgresStore({ url: database.url });
  const nodeB = await openPostgresStore({ url: database.url });
  try {
    const entry = await nodeA.enqueueOutbox({ channel: 'telegram:default', target: '{"chatId":"1"}', text: 'hi', sessionKey: 's', runId: 'm1', now: 1 });
    await Promise.all([nodeA.markDelivered(entry.id, 2), nodeB.recordDeliveryFailure(entry.id, { error: 'late', now: 3, retryAt: 10 })]);
    assert.deepEqual(await nodeB.undeliveredOutbox(10), []);
    await nodeA.requestApproval({
      id: 'a1', runId: 'r1', sessionKey: 's', agentId: 'main', tool: 'exec', command: 'ls', cwd: '.', canAlways: false, replyTo: null, now: 1, ttlMs: 1000,
    });
    const [first, second] = await Promise.all([
      nodeA.decideApproval('a1', { status: 'approved', by: 'cli', now: 2 }),
      nodeB.decideApproval('a1', { status: 'denied', by: 'webchat', now: 2 }),
    ]);
    assert.equal(first?.status, second?.status, 'both see the one decision');
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});

test('postgres: the connection dropped and restored: the store reports down, then recovers and nothing is lost', async () => {
  const database = await freshDatabase();
  const store = createPostgresStore({ url: database.url, connectTimeoutMs: 2000 });
  await store.migrate();
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  const name = new URL(database.url).pathname.slice(1);
  try {
    await turn(store, 'before');
    assert.equal(store.health?.().status, 'ok');
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await assert.rejects(turn(store, 'during'), (error: { code?: string }) => error.code === 'STORE_ERROR');
    const down = store.health?.();
    assert.equal(down?.status, 'down');
    assert.match(down?.detail ?? '', /postgres/);
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    // The probe started by health() brings it back without any traffic.
    const deadline = Date.now() + 5000;
    while (store.health?.().status !== 'ok' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(store.health?.().status, 'ok');
    assert.ok(store.health?.().lastError, 'the failure stays visible after recovery');
    await turn(store, 'after');
    assert.deepEqual((await store.unfinishedTurns()).map((entry) => entry.runId), ['before', 'after']);
  } finally {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
    await admin.end();
    await store.close();
  }
});

test('postgres: exec approval requests whose row fails its schema are skipped whole and marked', async () => {
  const database = await freshDatabase();
  const store = await openPostgresStore({ url: database.url });
  const pool = database.pool(1);
  try {
    await checkDamagedApprovalsAreSkipped(store, async (sql) => {
      await pool.query(sql);
    });
  } finally {
    await store.close();
  }
});

test('postgres: a bad URL or an unreachable server fails to open with a message naming store.url, without a stack trace', async () => {
  await assert.rejects(openPostgresStore({ url: 'not a url' }), (error: Error) => /store\.url is not a URL/.test(error.message));
  await assert.rejects(openPostgresStore({ url: 'mysql://x@127.0.0.1/db' }), (error: Error) => /must start with postgres/.test(error.message));
  await assert.rejects(openPostgresStore({ url: 'postgres://hearth:secret@127.0.0.1:1/nowhere', connectTimeoutMs: 1000 }), (error: Error) => {
    assert.match(error.message, /store\.url postgres:\/\/hearth:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    assert.match(error.message, /Check that the server runs/);
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
});

test('postgres: a statement that hangs fails after the statement timeout instead of holding the writes behind it', async () => {
  const database = await freshDatabase();
  const store = createPostgresStore({ url: database.url, statementTimeoutMs: 300 });
  await store.migrate();
  const blocker = new pg.Client({ connectionString: database.url });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE runs IN ACCESS EXCLUSIVE MODE');
    await assert.rejects(turn(store, 'blocked'), (error: { code?: string }) => error.code === 'STORE_ERROR');
    await blocker.query('ROLLBACK');
    await turn(store, 'next');
    assert.deepEqual((await store.unfinishedTurns()).map((entry) => entry.runId), ['next']);
  } finally {
    await blocker.end();
    await store.close();
  }
});

test('postgres: two nodes claiming the same tasks at once: each task goes to exactly one, a lease that ran out to exactly one of the others', async () => {
  const database = await freshDatabase();
  const nodeA = await openPostgresStore({ url: database.url });
  const nodeB = await openPostgresStore({ url: database.url });
  try {
    for (let i = 0; i < 10; i++) await nodeA.createTask({ id: `t${i}`, title: `task ${i}`, body: 'work', createdBy: 'planner', now: 1000 + i });
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).claimTask({ agentId: 'worker', claimer: `node-${i % 2}-slot-${i}`, leaseMs: 1000, now: 2000 })),
    );
    const won = claims.flatMap((outcome) => (outcome.ok ? [outcome.task.id] : []));
    assert.equal(won.length, 10, 'every task claimed');
    assert.equal(new Set(won).size, 10, 'none claimed twice');
    for (let i = 0; i < 10; i++) {
      const both = await Promise.all([
        nodeA.claimTask({ id: `t${i}`, agentId: 'worker', claimer: 'a-late', leaseMs: 1000, now: 3000 }),
        nodeB.claimTask({ id: `t${i}`, agentId: 'worker', claimer: 'b-late', leaseMs: 1000, now: 3000 }),
      ]);
      assert.equal(both.filter((outcome) => outcome.ok).length, 1, `t${i}: one of the two nodes re-claims it`);
    }
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});
