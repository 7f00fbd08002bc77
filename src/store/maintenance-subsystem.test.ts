import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CronRunRecord } from '../contracts/automation.js';
import type { Clock } from '../runtime/clock.js';
import { createMaintenance } from './maintenance-subsystem.js';
import { createSqliteStore } from './sqlite/sqlite-store.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-12-04T08:00:00Z');

/** A clock that moves only when told; `fire()` runs the timers due by now and counts them. */
function manualClock(start: number) {
  let now = start;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let seq = 0;
  const clock: Clock & { advance(ms: number): void; fire(): number; pending(): number[] } = {
    now: () => now,
    setTimer(fn, ms) {
      timers.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimer: (handle) => timers.delete(handle as number),
    advance: (ms) => {
      now += ms;
    },
    fire() {
      const due = [...timers].filter(([, timer]) => timer.at <= now);
      for (const [id, timer] of due) {
        timers.delete(id);
        timer.fn();
      }
      return due.length;
    },
    pending: () => [...timers.values()].map((timer) => timer.at - now),
  };
  return clock;
}

function ledgerEntry(id: string, createdAt: number): CronRunRecord {
  return {
    id,
    jobId: 'job1',
    scheduledAt: createdAt,
    startedAt: createdAt,
    finishedAt: createdAt + 10,
    status: 'ok',
    trigger: 'schedule',
    turnRunId: null,
    reason: null,
    error: null,
    count: 1,
    createdAt,
  };
}

test('the cron ledger keeps cron.historyDays and at most cron.historyMaxRows: pruned just after start and every hour after, with the settings in force', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-maintenance-'));
  const store = createSqliteStore({ path: join(dir, 'hearth.sqlite') });
  const clock = manualClock(T0);
  let historyDays = 30;
  let historyMaxRows = 10_000;
  const warnings: string[] = [];
  const maintenance = createMaintenance({ store, clock, history: () => ({ historyDays, historyMaxRows }), logger: { warn: (_details: object, message?: string) => void warnings.push(message ?? '') } });
  try {
    for (const [id, age] of [['old', 40 * DAY], ['month', 20 * DAY], ['week', 5 * DAY], ['today', DAY / 2]] as const) {
      await store.putCronRun(ledgerEntry(id, T0 - age));
    }
    const ids = async () => (await store.listCronRuns({ jobId: 'job1', limit: 10 })).map((entry) => entry.id);

    maintenance.start();
    assert.deepEqual(clock.pending(), [0], 'the first pruning is due right after start');
    assert.equal(clock.fire(), 1);
    await maintenance.prune();
    assert.deepEqual(await ids(), ['today', 'week', 'month'], 'entries older than 30 days are gone, the rest kept');
    assert.deepEqual(clock.pending(), [3600_000], 'the next pruning is an hour later');

    historyDays = 7;
    clock.advance(3600_000);
    assert.equal(clock.fire(), 1);
    await maintenance.prune();
    assert.deepEqual(await ids(), ['today', 'week'], 'a shorter cron.historyDays applies at the next pruning');

    await store.putCronRun({ ...ledgerEntry('stuck', T0 - 6 * DAY), status: 'running', finishedAt: null });
    historyMaxRows = 2;
    clock.advance(3600_000);
    assert.equal(clock.fire(), 1);
    await maintenance.prune();
    assert.deepEqual(await ids(), ['today', 'stuck'], 'over the cap the oldest finished entry goes; a running one stays however old');

    maintenance.stop();
    clock.advance(3 * 3600_000);
    assert.equal(clock.fire(), 0, 'nothing runs after stop');
    assert.deepEqual(warnings, []);
  } finally {
    maintenance.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
