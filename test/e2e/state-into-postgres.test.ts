import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { type FakeModelServer, fakeModelConfig, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, writeConfig } from '../support/gateway-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/pg-test-database.js';

let model: FakeModelServer;
let database: TestDatabase;
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer({
    defaultStep: (request: RecordedRequest) => ({ text: `echo: ${String((request.body as { messages: { content: string }[] }).messages.at(-1)?.content)}` }),
  });
  database = await createTestDatabase('hearth_move');
});
after(async () => {
  await model?.close();
  await database?.drop();
  for (const home of homes) removeHome(home);
});

const home = () => {
  const made = makeHome();
  homes.push(made);
  return made;
};

async function send(url: string, token: string, content: string): Promise<string> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '';
}

/** Every row of the tables both stores have, as PostgreSQL holds them. */
async function pgRows(tables: string[]): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const result: Record<string, unknown[]> = {};
    for (const table of tables) {
      const rows = (await client.query(`SELECT * FROM "${table}"`)).rows as Record<string, unknown>[];
      // runs and cron_runs number their rows in PostgreSQL (seq), where SQLite uses its rowid.
      result[table] = rows.map((row) => normalise(OWN_NUMBERING.has(table) ? withoutSeq(row) : row)).sort(byJson);
    }
    return result;
  } finally {
    await client.end();
  }
}

const OWN_NUMBERING = new Set(['runs', 'cron_runs']);
const withoutSeq = ({ seq: _seq, ...row }: Record<string, unknown>) => row;
// SQLite numbers its sessions (sid) to keep the transcript's index small; PostgreSQL finds lines by session key.
const withoutSid = ({ sid: _sid, ...row }: Record<string, unknown>) => row;
const normalise = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'boolean' ? Number(value) : typeof value === 'string' && /^-?\d+$/u.test(value) && key !== 'text' ? Number(value) : value]));
const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));

test('a single-node SQLite home moves into PostgreSQL with state export and import: every shared table arrives whole and the conversation goes on there', async () => {
  const source = home();
  writeConfig(source, fakeModelConfig(model));
  const gateway = await startTestGateway({ home: source });
  const env = testEnv(source, { HEARTH_GATEWAY_URL: gateway.url });
  assert.equal(await send(gateway.url, gateway.token, 'first question'), 'echo: first question');
  assert.equal(await send(gateway.url, gateway.token, 'second question'), 'echo: second question');
  assert.equal((await runCli(['cron', 'add', '--name', 'morning', '--cron', '0 8 * * *', '--message', 'good morning'], env)).code, 0);
  const file = join(source, '..', `${source.split('/').pop()}-move.tar.gz`);
  assert.equal((await runCli(['state', 'export', file, '--include-secrets'], env)).code, 0);
  assert.equal(await gateway.stop(), 0);

  const target = home();
  const targetEnv = testEnv(target, { HEARTH_DATABASE_URL: database.url });
  const imported = await runCli(['state', 'import', file], targetEnv);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /Copied the exported database into PostgreSQL at postgres:\/\/.*: \d+ rows in \d+ tables; the SQLite file is kept as .*hearth\.sqlite\.copied-to-postgres/u);
  assert.ok(!existsSync(join(target, 'state', 'hearth.sqlite')), 'the home no longer has a SQLite database to confuse anyone');

  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(join(target, 'state', 'hearth.sqlite.copied-to-postgres'), { readonly: true });
  const shared = ['sessions', 'transcript', 'runs', 'run_steps', 'outbox', 'cron_jobs', 'cron_runs', 'idempotency_keys', 'daily_spend'];
  const sqliteRows = Object.fromEntries(shared.map((table) => [table, (db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]).map((row) => normalise(withoutSid(row))).sort(byJson)]));
  db.close();
  assert.ok((sqliteRows.transcript?.length ?? 0) >= 4 && sqliteRows.cron_jobs?.length === 1, 'the source had a conversation and a job');
  assert.deepEqual(await pgRows(shared), sqliteRows);

  const again = await runCli(['state', 'import', file], testEnv(home(), { HEARTH_DATABASE_URL: database.url }));
  assert.notEqual(again.code, 0, 'a database that holds state is never copied into');
  assert.match(again.stderr, /already holds state \(rows in sessions\): copy into a new, empty database/u);

  const moved = await startTestGateway({ home: target, env: { HEARTH_DATABASE_URL: database.url } });
  try {
    const mark = model.requests.length;
    assert.equal(await send(moved.url, moved.token, 'third question'), 'echo: third question');
    const request = model.requests.slice(mark).at(-1);
    assert.ok(request, 'the model was asked');
    const asked = (request.body as { messages: { role: string; content: string }[] }).messages.filter((message) => message.role !== 'system');
    assert.deepEqual(asked.map((message) => message.content), ['first question', 'echo: first question', 'second question', 'echo: second question', 'third question'], 'the history came along, and new lines get new ids');
    const jobs = await runCli(['cron', 'list'], testEnv(target, { HEARTH_GATEWAY_URL: moved.url, HEARTH_DATABASE_URL: database.url }));
    assert.match(jobs.stdout, /morning/u);
  } finally {
    await moved.stop();
  }
});
