import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CronJob, CronJobSpec, CronRunRecord, EscalationPolicy } from '../contracts/automation.js';
import type { Store } from '../contracts/store.js';
import type { Clock } from '../runtime/clock.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { startHookReceiver } from '../../test/support/hook-receiver.js';
import { createAlertSink } from './alerts.js';
import { type CronRunOutcome, type CronSchedulerDeps, createCronScheduler } from './cron-scheduler.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-21T08:00:00Z');

/** A clock whose time moves only when the test says so; timers fire in time order. */
function fakeClock(start = T0) {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let fired = 0;
  const clock: Clock & {
    advanceTo(at: number): Promise<void>;
    advance(ms: number): Promise<void>;
    pending(): number;
    fired(): number;
    /** How late timers fire (a busy or suspended machine). */
    lateness: number;
    /** Awaited before each timer fires (the scheduler's runs finish in real time). */
    idle: () => Promise<void>;
  } = {
    lateness: 0,
    idle: async () => {},
    now: () => now,
    setTimer(fn, ms) {
      seq++;
      timers.set(seq, { at: now + ms, fn });
      return seq;
    },
    clearTimer(handle) {
      timers.delete(handle as number);
    },
    async advanceTo(at) {
      for (;;) {
        await settle();
        await clock.idle();
        let earliest: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= at && (!earliest || entry[1].at < earliest[1].at)) earliest = entry;
        if (!earliest) break;
        timers.delete(earliest[0]);
        now = Math.max(now, earliest[1].at + clock.lateness);
        fired++;
        earliest[1].fn();
      }
      now = at;
      await settle();
    },
    advance(ms) {
      return this.advanceTo(now + ms);
    },
    pending: () => timers.size,
    fired: () => fired,
  };
  return clock;
}

/** Lets store writes (committed on setImmediate) and the promises after them run. */
async function settle() {
  for (let index = 0; index < 6; index++) await new Promise((resolve) => setImmediate(resolve));
}

const escalation: EscalationPolicy = { alertAfterConsecutiveErrors: 2, disableAfterConsecutiveErrors: 3, backoffMaxMs: HOUR };

const spec = (overrides: Partial<CronJobSpec> = {}): CronJobSpec => ({
  name: 'digest',
  agentId: 'main',
  schedule: { kind: 'every', everyMs: HOUR },
  message: 'Summarise the news',
  session: 'isolated',
  delivery: { kind: 'none' },
  misfire: 'skip',
  catchUpWindowMs: 3 * HOUR,
  ...overrides,
});

interface Harness {
  store: Store;
  clock: ReturnType<typeof fakeClock>;
  executed: CronRunRecord[];
  alerts: { dedupeKey: string; payload: Record<string, unknown> }[];
  scheduler: ReturnType<typeof createCronScheduler>;
  outcome: (job: CronJob, run: CronRunRecord) => Promise<CronRunOutcome>;
}

