// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write literal ${VAR} references on purpose
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv } from '../support/gateway-harness.js';

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

function put(root: string, relative: string, text: string): void {
  mkdirSync(dirname(join(root, relative)), { recursive: true });
  writeFileSync(join(root, relative), text);
}

function sqlite(path: string, statements: string[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  for (const statement of statements) db.exec(statement);
  db.close();
}

/** A realistic ~/.openclaw: both generations of sessions and cron, two workspaces, pairing allowlists. */
function buildOpenClaw(root: string, baseUrl: string): void {
  put(
    root,
    'openclaw.json',
    `// OpenClaw config (JSON5)
{
  meta: { lastTouchedVersion: "2026.9.6" },
  gateway: { port: 18789, mode: "local" },
  models: { providers: {
    fake: { api: "openai-completions", baseUrl: "${baseUrl}", apiKey: "\${FAKE_API_KEY}", models: [{ id: "echo" }] },
    bedrockish: { api: "bedrock-converse-stream", baseUrl: "https://bedrock.example" },
  } },
  agents: {
    defaults: { model: { primary: "fake/echo", fallbacks: [] }, heartbeat: { every: "30m" } },
    entries: {
      main: { default: true },
      helper: { name: "Helper", model: "fake/echo", tools: { profile: "messaging", deny: ["group:nodes", "exec"] } },
    },
  },
  tools: { profile: "coding", elevated: { enabled: false } },
  channels: {
    telegram: { enabled: false, botToken: "123456:literal-telegram-token", dmPolicy: "pairing", allowFrom: ["111"], streaming: "partial" },
    zalo: { enabled: true },
  },
  bindings: [
    { agentId: "helper", match: { channel: "telegram", peer: { kind: "direct", id: "222" } } },
    { agentId: "helper", match: { channel: "discord", guildId: "9" } },
  ],
  hooks: { enabled: false },
}
`,
  );
  put(root, 'workspace/AGENTS.md', '# Agents\nBe brief.\n');
  put(root, 'workspace/SOUL.md', '# Soul\nCalm and kind.\n');
  put(root, 'workspace/USER.md', '# User\nAda, tea drinker.\n');
  put(root, 'workspace/MEMORY.md', '# Memory\n- Ada likes tea\n');
  put(root, 'workspace/TOOLS.md', '# Tools\nold notes\n');
  put(root, 'workspace/memory/2026-09-01.md', '- met Ada\n');
  put(root, 'workspace/skills/weather/SKILL.md', '---\nname: weather\ndescription: the weather\n---\nLook it up.\n');
  put(root, 'workspace-helper/SOUL.md', '# Helper soul\n');
  put(root, 'agents/main/sessions/sessions.json', JSON.stringify({ 'agent:main:telegram:dm:111': { sessionId: 'abc', updatedAt: 1 }, 'agent:main:cron:nightly:run:1': { sessionId: 'cronrun', updatedAt: 1 } }));
  put(
    root,
    'agents/main/sessions/abc.jsonl',
    [
      { type: 'session', id: 'abc', version: 3 },
      { type: 'message', id: '1', parentId: null, message: { role: 'user', content: 'What tea do I like?' } },
      { type: 'message', id: '2', parentId: '1', message: { role: 'assistant', content: [{ type: 'text', text: 'Earl Grey, legacy transcript.' }] } },
      { type: 'message', id: '3', parentId: '2', message: { role: 'toolResult', content: 'x' } },
    ].map((line) => JSON.stringify(line)).join('\n'),
  );
  put(root, 'agents/main/sessions/cronrun.jsonl', `${JSON.stringify({ type: 'message', message: { role: 'user', content: 'nightly' } })}\n`);
  sqlite(join(root, 'agents/main/agent/openclaw-agent.sqlite'), [
    'CREATE TABLE sessions (session_key TEXT PRIMARY KEY, session_id TEXT, updated_at INTEGER)',
    "INSERT INTO sessions VALUES ('agent:main:main', 's1', 2)",
    'CREATE TABLE transcript_entries (session_id TEXT, seq INTEGER, entry TEXT)',
    `INSERT INTO transcript_entries VALUES ('s1', 1, '${JSON.stringify({ type: 'message', message: { role: 'user', content: 'Remind me of the plan' } })}')`,
    `INSERT INTO transcript_entries VALUES ('s1', 2, '${JSON.stringify({ type: 'message', message: { role: 'assistant', content: 'The plan, from SQLite.' } })}')`,
  ]);
  put(root, 'cron/jobs.json', JSON.stringify({ version: 1, jobs: [
    { id: 'nightly', name: 'Nightly summary', enabled: true, schedule: { kind: 'cron', expr: '0 3 * * *', tz: 'UTC' }, sessionTarget: 'main', wakeMode: 'now', payload: { kind: 'systemEvent', text: 'Summarise the day' } },
    { id: 'watcher', name: 'Build watcher', schedule: { kind: 'on-exit', command: 'make' }, sessionTarget: 'isolated', payload: { kind: 'agentTurn', message: 'build done' } },
  ] }));
  sqlite(join(root, 'state/openclaw.sqlite'), [
    'PRAGMA journal_mode = WAL',
    'CREATE TABLE cron_jobs (id TEXT PRIMARY KEY, job TEXT NOT NULL)',
    `INSERT INTO cron_jobs VALUES ('hourly', '${JSON.stringify({ name: 'Hourly inbox', agentId: 'helper', schedule: { kind: 'every', everyMs: 3_600_000 }, sessionTarget: 'isolated', payload: { kind: 'agentTurn', message: 'check the inbox' } })}')`,
    `INSERT INTO cron_jobs VALUES ('backup', '${JSON.stringify({ name: 'Disk backup', schedule: { kind: 'cron', expr: '0 4 * * *' }, payload: { kind: 'command', argv: ['rsync'] } })}')`,
  ]);
  put(root, 'credentials/telegram-allowFrom.json', JSON.stringify({ version: 1, allowFrom: ['333', '444'] }));
}

/** Every file's bytes (hashed) and mtime, by relative path. */
function snapshot(root: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, prefix))) {
    const relative = prefix ? `${prefix}/${name}` : name;
    const stat = statSync(join(root, relative));
    if (stat.isDirectory()) Object.assign(out, snapshot(root, relative));
    else out[relative] = `${createHash('sha256').update(readFileSync(join(root, relative))).digest('hex')} ${stat.mtimeMs}`;
  }
  return out;
}

