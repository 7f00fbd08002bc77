import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { type FakeModelServer, fakeModelConfig, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/pg-test-database.js';
import { postgresMigrations } from '../../src/store/postgres/postgres-migrations.js';

let model: FakeModelServer;
let database: TestDatabase;
let home: string;
let gateway: TestGateway | undefined;

interface WireMessage {
  role: string;
  content: string | null;
}

before(async () => {
  model = await startFakeModelServer({
    defaultStep: (request: RecordedRequest) => {
      const messages = (request.body as { messages: WireMessage[] }).messages;
      return { text: `echo: ${String(messages.at(-1)?.content)}` };
    },
  });
  database = await createTestDatabase('hearth_e2e');
  home = makeHome();
});

after(async () => {
  await gateway?.stop();
  await model?.close();
  await database?.drop();
  if (home) removeHome(home);
});

const start = () => startTestGateway({ home, config: { ...fakeModelConfig(model), store: { kind: 'postgres' } }, env: { HEARTH_DATABASE_URL: database.url } });

async function send(target: TestGateway, content: string): Promise<string> {
  const response = await fetch(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
  });
  const body = (await response.json()) as { choices?: { message: { content: string } }[]; error?: { message: string } };
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.choices?.[0]?.message.content ?? '';
}

test('a gateway on PostgreSQL: chat turns persist across a restart, and /readyz reports the postgres store', async () => {
  gateway = await start();
  assert.equal(await send(gateway, 'first question'), 'echo: first question');
  assert.equal(await send(gateway, 'second question'), 'echo: second question');
  const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { ready: boolean; components: Record<string, { status: string; detail?: string }> };
  assert.equal(ready.ready, true);
  assert.equal(ready.components.store?.status, 'ok');
  assert.match(ready.components.store?.detail ?? '', /^postgres /);
  assert.equal(await gateway.stop(), 0);

  gateway = await start();
  const mark = model.requests.length;
  assert.equal(await send(gateway, 'third question'), 'echo: third question');
  // The model is given the history written before the restart.
  const request = model.requests.slice(mark).at(-1);
  assert.ok(request, 'the model was asked');
  const messages = (request.body as { messages: WireMessage[] }).messages.filter((message) => message.role !== 'system');
  assert.deepEqual(
    messages.map((message) => message.content),
    ['first question', 'echo: first question', 'second question', 'echo: second question', 'third question'],
  );
  // The rows are in the database, not in the home's SQLite file.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const lines = await client.query<{ n: string }>("SELECT COUNT(*) AS n FROM transcript WHERE session_key LIKE '%ada'");
  await client.end();
  assert.equal(Number(lines.rows[0]?.n), 6);
  const doctor = await runCli(['doctor'], testEnv(home, { HEARTH_DATABASE_URL: database.url }));
  assert.match(doctor.stdout, /integrity check skipped: .*PostgreSQL/);
  assert.match(doctor.stdout, /PostgreSQL .* answers at postgres:\/\//);
  assert.match(doctor.stdout, new RegExp(`schema version ${postgresMigrations.at(-1)?.version} \\(current\\)`));
});

test('a gateway pointed at an unreachable PostgreSQL does not start, and says which setting to check', async () => {
  const other = makeHome();
  try {
    await assert.rejects(
      startTestGateway({ home: other, config: { ...fakeModelConfig(model), store: { kind: 'postgres', url: 'postgres://hearth:pw@127.0.0.1:1/hearth' } } }),
      (error: Error & { output?: string }) => {
        assert.match(error.output ?? '', /store\.url postgres:\/\/hearth:\*\*\*@127\.0\.0\.1:1\/hearth/);
        assert.match(error.output ?? '', /Check that the server runs/);
        assert.doesNotMatch(error.output ?? '', /\n\s+at /, 'no stack trace');
        return true;
      },
    );
  } finally {
    removeHome(other);
  }
});
