import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import type { CronJob } from '../../contracts/automation.js';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { checkDamagedApprovalsAreSkipped } from '../store-contract.js';
import { createSqliteStore } from './sqlite-store.js';
import { approvedSenderRowSchema, checkCronJobRow, jsonObjectProblem, pairingRowSchema, rowProblem } from './stored-row-schemas.js';

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

test('exec approval requests whose row fails its schema are skipped whole and marked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rows-'));
  dirs.push(dir);
  const path = join(dir, 'hearth.sqlite');
  const store = createSqliteStore({ path });
  try {
    await checkDamagedApprovalsAreSkipped(store, async (sql) => edit(path, sql));
  } finally {
    await store.close();
  }
});

test('cron jobs of every schedule and delivery kind load back as they were saved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rows-'));
  dirs.push(dir);
  const store = createSqliteStore({ path: join(dir, 'hearth.sqlite') });
  try {
    const base = job('job_a');
    const jobs: CronJob[] = [
      { ...base, id: 'job_a', spec: { ...base.spec, schedule: { kind: 'at', at: '2026-05-01T09:00:00Z' }, delivery: { kind: 'webhook', url: 'https://example.test/hook' } } },
      {
        ...base,
        id: 'job_b',
        spec: {
          ...base.spec,
          schedule: { kind: 'cron', expr: '0 9 * * 1', tz: 'Europe/Oslo' },
          delivery: { kind: 'channel', channel: 'telegram', accountId: 'default', to: '12345', threadId: '7' },
          misfire: 'catch-up',
          catchUpWindowMs: 3_600_000,
          escalation: { alertAfterConsecutiveErrors: 3 },
          budget: { dailyTokens: 10_000, dailyCostUsd: 1.5 },
          model: 'openai/gpt-test',
        },
        state: { ...base.state, enabled: false, disabledReason: 'paused by its owner', lastStatus: 'error', lastError: 'boom', consecutiveErrors: 2, nextRunAt: null },
      },
      { ...base, id: 'job_c', spec: { ...base.spec, schedule: { kind: 'every', everyMs: 1, anchorAt: 5 }, misfire: 'run-once' } },
    ];
    for (const item of jobs) await store.putCronJob(item);
    assert.deepEqual(await store.listCronJobs(), jobs);
    assert.deepEqual(await store.quarantinedRows!(), []);
  } finally {
    await store.close();
  }
});

test('a cron job row that fails its schema is refused with the column and the field that are wrong', () => {
  const good = job('job_x');
  const spec = (change: Record<string, unknown>) => JSON.stringify({ ...good.spec, ...change });
  const state = JSON.stringify(good.state);
  const problem = (row: { spec: string; state: string }) => {
    const checked = checkCronJobRow(row);
    return checked.ok ? null : checked.problem;
  };
  const ok = checkCronJobRow({ spec: JSON.stringify(good.spec), state });
  assert.deepEqual(ok, { ok: true, spec: good.spec, state: good.state });

  const cases: [string, { spec: string; state: string }, RegExp][] = [
    ['an empty name', { spec: spec({ name: '' }), state }, /^spec: name /u],
    ['an empty agent', { spec: spec({ agentId: '' }), state }, /^spec: agentId /u],
    ['an empty session', { spec: spec({ session: '' }), state }, /^spec: session /u],
    ['an at schedule without a time', { spec: spec({ schedule: { kind: 'at', at: '' } }), state }, /^spec: schedule\.at /u],
    ['a cron schedule without an expression', { spec: spec({ schedule: { kind: 'cron', expr: '', tz: 'UTC' } }), state }, /^spec: schedule\.expr /u],
    ['a cron schedule without a time zone', { spec: spec({ schedule: { kind: 'cron', expr: '* * * * *', tz: '' } }), state }, /^spec: schedule\.tz /u],
    ['an unknown schedule kind', { spec: spec({ schedule: { kind: 'sometimes' } }), state }, /^spec: schedule\.kind /u],
    ['a channel delivery without a chat', { spec: spec({ delivery: { kind: 'channel', channel: 'telegram', accountId: 'default', to: '' } }), state }, /^spec: delivery\.to /u],
    ['a channel delivery without an account', { spec: spec({ delivery: { kind: 'channel', channel: 'telegram', accountId: '', to: '1' } }), state }, /^spec: delivery\.accountId /u],
    ['a channel delivery without a channel', { spec: spec({ delivery: { kind: 'channel', channel: '', accountId: 'default', to: '1' } }), state }, /^spec: delivery\.channel /u],
    ['a webhook delivery without an address', { spec: spec({ delivery: { kind: 'webhook', url: '' } }), state }, /^spec: delivery\.url /u],
    ['an unknown misfire policy', { spec: spec({ misfire: 'later' }), state }, /^spec: misfire /u],
    ['a spec that is not JSON', { spec: '{"name":', state }, /^spec is not JSON \(.+\)$/u],
    ['a state that is a list', { spec: spec({}), state: '[]' }, /^state: \(root\) /u],
    ['a state with a fractional error count', { spec: spec({}), state: JSON.stringify({ ...good.state, consecutiveErrors: 1.5 }) }, /^state: consecutiveErrors /u],
  ];
  for (const [name, row, expected] of cases) assert.match(problem(row) ?? 'accepted', expected, name);

  const many = problem({ spec: spec({ name: '', agentId: '', session: '', message: 1 }), state });
  assert.equal(many?.split('; ').length, 3, `at most three problems are named: ${many}`);
  assert.match(many ?? '', /^spec: name [^;]+; agentId [^;]+; message /u);
});

