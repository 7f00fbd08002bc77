import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { unpackMessages } from '../../contracts/packed-messages.js';
import { runStoreContract } from '../store-contract.js';
import { sqliteMigrations } from './migrations.js';
import { createSqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));
let counter = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

runStoreContract('sqlite', async () => createSqliteStore({ path: join(dir, `store-${counter++}.sqlite`) }));

test('sqlite: migrations are versioned and applied once; data survives reopening', async () => {
  const path = join(dir, 'reopen.sqlite');
  const first = createSqliteStore({ path });
  assert.deepEqual(await first.migrate(), []);
  await first.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'kept', now: 1 });
  await first.close();
  const second = createSqliteStore({ path });
  assert.deepEqual((await second.unfinishedTurns()).map((entry) => entry.text), ['kept']);
  await second.close();
});

test('sqlite: reading a turn\'s history does not wait behind the writes queued before it', async () => {
  const store = createSqliteStore({ path: join(dir, 'read-path.sqlite') });
  try {
    await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'first', now: 1 });
    await store.startTurn('r1', { now: 2, historyLimit: 0 });
    await store.completeTurn('r1', { status: 'ok', messages: [{ role: 'assistant', content: 'one' }], reply: 'one', toolCalls: [], deliverTo: null, now: 3 });
    await store.acceptTurn({ runId: 'r2', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'second', now: 4 });
    await store.startTurn('r2', { now: 5, historyLimit: 0 });
    const order: string[] = [];
    const writes = Array.from({ length: 50 }, (_, i) =>
      store.acceptTurn({ runId: `w${i}`, sessionKey: `agent:main:other-${i}`, agentId: 'main', source: 'ws', text: 'queued', now: 6 }).then(() => order.push('write')),
    );
    const read = store.turnHistory('r2', { maxEntries: 400, maxChars: 100_000 }).then((history) => {
      order.push('read');
      return history;
    });
    assert.deepEqual(unpackMessages(await read), [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
    ]);
    await Promise.all(writes);
    assert.equal(order[0], 'read', 'the read was answered before the queued writes committed');
  } finally {
    await store.close();
  }
});

test('sqlite: run steps, run records and session summaries read back what `hearth runs` and `sessions list` show', async () => {
  const store = createSqliteStore({ path: join(dir, 'runs.sqlite') });
  try {
    await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'what is the weather', now: 10 });
    assert.equal((await store.getRun('r1'))?.status, 'queued');
    await store.startTurn('r1', { now: 20, historyLimit: 10 });
    assert.equal((await store.getRun('r1'))?.status, 'running', 'a started run shows as running');
    await store.recordStep('r1', { kind: 'tool', name: 'weather', input: { city: 'Oslo' }, output: { sky: 'clear' }, startedAt: 21, durationMs: 5 });
    await store.recordStep('r1', { kind: 'tool', name: 'broken', error: 'the tool failed', startedAt: 27, durationMs: 1 });
    await store.completeTurn('r1', {
      status: 'error',
      messages: [],
      reply: '',
      toolCalls: [],
      usage: { inputTokens: 12, outputTokens: 3 },
      error: { code: 'MODEL_ERROR', message: 'the model went away' },
      deliverTo: null,
      steps: [{ kind: 'model', name: 'fake/echo', startedAt: 30, durationMs: 7, usage: { inputTokens: 12, outputTokens: 3 } }],
      now: 40,
    });
    assert.deepEqual(await store.listRunSteps('r1'), [
      { seq: 1, kind: 'tool', name: 'weather', input: { city: 'Oslo' }, output: { sky: 'clear' }, startedAt: 21, durationMs: 5 },
      { seq: 2, kind: 'tool', name: 'broken', input: undefined, output: undefined, error: 'the tool failed', startedAt: 27, durationMs: 1 },
      { seq: 3, kind: 'model', name: 'fake/echo', input: undefined, output: undefined, startedAt: 30, durationMs: 7, usage: { inputTokens: 12, outputTokens: 3 } },
    ]);
    const run = await store.getRun('r1');
    assert.equal(run?.status, 'error');
    assert.deepEqual(run?.error, { code: 'MODEL_ERROR', message: 'the model went away' });
    assert.deepEqual(run?.usage, { inputTokens: 12, outputTokens: 3 });
    assert.deepEqual(run?.toolCalls, []);
    assert.deepEqual(
      (await store.listRuns({ limit: 10 })).map((entry) => entry.runId),
      ['r1'],
    );
    assert.deepEqual(await store.listRuns({ limit: 10, sessionKey: 'agent:main:other' }), []);
    const [session] = await store.listSessions({ limit: 10 });
    assert.equal(session?.sessionKey, 'agent:main:main');
    assert.equal(session?.lastMessage, 'the model went away', 'a failed turn shows its error as the last message');
  } finally {
    await store.close();
  }
});

