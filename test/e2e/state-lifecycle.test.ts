import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, writeConfig } from '../support/gateway-harness.js';

let model: FakeModelServer;
const homes: string[] = [];
const home = () => {
  const made = makeHome();
  homes.push(made);
  return made;
};

before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model?.close();
  for (const made of homes) removeHome(made);
});

/** Every row of every table, by table name. */
function tables(path: string): Record<string, unknown[]> {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path, { readonly: true });
  try {
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((row) => row.name);
    return Object.fromEntries(names.map((name) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all()]));
  } finally {
    db.close();
  }
}

test('state export while the gateway runs, then import into a new home: every table, the workspace and the config come back; secrets only with --include-secrets', async () => {
  const source = home();
  writeConfig(source, { ...fakeModelConfig(model), models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0, apiKey: 'sk-test-secret-value' } } } });
  mkdirSync(join(source, 'workspaces', 'main'), { recursive: true });
  writeFileSync(join(source, 'workspaces', 'main', 'MEMORY.md'), '# Memory\n- Ada likes tea\n');
  const gateway = await startTestGateway({ home: source });
  const env = testEnv(source, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    for (const content of ['first question', 'second question']) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
      });
      assert.equal(response.status, 200);
    }
    assert.equal((await runCli(['cron', 'add', '--name', 'morning', '--cron', '0 8 * * *', '--message', 'good morning'], env)).code, 0);
    const file = join(source, '..', `${source.split('/').pop()}-export.tar.gz`);
    const exported = await runCli(['state', 'export', file], env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /left out: config models\.providers\.fake\.apiKey/u);
    assert.match(exported.stdout, /left out: credentials\//u);
    const withSecrets = `${file}.secrets.tar.gz`;
    assert.equal((await runCli(['state', 'export', withSecrets, '--include-secrets'], env)).code, 0);
    await gateway.stop();

    const target = home();
    const imported = await runCli(['state', 'import', file], testEnv(target));
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual(tables(join(target, 'state', 'hearth.sqlite')), tables(join(source, 'state', 'hearth.sqlite')), 'every table, row for row');
    assert.equal(readFileSync(join(target, 'workspaces', 'main', 'MEMORY.md'), 'utf8'), '# Memory\n- Ada likes tea\n');
    assert.doesNotMatch(readFileSync(join(target, 'hearth.json5'), 'utf8'), /sk-test-secret-value/u);
    assert.equal(existsSync(join(target, 'credentials', 'gateway-token')), false);

    const again = await runCli(['state', 'import', file], testEnv(target));
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /is not empty \(.*hearth\.json5/u, 'a home with state is never overwritten');

    const secretHome = home();
    assert.equal((await runCli(['state', 'import', withSecrets], testEnv(secretHome))).code, 0);
    assert.match(readFileSync(join(secretHome, 'hearth.json5'), 'utf8'), /sk-test-secret-value/u);
    assert.equal(readFileSync(join(secretHome, 'credentials', 'gateway-token'), 'utf8'), readFileSync(join(source, 'credentials', 'gateway-token'), 'utf8'));

    const restarted = await startTestGateway({ home: secretHome });
    try {
      const history = await runCli(['sessions', 'history', 'agent:main:openai:direct:ada', '--json'], testEnv(secretHome, { HEARTH_GATEWAY_URL: restarted.url }));
      assert.match(history.stdout, /second question/u, 'the imported home answers with its history');
    } finally {
      await restarted.stop();
    }
  } finally {
    await gateway.kill();
  }
});