test('pairing requests and approved senders are refused when a code or an id is malformed, naming the column', () => {
  const request = { code: 'ABCD2345', channel: 'telegram', account_id: 'default', sender_id: '42', chat_id: '42', created_at: 1, expires_at: 2 };
  assert.equal(rowProblem(request, pairingRowSchema), null);
  assert.equal(rowProblem({ ...request, code: 'A1B2C3D4E5F6G7H8' }, pairingRowSchema), null, 'sixteen characters is the longest code');
  assert.equal(rowProblem({ ...request, code: 'AB12' }, pairingRowSchema), null, 'four characters is the shortest code');
  assert.equal(rowProblem({ ...request, sender_id: 'x'.repeat(512) }, pairingRowSchema), null);
  for (const code of ['ABC', 'A1B2C3D4E5F6G7H8J', 'abcd2345', 'ABCD-2345', ' ABCD2345', 'ABCD2345 ', '']) {
    assert.match(rowProblem({ ...request, code }, pairingRowSchema) ?? 'accepted', /^code /u, JSON.stringify(code));
  }
  assert.match(rowProblem({ ...request, channel: '' }, pairingRowSchema) ?? 'accepted', /^channel /u);
  assert.match(rowProblem({ ...request, chat_id: 'x'.repeat(513) }, pairingRowSchema) ?? 'accepted', /^chat_id /u);
  assert.match(rowProblem({ ...request, created_at: null }, pairingRowSchema) ?? 'accepted', /^created_at /u);
  const many = rowProblem({ ...request, channel: '', account_id: '', sender_id: '', chat_id: '' }, pairingRowSchema);
  assert.match(many ?? '', /^channel [^;]+; account_id [^;]+; sender_id [^;]+$/u, 'at most three problems, joined in one line');

  const approved = { channel: 'telegram', account_id: 'default', sender_id: '42', approved_at: 5 };
  assert.equal(rowProblem(approved, approvedSenderRowSchema), null);
  assert.match(rowProblem({ ...approved, account_id: '' }, approvedSenderRowSchema) ?? 'accepted', /^account_id /u);
  assert.match(rowProblem({ ...approved, approved_at: '5' }, approvedSenderRowSchema) ?? 'accepted', /^approved_at /u);

  assert.equal(jsonObjectProblem('payload', '{"job":"a"}'), null);
  assert.match(jsonObjectProblem('payload', '[1]') ?? 'accepted', /^payload: \(root\) /u);
  assert.match(jsonObjectProblem('payload', 'nope') ?? 'accepted', /^payload is not JSON /u);
});