test('sqlite: a store used after close says which operation failed and why', async () => {
  const store = createSqliteStore({ path: join(dir, 'closed.sqlite') });
  await store.close();
  await assert.rejects(store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'hi', now: 1 }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STORE_ERROR');
    assert.match(error.message, /^The state database failed to accept a message: the database is closed\./u);
    return true;
  });
  await assert.rejects(store.getRun('r1'), /The state database failed to read a run: .*Run `hearth doctor` to check it\.$/u);
  await store.close();
});

test('sqlite: every operation on a closed store names what failed', async () => {
  const store = createSqliteStore({ path: join(dir, 'closed-all.sqlite') });
  await store.close();
  const job = {
    id: 'j',
    spec: { name: 'j', agentId: 'main', schedule: { kind: 'every', everyMs: 1 }, message: 'm', session: 'isolated', delivery: { kind: 'none' }, misfire: 'skip', catchUpWindowMs: 0 },
    state: { enabled: true, disabledReason: null, nextRunAt: null, nextScheduledAt: null, retrying: false, lastRunAt: null, lastStatus: null, lastSuccessAt: null, lastError: null, consecutiveErrors: 0, streakStartedAt: null, finished: false },
    createdAt: 1,
    updatedAt: 1,
  } as const;
  const run = { id: 'c', jobId: 'j', status: 'ok', scheduledAt: 1, startedAt: 1, finishedAt: 2, trigger: 'schedule', turnRunId: null, reason: null, error: null, count: 1, createdAt: 1 } as const;
  const outbox = { runId: 'r', sessionKey: 's', channel: 'telegram:default', target: '1', text: 't', now: 1 };
  const operations: [string, () => Promise<unknown>][] = [
    ['apply migrations', () => store.migrate()],
    ['start a turn', () => store.startTurn('r', { now: 1, historyLimit: 1 })],
    ['list unfinished turns', () => store.unfinishedTurns()],
    ['requeue a turn', () => store.requeueTurn('r')],
    ['record a run step', () => store.recordStep('r', { kind: 'tool', name: 'x', startedAt: 1, durationMs: 1 })],
    ['finish a turn', () => store.completeTurn('r', { status: 'ok', messages: [], reply: '', toolCalls: [], deliverTo: null, now: 1 })],
    ['read the history of a turn', () => store.turnHistory('r', { maxEntries: 1, maxChars: 1 })],
    ['list quarantined rows', () => store.quarantinedRows!()],
    ['read a transcript', () => store.readTranscript('s', 1)],
    ['list sessions', () => store.listSessions({ limit: 1 })],
    ['read the transcript before a run', () => store.transcriptBeforeRun('r', 1)],
    ['reset a session', () => store.resetSession('s', 1)],
    ['list runs', () => store.listRuns({ limit: 1 })],
    ['read run steps', () => store.listRunSteps('r')],
    ['prune idempotency keys', () => store.pruneIdempotencyKeys(1)],
    ['queue a message', () => store.enqueueOutbox(outbox)],
    ['list undelivered messages', () => store.undeliveredOutbox(1)],
    ['record delivery progress', () => store.recordOutboxProgress(1, 1)],
    ['mark a message delivered', () => store.markDelivered(1, 1)],
    ['record a delivery failure', () => store.recordDeliveryFailure(1, { error: 'e', now: 1, retryAt: null })],
    ['count queued messages', () => store.outboxCounts()],
    ['record a pairing request', () => store.requestPairing({ channel: 'c', accountId: 'a', senderId: 's', senderName: null, chatId: 's', code: 'ABCD2345', now: 1, ttlMs: 1, maxPending: 1 })],
    ['list pairing requests', () => store.listPairingRequests(1)],
    ['approve a pairing request', () => store.approvePairing('ABCD2345', 1)],
    ['check an approved sender', () => store.isApprovedSender('c', 'a', 's')],
    ['save a cron job', () => store.putCronJob(job)],
    ['read a cron job', () => store.getCronJob('j')],
    ['list cron jobs', () => store.listCronJobs()],
    ['remove a cron job', () => store.deleteCronJob('j')],
    ['record a cron run', () => store.putCronRun(run)],
    ['list cron runs', () => store.listCronRuns({ limit: 1 })],
    ['sum up the cron ledger', () => store.cronRunStats(0)],
    ['prune the cron ledger', () => store.pruneCronRuns(1)],
    ['record an operator alert', () => store.raiseAlert({ dedupeKey: 'k', event: 'e', payload: {}, webhook: null, now: 1 })],
    ['list pending alerts', () => store.pendingAlerts(1, 1)],
    ['record an alert delivery', () => store.recordAlertDelivery(1, { delivered: true, now: 1, retryAt: null })],
    ['list alerts', () => store.listAlerts(1)],
    ['read spend', () => store.readSpend('2026-01-01', ['agent:main'])],
  ];
  for (const [action, call] of operations) {
    await assert.rejects(call(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'STORE_ERROR', action);
      assert.ok(error.message.startsWith(`The state database failed to ${action}: `), `${action}: ${error.message}`);
      return true;
    });
  }
  assert.equal(store.health?.().status, 'down');
});