function withHarness(fn: (h: Harness, reopen: (clock?: ReturnType<typeof fakeClock>) => Promise<Harness>) => Promise<void>, extra: Partial<CronSchedulerDeps> = {}) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-cron-'));
    const stores: Store[] = [];
    const make = async (clock: ReturnType<typeof fakeClock>): Promise<Harness> => {
      const store = createSqliteStore({ path: join(dir, 'state.sqlite') });
      stores.push(store);
      const harness: Harness = {
        store,
        clock,
        executed: [],
        alerts: [],
        outcome: async () => ({ status: 'ok' }),
        scheduler: undefined as never,
      };
      harness.scheduler = createCronScheduler({
        store,
        clock,
        logger: { info() {}, warn() {}, error() {} },
        escalation: () => escalation,
        alerts: {
          raise: async (request) => {
            harness.alerts.push({ dedupeKey: request.dedupeKey, payload: request.payload });
          },
        },
        execute: (job, run) => {
          harness.executed.push({ ...run });
          return harness.outcome(job, run);
        },
        resume: async () => ({ status: 'ok' }),
        retryBaseMs: 1000,
        ...extra,
      });
      return harness;
    };
    const first = await make(fakeClock());
    await first.scheduler.start();
    try {
      await fn(first, async (clock) => {
        const next = await make(clock ?? fakeClock(first.clock.now()));
        return next;
      });
    } finally {
      for (const store of stores) await store.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const statuses = (entries: CronRunRecord[]) => entries.map((entry) => `${entry.status}${entry.count > 1 ? `×${entry.count}` : ''}`);

test(
  'an every job runs on its grid: late starts do not push later runs (no drift), and each run is in the ledger',
  withHarness(async (h) => {
    const job = await h.scheduler.add(spec({ schedule: { kind: 'every', everyMs: 10 * MIN } }));
    assert.equal(job.state.nextRunAt, T0 + 10 * MIN);
    // Every timer fires 3 minutes late (a suspended laptop, a blocked event loop).
    h.clock.lateness = 3 * MIN;
    await h.clock.advanceTo(T0 + 45 * MIN);
    await h.scheduler.idle();
    assert.deepEqual(
      h.executed.map((run) => (run.scheduledAt - T0) / MIN),
      [10, 20, 30, 40],
    );
    assert.deepEqual(
      h.executed.map((run) => ((run.startedAt ?? 0) - run.scheduledAt) / MIN),
      [3, 3, 3, 3],
    );
    const ledger = await h.scheduler.runs({ jobId: job.id, limit: 20 });
    assert.deepEqual(statuses(ledger.filter((entry) => entry.status !== 'scheduled')), ['ok', 'ok', 'ok', 'ok']);
    const upcoming = ledger.find((entry) => entry.status === 'scheduled');
    assert.equal(upcoming?.scheduledAt, T0 + 50 * MIN, 'the next occurrence is in the ledger as scheduled');
    assert.equal(h.scheduler.get(job.id)?.state.lastSuccessAt !== null, true);
    const [row] = (await h.scheduler.audit()).jobs;
    assert.deepEqual(
      { ok: row?.ok, errors: row?.errors, failureRate: row?.failureRate, driftAvgMs: row?.driftAvgMs, driftMaxMs: row?.driftMaxMs },
      { ok: 4, errors: 0, failureRate: 0, driftAvgMs: 3 * MIN, driftMaxMs: 3 * MIN },
      'the audit shows how late the runs started',
    );
  }),
);

test(
  'a cron expression runs at its local time in its IANA time zone',
  withHarness(async (h) => {
    const job = await h.scheduler.add(spec({ schedule: { kind: 'cron', expr: '0 9 * * *', tz: 'Europe/Berlin' } }));
    // 21 Nov: Berlin is UTC+1, so 09:00 there is 08:00Z, which is T0 itself; the next is the day after.
    assert.equal(new Date(job.state.nextRunAt!).toISOString(), '2026-11-21T08:00:00.000Z');
    await h.clock.advance(2 * 86_400_000);
    await h.scheduler.idle();
    assert.deepEqual(
      h.executed.map((run) => new Date(run.scheduledAt).toISOString()),
      ['2026-11-21T08:00:00.000Z', '2026-11-22T08:00:00.000Z', '2026-11-23T08:00:00.000Z'],
    );
    const newYork = await h.scheduler.edit(job.id, { schedule: { kind: 'cron', expr: '0 9 * * *', tz: 'America/New_York' } });
    assert.equal(new Date(newYork.state.nextRunAt!).toISOString(), '2026-11-23T14:00:00.000Z');
  }),
);

for (const [policy, expectRuns, expectLedger] of [
  ['skip', [] as number[], ['missed×5']],
  ['run-once', [13], ['missed×4', 'ok']],
  ['catch-up', [11, 12, 13], ['missed×2', 'ok', 'ok', 'ok']],
] as const) {
  test(
    `restart after the scheduled times with misfire "${policy}": ${expectRuns.length} run(s), the rest recorded as missed`,
    withHarness(async (h, reopen) => {
      // Hourly from 09:00; the gateway stops at 08:30 and starts again at 13:00:30, right in the
      // scheduled minute: 09:00…13:00 (5 occurrences) fell while it was down.
      const job = await h.scheduler.add(spec({ misfire: policy, catchUpWindowMs: 2 * HOUR + MIN, schedule: { kind: 'every', everyMs: HOUR, anchorAt: T0 + HOUR } }));
      await h.clock.advance(30 * MIN);
      h.scheduler.stop();
      const later = await reopen(fakeClock(T0 + 5 * HOUR + 30_000));
      await later.scheduler.start();
      await later.scheduler.idle();
      await settle();
      assert.deepEqual(
        later.executed.map((run) => new Date(run.scheduledAt).getUTCHours()),
        expectRuns,
      );
      const ledger = (await later.scheduler.runs({ jobId: job.id, limit: 50 })).filter((entry) => entry.status !== 'scheduled').reverse();
      assert.deepEqual(statuses(ledger), expectLedger);
      const missed = ledger.find((entry) => entry.status === 'missed');
      assert.match(missed?.reason ?? '', /the gateway was not running at 2026-11-21T09:00:00.000Z/u);
      assert.equal(later.scheduler.get(job.id)?.state.nextRunAt, T0 + 6 * HOUR, 'the schedule continues at the next hour');
      for (const run of later.executed) assert.equal(run.trigger, 'misfire');
      for (const entry of ledger.filter((item) => item.status === 'ok')) assert.equal(entry.trigger, 'misfire', 'the ledger says why it ran late');
    }),
  );
}

test(
  'catch-up runs at most cron.maxCatchUpRuns missed occurrences, the newest ones, and says why the older were skipped',
  withHarness(
    async (h, reopen) => {
      const job = await h.scheduler.add(spec({ misfire: 'catch-up', catchUpWindowMs: 10 * HOUR, schedule: { kind: 'every', everyMs: HOUR, anchorAt: T0 + HOUR } }));
      h.scheduler.stop();
      // Down from 08:00 to 13:00:30: 09:00…13:00 (5 occurrences) fell inside the 10-hour window.
      const later = await reopen(fakeClock(T0 + 5 * HOUR + 30_000));
      await later.scheduler.start();
      await later.scheduler.idle();
      await settle();
      assert.deepEqual(
        later.executed.map((run) => new Date(run.scheduledAt).getUTCHours()),
        [12, 13],
      );
      const ledger = (await later.scheduler.runs({ jobId: job.id, limit: 50 })).filter((entry) => entry.status !== 'scheduled').reverse();
      assert.deepEqual(statuses(ledger), ['missed×3', 'ok', 'ok']);
      assert.match(ledger[0]?.reason ?? '', /older than the catch-up window \(10h\) or beyond the last 2/u);
    },
    { maxCatchUpRuns: 2 },
  ),
);

test(
  'a one-shot job whose time passed while stopped: "skip" records it missed and it never runs',
  withHarness(async (h, reopen) => {
    const job = await h.scheduler.add(spec({ schedule: { kind: 'at', at: '2026-11-21T09:00:00Z' } }));
    h.scheduler.stop();
    const later = await reopen(fakeClock(T0 + 2 * HOUR));
    await later.scheduler.start();
    await later.clock.advance(24 * HOUR);
    assert.equal(later.executed.length, 0);
    const state = later.scheduler.get(job.id)?.state;
    assert.equal(state?.nextRunAt, null);
    assert.equal(state?.finished, true);
    assert.deepEqual(statuses(await later.scheduler.runs({ jobId: job.id, limit: 5 })), ['missed']);
  }),
);

test(
  'a failing job is retried with backoff, alerts once, then is disabled and stays listed with its reason',
  withHarness(async (h) => {
    h.outcome = async () => ({ status: 'error', error: 'PROVIDER_NETWORK: the model server refused the connection' });
    const job = await h.scheduler.add(spec({ schedule: { kind: 'every', everyMs: HOUR } }));
    await h.clock.advance(HOUR);
    await h.scheduler.idle();
    assert.equal(h.executed.length, 1);
    assert.equal(h.scheduler.get(job.id)?.state.nextRunAt, T0 + HOUR + 1000, 'retried 1 s later');
    await h.clock.advance(1000);
    await h.scheduler.idle();
    assert.equal(h.executed.length, 2);
    assert.equal(h.executed[1]?.trigger, 'retry');
    assert.deepEqual(h.alerts.map((alert) => alert.payload.action), ['alert']);
    assert.equal(h.scheduler.get(job.id)?.state.nextRunAt, T0 + HOUR + 1000 + 2000, 'the backoff doubles');
    await h.clock.advance(2000);
    await h.scheduler.idle();
    assert.equal(h.executed.length, 3);
    const state = h.scheduler.get(job.id)!.state;
    assert.equal(state.enabled, false);
    assert.match(state.disabledReason ?? '', /disabled after 3 consecutive errors .*hearth cron edit/u);
    assert.deepEqual(
      h.alerts.map((alert) => alert.payload),
      [
        { event: 'cron.escalation', jobId: job.id, jobName: 'digest', agentId: 'main', consecutiveErrors: 2, action: 'alert', lastError: 'PROVIDER_NETWORK: the model server refused the connection', lastSuccessAt: null },
        { event: 'cron.escalation', jobId: job.id, jobName: 'digest', agentId: 'main', consecutiveErrors: 3, action: 'disabled', lastError: 'PROVIDER_NETWORK: the model server refused the connection', lastSuccessAt: null },
      ],
    );
    await h.clock.advance(5 * HOUR);
    assert.equal(h.executed.length, 3, 'a disabled job does not run');
    assert.equal(h.scheduler.list().length, 1, 'it stays listed');
    const [audited] = (await h.scheduler.audit()).jobs;
    assert.deepEqual({ runs: audited?.runs, errors: audited?.errors, failureRate: audited?.failureRate, enabled: audited?.enabled }, { runs: 3, errors: 3, failureRate: 1, enabled: false });
    assert.deepEqual(h.scheduler.health(), { total: 1, healthy: 0, degraded: 0, disabled: 1, problems: [{ id: job.id, name: 'digest', reason: state.disabledReason }] });
    // Enabled again and fixed: it runs and a new streak would alert again.
    h.outcome = async () => ({ status: 'ok' });
    await h.scheduler.edit(job.id, { enabled: true });
    await h.clock.advance(HOUR);
    await h.scheduler.idle();
    assert.equal(h.scheduler.get(job.id)?.state.consecutiveErrors, 0);
    assert.equal(h.scheduler.health().healthy, 1);
  }),
);

test(
  'occurrences inside a backoff are recorded as skipped with the reason, not silently dropped',
  withHarness(
    async (h) => {
      h.outcome = async () => ({ status: 'error', error: 'boom' });
      const job = await h.scheduler.add(spec({ schedule: { kind: 'every', everyMs: MIN }, escalation: { disableAfterConsecutiveErrors: 10, alertAfterConsecutiveErrors: 10 } }));
      await h.clock.advance(MIN);
      await h.scheduler.idle();
      // The first retry comes 5 minutes later: the four minutely occurrences before it are skipped.
      const ledger = (await h.scheduler.runs({ jobId: job.id, limit: 10 })).filter((entry) => entry.status === 'skipped');
      assert.equal(ledger[0]?.count, 5);
      assert.match(ledger[0]?.reason ?? '', /backing off after 1 consecutive error; retrying at/u);
    },
    { retryBaseMs: 5 * MIN },
  ),
);

test(
  'a job whose budget is spent is skipped with that reason and never reaches its agent; a manual run reports it',
  withHarness(
    async (h) => {
      const job = await h.scheduler.add(spec({ schedule: { kind: 'every', everyMs: HOUR } }));
      await h.clock.advance(HOUR);
      await h.scheduler.idle();
      assert.equal(h.executed.length, 0);
      const skipped = (await h.scheduler.runs({ jobId: job.id, limit: 10 })).find((entry) => entry.status === 'skipped');
      assert.equal(skipped?.reason, 'The daily budget of cron job x is used up');
      assert.equal(h.scheduler.get(job.id)?.state.consecutiveErrors, 0, 'a spent budget is not an error');
      const { done } = await h.scheduler.runNow(job.id);
      assert.deepEqual(
        { status: (await done)?.status, trigger: (await done)?.trigger, reason: (await done)?.reason },
        { status: 'skipped', trigger: 'manual', reason: 'The daily budget of cron job x is used up' },
      );
    },
    { blockedReason: async () => 'The daily budget of cron job x is used up' },
  ),
);

test(
  'an occurrence due while the previous run still runs is skipped with that reason',
  withHarness(async (h) => {
    let release!: () => void;
    h.outcome = () =>
      new Promise((resolve) => {
        release = () => resolve({ status: 'ok' });
      });
    const job = await h.scheduler.add(spec({ schedule: { kind: 'every', everyMs: MIN } }));
    await h.clock.advance(2 * MIN);
    release();
    await h.scheduler.idle();
    const entries = await h.scheduler.runs({ jobId: job.id, limit: 10 });
    const skipped = entries.find((entry) => entry.status === 'skipped');
    assert.equal(skipped?.reason, 'the previous run was still running');
    assert.equal(h.executed.length, 1);
  }),
);

test(
  'a run interrupted by a restart is finished from its turn at the next start',
  withHarness(async (h, reopen) => {
    h.outcome = () => new Promise(() => {});
    const job = await h.scheduler.add(spec({ schedule: { kind: 'every', everyMs: HOUR } }));
    await h.clock.advance(HOUR);
    h.scheduler.stop();
    const [interrupted] = await h.store.listCronRuns({ status: 'running', limit: 5 });
    assert.ok(interrupted?.turnRunId);
    const later = await reopen();
    const resumed: string[] = [];
    const scheduler = createCronScheduler({
      store: later.store,
      clock: later.clock,
      logger: { info() {}, warn() {}, error() {} },
      escalation: () => escalation,
      alerts: { raise: async () => {} },
      execute: async () => ({ status: 'ok' }),
      resume: async (turnRunId) => {
        resumed.push(turnRunId);
        return { status: 'ok' };
      },
    });
    await scheduler.start();
    await scheduler.idle();
    assert.deepEqual(resumed, [interrupted.turnRunId]);
    const entry = (await scheduler.runs({ jobId: job.id, limit: 10 })).find((item) => item.id === interrupted.id);
    assert.equal(entry?.status, 'ok');
    assert.equal(scheduler.get(job.id)?.state.lastStatus, 'ok');
  }),
);

test(
  'a job with the same name, agent and schedule is refused unless duplicates are allowed; audit lists them',
  withHarness(async (h) => {
    const first = await h.scheduler.add(spec());
    await assert.rejects(h.scheduler.add(spec({ name: ' Digest ' })), new RegExp(`same name, agent and schedule exists already \\(${first.id}\\)`, 'u'));
    await h.scheduler.add(spec({ name: 'Digest' }), { allowDuplicate: true });
    await h.scheduler.add(spec({ agentId: 'other' }));
    const audit = await h.scheduler.audit();
    assert.equal(audit.duplicates.length, 1);
    assert.equal(audit.duplicates[0]?.jobIds.length, 2);
    await assert.rejects(h.scheduler.add(spec({ name: 'x', schedule: { kind: 'cron', expr: '61 * * * *', tz: 'UTC' } })), /not valid .*minute hour day month weekday/u);
    await assert.rejects(h.scheduler.add(spec({ name: 'x', schedule: { kind: 'cron', expr: '0 9 * * *', tz: 'Mars/Olympus' } })), /not an IANA time zone/u);
  }),
);

test(
  '1,000 jobs share one timer: no polling, each occurrence runs once',
  withHarness(async (h) => {
    for (let index = 0; index < 1000; index++) {
      await h.scheduler.add(spec({ name: `job ${index}`, schedule: { kind: 'every', everyMs: (1 + (index % 10)) * MIN, anchorAt: T0 + (1 + (index % 10)) * MIN } }));
    }
    assert.equal(h.clock.pending(), 1, 'one timer for all jobs');
    h.clock.idle = () => h.scheduler.idle();
    const firedBefore = h.clock.fired();
    await h.clock.advance(10 * MIN);
    await h.scheduler.idle();
    // Jobs with period p minutes run floor(10 / p) times in 10 minutes.
    let expected = 0;
    for (let index = 0; index < 1000; index++) expected += Math.floor(10 / (1 + (index % 10)));
    assert.equal(h.executed.length, expected);
    assert.ok(h.clock.fired() - firedBefore <= 10, `the timer woke ${h.clock.fired() - firedBefore} times for 10 distinct minutes`);
    assert.equal(h.clock.pending(), 1);
  }),
);

test('an escalation reaches the webhook once with the documented payload, even when raised twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-alert-'));
  const store = createSqliteStore({ path: join(dir, 'state.sqlite') });
  const hooks = await startHookReceiver();
  hooks.failNext(503);
  const clock = fakeClock();
  const sink = createAlertSink({ store, clock, logger: { warn() {}, error() {} }, deliver: () => {} });
  try {
    const request = {
      dedupeKey: 'cron.escalation:job_1:1:alert',
      event: 'cron.escalation',
      payload: { event: 'cron.escalation', jobId: 'job_1', action: 'alert' },
      text: 'job_1 failed twice',
      webhook: `${hooks.url}/alerts`,
    };
    assert.equal((await sink.raise(request)).created, true);
    assert.equal((await sink.raise(request)).created, false);
    await sink.idle();
    assert.deepEqual(hooks.received, [], 'the first attempt got a 503');
    const [pending] = await store.pendingAlerts(clock.now() + 5000, 5);
    assert.match(pending?.lastError ?? '', /HTTP 503/u);
    await clock.advance(5000);
    await sink.idle();
    assert.deepEqual(hooks.received, [{ path: '/alerts', body: { event: 'cron.escalation', jobId: 'job_1', action: 'alert' } }]);
    const [delivered] = await sink.list(5);
    assert.equal(delivered?.status, 'delivered');
  } finally {
    await sink.stop();
    await hooks.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
