import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { sqliteMigrations } from '../../src/store/sqlite/migrations.js';
import { fakeModelConfig, type FakeModelServer } from '../support/fake-model-server.js';
import { HEARTH_BIN, runCli, waitFor, writeConfig } from '../support/gateway-harness.js';
import { makeVersion as makeVersionFolder, processAlive, serviceReady as readyService, runUpdate, type Service, serviceStatus, startService as startServiceIn, startServiceWithModel, stopServiceWithModel } from '../support/service-harness.js';

// The supervisor and `hearth update` end to end: real gateway processes from real package folders
// (copies of this build with another version number, some with a bin that misbehaves), one home,
// a client sending turns throughout.

let model: FakeModelServer;
let home: string;
let env: Record<string, string>;
let service: Service;
let url = '';
let token = '';
const dirs: string[] = [];

async function serviceReady(current: Service): Promise<void> {
  ({ url, token } = await readyService(current));
}

const makeVersion = (version: string, bin?: string) => makeVersionFolder(version, dirs, bin);
const startService = () => startServiceIn(env);

/** A bin whose gateway listens but never becomes ready; every other command is the real one. */
const NEVER_READY = `import http from 'node:http';
if (process.argv[2] === 'gateway') {
  http.createServer((request, response) => { response.writeHead(503); response.end('{"ready":false}'); }).listen({ fd: 3 });
  process.stdin.on('end', () => process.exit(0)).resume();
  process.on('SIGTERM', () => process.exit(0));
} else await import('./real-hearth.js');
`;

/**
 * A bin whose version migrates the database (one schema version past ours and a table of its
 * own, in doctor --migrate and at start) and whose gateway crashes 5 s after it starts.
 */
/** The schema version this build migrates to, and the one the crashing version adds. */
const CURRENT_SCHEMA = Math.max(...sqliteMigrations.map((migration) => migration.version));
const NEXT_SCHEMA = CURRENT_SCHEMA + 1;

const MIGRATES_THEN_CRASHES = `import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const migrate = () => {
  const Database = require('better-sqlite3');
  const db = new Database(join(process.env.HEARTH_HOME, 'state', 'hearth.sqlite'));
  db.exec("CREATE TABLE IF NOT EXISTS added_by_next (id INTEGER PRIMARY KEY); INSERT OR IGNORE INTO schema_migrations (version, name, applied_at) VALUES (${NEXT_SCHEMA}, 'added_by_next', 0)");
  db.close();
};
if (process.argv.includes('--migrate')) {
  const real = spawnSync(process.execPath, [fileURLToPath(new URL('./real-hearth.js', import.meta.url)), ...process.argv.slice(2)], { encoding: 'utf8', env: process.env });
  migrate();
  process.stdout.write(real.stdout);
  process.stderr.write(real.stderr);
  process.exit(real.status ?? 1);
}
if (process.argv[2] === 'gateway') {
  migrate();
  setTimeout(() => process.exit(70), 5000);
}
await import('./real-hearth.js');
`;

const update = (args: string[]) => runUpdate(args, env);

async function runningVersion(): Promise<string> {
  return (await serviceStatus(env)).version;
}

const ask = (content: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
  });