test('sqlite: a stateless turn carries its context, writes no transcript and reads no history', async () => {
  const store = createSqliteStore({ path: join(dir, 'stateless.sqlite') });
  try {
    const context = { system: 'be brief', messages: [{ role: 'user' as const, content: 'earlier' }] };
    await store.acceptTurn({ runId: 'r0', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'in the session', now: 1 });
    await store.startTurn('r0', { now: 2, historyLimit: 10 });
    await store.completeTurn('r0', { status: 'ok', messages: [{ role: 'assistant', content: 'kept' }], reply: 'kept', toolCalls: [], deliverTo: null, now: 3 });
    await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'openai', text: 'hello', context, options: { readOnly: true }, now: 4 });
    const started = await store.startTurn('r1', { now: 5, historyLimit: 10 });
    assert.deepEqual(started?.context, context);
    assert.deepEqual(started?.history, [], 'the session transcript is not read for a stateless turn');
    assert.equal(started?.attempts, 1);
    assert.deepEqual(unpackMessages(await store.turnHistory('r1', { maxEntries: 10, maxChars: 10_000 })), []);
    await store.completeTurn('r1', { status: 'ok', messages: [{ role: 'assistant', content: 'hi' }], reply: 'hi', toolCalls: [], deliverTo: null, now: 6 });
    assert.deepEqual((await store.readTranscript('agent:main:main', 10)).map((entry) => entry.message.content), ['in the session', 'kept']);
    const run = await store.getRun('r1');
    assert.deepEqual(run?.context, context);
    assert.deepEqual(run?.options, { readOnly: true });
    assert.equal(run?.source, 'openai');
    assert.equal(run?.startedAt, 5);
    assert.equal(run?.finishedAt, 6);
    assert.equal(run?.attempts, 1);
    assert.equal(run?.createdAt, 4);
    assert.equal(run?.usage, null, 'no usage was reported');
    assert.equal(run?.error, null);
    assert.equal(run?.costUsd, null);
  } finally {
    await store.close();
  }
});

