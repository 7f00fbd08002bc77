import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import type { CronJob } from '../../contracts/automation.js';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { createSqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const job = (id: string): CronJob => ({
  id,
  spec: { name: id, agentId: 'main', schedule: { kind: 'every', everyMs: 60_000 }, message: 'm', session: 'isolated', delivery: { kind: 'none' }, misfire: 'skip', catchUpWindowMs: 0 },
  state: { enabled: true, disabledReason: null, nextRunAt: 1, nextScheduledAt: null, retrying: false, lastRunAt: null, lastStatus: null, lastSuccessAt: null, lastError: null, consecutiveErrors: 0, streakStartedAt: null, finished: false },
  createdAt: 1,
  updatedAt: 1,
});

/** Opens the same file beside the store, the way a bad import or a hand edit would change rows. */
function edit(path: string, sql: string): void {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  db.exec(sql);
  db.close();
}

test('stored rows that fail their schema are skipped whole, marked with the reason, and the mark goes when the row is written again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rows-'));
  dirs.push(dir);
  const path = join(dir, 'hearth.sqlite');
  const store = createSqliteStore({ path });
  try {
    await store.putCronJob(job('job_good'));
    await store.putCronJob(job('job_half'));
    await store.putCronJob(job('job_schedule'));
    const pairing = (senderId: string, code: string) =>
      store.requestPairing({ channel: 'telegram', accountId: 'default', senderId, senderName: null, chatId: senderId, code, now: 1000, ttlMs: 3_600_000, maxPending: 5 });
    await pairing('1', 'AAAA2222');
    await pairing('2', 'BBBB3333');
    await pairing('3', 'CCCC4444');
    assert.equal((await store.approvePairing('CCCC4444', 1500))?.senderId, '3');
    await store.raiseAlert({ dedupeKey: 'a', event: 'cron.failing', payload: { job: 'a' }, webhook: null, now: 1 });
    const broken = await store.raiseAlert({ dedupeKey: 'b', event: 'cron.failing', payload: { job: 'b' }, webhook: null, now: 2 });
    // A state that still says enabled, but whose error count is text: loading it half would crash the scheduler later.
    edit(path, `UPDATE cron_jobs SET state = json_set(state, '$.consecutiveErrors', 'many') WHERE id = 'job_half';
      UPDATE cron_jobs SET spec = json_set(spec, '$.schedule', json('{"kind":"every"}')) WHERE id = 'job_schedule';
      UPDATE pairing_requests SET expires_at = 'tomorrow' WHERE code = 'BBBB3333';
      UPDATE approved_senders SET approved_at = 'yesterday' WHERE sender_id = '3';
      UPDATE operator_alerts SET payload = '{"job": "b"' WHERE dedupe_key = 'b';`);

    assert.deepEqual((await store.listCronJobs()).map((item) => item.id), ['job_good']);
    assert.equal(await store.getCronJob('job_half'), null);
    assert.deepEqual((await store.listPairingRequests(2000)).map((request) => request.code), ['AAAA2222']);
    assert.equal(await store.approvePairing('BBBB3333', 2000), null, 'a quarantined request cannot be approved');
    assert.equal(await store.isApprovedSender('telegram', 'default', '3'), false, 'a quarantined approval does not let the sender in');
    assert.deepEqual((await store.listAlerts(10)).map((alert) => alert.dedupeKey), ['a'], 'an alert with a broken payload does not fail the list');

    const marked = await store.quarantinedRows!();
    const by = Object.fromEntries(marked.map((row) => [`${row.table} ${row.key}`, row.reason]));
    assert.deepEqual(Object.keys(by).sort(), [
      'approved_senders telegram:default:3',
      'cron_jobs job_half',
      'cron_jobs job_schedule',
      `operator_alerts ${broken.alert.id}`,
      'pairing_requests BBBB3333',
    ]);
    assert.match(by[`operator_alerts ${broken.alert.id}`] ?? '', /payload is not JSON/u);
    assert.match(by['cron_jobs job_half'] ?? '', /state: consecutiveErrors /u);
    assert.match(by['cron_jobs job_schedule'] ?? '', /spec: schedule\.everyMs /u);
    assert.match(by['pairing_requests BBBB3333'] ?? '', /expires_at /u);

    await store.putCronJob(job('job_half'));
    assert.deepEqual((await store.listCronJobs()).map((item) => item.id).sort(), ['job_good', 'job_half']);
    assert.ok(!(await store.quarantinedRows!()).some((row) => row.key === 'job_half'), 'a job written again is loaded again');
  } finally {
    await store.close();
  }
});
