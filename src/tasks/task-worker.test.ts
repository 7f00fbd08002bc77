import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Store } from '../contracts/store.js';
import type { ToolContext } from '../contracts/tool.js';
import type { TurnOutcome, TurnRequest } from '../sessions/turn-service.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createTaskTool } from './task-tool.js';
import { createTaskWorker, type TaskWorkerSettings } from './task-worker.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-tasks-'));
let counter = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { info() {}, warn() {} };

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A turn service that records what it was asked and answers each turn through `answer`. */
function fakeTurns(answer: (request: TurnRequest) => Promise<Partial<TurnOutcome>> | Partial<TurnOutcome>) {
  const waiters = new Map<string, (outcome: TurnOutcome) => void>();
  const aborts = new Map<string, () => void>();
  const submitted: TurnRequest[] = [];
  const aborted: string[] = [];
  return {
    submitted,
    aborted,
    turns: {
      async submit(request: TurnRequest) {
        submitted.push(request);
        const runId = request.runId as string;
        const finish = (outcome: Partial<TurnOutcome>) =>
          waiters.get(runId)?.({ runId, sessionKey: request.sessionKey, status: 'ok', reply: '', toolCalls: [], usage: null, modelRef: null, costUsd: null, error: null, ...outcome });
        aborts.set(runId, () => finish({ status: 'aborted', reply: '' }));
        void Promise.resolve(answer(request)).then(finish);
        return { runId, sessionKey: request.sessionKey, duplicate: false, status: 'queued' as const };
      },
      awaitRun: (runId: string) => new Promise<TurnOutcome>((resolve) => waiters.set(runId, resolve)),
      forgetRun: (runId: string) => void waiters.delete(runId),
      waitFor: (runId: string) => new Promise<TurnOutcome>((resolve) => waiters.set(runId, resolve)),
      abort(runId: string) {
        aborted.push(runId);
        aborts.get(runId)?.();
        return true;
      },
    },
  };
}

function setup(settings: Partial<TaskWorkerSettings>, answer: Parameters<typeof fakeTurns>[0]) {
  const store: Store = createSqliteStore({ path: join(dir, `worker-${counter++}.sqlite`) });
  const fake = fakeTurns(answer);
  let runs = 0;
  const worker = createTaskWorker({
    store,
    turns: fake.turns,
    settings: () => ({ take: ['builder'], leaseMs: 60_000, pollMs: 30, maxAttempts: 3, ...settings }),
    hasAgent: () => true,
    turnTimeoutMs: () => 1000,
    workerId: 'test',
    logger: quiet,
    newRunId: () => `run-${++runs}`,
  });
  return { store, worker, ...fake };
}

const toolContext = (agentId: string, sessionKey: string, runId = 'chat-run'): ToolContext => ({
  workspaceDir: dir,
  agentId,
  sessionKey,
  runId,
  signal: new AbortController().signal,
  now: () => new Date(),
});