test('sqlite: sessions list newest first, filtered by agent; reset starts an empty transcript once per call', async () => {
  const store = createSqliteStore({ path: join(dir, 'sessions.sqlite') });
  try {
    const turn = async (runId: string, sessionKey: string, agentId: string, now: number) => {
      await store.acceptTurn({ runId, sessionKey, agentId, source: 'ws', text: `q ${runId}`, now });
      await store.startTurn(runId, { now, historyLimit: 0 });
      await store.completeTurn(runId, { status: 'ok', messages: [{ role: 'assistant', content: `a ${runId}` }], reply: `a ${runId}`, toolCalls: [], deliverTo: null, now });
    };
    await turn('r1', 'agent:main:one', 'main', 10);
    await turn('r2', 'agent:work:two', 'work', 20);
    await turn('r3', 'agent:main:three', 'main', 30);
    await turn('r4', 'agent:main:one', 'main', 40);
    assert.deepEqual(
      (await store.listSessions({ limit: 10 })).map((session) => [session.sessionKey, session.agentId, session.messageCount, session.lastMessage, session.createdAt, session.updatedAt]),
      [
        ['agent:main:one', 'main', 4, 'a r4', 10, 40],
        ['agent:main:three', 'main', 2, 'a r3', 30, 30],
        ['agent:work:two', 'work', 2, 'a r2', 20, 20],
      ],
    );
    assert.deepEqual((await store.listSessions({ limit: 10, agentId: 'work' })).map((session) => session.sessionKey), ['agent:work:two']);
    assert.deepEqual((await store.listSessions({ limit: 1 })).map((session) => session.sessionKey), ['agent:main:one']);

    assert.equal(await store.resetSession('agent:main:one', 50), true);
    assert.equal(await store.resetSession('agent:main:none', 50), false, 'an unknown session is not reset');
    assert.deepEqual(await store.readTranscript('agent:main:one', 10), []);
    assert.deepEqual(await store.readTranscript('agent:main:none', 10), []);
    const [reset] = await store.listSessions({ limit: 1 });
    assert.deepEqual([reset?.sessionKey, reset?.messageCount, reset?.lastMessage, reset?.updatedAt], ['agent:main:one', 0, null, 50]);
    assert.deepEqual((await store.readTranscript('agent:main:three', 1)).map((entry) => entry.message.content), ['a r3'], 'the newest lines, up to the limit');

    assert.deepEqual((await store.listRuns({ limit: 2 })).map((entry) => entry.runId), ['r4', 'r3']);
    assert.deepEqual((await store.listRuns({ limit: 10, sessionKey: 'agent:main:one' })).map((entry) => entry.runId), ['r4', 'r1']);
  } finally {
    await store.close();
  }
});

test('sqlite: idempotency keys older than the cut are pruned and no longer dedupe', async () => {
  const store = createSqliteStore({ path: join(dir, 'idempotency.sqlite') });
  try {
    const accept = (runId: string, key: string, now: number) =>
      store.acceptTurn({ runId, sessionKey: 'agent:main:main', agentId: 'main', source: 'openai', text: runId, idempotency: { scope: 'openai', key }, now });
    await accept('r1', 'old', 100);
    await accept('r2', 'new', 200);
    assert.equal(await store.pruneIdempotencyKeys(200), 1);
    assert.equal(await store.pruneIdempotencyKeys(200), 0);
    assert.deepEqual(await accept('r3', 'old', 300), { runId: 'r3', sessionKey: 'agent:main:main', duplicate: false, status: 'queued' });
    assert.deepEqual(await accept('r4', 'new', 300), { runId: 'r2', sessionKey: 'agent:main:main', duplicate: true, status: 'queued' });
  } finally {
    await store.close();
  }
});

