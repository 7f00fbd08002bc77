import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../contracts/store.js';

/** The task queue's part of the store contract (runStoreContract runs it on every adapter). */
export function runTaskQueueContract(name: string, createStore: () => Promise<Store>): void {
  const base = { body: 'do it', createdBy: 'planner' };

  test(`${name}: tasks: a dependency chain is claimable in order, and each claim is exclusive`, async () => {
    const store = await createStore();
    try {
      const first = await store.createTask({ ...base, id: 't1', title: 'collect invoices', now: 1000 });
      assert.equal(first.status, 'open');
      assert.equal(first.ready, true);
      const second = await store.createTask({ ...base, id: 't2', title: 'file invoices', dependsOn: ['t1'], assignees: ['filer'], deadline: 5000, now: 1001 });
      assert.deepEqual(second.dependsOn, ['t1']);
      assert.deepEqual(second.assignees, ['filer']);
      assert.equal(second.ready, false);
      await assert.rejects(store.createTask({ ...base, id: 't3', title: 'x', dependsOn: ['nope'], now: 1002 }), (error: { code?: string }) => error.code === 'BAD_REQUEST');
      await assert.rejects(store.createTask({ ...base, id: 't1', title: 'again', now: 1002 }), (error: { code?: string }) => error.code === 'CONFLICT');

      // t2 waits for t1, and only its assignee may take it.
      assert.deepEqual(await store.claimTask({ id: 't2', agentId: 'filer', claimer: 'w-filer', leaseMs: 1000, now: 1100 }).then((outcome) => !outcome.ok && outcome.reason), 'not_ready');
      const next = await store.claimTask({ agentId: 'filer', claimer: 'w-filer', leaseMs: 1000, now: 1100 });
      assert.equal(next.ok && next.task.id, 't1', 'the only ready task is t1');
      const rival = await store.claimTask({ id: 't1', agentId: 'other', claimer: 'w-other', leaseMs: 1000, now: 1101 });
      assert.equal(!rival.ok && rival.reason, 'taken');
      assert.equal((await store.claimTask({ agentId: 'other', claimer: 'w-other', leaseMs: 1000, now: 1101 })).ok, false, 'nothing else is ready');
      assert.equal((await store.finishTask({ id: 't1', claimer: 'w-other', status: 'done', result: 'stolen', now: 1102 })).ok, false, 'only the claimer finishes');
      const done = await store.finishTask({ id: 't1', claimer: 'w-filer', status: 'done', result: '3 invoices', now: 1200 });
      assert.equal(done.ok && done.task.result, '3 invoices');

      assert.equal((await store.getTask('t2'))?.ready, true);
      const notAssigned = await store.claimTask({ id: 't2', agentId: 'other', claimer: 'w-other', leaseMs: 1000, now: 1300 });
      assert.equal(!notAssigned.ok && notAssigned.reason, 'not_assigned');
      assert.equal((await store.claimTask({ agentId: 'other', claimer: 'w-other', leaseMs: 1000, now: 1300 })).ok, false);
      const claimed = await store.claimTask({ agentId: 'filer', claimer: 'w-filer', runId: 'run-2', leaseMs: 1000, now: 1300 });
      assert.ok(claimed.ok);
      assert.equal(claimed.task.id, 't2');
      assert.equal(claimed.task.claimAgent, 'filer');
      assert.equal(claimed.task.runId, 'run-2');
      assert.equal(claimed.task.leaseUntil, 2300);
      // The task's own turn may finish it (the task tool in that turn does not hold the worker's claim).
      const byRun = await store.finishTask({ id: 't2', claimer: 'session:task:t2', runId: 'run-2', status: 'failed', result: 'no access', now: 1400 });
      assert.equal(byRun.ok && byRun.task.status, 'failed');
      assert.equal((await store.finishTask({ id: 't2', claimer: 'w-filer', status: 'done', result: 'late', now: 1500 })).ok, false, 'a finished task stays as it was');

      assert.deepEqual((await store.listTasks({ limit: 10 })).map((task) => task.id), ['t2', 't1'], 'newest first');
      assert.deepEqual((await store.listTasks({ status: 'done', limit: 10 })).map((task) => task.id), ['t1']);
      assert.deepEqual((await store.listTasks({ agentId: 'other', limit: 10 })).map((task) => task.id), ['t1'], 't2 is only for filer');
    } finally {
      await store.close();
    }
  });

  test(`${name}: tasks: a claim whose lease ran out is re-claimed; the old claimer can neither renew nor finish it`, async () => {
    const store = await createStore();
    try {
      await store.createTask({ ...base, id: 'slow', title: 'long job', now: 1000 });
      const first = await store.claimTask({ id: 'slow', agentId: 'a', claimer: 'dead-worker', runId: 'run-1', leaseMs: 500, now: 1000 });
      assert.ok(first.ok);
      assert.equal(await store.renewTaskClaim('slow', 'dead-worker', { leaseMs: 500, now: 1400 }), true, 'renewed before it ran out: until 1900');
      assert.equal((await store.claimTask({ agentId: 'b', claimer: 'live-worker', leaseMs: 500, now: 1800 })).ok, false, 'still held');
      const again = await store.claimTask({ agentId: 'b', claimer: 'live-worker', leaseMs: 500, now: 1900 });
      assert.ok(again.ok, 'the lease ran out at 1900');
      assert.equal(again.task.attempts, 2);
      assert.equal(again.task.claimedBy, 'live-worker');
      assert.equal(again.task.runId, 'run-1', 'the previous turn is kept until the new claimer names its own');
      assert.equal(await store.renewTaskClaim('slow', 'dead-worker', { leaseMs: 500, now: 1950 }), false);
      assert.equal((await store.finishTask({ id: 'slow', claimer: 'dead-worker', status: 'done', result: 'x', now: 1950 })).ok, false);
      assert.equal(await store.renewTaskClaim('slow', 'live-worker', { leaseMs: 500, runId: 'run-2', now: 1950 }), true);
      assert.equal((await store.getTask('slow'))?.runId, 'run-2');
      // Claiming its own task again renews it without counting an attempt.
      const renewed = await store.claimTask({ id: 'slow', agentId: 'b', claimer: 'live-worker', leaseMs: 1000, now: 2000 });
      assert.equal(renewed.ok && renewed.task.attempts, 2);
      assert.equal(renewed.ok && renewed.task.leaseUntil, 3000);
      assert.equal(await store.releaseTask('slow', 'live-worker', 2100), true);
      assert.equal((await store.getTask('slow'))?.status, 'open');
      const cancelled = await store.cancelTask('slow', 'not needed', 2200);
      assert.equal(cancelled?.status, 'cancelled');
      assert.equal(cancelled?.result, 'not needed');
      assert.equal((await store.claimTask({ id: 'slow', agentId: 'b', claimer: 'live-worker', leaseMs: 500, now: 2300 }).then((outcome) => !outcome.ok && outcome.reason)), 'finished');
      assert.equal(await store.cancelTask('missing', 'x', 2300), null);
    } finally {
      await store.close();
    }
  });

  test(`${name}: tasks: pruning deletes finished tasks and their dependency rows, keeping what an unfinished task depends on`, async () => {
    const store = await createStore();
    try {
      const finish = async (id: string, status: 'done' | 'failed', now: number) => {
        assert.ok((await store.claimTask({ id, agentId: 'a', claimer: 'w', leaseMs: 1000, now })).ok);
        assert.ok((await store.finishTask({ id, claimer: 'w', status, result: status, now })).ok);
      };
      await store.createTask({ ...base, id: 'failed-parent', title: 'x', now: 1000 });
      await finish('failed-parent', 'failed', 1100);
      await store.createTask({ ...base, id: 'blocked', title: 'x', dependsOn: ['failed-parent'], now: 1200 });
      await store.createTask({ ...base, id: 'done-parent', title: 'x', now: 1000 });
      await finish('done-parent', 'done', 1100);
      await store.createTask({ ...base, id: 'done-child', title: 'x', dependsOn: ['done-parent'], now: 1200 });
      await finish('done-child', 'done', 1300);
      await store.createTask({ ...base, id: 'new-done', title: 'x', now: 1000 });
      await finish('new-done', 'done', 5000);
      await store.createTask({ ...base, id: 'open', title: 'x', now: 500 });

      assert.equal(await store.pruneFinishedTasks(2000, 1), 1, 'at most the limit');
      assert.equal(await store.pruneFinishedTasks(2000, 10), 1);
      assert.deepEqual((await store.listTasks({ limit: 10 })).map((task) => task.id).sort(), ['blocked', 'failed-parent', 'new-done', 'open']);
      assert.equal((await store.getTask('blocked'))?.ready, false, 'its failed dependency is kept');
      await store.createTask({ ...base, id: 'done-parent', title: 'reused id', now: 6000 });
      await store.createTask({ ...base, id: 'done-child', title: 'reused id, no dependencies', now: 6001 });
      assert.equal((await store.getTask('done-child'))?.ready, true, 'no dependency row of a removed task is left over for a new task with its id');
      assert.equal(await store.cancelTask('blocked', 'gave up', 2500).then((task) => task?.status), 'cancelled');
      assert.equal(await store.pruneFinishedTasks(3000, 10), 2, 'nothing unfinished depends on the failed one now');
      assert.deepEqual((await store.listTasks({ limit: 10 })).map((task) => task.id).sort(), ['done-child', 'done-parent', 'new-done', 'open']);
    } finally {
      await store.close();
    }
  });

  test(`${name}: tasks: the most urgent ready task goes first, and of many concurrent claimers exactly one wins each task`, async () => {
    const store = await createStore();
    try {
      await store.createTask({ ...base, id: 'later', title: 'no deadline', now: 1000 });
      await store.createTask({ ...base, id: 'urgent', title: 'due soon', deadline: 2000, now: 1001 });
      const urgent = await store.claimTask({ agentId: 'a', claimer: 'w1', leaseMs: 1000, now: 1100 });
      assert.equal(urgent.ok && urgent.task.id, 'urgent');
      for (let i = 0; i < 5; i++) await store.createTask({ ...base, id: `job-${i}`, title: `job ${i}`, now: 1200 + i });
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => store.claimTask({ agentId: 'a', claimer: `racer-${i}`, leaseMs: 1000, now: 1300 })));
      const won = outcomes.flatMap((outcome) => (outcome.ok ? [outcome.task.id] : []));
      assert.equal(won.length, 6, 'six tasks were free (later and five jobs)');
      assert.equal(new Set(won).size, 6, 'no task was claimed twice');
      const single = await Promise.all(['x', 'y', 'z'].map((claimer) => store.claimTask({ id: 'urgent', agentId: 'a', claimer, leaseMs: 1000, now: 2200 })));
      assert.equal(single.filter((outcome) => outcome.ok).length, 1, 'one of three claimers of an expired task wins');
    } finally {
      await store.close();
    }
  });
}
