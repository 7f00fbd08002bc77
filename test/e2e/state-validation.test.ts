import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

const homes: string[] = [];
after(() => {
  for (const home of homes) removeHome(home);
});

test('state that fails its schema at start: a credentials file goes to .quarantine/ with its reason, a cron row is skipped, and status and doctor name both with their location', async () => {
  const home = makeHome();
  homes.push(home);
  const channels = join(home, 'credentials', 'channels');
  mkdirSync(channels, { recursive: true, mode: 0o700 });
  writeFileSync(join(channels, 'telegram--default.json'), JSON.stringify({ botToken: 12345 }), { mode: 0o600 });
  mkdirSync(join(home, 'state'), { recursive: true, mode: 0o700 });
  const path = join(home, 'state', 'hearth.sqlite');
  const store = createSqliteStore({ path });
  await store.putCronJob({
    id: 'job_broken',
    spec: { name: 'digest', agentId: 'main', schedule: { kind: 'every', everyMs: 3_600_000 }, message: 'm', session: 'isolated', delivery: { kind: 'none' }, misfire: 'skip', catchUpWindowMs: 0 },
    state: { enabled: true, disabledReason: null, nextRunAt: Date.now() + 3_600_000, nextScheduledAt: null, retrying: false, lastRunAt: null, lastStatus: null, lastSuccessAt: null, lastError: null, consecutiveErrors: 0, streakStartedAt: null, finished: false },
    createdAt: 1,
    updatedAt: 1,
  });
  await store.close();
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  db.exec(`UPDATE cron_jobs SET state = json_set(state, '$.nextRunAt', 'soon') WHERE id = 'job_broken'`);
  db.close();

  let gateway: TestGateway | undefined;
  try {
    gateway = await startTestGateway({ home, config: {} });
    assert.ok(!existsSync(join(channels, 'telegram--default.json')), 'the invalid file is no longer read');
    const kept = readdirSync(join(home, '.quarantine'));
    const moved = kept.find((name) => /^telegram--default\.json-.*Z$/u.test(name));
    assert.ok(moved, `moved into .quarantine/: ${kept.join(', ')}`);
    assert.equal(readFileSync(join(home, '.quarantine', moved), 'utf8'), JSON.stringify({ botToken: 12345 }), 'kept as it was');
    assert.match(readFileSync(join(home, '.quarantine', `${moved}.reason`), 'utf8'), /"botToken\\" is not a string/u);

    const status = await runCli(['status'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Quarantined .*credentials\/channels\/telegram--default\.json → .*\.quarantine\/telegram--default\.json-\S+: "botToken" is not a string/u);
    assert.match(status.stdout, /Quarantined row job_broken of cron_jobs in the state database \(skipped\): state: nextRunAt /u);
    const cron = await runCli(['cron', 'list'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    assert.doesNotMatch(cron.stdout, /job_broken/u, 'the scheduler does not load it');
  } finally {
    await gateway?.stop();
  }
  const doctor = await runCli(['doctor', '--json'], testEnv(home));
  const findings = (JSON.parse(doctor.stdout) as { findings: { check: string; status: string; message: string; fix?: string }[] }).findings;
  const row = findings.find((finding) => finding.check === 'quarantine' && finding.message.includes('job_broken'));
  assert.ok(row, `doctor lists the skipped row: ${JSON.stringify(findings)}`);
  assert.equal(row.status, 'warn');
  assert.match(row.message, /^row job_broken of cron_jobs in .*state\/hearth\.sqlite has been skipped since \d{4}-.*: state: nextRunAt /u);
  assert.match(row.fix ?? '', /hearth cron rm job_broken/u);
});