test('sqlite: a turn that failed without a reply delivers its error; one with neither queues nothing; an unknown run is refused without turning the store down', async () => {
  const store = createSqliteStore({ path: join(dir, 'deliver.sqlite') });
  try {
    for (const runId of ['r1', 'r2']) {
      await store.acceptTurn({ runId, sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'hi', now: 1 });
      await store.startTurn(runId, { now: 2, historyLimit: 0 });
    }
    const deliverTo = { channel: 'telegram:default', target: '42' };
    const failed = await store.completeTurn('r1', { status: 'error', messages: [], reply: '', toolCalls: [], error: { code: 'MODEL_ERROR', message: 'the model is down' }, deliverTo, now: 3 });
    const empty = await store.completeTurn('r2', { status: 'ok', messages: [], reply: '', toolCalls: [], deliverTo, now: 3 });
    assert.equal(empty.outboxId, null);
    assert.deepEqual((await store.undeliveredOutbox(10)).map((entry) => [entry.id, entry.runId, entry.channel, entry.target, entry.text]), [[failed.outboxId, 'r1', 'telegram:default', '42', 'the model is down']]);
    await assert.rejects(store.completeTurn('nope', { status: 'ok', messages: [], reply: 'x', toolCalls: [], deliverTo: null, now: 4 }), { code: 'NOT_FOUND' });
    assert.equal(store.health?.().status, 'ok');
    assert.equal(store.health?.().lastError, null);
    assert.equal(await store.startTurn('r1', { now: 5, historyLimit: 10 }), null, 'a finished turn does not start again');
    assert.equal(await store.startTurn('nope', { now: 5, historyLimit: 10 }), null);
  } finally {
    await store.close();
  }
});

test('sqlite: a turn\'s history is read newest first in two steps, fifty lines and then the rest, so a small character budget still gets fifty lines', async () => {
  const store = createSqliteStore({ path: join(dir, 'history-steps.sqlite') });
  try {
    for (let i = 0; i < 60; i++) {
      await store.acceptTurn({ runId: `r${i}`, sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: `q${i}`, now: i });
      await store.startTurn(`r${i}`, { now: i, historyLimit: 0 });
      await store.completeTurn(`r${i}`, { status: 'ok', messages: [{ role: 'assistant', content: `a${i}` }], reply: `a${i}`, toolCalls: [], deliverTo: null, now: i });
    }
    await store.acceptTurn({ runId: 'next', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'next', now: 100 });
    await store.startTurn('next', { now: 100, historyLimit: 0 });
    const contents = async (maxEntries: number, maxChars: number) =>
      unpackMessages(await store.turnHistory('next', { maxEntries, maxChars })).map((message) => message.content);
    const all = Array.from({ length: 60 }, (_, i) => [`q${i}`, `a${i}`]).flat();
    assert.deepEqual(await contents(400, 1_000_000), all);
    assert.deepEqual(await contents(400, 1), all.slice(-50), 'the first step is read whole');
    assert.deepEqual(await contents(70, 1_000_000), all.slice(-70), 'the second step reads up to the entry bound');
    assert.deepEqual(await contents(30, 1_000_000), all.slice(-30));
    assert.deepEqual(await contents(0, 1_000_000), []);
    assert.deepEqual(await contents(400, 0), []);
  } finally {
    await store.close();
  }
});

test('sqlite: alerts list newest first and pending ones oldest first, within their limits; a given-up alert keeps why', async () => {
  const store = createSqliteStore({ path: join(dir, 'alerts.sqlite') });
  try {
    const raise = (key: string, now: number) => store.raiseAlert({ dedupeKey: key, event: 'cron.failing', payload: { key }, webhook: 'http://127.0.0.1:9/hook', now });
    const first = await raise('a', 1);
    assert.deepEqual(first, {
      alert: { id: first.alert.id, dedupeKey: 'a', event: 'cron.failing', payload: { key: 'a' }, webhook: 'http://127.0.0.1:9/hook', status: 'pending', attempts: 0, nextAttemptAt: null, lastError: null, createdAt: 1, deliveredAt: null },
      created: true,
      outbox: null,
    });
    const second = await raise('b', 2);
    const third = await raise('c', 3);
    assert.deepEqual((await store.pendingAlerts(10, 2)).map((alert) => alert.dedupeKey), ['a', 'b']);
    assert.deepEqual((await store.listAlerts(2)).map((alert) => alert.dedupeKey), ['c', 'b']);

    await store.recordAlertDelivery(first.alert.id, { delivered: false, now: 5, retryAt: null });
    await store.recordAlertDelivery(second.alert.id, { delivered: false, now: 5, retryAt: 50 });
    await store.recordAlertDelivery(third.alert.id, { delivered: true, now: 7, retryAt: null });
    const by = Object.fromEntries((await store.listAlerts(10)).map((alert) => [alert.dedupeKey, [alert.status, alert.attempts, alert.lastError, alert.nextAttemptAt, alert.deliveredAt]]));
    assert.deepEqual(by, {
      a: ['failed', 1, 'gave up', null, null],
      b: ['pending', 1, 'failed', 50, null],
      c: ['delivered', 1, null, null, 7],
    });
    assert.deepEqual(await store.pendingAlerts(49, 10), []);
    assert.deepEqual((await store.pendingAlerts(50, 10)).map((alert) => alert.dedupeKey), ['b']);
  } finally {
    await store.close();
  }
});