test('two agents and a dependency chain: the planner hands two tasks to the builder, which does them in order, the second seeing the first\'s result', async () => {
  const { store, worker, submitted } = setup({}, (request) => ({ reply: `finished: ${request.text.split('\n')[0]}` }));
  const ids = ['t1', 't2'];
  const tool = createTaskTool({ store, leaseMs: () => 60_000, newId: () => ids.shift() as string });
  try {
    const planner = toolContext('planner', 'agent:planner:main');
    const first = await tool.execute({ action: 'create', title: 'collect the invoices', instructions: 'List every invoice in inbox/', assignees: ['builder'] }, planner);
    assert.equal(first.isError, undefined, first.content);
    const second = await tool.execute({ action: 'create', title: 'file the invoices', instructions: 'Move them to invoices/', dependsOn: ['t1'] }, planner);
    assert.match(second.content, /t2 \[open, waiting for its dependencies\]/);
    worker.start();
    await waitUntil('both tasks are done', async () => (await store.getTask('t2'))?.status === 'done');
    assert.deepEqual(submitted.map((request) => [request.sessionKey, request.agentId, request.source]), [
      ['task:t1', 'builder', 'task'],
      ['task:t2', 'builder', 'task'],
    ]);
    const t1 = await store.getTask('t1');
    assert.equal(t1?.result, 'finished: You are working on task t1 from the shared task queue: collect the invoices');
    assert.ok((t1?.finishedAt ?? Infinity) <= ((await store.getTask('t2'))?.finishedAt ?? 0), 't1 finished first');
    assert.match(submitted[1]?.text ?? '', /Results of the tasks it depends on:\n- t1 \(collect the invoices\): finished: You are working on task t1/);
    assert.match(submitted[0]?.text ?? '', /List every invoice in inbox\//);
    const listed = await tool.execute({ action: 'list', status: 'done' }, planner);
    assert.match(listed.content, /t2 \[done\]/);
  } finally {
    await worker.stop();
    await store.close();
  }
});

test('a task whose claimer died is claimed again once its lease runs out, and completed', async () => {
  const { store, worker, submitted } = setup({ leaseMs: 400 }, () => ({ reply: 'done at last' }));
  try {
    await store.createTask({ id: 'orphan', title: 'summarise the week', body: 'summarise', createdBy: 'planner', now: Date.now() });
    const dead = await store.claimTask({ id: 'orphan', agentId: 'builder', claimer: 'worker:dead-gateway:builder', runId: 'run-of-a-dead-gateway', leaseMs: 400, now: Date.now() });
    assert.ok(dead.ok);
    const claimedAt = Date.now();
    worker.start();
    await waitUntil('the task is done', async () => (await store.getTask('orphan'))?.status === 'done');
    assert.ok(Date.now() - claimedAt >= 350, 'not taken before the lease ran out');
    const task = await store.getTask('orphan');
    assert.equal(task?.attempts, 2);
    assert.equal(task?.claimedBy, 'worker:test:builder');
    assert.equal(task?.result, 'done at last');
    assert.equal(submitted.length, 1, 'the dead gateway\'s turn is unknown here, so one new turn ran');
  } finally {
    await worker.stop();
    await store.close();
  }
});

test('a failing turn puts the task back until maxAttempts, then marks it failed with the reason', async () => {
  const { store, worker, submitted } = setup({ maxAttempts: 2 }, () => ({ status: 'error', error: { code: 'PROVIDER_ERROR', message: 'the model refused' } }));
  try {
    await store.createTask({ id: 'doomed', title: 'x', body: 'x', createdBy: 'cli', now: Date.now() });
    worker.start();
    await waitUntil('the task failed', async () => (await store.getTask('doomed'))?.status === 'failed');
    assert.equal(submitted.length, 2);
    assert.equal((await store.getTask('doomed'))?.result, 'Failed after 2 attempts: the model refused');
  } finally {
    await worker.stop();
    await store.close();
  }
});

test('cancelling a task being worked on stops its turn, and the result is not recorded', async () => {
  let release: (() => void) | undefined;
  const { store, worker, aborted } = setup({ leaseMs: 600 }, () => new Promise((resolve) => (release = () => resolve({ reply: 'too late' }))));
  try {
    await store.createTask({ id: 'long', title: 'long job', body: 'x', createdBy: 'cli', now: Date.now() });
    worker.start();
    await waitUntil('the turn started', () => release !== undefined);
    await store.cancelTask('long', 'cancelled by the operator', Date.now());
    await waitUntil('the turn is aborted', () => aborted.length === 1, 3000);
    assert.deepEqual(aborted, ['run-1']);
    release?.();
    const task = await store.getTask('long');
    assert.equal(task?.status, 'cancelled');
    assert.equal(task?.result, 'cancelled by the operator');
  } finally {
    await worker.stop();
    await store.close();
  }
});

test('the task tool: claims are exclusive between sessions, and complete needs the claim', async () => {
  const store: Store = createSqliteStore({ path: join(dir, `tool-${counter++}.sqlite`) });
  const tool = createTaskTool({ store, leaseMs: () => 60_000, newId: () => 'only' });
  try {
    const alice = toolContext('alice', 'agent:alice:main');
    const bob = toolContext('bob', 'agent:bob:main');
    await tool.execute({ action: 'create', title: 'write the report', deadline: '2000-01-01T00:00:00Z' }, alice);
    assert.match((await tool.execute({ action: 'list' }, alice)).content, /due 2000-01-01T00:00:00.000Z \(OVERDUE\)/);
    const bad = await tool.execute({ action: 'create', title: 'x', deadline: 'tomorrow-ish' }, alice);
    assert.equal(bad.isError, true);
    const claimed = await tool.execute({ action: 'claim', id: 'only' }, bob);
    assert.match(claimed.content, /^Claimed only/);
    const refused = await tool.execute({ action: 'claim', id: 'only' }, alice);
    assert.equal(refused.isError, true);
    assert.match(refused.content, /already claimed by bob/);
    const notHeld = await tool.execute({ action: 'complete', id: 'only', result: 'mine' }, alice);
    assert.equal(notHeld.isError, true);
    assert.match(notHeld.content, /do not hold the claim/);
    assert.equal((await tool.execute({ action: 'complete', id: 'only', result: 'report.md written' }, bob)).isError, undefined);
    assert.match((await tool.execute({ action: 'show', id: 'only' }, alice)).content, /Result: report.md written/);
  } finally {
    await store.close();
  }
});

test('two gateways\' workers on one store share the queue: every task is worked exactly once', async () => {
  const store: Store = createSqliteStore({ path: join(dir, `shared-${counter++}.sqlite`) });
  const submittedBy: Record<string, string[]> = { a: [], b: [] };
  const workers = (['a', 'b'] as const).map((name) => {
    const fake = fakeTurns(async (request) => {
      submittedBy[name]?.push(request.sessionKey);
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { reply: `done by ${name}` };
    });
    let runs = 0;
    return createTaskWorker({
      store,
      turns: fake.turns,
      settings: () => ({ take: ['builder', 'writer'], leaseMs: 60_000, pollMs: 10, maxAttempts: 3 }),
      hasAgent: () => true,
      turnTimeoutMs: () => 1000,
      workerId: name,
      logger: quiet,
      newRunId: () => `run-${name}-${++runs}`,
    });
  });
  try {
    for (let i = 0; i < 8; i++) await store.createTask({ id: `job-${i}`, title: `job ${i}`, body: 'x', createdBy: 'cli', now: Date.now() });
    for (const worker of workers) worker.start();
    await waitUntil('every job is done', async () => (await store.listTasks({ status: 'done', limit: 20 })).length === 8);
    const all = [...(submittedBy.a ?? []), ...(submittedBy.b ?? [])];
    assert.equal(all.length, 8, 'one turn per task');
    assert.equal(new Set(all).size, 8, 'no task worked twice');
    for (const task of await store.listTasks({ limit: 20 })) assert.equal(task.attempts, 1);
  } finally {
    for (const worker of workers) await worker.stop();
    await store.close();
  }
});
