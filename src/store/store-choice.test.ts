import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { configSchema } from '../config/schema.js';
import { checkPostgresStore } from '../observability/doctor-postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/pg-test-database.js';
import { chooseStore, usesPostgres } from './store-choice.js';
import { openStore } from './store-subsystem.js';

const paths = { stateDir: '/home/me/.hearth/state' };
const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

test('store choice: SQLite by default; store.kind postgres with store.url; HEARTH_DATABASE_URL selects postgres over the config', () => {
  const defaults = configSchema().parse({});
  assert.deepEqual(defaults.store, { kind: 'sqlite' });
  assert.deepEqual(chooseStore(defaults, {}, paths), { kind: 'sqlite', path: '/home/me/.hearth/state/hearth.sqlite' });
  assert.equal(usesPostgres(defaults, {}), false);
  const postgres = configSchema().parse({ store: { kind: 'postgres', url: 'postgres://h@db/hearth' } });
  assert.deepEqual(chooseStore(postgres, {}, paths), { kind: 'postgres', url: 'postgres://h@db/hearth' });
  assert.deepEqual(chooseStore(defaults, { HEARTH_DATABASE_URL: 'postgres://env@db/hearth' }, paths), { kind: 'postgres', url: 'postgres://env@db/hearth' });
  assert.equal(usesPostgres(defaults, { HEARTH_DATABASE_URL: 'postgres://env@db/hearth' }), true);
  assert.throws(() => chooseStore(configSchema().parse({ store: { kind: 'postgres' } }), {}, paths), /store\.url is not set/);
  assert.equal(configSchema().safeParse({ store: { kind: 'mysql' } }).success, false);
});

test('store choice: an unreachable server fails the start with a message naming store.url and what to check', async () => {
  await assert.rejects(openStore({ kind: 'postgres', url: 'postgres://hearth:pw@127.0.0.1:1/hearth' }), (error: Error) => {
    assert.match(error.message, /store\.url postgres:\/\/hearth:\*\*\*@127\.0\.0\.1:1\/hearth/);
    assert.match(error.message, /Check that the server runs/);
    return true;
  });
});

test('doctor on a PostgreSQL store: answers, its schema version, and a clear finding when it does not answer', async () => {
  const database = await createTestDatabase('hearth_doctor');
  databases.push(database);
  const before = await checkPostgresStore(database.url);
  assert.deepEqual(before.map((finding) => [finding.check, finding.status]), [['database', 'ok'], ['migrations', 'warn']]);
  const store = await openStore({ kind: 'postgres', url: database.url });
  await store.close();
  const after = await checkPostgresStore(database.url);
  assert.deepEqual(after.map((finding) => [finding.check, finding.status]), [['database', 'ok'], ['migrations', 'ok']]);
  const down = await checkPostgresStore('postgres://hearth@127.0.0.1:1/hearth', { timeoutMs: 1000 });
  assert.equal(down[0]?.status, 'error');
  assert.match(down[0]?.message ?? '', /store\.url/);
});