test('sqlite: pruning the cron ledger keeps runs still scheduled or running; the ledger lists within its limit', async () => {
  const store = createSqliteStore({ path: join(dir, 'ledger.sqlite') });
  try {
    const base = { jobId: 'j', scheduledAt: 1, startedAt: null, finishedAt: null, trigger: 'schedule', turnRunId: null, reason: null, error: null, count: 1 } as const;
    for (const [id, status, createdAt] of [
      ['old-ok', 'ok', 10],
      ['old-running', 'running', 11],
      ['old-scheduled', 'scheduled', 12],
      ['old-skipped', 'skipped', 13],
      ['new-ok', 'ok', 100],
    ] as const) {
      await store.putCronRun({ ...base, id, status, createdAt });
    }
    assert.deepEqual(await store.cronRunStats(0), [{ jobId: 'j', ok: 2, error: 0, missed: 0, skipped: 1, driftAvgMs: null, driftMaxMs: null }]);
    assert.deepEqual((await store.listCronRuns({ limit: 2 })).map((run) => run.id), ['new-ok', 'old-skipped']);
    assert.deepEqual((await store.listCronRuns({ jobId: 'j', status: 'ok', since: 50, limit: 10 })).map((run) => run.id), ['new-ok']);
    assert.equal(await store.pruneCronRuns(100), 2);
    assert.deepEqual((await store.listCronRuns({ limit: 10 })).map((run) => run.id).sort(), ['new-ok', 'old-running', 'old-scheduled']);
  } finally {
    await store.close();
  }
});

test('sqlite: queued messages come back in order within the limit, and a pairing request keeps who asked and until when', async () => {
  const store = createSqliteStore({ path: join(dir, 'outbox-pairing.sqlite') });
  try {
    const queued = [];
    for (const text of ['one', 'two', 'three']) queued.push(await store.enqueueOutbox({ runId: `run-${text}`, sessionKey: 'agent:main:main', channel: 'telegram:default', target: '42', text, now: 7 }));
    assert.deepEqual(queued[0], { id: queued[0]!.id, runId: 'run-one', sessionKey: 'agent:main:main', channel: 'telegram:default', target: '42', text: 'one', attempts: 0, chunksSent: 0, nextAttemptAt: null, lastError: null, createdAt: 7 });
    assert.deepEqual((await store.undeliveredOutbox(2)).map((entry) => entry.text), ['one', 'two']);
    await store.markDelivered(queued[0]!.id, 8);
    await store.recordDeliveryFailure(queued[0]!.id, { error: 'late', now: 9, retryAt: 20 });
    assert.deepEqual((await store.undeliveredOutbox(10)).map((entry) => entry.text), ['two', 'three'], 'a delivered message is not retried');

    const outcome = await store.requestPairing({ channel: 'telegram', accountId: 'default', senderId: '42', senderName: 'Ann', chatId: '4242', code: 'WXYZ2345', now: 1000, ttlMs: 600_000, maxPending: 3 });
    const request = { code: 'WXYZ2345', channel: 'telegram', accountId: 'default', senderId: '42', senderName: 'Ann', chatId: '4242', createdAt: 1000, expiresAt: 601_000 };
    assert.deepEqual(outcome, { status: 'created', request });
    assert.deepEqual(await store.listPairingRequests(1000), [request]);
    assert.deepEqual(await store.approvePairing('  wxyz2345 ', 2000), request, 'a code typed with spaces and in lower case is found');
    assert.equal(await store.isApprovedSender('telegram', 'default', '42'), true);
  } finally {
    await store.close();
  }
});