test('hearth import openclaw: dry run writes nothing; the import brings config, workspaces, cron jobs and senders, names what it skipped, leaves the source as it was, and a second run adds nothing', async () => {
  const source = join(home(), 'openclaw');
  buildOpenClaw(source, model.openaiBaseUrl);
  const before = snapshot(source);
  const target = home();
  const env = testEnv(target, { FAKE_API_KEY: 'sk-fake' });

  const dry = await runCli(['import', 'openclaw', '--from', source, '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^Dry run: nothing was written/mu);
  assert.match(dry.stdout, /^Would import \(\d+\):/mu);
  assert.match(dry.stdout, /cron job Nightly summary/u);
  assert.deepEqual(readdirSync(target), [], 'the dry run wrote nothing');

  const first = await runCli(['import', 'openclaw', '--from', source], env);
  assert.equal(first.code, 0, first.stderr);
  const out = first.stdout;
  for (const line of [/agent main/u, /agent helper/u, /provider fake/u, /channel telegram/u, /binding helper ← telegram/u, /workspace main\/SOUL\.md/u, /workspace main\/skills\/weather\/SKILL\.md/u, /workspace helper\/SOUL\.md/u, /cron job Nightly summary \(as openclaw-nightly\)/u, /cron job Hourly inbox/u, /approved sender telegram:default:333/u, /session agent:main:telegram:dm:111 \(1 turns\) .*abc\.jsonl\] — as agent:main:telegram:direct:111; 1 tool or other entries left out/u, /session agent:main:main \(1 turns\) .*openclaw-agent\.sqlite#sessions/u]) {
    assert.match(out, line);
  }
  for (const skipped of [/provider bedrockish .*openclaw\.json#models\.providers\.bedrockish\] — api "bedrock-converse-stream" has no Hearth equivalent/u, /channel zalo/u, /config gateway/u, /config hooks/u, /binding 1 .*guildId/u, /tool pattern group:nodes/u, /workspace main\/TOOLS\.md .*AGENTS\.md/u, /cron job Build watcher .*on-exit/u, /cron job Disk backup .*command/u, /session agent:main:cron:nightly:run:1 .*Hearth has no session of this kind/u, /telegram setting streaming/u]) {
    assert.match(out, skipped);
  }
  assert.match(out, /telegram account default credentials \(botToken\).*saved to Hearth's credentials/u);
  const config = readFileSync(join(target, 'hearth.json5'), 'utf8');
  assert.doesNotMatch(config, /literal-telegram-token/u, 'the literal token goes to credentials/, not the config');
  assert.match(config, /\$\{FAKE_API_KEY\}/u, 'a ${VAR} reference stays as it is');
  assert.equal(readFileSync(join(target, 'workspaces/main/MEMORY.md'), 'utf8'), '# Memory\n- Ada likes tea\n');
  assert.equal(existsSync(join(target, 'workspaces/main/TOOLS.md')), false);

  const store = createSqliteStore({ path: join(target, 'state', 'hearth.sqlite') });
  try {
    assert.equal(await store.isApprovedSender('telegram', 'default', '333'), true);
    assert.equal(await store.isApprovedSender('telegram', 'default', '444'), true);
    assert.deepEqual((await store.listCronJobs()).map((job) => job.id).sort(), ['openclaw-hourly', 'openclaw-nightly']);
  } finally {
    await store.close();
  }

  const removing = createSqliteStore({ path: join(target, 'state', 'hearth.sqlite') });
  try {
    await removing.deleteCronJob('openclaw-hourly');
    await removing.revokeApprovedSender('telegram', 'default', '444');
  } finally {
    await removing.close();
  }
  const second = await runCli(['import', 'openclaw', '--from', source], env);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stdout, /^Imported/mu, 'a second run imports nothing new');
  assert.match(second.stdout, /Already imported/u);
  assert.deepEqual(snapshot(source), before, 'the source is unchanged, bytes and mtimes');
  const after = createSqliteStore({ path: join(target, 'state', 'hearth.sqlite') });
  try {
    assert.deepEqual((await after.listCronJobs()).map((job) => job.id), ['openclaw-nightly'], 'a job removed after the import does not come back');
    assert.equal(await after.isApprovedSender('telegram', 'default', '444'), false, 'nor does a revoked sender');
  } finally {
    await after.close();
  }

  const doctor = await runCli(['doctor'], env);
  assert.equal(doctor.code, 0, `${doctor.stdout}\n${doctor.stderr}`);
  const gateway = await startTestGateway({ home: target, env: { FAKE_API_KEY: 'sk-fake' } });
  try {
    const listed = await runCli(['cron', 'list'], testEnv(target, { FAKE_API_KEY: 'sk-fake', HEARTH_GATEWAY_URL: gateway.url }));
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /Nightly summary/u);
    const legacy = await runCli(['sessions', 'history', 'agent:main:telegram:direct:111'], testEnv(target, { HEARTH_GATEWAY_URL: gateway.url }));
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.match(legacy.stdout, /What tea do I like\?/u);
    assert.match(legacy.stdout, /Earl Grey, legacy transcript\./u);
    const main = await runCli(['sessions', 'history', 'agent:main:main'], testEnv(target, { HEARTH_GATEWAY_URL: gateway.url }));
    assert.match(main.stdout, /The plan, from SQLite\./u);
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
});

test('hearth import openclaw merges into an existing config: a value Hearth already sets is kept and reported as a conflict', async () => {
  const source = join(home(), 'openclaw');
  buildOpenClaw(source, model.openaiBaseUrl);
  const target = home();
  writeFileSync(join(target, 'hearth.json5'), '// mine\n{ agents: { defaults: { model: "fake/other" } }, session: { dmScope: "main" } }\n');
  const env = testEnv(target, { FAKE_API_KEY: 'sk-fake' });
  const result = await runCli(['import', 'openclaw', '--from', source], env);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /config agents\.defaults\.model .*already sets it to "fake\/other"; the imported "fake\/echo" was not applied/u);
  assert.match(result.stdout, /hearth\.json5\.before-openclaw-import/u);
  const merged = JSON.parse(readFileSync(join(target, 'hearth.json5'), 'utf8')) as { agents: { defaults: { model: string }; entries: Record<string, unknown> }; session: { dmScope: string } };
  assert.equal(merged.agents.defaults.model, 'fake/other');
  assert.equal(merged.session.dmScope, 'main');
  assert.ok(merged.agents.entries.helper);
  assert.match(readFileSync(join(target, 'hearth.json5.before-openclaw-import'), 'utf8'), /^\/\/ mine/u);
});

test('hearth import openclaw refuses a missing source directory', async () => {
  const target = home();
  const result = await runCli(['import', 'openclaw', '--from', join(target, 'nowhere')], testEnv(target));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /No OpenClaw state directory at/u);
});
