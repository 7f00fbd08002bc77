import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { connectGateway } from '../../src/cli/gateway-client.js';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { breakHeader, leafPages, overwritePages, truncateDatabase } from '../support/corrupt-sqlite.js';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

/** The exit code of a gateway refused because its database is damaged (docs/cli.md). */
const EXIT_STORE_DAMAGED = 65;
const USERS = ['ann', 'bob', 'cyd'];
const TURNS = 4;

let fake: FakeModelServer;
const homes: string[] = [];
/** A database written by the real gateway (TURNS turns for each of USERS), closed cleanly. */
let pristine: string;
/** What `chat.history` showed for each user's session before any damage. */
let before_: Record<string, string[]>;

const config = () => fakeModelConfig(fake);
const sessionOf = (user: string) => `agent:main:openai:direct:${user}`;
const dbPath = (home: string) => join(home, 'state', 'hearth.sqlite');

function newHome(): string {
  const home = makeHome();
  homes.push(home);
  return home;
}

function homeWithPristineDatabase(): string {
  const home = newHome();
  mkdirSync(join(home, 'state'), { recursive: true, mode: 0o700 });
  copyFileSync(pristine, dbPath(home));
  return home;
}

async function chat(gateway: TestGateway, user: string, text: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user, messages: [{ role: 'user', content: text }] }),
    signal: AbortSignal.timeout(10_000),
  });
}

async function histories(gateway: TestGateway): Promise<Record<string, string[]>> {
  const client = await connectGateway(gateway.url, gateway.token);
  try {
    const found: Record<string, string[]> = {};
    for (const user of USERS) {
      const result = await client.call<{ messages: { role: string; content: string }[] }>('chat.history', { sessionKey: sessionOf(user), limit: 1000 });
      found[user] = result.messages.map((message) => `${message.role}: ${message.content}`);
    }
    return found;
  } finally {
    client.close();
  }
}

/** Starts the gateway expecting it to refuse; returns its exit code and output. */
async function refusedStart(home: string): Promise<{ exitCode: number | null; output: string }> {
  let gateway: TestGateway | undefined;
  try {
    gateway = await startTestGateway({ home, config: config() });
  } catch (error) {
    return error as { exitCode: number | null; output: string };
  }
  await gateway.stop();
  assert.fail('the gateway started on a damaged database');
}