test('sqlite: two connections to one file claiming the same tasks: each task goes to exactly one of them', async () => {
  const path = join(dir, 'two-claimers.sqlite');
  const first = createSqliteStore({ path });
  const second = createSqliteStore({ path });
  try {
    for (let i = 0; i < 6; i++) await first.createTask({ id: `t${i}`, title: `task ${i}`, body: 'work', createdBy: 'planner', now: 1000 + i });
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? first : second).claimTask({ agentId: 'worker', claimer: `c${i}`, leaseMs: 1000, now: 2000 })));
    const won = claims.flatMap((outcome) => (outcome.ok ? [outcome.task.id] : []));
    assert.equal(won.length, 6);
    assert.equal(new Set(won).size, 6, 'no task claimed by both connections');
    assert.equal((await second.listTasks({ status: 'claimed', limit: 10 })).length, 6);
  } finally {
    await first.close();
    await second.close();
  }
});

test('sqlite: a database from before integer session ids keeps every session\'s history, including lines whose session row was missing', async () => {
  const path = join(dir, 'before-session-ids.sqlite');
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const old = new Database(path);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const migration of sqliteMigrations.filter((candidate) => candidate.version < 13)) {
    old.exec(migration.sql);
    old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(migration.version, migration.name);
  }
  const line = old.prepare('INSERT INTO transcript (session_key, generation, run_id, role, body, created_at) VALUES (?, ?, NULL, ?, ?, ?)');
  old.prepare("INSERT INTO sessions (key, agent_id, generation, created_at, updated_at) VALUES ('agent:main:a', 'main', 1, 1, 5)").run();
  line.run('agent:main:a', 0, 'user', JSON.stringify({ role: 'user', content: 'before the reset' }), 1);
  line.run('agent:main:a', 1, 'user', JSON.stringify({ role: 'user', content: 'hello a' }), 2);
  line.run('agent:helper:b', 0, 'user', JSON.stringify({ role: 'user', content: 'hello b, no session row' }), 3);
  line.run('agent:main:a', 1, 'assistant', JSON.stringify({ role: 'assistant', content: 'hi a' }), 4);
  old.close();

  const store = createSqliteStore({ path });
  try {
    const a = await store.activeTranscript('agent:main:a', { maxEntries: 10 });
    assert.deepEqual(a?.entries.map((entry) => entry.message.content), ['hello a', 'hi a'], 'the current generation, in order');
    const b = await store.activeTranscript('agent:helper:b', { maxEntries: 10 });
    assert.deepEqual(b?.entries.map((entry) => entry.message.content), ['hello b, no session row']);
    const listed = await store.listSessions({ limit: 10 });
    assert.deepEqual(
      listed.map((session) => [session.sessionKey, session.agentId, session.messageCount]).sort(),
      [['agent:helper:b', 'helper', 1], ['agent:main:a', 'main', 2]],
    );
    // A session started after the migration gets an id of its own: its lines do not join another's.
    await store.acceptTurn({ runId: 'c1', sessionKey: 'agent:main:c', agentId: 'main', source: 'ws', text: 'hello c', now: 10 });
    await store.startTurn('c1', { now: 11, historyLimit: 0 });
    await store.completeTurn('c1', { status: 'ok', messages: [{ role: 'assistant', content: 'hi c' }], reply: 'hi c', toolCalls: [], deliverTo: null, now: 12 });
    const c = await store.activeTranscript('agent:main:c', { maxEntries: 10 });
    assert.deepEqual(c?.entries.map((entry) => entry.message.content), ['hello c', 'hi c']);
    assert.equal((await store.activeTranscript('agent:main:a', { maxEntries: 10 }))?.entries.length, 2);
  } finally {
    await store.close();
  }
});
