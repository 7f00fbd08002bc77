import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeHome, removeHome, runCli, testEnv } from '../support/gateway-harness.js';

const homes: string[] = [];
after(() => {
  for (const home of homes) removeHome(home);
});

interface Report {
  ok: boolean;
  findings: { check: string; status: string; message: string; fix?: string; fixed?: boolean }[];
}

test('doctor on a damaged home: names every problem and its fix; --fix repairs the safe ones and quarantines bad state files', async () => {
  const home = makeHome();
  homes.push(home);
  // Port 9 (discard) is never a Hearth gateway: the port check finds it free.
  writeFileSync(join(home, 'hearth.json5'), '{ gateway: { port: 9 }, agents: { entries: { main: {} } } }');
  chmodSync(home, 0o755);
  mkdirSync(join(home, 'credentials', 'channels'), { recursive: true, mode: 0o755 });
  writeFileSync(join(home, 'credentials', 'gateway-token'), 'abcdefghijklmnop\n', { mode: 0o644 });
  writeFileSync(join(home, 'credentials', 'channels', 'telegram--default.json'), '{ "botToken": ', { mode: 0o600 });
  mkdirSync(join(home, 'workspaces', 'old-agent'), { recursive: true });
  mkdirSync(join(home, 'state'), { recursive: true });
  writeFileSync(join(home, 'state', 'hearth.sqlite'), 'this is not a database, just bytes '.repeat(200));
  const env = testEnv(home);

  const first = await runCli(['doctor', '--json'], env);
  assert.equal(first.code, 1, 'errors make the exit code non-zero');
  const report = JSON.parse(first.stdout) as Report;
  const by = (check: string) => report.findings.filter((finding) => finding.check === check);
  assert.equal(by('config')[0]?.status, 'ok');
  assert.equal(by('home permissions')[0]?.status, 'warn');
  assert.ok(by('credentials permissions').some((finding) => finding.message.includes('gateway-token') && finding.fix?.includes('chmod 600')));
  assert.ok(by('credentials permissions').some((finding) => finding.message.includes('0700') || finding.fix?.includes('chmod 700')));
  assert.match(by('state files')[0]?.message ?? '', /telegram--default\.json cannot be used: it is not JSON/u);
  assert.equal(by('database')[0]?.status, 'error');
  assert.match(by('database')[0]?.fix ?? '', /hearth doctor --fix` copies what can be read into a new database/u);
  assert.match(by('workspaces')[0]?.message ?? '', /old-agent belongs to no configured agent/u);
  assert.equal(by('port')[0]?.status, 'ok');
  for (const finding of report.findings) if (finding.status !== 'ok') assert.ok(finding.fix, `${finding.check} names its fix`);
  assert.equal(statSync(home).mode & 0o777, 0o755, 'nothing changes without --fix');

  const fixed = await runCli(['doctor', '--fix'], env);
  assert.match(fixed.stdout, /fixed: chmod 700/u);
  assert.equal(statSync(home).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, 'credentials', 'gateway-token')).mode & 0o777, 0o600);
  assert.ok(!existsSync(join(home, 'credentials', 'channels', 'telegram--default.json')));
  const quarantined = readdirSync(join(home, '.quarantine'));
  assert.ok(quarantined.some((name) => /^telegram--default\.json-.*\.reason$/u.test(name)), 'the reason is kept beside the file');
  assert.ok(!existsSync(join(home, 'workspaces', 'old-agent')), 'the orphan workspace is moved out of workspaces/');
  assert.match(readdirSync(join(home, 'archive', 'workspaces')).join(), /^old-agent-\d{4}-/u, 'and kept under archive/workspaces/, never deleted');
  assert.match(fixed.stdout, /fixed: salvaged 0 rows into a new .*hearth\.sqlite; unreadable: .*; the damaged file is kept as/u);
  assert.ok(readdirSync(join(home, 'state')).some((name) => name.startsWith('hearth.sqlite.damaged-')), 'the unreadable database is kept aside');

  const after = JSON.parse((await runCli(['doctor', '--json'], env)).stdout) as Report;
  const remaining = after.findings.filter((finding) => finding.status !== 'ok').map((finding) => finding.check).sort();
  assert.deepEqual(remaining, ['models', 'quarantine'], 'only what needs a person is left (this home has no model)');
  const set = after.findings.find((finding) => finding.check === 'quarantine');
  assert.match(set?.message ?? '', /telegram--default\.json was set aside .* because it is not JSON .*; it is kept at .*\.quarantine\/telegram--default\.json-/u);
});

test('doctor on a healthy home with the gateway running: database current, port owned by our gateway, no errors', async () => {
  const { startTestGateway } = await import('../support/gateway-harness.js');
  const home = makeHome();
  homes.push(home);
  const { fakeModelConfig, startFakeModelServer } = await import('../support/fake-model-server.js');
  const model = await startFakeModelServer();
  const gateway = await startTestGateway({ home, config: fakeModelConfig(model) }).catch(async (error) => {
    await model.close();
    throw error;
  });
  try {
    const result = await runCli(['doctor', '--json'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.ok, true, result.stdout);
    assert.equal(result.code, 0);
    const message = (check: string) => report.findings.find((finding) => finding.check === check)?.message ?? '';
    assert.match(message('database'), /passes integrity_check/u);
    assert.match(message('migrations'), /is current/u);
    assert.match(message('port'), /our gateway runs/u);
    assert.match(message('models'), /provider 'fake' .* answered with 1 model/u);
  } finally {
    await gateway.stop();
    await model.close();
  }
});

test('doctor reports cron health from the database: a disabled job, a failing one, a damaged row and duplicate jobs, each with its fix', async () => {
  const home = makeHome();
  homes.push(home);
  mkdirSync(join(home, 'state'), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  const store = createSqliteStore({ path: join(home, 'state', 'hearth.sqlite') });
  const base = {
    spec: { name: 'digest', agentId: 'main', schedule: { kind: 'every', everyMs: 3_600_000 }, message: 'm', session: 'isolated', delivery: { kind: 'none' }, misfire: 'skip', catchUpWindowMs: 0 },
    state: { enabled: true, disabledReason: null, nextRunAt: Date.now() + 3_600_000, nextScheduledAt: null, retrying: false, lastRunAt: null, lastStatus: null, lastSuccessAt: null, lastError: null, consecutiveErrors: 0, streakStartedAt: null, finished: false },
    createdAt: 1,
    updatedAt: 1,
  } as const;
  await store.putCronJob({ ...base, id: 'job_off', state: { ...base.state, enabled: false, disabledReason: 'disabled after 5 consecutive errors (last: boom)' } } as never);
  await store.putCronJob({ ...base, id: 'job_failing', state: { ...base.state, consecutiveErrors: 2, lastError: 'PROVIDER_NETWORK: refused' } } as never);
  await store.putCronJob({ ...base, id: 'job_broken', createdAt: 2 } as never);
  await store.close();
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(join(home, 'state', 'hearth.sqlite'));
  db.prepare("UPDATE cron_jobs SET state = '{not json' WHERE id = 'job_broken'").run();
  db.close();

  const result = await runCli(['doctor', '--json'], testEnv(home));
  const report = JSON.parse(result.stdout) as Report;
  const cron = report.findings.filter((finding) => finding.check === 'cron');
  assert.deepEqual(
    cron.map((finding) => finding.status),
    ['warn', 'warn', 'error', 'warn'],
  );
  assert.match(cron[0]?.message ?? '', /"digest" \(job_off\) is disabled: disabled after 5 consecutive errors/u);
  assert.match(cron[0]?.fix ?? '', /hearth cron edit job_off --enable/u);
  assert.match(cron[1]?.message ?? '', /job_failing\) failed 2 times in a row: PROVIDER_NETWORK/u);
  assert.match(cron[2]?.message ?? '', /job_broken cannot be read/u);
  assert.match(cron[2]?.fix ?? '', /hearth cron rm job_broken/u);
  assert.match(cron[3]?.message ?? '', /cron jobs job_off, job_failing have the same name, agent and schedule: each run happens 2 times/u);
  assert.match(cron[3]?.fix ?? '', /hearth cron rm <id>/u);
  assert.equal(result.code, 1, 'an error finding fails the command');
});