before(async () => {
  fake = await startFakeModelServer();
  const home = newHome();
  const gateway = await startTestGateway({ home, config: config() });
  try {
    for (let turn = 0; turn < TURNS; turn++) {
      for (const user of USERS) assert.equal((await chat(gateway, user, `message ${turn} from ${user}`)).status, 200);
    }
    before_ = await histories(gateway);
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
  pristine = join(home, 'pristine.sqlite');
  copyFileSync(dbPath(home), pristine);
});

after(async () => {
  await fake?.close();
  for (const home of homes) removeHome(home);
});

test('damaged pages: the gateway refuses to start (exit 65, naming hearth doctor); doctor --fix salvages into a new database, keeps the damaged one, and the gateway starts with every session and its history', async () => {
  const home = homeWithPristineDatabase();
  // The index over the transcript is damaged; the rows themselves are intact and can be salvaged.
  const { pageSize, pages } = leafPages(dbPath(home), 'transcript_by_session');
  assert.ok(pages.length > 0);
  overwritePages(dbPath(home), pageSize, pages);

  const refused = await refusedStart(home);
  assert.equal(refused.exitCode, EXIT_STORE_DAMAGED, refused.output);
  assert.match(refused.output, /hearth\.sqlite is damaged: .*page \d+/u, 'SQLite says which page');
  assert.match(refused.output, /Run `hearth doctor` to see the damage, then `hearth doctor --fix`/u);

  const env = testEnv(home, { HEARTH_GATEWAY_URL: 'http://127.0.0.1:9' });
  const checked = await runCli(['doctor', '--json'], env);
  assert.equal(checked.code, 1);
  const finding = (JSON.parse(checked.stdout) as { findings: { check: string; status: string; message: string; fix?: string }[] }).findings.find(
    (item) => item.check === 'database',
  );
  assert.equal(finding?.status, 'error');
  assert.match(finding?.fix ?? '', /hearth doctor --fix/u);

  const fixed = await runCli(['doctor', '--fix'], env);
  assert.match(fixed.stdout, /fixed: salvaged \d+ rows into a new .*hearth\.sqlite; every row was readable; the damaged file is kept as .*hearth\.sqlite\.damaged-/u);
  const kept = readdirSync(join(home, 'state')).filter((name) => /^hearth\.sqlite\.damaged-[\dT-]+Z$/u.test(name));
  assert.equal(kept.length, 1, 'the damaged file is kept aside');

  const gateway = await startTestGateway({ home, config: config() });
  try {
    assert.deepEqual(await histories(gateway), before_, 'every session and its history is back');
    const answer = await chat(gateway, 'ann', 'and now?');
    assert.equal(answer.status, 200, 'turns work again');
    const ready = await fetch(`${gateway.url}/readyz`);
    const body = (await ready.json()) as { components: Record<string, { status: string }> };
    assert.equal(body.components.store?.status, 'ok');
  } finally {
    await gateway.stop();
  }
});

for (const [name, damage] of [
  ['a truncated file', (path: string) => truncateDatabase(path, 0.5)],
  ['a broken header', (path: string) => breakHeader(path)],
] as const) {
  test(`${name}: the gateway refuses to start with exit 65 and the way out, not SQLite's words alone; doctor --fix salvages and it starts`, async () => {
    const home = homeWithPristineDatabase();
    damage(dbPath(home));
    const refused = await refusedStart(home);
    assert.equal(refused.exitCode, EXIT_STORE_DAMAGED, refused.output);
    assert.match(refused.output, /is damaged: (database disk image is malformed|file is not a database)/u);
    assert.match(refused.output, /`hearth doctor --fix` to salvage/u);

    const fixed = await runCli(['doctor', '--fix'], testEnv(home, { HEARTH_GATEWAY_URL: 'http://127.0.0.1:9' }));
    assert.match(fixed.stdout, /fixed: salvaged \d+ rows/u, fixed.stdout);
    assert.ok(existsSync(dbPath(home)));
    const gateway = await startTestGateway({ home, config: config() });
    try {
      const sessions = await histories(gateway);
      if (name === 'a broken header') assert.deepEqual(sessions, before_, 'behind a broken header every row is readable');
      assert.equal((await chat(gateway, 'ann', 'still there?')).status, 200, 'turns work again');
    } finally {
      await gateway.stop();
    }
  });
}

test('pages damaged while the gateway runs: the failing turn is a STORE_ERROR, /readyz turns 503 with the store down, and status shows it', async () => {
  const home = homeWithPristineDatabase();
  const gateway = await startTestGateway({ home, config: config() });
  try {
    const ready = await fetch(`${gateway.url}/readyz`);
    assert.equal(ready.status, 200);

    const { pageSize, pages } = leafPages(dbPath(home), 'transcript');
    overwritePages(dbPath(home), pageSize, pages);
    // A commit from another connection makes the gateway drop its page cache and read the file again.
    const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
    const other = new Database(dbPath(home));
    other.prepare("INSERT INTO daily_spend (day, scope, tokens, cost_usd) VALUES ('2000-01-01', 'test', 0, 0)").run();
    other.close();

    const failed = await chat(gateway, 'ann', 'are you there?');
    assert.equal(failed.status, 500);
    const error = ((await failed.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'STORE_ERROR');
    assert.match(error.message, /damaged.*hearth doctor --fix/u);

    const red = await fetch(`${gateway.url}/readyz`);
    assert.equal(red.status, 503);
    const store = ((await red.json()) as { components: Record<string, { status: string; detail: string }> }).components.store;
    assert.equal(store?.status, 'down');
    assert.match(store?.detail ?? '', /is damaged .*hearth doctor --fix/u);

    const status = await runCli(['status'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    assert.match(status.stdout, /Store +sqlite down: .*is damaged/u);
  } finally {
    await gateway.stop();
  }
});