/** Sends turns one after another until stopped; every answer must be a 200 with the echo. */
function clientThroughout() {
  const failures: string[] = [];
  let answered = 0;
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      try {
        const response = await ask(`turn ${n}`);
        const body = (await response.json()) as { choices?: { message: { content: string } }[] };
        if (response.status !== 200 || body.choices?.[0]?.message.content !== `echo: turn ${n}`) failures.push(`turn ${n}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
        else answered++;
      } catch (error) {
        failures.push(`turn ${n}: ${error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    answered: () => answered,
    async stop() {
      running = false;
      await done;
      return { answered, failures };
    },
  };
}

function stateRows(sql: string): unknown[] {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(join(home, 'state', 'hearth.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

before(async () => {
  ({ model, home, env, service, url, token } = await startServiceWithModel());
});

after(() => stopServiceWithModel({ model, home, service }, dirs));

test('an update to a good version switches with no failed request while a client sends turns, then --rollback goes back', async () => {
  const good = makeVersion('0.1.1-good');
  const client = clientThroughout();
  await waitFor(() => client.answered() >= 5, 'turns before the update');
  const report = await update(['--to', good]);
  const afterSwitch = client.answered();
  await waitFor(() => client.answered() >= afterSwitch + 5, 'turns after the update');
  const { answered, failures } = await client.stop();
  assert.equal(report.code, 0, JSON.stringify(report, null, 2));
  assert.deepEqual(
    report.stages.map((stage) => [stage.stage, stage.ok]),
    [['staged', true], ['validated', true], ['promoted', true], ['restarted', true], ['healthy', true]],
  );
  assert.match(report.stages[0]!.message, /linked from the running version/u, 'the same dependencies are hard-linked, not installed again');
  assert.deepEqual(failures, [], `${answered} answered`);
  assert.equal(await runningVersion(), '0.1.1-good');
  assert.ok(existsSync(join(home, 'versions', '0.1.1-good', 'node_modules')), 'staged in versions/<v>/');
  const history = stateRows("SELECT COUNT(*) AS n FROM transcript WHERE role = 'user'") as { n: number }[];
  assert.ok(history[0]!.n >= answered, 'every answered turn is in the one state database');

  const back = await update(['--rollback']);
  assert.equal(back.code, 0, JSON.stringify(back, null, 2));
  assert.equal(await runningVersion(), '0.1.0');
  assert.equal((await ask('after the rollback')).status, 200);
});

test('an update to a version that never gets ready rolls back by itself, with the state intact', async () => {
  const before = stateRows('SELECT COUNT(*) AS n FROM transcript') as { n: number }[];
  const report = await update(['--to', makeVersion('0.2.0-never-ready', NEVER_READY)]);
  assert.equal(report.code, 1);
  const stages = Object.fromEntries(report.stages.map((stage) => [stage.stage, stage]));
  assert.equal(stages.validated?.ok, true);
  assert.equal(stages.promoted?.ok, true);
  assert.match(stages.failed?.message ?? '', /readiness gate: not ready within 20 s \(\/readyz answered 503/u);
  assert.equal(stages['rolled back']?.ok, true);
  assert.equal(await runningVersion(), '0.1.0');
  assert.equal((await ask('after the failed update')).status, 200);
  const afterwards = stateRows('SELECT COUNT(*) AS n FROM transcript') as { n: number }[];
  assert.equal(afterwards[0]!.n, before[0]!.n + 2, 'the rows from before are all there, plus the last exchange');
});

test('an update whose version migrates the database and then crashes after 5 s rolls back to the saved database; the other is kept aside', async () => {
  assert.equal((await ask('before the migrating version')).status, 200);
  const report = await update(['--to', makeVersion('0.3.0-crashes', MIGRATES_THEN_CRASHES)]);
  assert.equal(report.code, 1, JSON.stringify(report, null, 2));
  const stages = Object.fromEntries(report.stages.map((stage) => [stage.stage, stage]));
  assert.match(stages.validated?.message ?? '', new RegExp(`migrations ${CURRENT_SCHEMA} → ${NEXT_SCHEMA} ran on a copy`, 'u'));
  assert.equal(stages.restarted?.ok, true, 'it was ready first');
  assert.match(stages.failed?.message ?? '', /crashed on probation: it exited \(code 70\)/u);
  assert.match(stages['rolled back']?.message ?? '', /the database from before the switch is back; the one .* wrote is kept in (\S+)/u);
  assert.equal(await runningVersion(), '0.1.0');
  assert.deepEqual(stateRows('SELECT MAX(version) AS v FROM schema_migrations'), [{ v: CURRENT_SCHEMA }]);
  assert.deepEqual(stateRows("SELECT name FROM sqlite_master WHERE name = 'added_by_next'"), []);
  const snapshots = readdirSync(join(home, 'versions', 'snapshots'));
  const aside = snapshots.flatMap((dir) => readdirSync(join(home, 'versions', 'snapshots', dir)).filter((name) => name.startsWith('replaced-')));
  assert.equal(aside.length, 1, 'the database the crashing version wrote is kept');
  assert.equal((await ask('after the crash')).status, 200);
  const history = stateRows("SELECT body FROM transcript WHERE body LIKE '%before the migrating version%'");
  assert.equal(history.length, 2, 'what was answered before the update is still there');
});

test('kill -9 of the supervisor mid-switch leaves a working install: the next start undoes the switch', async () => {
  const target = makeVersion('0.4.0-slow');
  const cli = spawn(process.execPath, [HEARTH_BIN, 'update', '--to', target], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const cliExited = new Promise((resolve) => cli.on('exit', resolve));
  let printed = '';
  cli.stdout.on('data', (chunk) => {
    printed += chunk;
  });
  await waitFor(() => /restarted/u.test(printed), 'the switch to reach probation', 60_000);
  const orphan = (await serviceStatus(env)).gatewayPid;
  assert.ok(orphan !== null && processAlive(orphan), 'the new version\'s gateway runs on probation');
  service.child.kill('SIGKILL');
  await service.exited;
  await waitFor(() => !processAlive(orphan), 'the gateway whose supervisor was killed to exit by itself', 20_000);
  await cliExited;
  mkdirSync(join(home, 'versions'), { recursive: true });
  assert.ok(existsSync(join(home, 'versions', 'switch.json')), 'the journal says a switch was under way');
  service = startService();
  await serviceReady(service);
  await waitFor(() => /going back/u.test(service.output()), 'the new supervisor to undo the switch');
  assert.equal(await runningVersion(), '0.1.0');
  assert.equal(existsSync(join(home, 'versions', 'switch.json')), false);
  assert.equal((await ask('after the supervisor died')).status, 200);
});

test('hearth service install writes a user unit that runs the supervisor, keeps the variables a unit had, and holds no secret', async () => {
  const unitPath = join(home, '.config', 'systemd', 'user', 'hearth.service');
  mkdirSync(join(unitPath, '..'), { recursive: true });
  writeFileSync(unitPath, '[Service]\nEnvironment=OPENAI_API_KEY=sk-kept-as-it-was\nEnvironment="TZ=Europe/Paris"\n');
  writeConfig(home, { ...fakeModelConfig(model), models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, apiKey: 'sk-config-secret' } } } });
  const result = await runCli(['service', 'install'], env);
  assert.equal(result.code, 0, result.stderr);
  const unit = readFileSync(unitPath, 'utf8');
  assert.match(unit, new RegExp(`ExecStart=\\S+node \\S+/bin/hearth\\.js service`, 'u'));
  assert.match(unit, /RestartPreventExitStatus=78 65/u);
  assert.match(unit, /Environment=OPENAI_API_KEY=sk-kept-as-it-was/u);
  assert.match(unit, /Environment="TZ=Europe\/Paris"/u);
  assert.doesNotMatch(unit, /sk-config-secret/u, 'a secret from the config is not copied into the unit');
  assert.doesNotMatch(result.stdout, /sk-kept-as-it-was|sk-config-secret/u, 'no value is printed');
  assert.match(result.stdout, /OPENAI_API_KEY=…/u);
  assert.match(result.stdout, /systemctl --user enable --now hearth/u);
  writeConfig(home, fakeModelConfig(model));
});
