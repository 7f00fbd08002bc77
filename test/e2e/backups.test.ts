import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor, writeConfig } from '../support/gateway-harness.js';
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from '../support/local-s3.js';

// Backups through the real AWS SDK against s3rver, a local S3 server, on 127.0.0.1.

let model: FakeModelServer;
let s3: LocalS3;
let s3Url = '';
const dirs: string[] = [];
const home = () => {
  const made = makeHome();
  dirs.push(made);
  return made;
};

before(async () => {
  model = await startFakeModelServer();
  s3 = await startLocalS3(['hearth-backups']);
  s3Url = s3.endpoint;
});
after(async () => {
  await s3?.close();
  await model?.close();
  for (const dir of dirs) removeHome(dir);
});

function rows(path: string): unknown[] {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT session_key, role, body FROM transcript ORDER BY id').all();
  } finally {
    db.close();
  }
}

async function someState(source: string): Promise<void> {
  const gateway = await startTestGateway({ home: source });
  try {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content: 'remember the blue door' }] }),
    });
    assert.equal(response.status, 200);
  } finally {
    await gateway.stop();
  }
}

test('backups to an S3 bucket through the AWS SDK: the newest backups.keep stay, and latest restores into an empty home', async () => {
  const source = home();
  const config = { ...fakeModelConfig(model), backups: { to: 's3://hearth-backups/node-1', keep: 2, s3: { endpoint: s3Url, region: 'us-east-1', ...LOCAL_S3_CREDENTIALS } } };
  writeConfig(source, config);
  await someState(source);
  const env = testEnv(source);
  for (let i = 0; i < 3; i++) {
    const made = await runCli(['state', 'backup'], env);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /Stored hearth-\S+\.tar\.gz \(\d+ bytes\) in s3:\/\/hearth-backups\/node-1/u);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const listed = JSON.parse((await runCli(['state', 'backups', '--json'], env)).stdout) as { name: string }[];
  assert.equal(listed.length, 2, 'only the newest two are kept');

  const target = home();
  const restored = await runCli(['state', 'restore', 'latest', '--from', join(source, 'hearth.json5')], testEnv(target));
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, new RegExp(`Fetched ${listed[1]?.name.replace(/\./gu, '\\.')}`, 'u'));
  assert.deepEqual(rows(join(target, 'state', 'hearth.sqlite')), rows(join(source, 'state', 'hearth.sqlite')));
  assert.ok(JSON.stringify(rows(join(target, 'state', 'hearth.sqlite'))).includes('remember the blue door'));
});

test('backups to a folder; a backup that cannot be stored raises an operator alert and the gateway says so', async () => {
  const source = home();
  const folder = join(source, '..', `${source.split('/').pop()}-backups`);
  dirs.push(folder);
  writeConfig(source, { ...fakeModelConfig(model), backups: { to: folder, keep: 3 } });
  const made = await runCli(['state', 'backup'], testEnv(source));
  assert.equal(made.code, 0, made.stderr);
  assert.equal(readdirSync(folder).filter((name) => name.endsWith('.tar.gz')).length, 1);

  const broken = home();
  writeConfig(broken, { ...fakeModelConfig(model), backups: { to: 's3://hearth-backups/x', every: '1s', s3: { endpoint: 'http://127.0.0.1:9', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } });
  const gateway = await startTestGateway({ home: broken });
  try {
    const env = testEnv(broken, { HEARTH_GATEWAY_URL: gateway.url });
    const alert = await waitFor(
      async () => (JSON.parse((await runCli(['alerts', '--json'], env)).stdout) as { event: string; payload: { error?: string } }[]).find((item) => item.event === 'backup.failed'),
      'the backup alert',
      20_000,
    );
    assert.ok(alert.payload.error && alert.payload.error.length > 0, 'the alert says why');
    const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { components: Record<string, { status: string; detail?: string }> };
    assert.equal(ready.components.backups?.status, 'degraded');
    assert.match(ready.components.backups?.detail ?? '', /the last backup failed/u);
  } finally {
    await gateway.stop();
  }
  assert.equal(existsSync(join(broken, 'state', 'hearth.sqlite')), true);
  rmSync(folder, { recursive: true, force: true });
});

test('backups on a schedule to a folder: one every backups.every, only the newest backups.keep stay, and the newest restores a conversation from before them into a new home', async () => {
  const source = home();
  const folder = join(source, '..', `${source.split('/').pop()}-scheduled`);
  dirs.push(folder);
  writeConfig(source, fakeModelConfig(model));
  await someState(source);
  writeConfig(source, { ...fakeModelConfig(model), backups: { to: folder, every: '1s', keep: 2 } });
  const gateway = await startTestGateway({ home: source });
  const stored = () => [...gateway.output().matchAll(/backup stored .*?backup=(hearth-\S+\.tar\.gz)/gu)].map((match) => match[1] as string);
  try {
    await waitFor(() => stored().length >= 3, 'three scheduled backups', 20_000);
  } finally {
    await gateway.stop();
  }
  const made = stored();
  assert.equal(new Set(made).size, made.length, 'each backup has its own name');
  const kept = readdirSync(folder).sort();
  assert.deepEqual(kept, made.slice(-2), 'only the newest two are in the folder, and nothing half-written');

  const target = home();
  const configFile = join(source, 'hearth.json5');
  const restored = await runCli(['state', 'restore', 'latest', '--from', configFile], testEnv(target));
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, new RegExp(`Fetched ${made.at(-1)?.replace(/\./gu, '\\.')}`, 'u'));
  assert.ok(JSON.stringify(rows(join(target, 'state', 'hearth.sqlite'))).includes('remember the blue door'), 'the conversation made before the backups is in the restored home');
});
