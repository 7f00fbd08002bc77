import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../contracts/store.js';

/**
 * The behaviour every Store adapter must have. Run it against each adapter with a factory that
 * returns a fresh, empty, migrated store.
 */
export function runStoreContract(name: string, createStore: () => Promise<Store>): void {
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
}
