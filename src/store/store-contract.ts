import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CronJob, CronRunRecord } from '../contracts/automation.js';
import type { Store } from '../contracts/store.js';
import { unpackMessages } from '../contracts/packed-messages.js';
import { runTaskQueueContract } from './task-queue-contract.js';

/**
 * The behaviour every Store adapter must have. Run it against each adapter with a factory that
 * returns a fresh, empty, migrated store.
 */
export function runStoreContract(name: string, createStore: () => Promise<Store>): void {
  runTaskQueueContract(name, createStore);
  const accept = (store: Store, runId: string, sessionKey: string, text: string, extra: Partial<Parameters<Store['acceptTurn']>[0]> = {}) =>
    store.acceptTurn({ runId, sessionKey, agentId: 'main', source: 'ws', text, now: 1000, ...extra });

  test(`${name}: an accepted turn is unfinished until it completes, and its transcript is kept`, async () => {
    const store = await createStore();
    try {
      const accepted = await accept(store, 'r1', 'agent:main:main', 'hello', { replyTo: { channel: 'webchat', target: 'agent:main:main' } });
      assert.deepEqual(accepted, { runId: 'r1', sessionKey: 'agent:main:main', duplicate: false, status: 'queued' });
      assert.deepEqual((await store.unfinishedTurns()).map((entry) => entry.runId), ['r1']);
      const started = await store.startTurn('r1', { now: 1001, historyLimit: 10 });
      assert.equal(started?.attempts, 1);
      assert.deepEqual(started?.history, []);
      await store.recordStep('r1', { kind: 'model', name: 'fake/echo', startedAt: 1001, durationMs: 3, usage: { inputTokens: 5, outputTokens: 2 } });
      const { outboxId } = await store.completeTurn('r1', {
        status: 'ok',
        messages: [{ role: 'assistant', content: 'hi there' }],
        reply: 'hi there',
        modelRef: 'fake/echo',
        usage: { inputTokens: 5, outputTokens: 2 },
        toolCalls: [],
        deliverTo: { channel: 'webchat', target: 'agent:main:main' },
        now: 1002,
      });
      assert.ok(outboxId !== null);
      assert.deepEqual(await store.unfinishedTurns(), []);
      const transcript = await store.readTranscript('agent:main:main', 10);
      assert.deepEqual(
        transcript.map((entry) => entry.message),
        [
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: 'hi there' },
        ],
      );
      const run = await store.getRun('r1');
      assert.equal(run?.status, 'ok');
      assert.equal(run?.modelRef, 'fake/echo');
      assert.deepEqual(run?.usage, { inputTokens: 5, outputTokens: 2 });
      assert.equal((await store.listRunSteps('r1')).length, 1);
      const outbox = await store.undeliveredOutbox(10);
      assert.deepEqual(outbox.map((entry) => entry.text), ['hi there']);
      await store.markDelivered(outbox[0]!.id, 1003);
      assert.deepEqual(await store.undeliveredOutbox(10), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a repeated idempotency key returns the first run and writes nothing`, async () => {
    const store = await createStore();
    try {
      const idempotency = { scope: 'ws:agent:main:main', key: 'k1' };
      await accept(store, 'r1', 'agent:main:main', 'once', { idempotency });
      const again = await accept(store, 'r2', 'agent:main:main', 'once', { idempotency });
      assert.equal(again.duplicate, true);
      assert.equal(again.runId, 'r1');
      assert.equal((await store.unfinishedTurns()).length, 1);
      assert.equal(await store.getRun('r2'), null);
      assert.equal(await store.pruneIdempotencyKeys(2000), 1);
      assert.equal((await accept(store, 'r3', 'agent:main:main', 'once', { idempotency })).duplicate, false);
    } finally {
      await store.close();
    }
  });

  test(`${name}: an interrupted attempt is replaced, not doubled, when the turn runs again`, async () => {
    const store = await createStore();
    try {
      await accept(store, 'r1', 'agent:main:main', 'first');
      await store.startTurn('r1', { now: 1001, historyLimit: 10 });
      // The process dies here; on the next start the turn runs again.
      const again = await store.startTurn('r1', { now: 2000, historyLimit: 10 });
      assert.equal(again?.attempts, 2);
      assert.deepEqual(again?.history, []);
      await store.completeTurn('r1', { status: 'ok', messages: [{ role: 'assistant', content: 'done' }], reply: 'done', toolCalls: [], deliverTo: null, now: 2001 });
      assert.deepEqual(
        (await store.readTranscript('agent:main:main', 10)).map((entry) => entry.message.content),
        ['first', 'done'],
      );
      assert.equal(await store.startTurn('r1', { now: 3000, historyLimit: 10 }), null);
    } finally {
      await store.close();
    }
  });

  test(`${name}: requeue gives the attempt back; errors are kept as transcript lines; reset starts fresh`, async () => {
    const store = await createStore();
    try {
      await accept(store, 'r1', 'agent:main:main', 'q');
      await store.startTurn('r1', { now: 1001, historyLimit: 10 });
      await store.requeueTurn('r1');
      const [entry] = await store.unfinishedTurns();
      assert.equal(entry?.status, 'pending');
      assert.equal(entry?.attempts, 0);
      assert.deepEqual(await store.readTranscript('agent:main:main', 10), []);
      await store.startTurn('r1', { now: 1003, historyLimit: 10 });
      await store.completeTurn('r1', {
        status: 'error',
        messages: [],
        reply: '',
        toolCalls: [],
        error: { code: 'PROVIDER_ERROR', message: 'down' },
        deliverTo: null,
        now: 1004,
      });
      const lines = await store.readTranscript('agent:main:main', 10);
      assert.deepEqual(lines.at(-1)?.message, { role: 'error', content: 'down', code: 'PROVIDER_ERROR' });
      assert.equal((await store.getRun('r1'))?.error?.code, 'PROVIDER_ERROR');
      // A reset while a turn runs: its reply stays with its question in the old transcript.
      await accept(store, 'r2', 'agent:main:main', 'slow question');
      await store.startTurn('r2', { now: 1004, historyLimit: 10 });
      await store.resetSession('agent:main:main', 1004);
      await store.completeTurn('r2', { status: 'ok', messages: [{ role: 'assistant', content: 'slow reply' }], reply: 'slow reply', toolCalls: [], deliverTo: null, now: 1004 });
      assert.deepEqual(await store.readTranscript('agent:main:main', 10), []);
      const [session] = await store.listSessions({ limit: 10 });
      assert.equal(session?.messageCount, 0);
      assert.equal(await store.resetSession('agent:main:main', 1005), true);
      assert.deepEqual(await store.readTranscript('agent:main:main', 10), []);
      assert.equal(await store.resetSession('agent:main:nobody', 1005), false);
    } finally {
      await store.close();
    }
  });

  test(`${name}: concurrent writes are independent: one failing write does not undo the others`, async () => {
    const store = await createStore();
    try {
      const results = await Promise.allSettled(
        ['a', 'b', 'a', 'c'].map((id, index) => accept(store, `run-${id}`, `agent:main:s${index}`, `text ${index}`)),
      );
      assert.deepEqual(
        results.map((result) => result.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      const failure = (results[2] as PromiseRejectedResult).reason as { code?: string };
      assert.equal(failure.code, 'STORE_ERROR');
      assert.deepEqual((await store.unfinishedTurns()).map((entry) => entry.text), ['text 0', 'text 1', 'text 3']);
      assert.equal(await store.getRun('run-c').then((run) => run?.status), 'queued');
    } finally {
      await store.close();
    }
  });

  test(`${name}: history is the newest entries before the new message, oldest first`, async () => {
    const store = await createStore();
    try {
      for (let i = 0; i < 5; i++) {
        await accept(store, `r${i}`, 'agent:main:main', `m${i}`);
        await store.startTurn(`r${i}`, { now: 1000 + i, historyLimit: 3 });
        await store.completeTurn(`r${i}`, { status: 'ok', messages: [{ role: 'assistant', content: `a${i}` }], reply: `a${i}`, toolCalls: [], deliverTo: null, now: 1000 + i });
      }
      await accept(store, 'r5', 'agent:main:main', 'm5');
      const started = await store.startTurn('r5', { now: 2000, historyLimit: 3 });
      assert.deepEqual(started?.history.map((entry) => entry.message.content), ['a3', 'm4', 'a4']);
      // Stateless turns carry their own context and leave no transcript.
      await accept(store, 's1', 'agent:main:openai:stateless', 'x', { context: { system: 'be brief', messages: [{ role: 'user', content: 'x' }] } });
      const stateless = await store.startTurn('s1', { now: 2001, historyLimit: 3 });
      assert.deepEqual(stateless?.context, { system: 'be brief', messages: [{ role: 'user', content: 'x' }] });
      assert.deepEqual(await store.readTranscript('agent:main:openai:stateless', 10), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a turn's history is read within its bounds: newest lines, oldest first, no error lines`, async () => {
    const store = await createStore();
    try {
      const finish = (runId: string, reply: string, error?: { code: string; message: string }) =>
        store.completeTurn(runId, { status: error ? 'error' : 'ok', messages: [{ role: 'assistant', content: reply }], reply, toolCalls: [], deliverTo: null, now: 1000, ...(error ? { error } : {}) });
      for (let i = 0; i < 120; i++) {
        await accept(store, `r${i}`, 'agent:main:main', `question ${i} ${'x'.repeat(200)}`);
        await store.startTurn(`r${i}`, { now: 1000 + i, historyLimit: 0 });
        await finish(`r${i}`, `answer ${i}`, i === 119 ? { code: 'MODEL_ERROR', message: 'the model failed' } : undefined);
      }
      await accept(store, 'next', 'agent:main:main', 'next');
      const history = async (runId: string, bounds: { maxEntries: number; maxChars: number }) => unpackMessages(await store.turnHistory(runId, bounds));
      assert.deepEqual(await history('next', { maxEntries: 400, maxChars: 100_000 }), [], 'not started yet');
      await store.startTurn('next', { now: 3000, historyLimit: 0 });
      const packed = await store.turnHistory('next', { maxEntries: 400, maxChars: 1_000_000 });
      assert.equal(packed.roles, 'ua'.repeat(120), 'a role initial per line');
      assert.equal(packed.plain, true);
      const all = unpackMessages(packed);
      assert.equal(all.length, 240, 'every line but the error line');
      assert.equal(all[0]?.content, `question 0 ${'x'.repeat(200)}`);
      assert.deepEqual(all.at(-1), { role: 'assistant', content: 'answer 119' });
      const few = await history('next', { maxEntries: 7, maxChars: 1_000_000 });
      assert.deepEqual(few, all.slice(-7));
      // About 2,500 characters: the newest lines that fit, and not the whole tail.
      const bounded = await history('next', { maxEntries: 400, maxChars: 2500 });
      assert.ok(bounded.length >= 20 && bounded.length <= 60, `read ${bounded.length} lines for 2,500 characters`);
      assert.deepEqual(bounded, all.slice(-bounded.length));
      await accept(store, 's1', 'agent:main:openai:stateless', 'x', { context: { messages: [{ role: 'user', content: 'x' }] } });
      await store.startTurn('s1', { now: 3001, historyLimit: 0 });
      assert.deepEqual(await history('s1', { maxEntries: 400, maxChars: 100_000 }), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: after a compaction a turn's history is its summary, then the lines from its first kept one; the transcript keeps every line`, async () => {
    const store = await createStore();
    try {
      const key = 'agent:main:main';
      for (let i = 0; i < 6; i++) {
        await accept(store, `r${i}`, key, `question ${i}`);
        await store.startTurn(`r${i}`, { now: 1000 + i, historyLimit: 0 });
        await store.completeTurn(`r${i}`, { status: 'ok', messages: [{ role: 'assistant', content: `answer ${i}` }], reply: `answer ${i}`, toolCalls: [], deliverTo: null, now: 1000 + i });
      }
      assert.equal(await store.activeTranscript('agent:main:nobody', { maxEntries: 10 }), null);
      const before = await store.activeTranscript(key, { maxEntries: 100 });
      assert.equal(before?.compaction, null);
      assert.equal(before?.entries.length, 12);
      const limited = await store.activeTranscript(key, { maxEntries: 5 });
      assert.deepEqual([limited?.entries.length, limited?.omitted], [5, 7], 'the newest lines, and how many were left out');
      const firstKept = before!.entries[8]!; // question 4
      const fields = { content: 'They asked questions 0 to 3.', firstKeptId: firstKept.id, compactedLines: 8, tokensBefore: 40, tokensAfter: 20, reason: 'manual' as const, focus: 'the questions' };
      assert.equal(await store.appendCompaction(key, { ...fields, generation: before!.generation + 1, runId: null, now: 2000 }), null, 'a compaction of an older transcript is not written');
      const id = await store.appendCompaction(key, { ...fields, generation: before!.generation, runId: 'r5', now: 2000 });
      assert.ok(id !== null && id > before!.entries.at(-1)!.id);

      await accept(store, 'next', key, 'next');
      await store.startTurn('next', { now: 3000, historyLimit: 0 });
      const history = unpackMessages(await store.turnHistory('next', { maxEntries: 400, maxChars: 100_000 }));
      assert.equal(history.length, 5, 'the summary and the four kept lines');
      assert.equal(history[0]?.role, 'user');
      assert.match(history[0]!.content, /^\[Summary of the earlier part of this conversation[^\n]*\]\n\nThey asked questions 0 to 3\.$/u);
      assert.deepEqual(history.slice(1).map((message) => message.content), ['question 4', 'answer 4', 'question 5', 'answer 5']);

      const after = await store.activeTranscript(key, { maxEntries: 100 });
      assert.equal(after?.compaction?.id, id);
      assert.deepEqual(after?.compaction?.message, { role: 'compaction', ...fields });
      assert.deepEqual(after?.entries.map((entry) => entry.message.content), ['question 4', 'answer 4', 'question 5', 'answer 5']);
      const transcript = await store.readTranscript(key, 100);
      assert.equal(transcript.length, 13, 'every line stays, with the compaction among them');
      assert.equal(transcript.at(-1)?.message.role, 'compaction');

      await store.resetSession(key, 4000);
      await accept(store, 'fresh', key, 'fresh');
      await store.startTurn('fresh', { now: 4001, historyLimit: 0 });
      assert.deepEqual(unpackMessages(await store.turnHistory('fresh', { maxEntries: 400, maxChars: 100_000 })), [], 'a reset leaves the summary behind too');
    } finally {
      await store.close();
    }
  });

  test(`${name}: outbox entries are retried later, resumed after their delivered pieces, or given up visibly`, async () => {
    const store = await createStore();
    try {
      const base = { sessionKey: 'agent:main:telegram:direct:7', target: '{"chatId":"7"}', now: 5000 };
      const first = await store.enqueueOutbox({ ...base, channel: 'telegram:default', runId: 'pair_1', text: 'code ABCD2345' });
      const second = await store.enqueueOutbox({ ...base, channel: 'telegram:default', runId: 'send_1', text: 'long reply' });
      const third = await store.enqueueOutbox({ ...base, channel: 'discord:work', runId: 'send_2', text: 'x' });
      assert.equal(first.chunksSent, 0);
      assert.equal(first.nextAttemptAt, null);
      await store.recordDeliveryFailure(first.id, { error: '429: retry after 3', now: 5001, retryAt: 8001 });
      await store.recordOutboxProgress(second.id, 2);
      await store.recordOutboxProgress(second.id, 1); // progress never goes back
      await store.recordDeliveryFailure(third.id, { error: 'chat not found', now: 5002, retryAt: null });
      const pending = await store.undeliveredOutbox(10);
      assert.deepEqual(
        pending.map((entry) => [entry.id, entry.attempts, entry.chunksSent, entry.nextAttemptAt, entry.lastError]),
        [
          [first.id, 1, 0, 8001, '429: retry after 3'],
          [second.id, 0, 2, null, null],
        ],
      );
      assert.deepEqual(await store.outboxCounts(), [
        { channel: 'discord:work', pending: 0, failed: 1 },
        { channel: 'telegram:default', pending: 2, failed: 0 },
      ]);
      await store.markDelivered(first.id, 9000);
      await store.markDelivered(second.id, 9001);
      assert.deepEqual(await store.undeliveredOutbox(10), []);
      assert.deepEqual(await store.outboxCounts(), [{ channel: 'discord:work', pending: 0, failed: 1 }]);
    } finally {
      await store.close();
    }
  });

  test(`${name}: pairing requests: one live code per sender, a cap per account, expiry, approval persists`, async () => {
    const store = await createStore();
    try {
      const request = (senderId: string, code: string, now = 1000) =>
        store.requestPairing({ channel: 'telegram', accountId: 'default', senderId, senderName: `user ${senderId}`, chatId: senderId, code, now, ttlMs: 3_600_000, maxPending: 3 });
      const created = await request('1', 'AAAA2222');
      assert.equal(created.status, 'created');
      const again = await request('1', 'BBBB3333', 2000);
      assert.equal(again.status, 'pending');
      assert.equal(again.status === 'pending' ? again.request.code : '', 'AAAA2222');
      assert.equal((await request('2', 'CCCC4444')).status, 'created');
      assert.equal((await request('3', 'DDDD5555')).status, 'created');
      assert.equal((await request('4', 'EEEE6666')).status, 'full');
      // Another account has its own cap.
      const other = await store.requestPairing({ channel: 'telegram', accountId: 'work', senderId: '4', senderName: null, chatId: '4', code: 'FFFF7777', now: 1000, ttlMs: 3_600_000, maxPending: 3 });
      assert.equal(other.status, 'created');
      assert.deepEqual((await store.listPairingRequests(1500)).map((item) => item.code), ['AAAA2222', 'CCCC4444', 'DDDD5555', 'FFFF7777']);

      assert.equal(await store.isApprovedSender('telegram', 'default', '1'), false);
      const approved = await store.approvePairing('aaaa2222', 3000);
      assert.equal(approved?.senderId, '1');
      assert.equal(await store.isApprovedSender('telegram', 'default', '1'), true);
      assert.equal(await store.isApprovedSender('telegram', 'work', '1'), false);
      assert.equal(await store.approvePairing('AAAA2222', 3000), null, 'a code works once');
      assert.equal((await request('1', 'GGGG8888', 4000)).status, 'approved');

      // After an hour the codes expire: they can no longer be approved and free the account's slots.
      assert.equal(await store.approvePairing('CCCC4444', 1000 + 3_600_000), null);
      assert.deepEqual(await store.listPairingRequests(1000 + 3_600_000), []);
      assert.equal((await request('4', 'HHHH9999', 1000 + 3_600_001)).status, 'created');

      assert.deepEqual(await store.listApprovedSenders(), [{ channel: 'telegram', accountId: 'default', senderId: '1', senderName: 'user 1', approvedAt: 3000 }]);
      assert.equal(await store.revokeApprovedSender('telegram', 'default', '1'), true);
      assert.equal(await store.revokeApprovedSender('telegram', 'default', '1'), false, 'revoked once');
      assert.equal(await store.isApprovedSender('telegram', 'default', '1'), false);
      assert.deepEqual(await store.listApprovedSenders(), []);
      assert.equal((await request('1', 'GGGG8889', 1000 + 3_600_001)).status, 'created', 'a revoked sender must pair again');
      assert.equal((await store.denyPairing('gggg8889', 1000 + 3_600_002))?.senderId, '1');
      assert.equal(await store.denyPairing('GGGG8889', 1000 + 3_600_002), null, 'a code is denied once');
      assert.equal(await store.isApprovedSender('telegram', 'default', '1'), false, 'a denied sender is not let in');
      assert.deepEqual((await store.listPairingRequests(1000 + 3_600_002)).map((item) => item.senderId), ['4'], 'the denied request is gone');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a channel cursor is kept per key and replaced by the next write`, async () => {
    const store = await createStore();
    try {
      assert.equal(await store.readChannelCursor('matrix:default'), null);
      await store.writeChannelCursor('matrix:default', 's72594_4483_1934', 1000);
      await store.writeChannelCursor('matrix:work', 's1_1_1', 1000);
      assert.equal(await store.readChannelCursor('matrix:default'), 's72594_4483_1934');
      await store.writeChannelCursor('matrix:default', 's72595_4483_1935', 2000);
      assert.equal(await store.readChannelCursor('matrix:default'), 's72595_4483_1935');
      assert.equal(await store.readChannelCursor('matrix:work'), 's1_1_1', 'another key keeps its own value');
    } finally {
      await store.close();
    }
  });

  test(`${name}: an approval request is kept once per run and command, decided once, and "always" allows the command for its agent`, async () => {
    const store = await createStore();
    try {
      const ask = (id: string, runId: string, command: string, now: number) =>
        store.requestApproval({ id, runId, sessionKey: 'agent:main:main', agentId: 'main', tool: 'exec', command, cwd: '/w', canAlways: true, replyTo: { channel: 'telegram:default', target: '{"chatId":"1"}' }, now, ttlMs: 600_000 });
      const first = await ask('A1', 'r1', 'git status', 1000);
      assert.equal(first.status, 'pending');
      assert.equal(first.expiresAt, 601_000);
      assert.deepEqual(first.replyTo, { channel: 'telegram:default', target: '{"chatId":"1"}' });
      // The turn ran again (a restart): the same request comes back, not a second one.
      assert.equal((await ask('A2', 'r1', 'git status', 5000)).id, 'A1');
      await ask('B1', 'r1', 'npm test', 6000);
      assert.deepEqual((await store.listApprovals({ pending: true, limit: 10 })).map((item) => item.id), ['B1', 'A1']);

      const approved = await store.decideApproval('A1', { status: 'approved', always: true, by: 'cli', now: 7000 });
      assert.equal(approved?.status, 'approved');
      assert.equal(approved?.always, true);
      assert.equal(approved?.decidedBy, 'cli');
      const again = await store.decideApproval('A1', { status: 'denied', by: 'webchat', now: 8000 });
      assert.equal(again?.status, 'approved', 'a decided request stays as it was decided');
      assert.equal(await store.decideApproval('nope', { status: 'denied', by: 'cli', now: 8000 }), null);
      assert.equal((await ask('A3', 'r1', 'git status', 9000)).status, 'approved', 'asking again after the decision gets the decision');
      assert.deepEqual((await store.listAllowedCommands()).map((item) => [item.agentId, item.pattern, item.approvalId]), [['main', 'git status', 'A1']]);

      await store.decideApproval('B1', { status: 'expired', always: true, by: 'expiry', now: 700_000 });
      assert.equal((await store.getApproval('B1'))?.status, 'expired');
      assert.equal((await store.listAllowedCommands()).length, 1, 'only an approval adds a command');
      assert.deepEqual(await store.listApprovals({ pending: true, limit: 10 }), []);
      assert.equal((await store.listApprovals({ limit: 10 })).length, 2);
    } finally {
      await store.close();
    }
  });

  test(`${name}: the transcript before a run is what that run started from`, async () => {
    const store = await createStore();
    try {
      for (const [runId, text] of [
        ['t1', 'first'],
        ['t2', 'second'],
        ['t3', 'third'],
      ] as const) {
        await accept(store, runId, 'agent:main:main', text);
        await store.startTurn(runId, { now: 1001, historyLimit: 0 });
        await store.completeTurn(runId, { status: 'ok', messages: [{ role: 'assistant', content: `re: ${text}` }], reply: `re: ${text}`, toolCalls: [], deliverTo: null, now: 1002 });
      }
      const before = await store.transcriptBeforeRun('t3', 10);
      assert.deepEqual(
        before.map((entry) => (entry.message as { content: string }).content),
        ['first', 're: first', 'second', 're: second'],
      );
      assert.equal((await store.transcriptBeforeRun('t3', 1)).length, 1);
      assert.deepEqual(await store.transcriptBeforeRun('t1', 10), []);
      assert.deepEqual(await store.transcriptBeforeRun('nope', 10), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a cron job and its ledger are saved together; removing the job keeps the ledger`, async () => {
    const store = await createStore();
    try {
      const job: CronJob = {
        id: 'job1',
        spec: {
          name: 'digest',
          agentId: 'main',
          schedule: { kind: 'cron', expr: '0 9 * * *', tz: 'Europe/Berlin' },
          message: 'Summarise the news',
          session: 'isolated',
          delivery: { kind: 'none' },
          misfire: 'run-once',
          catchUpWindowMs: 3_600_000,
        },
        state: {
          enabled: true,
          disabledReason: null,
          nextRunAt: 5000,
          nextScheduledAt: 5000,
          retrying: false,
          lastRunAt: null,
          lastStatus: null,
          lastSuccessAt: null,
          lastError: null,
          consecutiveErrors: 0,
          streakStartedAt: null,
          finished: false,
        },
        createdAt: 1000,
        updatedAt: 1000,
      };
      await store.putCronJob(job);
      assert.deepEqual(await store.getCronJob('job1'), job);
      const run: CronRunRecord = {
        id: 'cr1',
        jobId: 'job1',
        status: 'running',
        scheduledAt: 5000,
        startedAt: 5001,
        finishedAt: null,
        trigger: 'schedule',
        turnRunId: 'run_1',
        reason: null,
        error: null,
        count: 1,
        createdAt: 5001,
      };
      await store.putCronRun(run, { ...job, state: { ...job.state, lastRunAt: 5001, nextRunAt: 9000 }, updatedAt: 5001 });
      assert.equal((await store.getCronJob('job1'))?.state.nextRunAt, 9000);
      assert.deepEqual(await store.listCronRuns({ status: 'running', limit: 10 }), [run]);
      await store.putCronRun({ ...run, status: 'error', finishedAt: 5100, error: 'model down' });
      await store.putCronRun({ ...run, id: 'cr2', status: 'missed', reason: 'the gateway was not running', count: 3, turnRunId: null, createdAt: 6000 });
      assert.deepEqual((await store.listCronRuns({ jobId: 'job1', limit: 10 })).map((entry) => [entry.id, entry.status, entry.count]), [
        ['cr2', 'missed', 3],
        ['cr1', 'error', 1],
      ]);
      assert.deepEqual((await store.listCronRuns({ since: 5500, limit: 10 })).map((entry) => entry.id), ['cr2']);
      await store.putCronRun({ ...run, id: 'cr3', status: 'ok', scheduledAt: 7000, startedAt: 7040, finishedAt: 7100, createdAt: 7000 });
      await store.putCronRun({ ...run, id: 'cr4', status: 'ok', trigger: 'manual', scheduledAt: 8000, startedAt: 9000, finishedAt: 9100, createdAt: 8000 });
      assert.deepEqual(await store.cronRunStats(0), [{ jobId: 'job1', ok: 2, error: 1, missed: 3, skipped: 0, driftAvgMs: 20.5, driftMaxMs: 40 }], 'a manual run is not late');
      assert.deepEqual(await store.cronRunStats(6500), [{ jobId: 'job1', ok: 2, error: 0, missed: 0, skipped: 0, driftAvgMs: 40, driftMaxMs: 40 }]);
      assert.equal(await store.deleteCronJob('job1'), true);
      assert.equal(await store.deleteCronJob('job1'), false);
      assert.deepEqual(await store.listCronJobs(), []);
      assert.equal((await store.listCronRuns({ jobId: 'job1', limit: 10 })).length, 4, 'the ledger outlives the job');
      assert.equal(await store.pruneCronRuns(5500), 1);
      await store.putCronRun({ ...run, id: 'cr5', status: 'running', scheduledAt: 1000, startedAt: 1000, finishedAt: null, createdAt: 1000 });
      assert.equal(await store.pruneCronRuns(0, 2), 2, 'two over the cap: the oldest finished entries go');
      assert.deepEqual((await store.listCronRuns({ limit: 10 })).map((entry) => entry.id), ['cr4', 'cr5'], 'the running entry stays however old');
      assert.equal(await store.pruneCronRuns(0, 1), 1);
      assert.deepEqual((await store.listCronRuns({ limit: 10 })).map((entry) => entry.id), ['cr5'], 'a running entry is kept even beyond the cap');
    } finally {
      await store.close();
    }
  });

  test(`${name}: an alert is recorded once per key, queued for its channel with it, and retried until its webhook answers`, async () => {
    const store = await createStore();
    try {
      const input = { dedupeKey: 'cron:job1:alert:1', event: 'cron.escalation', payload: { jobId: 'job1' }, webhook: 'http://127.0.0.1:9/hook', now: 1000 };
      const message = { channel: 'telegram:default', target: '{"chatId":"42"}', text: 'job1 failed', sessionKey: 'alerts', runId: 'alert_1', now: 1000 };
      const first = await store.raiseAlert(input, message);
      assert.equal(first.created, true);
      assert.equal(first.outbox?.text, 'job1 failed');
      const again = await store.raiseAlert({ ...input, now: 2000 }, message);
      assert.equal(again.created, false);
      assert.equal(again.outbox, null);
      assert.equal(again.alert.id, first.alert.id);
      assert.equal((await store.undeliveredOutbox(10)).length, 1, 'a repeated alert queues nothing');
      assert.deepEqual((await store.pendingAlerts(1000, 10)).map((alert) => alert.id), [first.alert.id]);
      await store.recordAlertDelivery(first.alert.id, { delivered: false, error: 'connection refused', now: 1000, retryAt: 5000 });
      assert.deepEqual(await store.pendingAlerts(4999, 10), []);
      assert.equal((await store.pendingAlerts(5000, 10))[0]?.lastError, 'connection refused');
      await store.recordAlertDelivery(first.alert.id, { delivered: true, now: 5000, retryAt: null });
      assert.deepEqual(await store.pendingAlerts(9999, 10), []);
      const [listed] = await store.listAlerts(10);
      assert.equal(listed?.status, 'delivered');
      assert.equal(listed?.attempts, 2);
      const logged = await store.raiseAlert({ ...input, dedupeKey: 'other', webhook: null });
      assert.equal(logged.alert.status, 'logged');
      const pending = await store.raiseAlert({ ...input, dedupeKey: 'still-sending', now: 500 });
      await store.raiseAlert({ ...input, dedupeKey: 'recent', webhook: null, now: 3000 });
      assert.equal(await store.pruneAlerts(2000, 10), 2, 'the delivered and the logged alert raised before the cutoff');
      assert.deepEqual((await store.listAlerts(10)).map((alert) => alert.dedupeKey), ['recent', 'still-sending'], 'a recent alert and one still being delivered stay');
      assert.equal((await store.pendingAlerts(9999, 10))[0]?.id, pending.alert.id);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a finished turn adds its tokens and cost to each budget scope of its day`, async () => {
    const store = await createStore();
    try {
      for (const [runId, day] of [
        ['s1', '2026-11-21'],
        ['s2', '2026-11-21'],
        ['s3', '2026-11-22'],
      ] as const) {
        await accept(store, runId, 'cron:job1:run:x', 'tick', { options: { budgetScopes: ['cron:job1'], model: 'cheap/mini' } });
        await store.startTurn(runId, { now: 1001, historyLimit: 0 });
        await store.completeTurn(runId, {
          status: 'ok',
          messages: [],
          reply: 'done',
          usage: { inputTokens: 100, outputTokens: 20 },
          costUsd: 0.5,
          spend: { day, scopes: ['agent:main', 'cron:job1'] },
          toolCalls: [],
          deliverTo: null,
          now: 1002,
        });
      }
      assert.deepEqual(await store.readSpend('2026-11-21', ['agent:main', 'cron:job1', 'agent:other']), [
        { day: '2026-11-21', scope: 'agent:main', tokens: 240, costUsd: 1 },
        { day: '2026-11-21', scope: 'cron:job1', tokens: 240, costUsd: 1 },
      ]);
      const run = await store.getRun('s1');
      assert.equal(run?.costUsd, 0.5);
      assert.deepEqual(run?.options, { budgetScopes: ['cron:job1'], model: 'cheap/mini' });
      assert.equal(run?.text, 'tick');
    } finally {
      await store.close();
    }
  });

  test(`${name}: usage is summed per local day, agent and model over the runs that finished in the window`, async () => {
    const store = await createStore();
    try {
      const at = (day: number, hour: number) => new Date(2026, 10, day, hour).getTime();
      const finish = async (runId: string, agentId: string, finishedAt: number, usage: { inputTokens: number; outputTokens: number } | null, modelRef?: string) => {
        await accept(store, runId, `agent:${agentId}:main`, 'hi', { agentId, now: finishedAt - 10 });
        await store.startTurn(runId, { now: finishedAt - 5, historyLimit: 0 });
        await store.completeTurn(runId, {
          status: usage ? 'ok' : 'error',
          messages: [],
          reply: usage ? 'done' : '',
          ...(usage ? { usage, costUsd: 0.25 } : { error: { code: 'PROVIDER_ERROR', message: 'failed' } }),
          ...(modelRef ? { modelRef } : {}),
          toolCalls: [],
          deliverTo: null,
          now: finishedAt,
        });
      };
      await finish('u0', 'main', at(19, 12), { inputTokens: 1000, outputTokens: 1000 }, 'fake/echo');
      await finish('u1', 'main', at(20, 0), { inputTokens: 10, outputTokens: 5 }, 'fake/echo');
      await finish('u2', 'main', at(20, 23), { inputTokens: 20, outputTokens: 5 }, 'fake/big');
      await finish('u3', 'helper', at(21, 9), { inputTokens: 30, outputTokens: 10 }, 'fake/echo');
      await finish('u4', 'helper', at(21, 10), null);
      const summary = await store.usageSummary({ since: at(20, 0), until: at(22, 0) });
      assert.deepEqual(summary.days, [
        { day: '2026-11-20', inputTokens: 30, outputTokens: 10, costUsd: 0.5, runs: 2 },
        { day: '2026-11-21', inputTokens: 30, outputTokens: 10, costUsd: 0.25, runs: 1 },
      ]);
      assert.deepEqual(summary.agents, [
        { agentId: 'helper', inputTokens: 30, outputTokens: 10, costUsd: 0.25, runs: 1 },
        { agentId: 'main', inputTokens: 30, outputTokens: 10, costUsd: 0.5, runs: 2 },
      ]);
      assert.deepEqual(summary.models, [
        { model: 'fake/big', inputTokens: 20, outputTokens: 5, costUsd: 0.25, runs: 1 },
        { model: 'fake/echo', inputTokens: 40, outputTokens: 15, costUsd: 0.5, runs: 2 },
      ]);
      assert.deepEqual(await store.usageSummary({ since: at(23, 0), until: at(24, 0) }), { days: [], agents: [], models: [] });
    } finally {
      await store.close();
    }
  });

  test(`${name}: the import ledger remembers what was imported, and a second record keeps the first target`, async () => {
    const store = await createStore();
    try {
      assert.equal(await store.findImported('openclaw', 'session:main:a'), null);
      await store.recordImported('openclaw', [{ sourceId: 'session:main:a', target: 'agent:main:main' }], 1000);
      await store.recordImported('openclaw', [{ sourceId: 'session:main:a', target: 'other' }], 2000);
      assert.equal(await store.findImported('openclaw', 'session:main:a'), 'agent:main:main');
      assert.equal(await store.findImported('other-source', 'session:main:a'), null);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a run plan is saved and replaced whole, read back as written, and deleted with its run`, async () => {
    const store = await createStore();
    try {
      assert.equal(await store.getRunPlan('nothing'), null);
      await accept(store, 'p1', 'agent:main:main', 'file the invoices');
      const plan = {
        steps: [
          { id: 'list', goal: 'List the invoices', tools: ['read'], preconditions: [], expect: { type: 'array' as const, items: { type: 'string' as const } } },
          { id: 'file', goal: 'File them', tools: [], preconditions: ['the list exists'], expect: { type: 'object' as const, required: ['filed'] }, rollback: 'move them back' },
        ],
      };
      const pending = (id: string) => ({ id, status: 'pending' as const, attempts: 0, failures: 0, output: null, verification: null, toolCalls: [], startedAt: null, finishedAt: null });
      await store.putRunPlan({ runId: 'p1', plan, status: 'running', reason: null, steps: [pending('list'), pending('file')], resumeOf: null, createdAt: 1000, updatedAt: 1000 });
      const done = { ...pending('list'), status: 'done' as const, attempts: 1, output: ['a.pdf'], verification: 'ok', startedAt: 1001, finishedAt: 1002 };
      const failed = { ...pending('file'), status: 'failed' as const, attempts: 3, failures: 3, verification: 'filed: required' };
      await store.putRunPlan({ runId: 'p1', plan, status: 'failed', reason: 'step "file" failed', steps: [done, failed], resumeOf: null, createdAt: 1000, updatedAt: 1003 });
      assert.deepEqual(await store.getRunPlan('p1'), { runId: 'p1', plan, status: 'failed', reason: 'step "file" failed', steps: [done, failed], resumeOf: null, createdAt: 1000, updatedAt: 1003 });
      await store.startTurn('p1', { now: 1001, historyLimit: 0 });
      await store.completeTurn('p1', { status: 'error', messages: [], reply: '', toolCalls: [], error: { code: 'STEP_FAILED', message: 'x' }, deliverTo: null, now: 1004 });
      await store.pruneRunRecords({ finishedBefore: 10_000, maxRows: 1000, limit: 100 });
      assert.equal(await store.getRun('p1'), null);
      assert.equal(await store.getRunPlan('p1'), null, 'the plan goes with its run');
    } finally {
      await store.close();
    }
  });
}

/**
 * Exec approval requests whose stored row was damaged (a reply target that is not JSON, a status
 * that is not one of four) are skipped whole and marked, in any store: `damage` runs SQL on the
 * store's own database, the way a bad import or a hand edit would.
 */
export async function checkDamagedApprovalsAreSkipped(store: Store, damage: (sql: string) => Promise<void>): Promise<void> {
  const ask = (id: string, command: string) =>
    store.requestApproval({ id, runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', tool: 'exec', command, cwd: '/w', canAlways: true, replyTo: { channel: 'telegram:default', target: '1' }, now: 1000, ttlMs: 600_000 });
  await ask('A1', 'git status');
  await ask('A2', 'npm test');
  await ask('A3', 'make');
  await damage(`UPDATE exec_approvals SET reply_to = '{"channel":' WHERE id = 'A2'`);
  await damage(`UPDATE exec_approvals SET status = 'maybe' WHERE id = 'A3'`);

  assert.deepEqual((await store.listApprovals({ pending: true, limit: 10 })).map((item) => item.id), ['A1']);
  assert.deepEqual((await store.listApprovals({ limit: 10 })).map((item) => item.id), ['A1']);
  assert.equal(await store.getApproval('A2'), null, 'a request whose reply target is damaged is not half-loaded (sent nowhere)');
  assert.equal(await store.decideApproval('A3', { status: 'approved', always: true, by: 'cli', now: 2000 }), null, 'a damaged request cannot be approved');
  assert.deepEqual(await store.listAllowedCommands(), [], 'nor does it allow its command for good');
  const marked = Object.fromEntries((await store.quarantinedRows!()).map((row) => [`${row.table} ${row.key}`, row.reason]));
  assert.deepEqual(Object.keys(marked).sort(), ['exec_approvals A2', 'exec_approvals A3']);
  assert.match(marked['exec_approvals A2'] ?? '', /^reply_to is not JSON/u);
  assert.match(marked['exec_approvals A3'] ?? '', /^status /u);
  assert.equal((await ask('A4', 'npm test')).id, 'A4', 'asking again for the damaged request makes a new, sound one');
}
