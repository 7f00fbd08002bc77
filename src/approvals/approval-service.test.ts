import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Store } from '../contracts/store.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { type ApprovalEvent, type ApprovalService, createApprovalService } from './approval-service.js';

const quiet = { info() {}, warn() {}, error() {} };

async function withStore(body: (store: Store, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-approvals-'));
  const path = join(dir, 'hearth.sqlite');
  const store = createSqliteStore({ path });
  try {
    await store.migrate();
    await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'channel', text: 'run it', replyTo: { channel: 'telegram:default', target: '{"chatId":"7"}' }, now: 1 });
    await body(store, path);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const question = (command: string, extra: { waitMs?: number; signal?: AbortSignal; runId?: string } = {}) => ({
  tool: 'exec',
  command,
  cwd: '.',
  canAlways: true,
  waitMs: extra.waitMs ?? 60_000,
  runId: extra.runId ?? 'r1',
  sessionKey: 'agent:main:main',
  agentId: 'main',
  signal: extra.signal ?? new AbortController().signal,
});

async function pendingOne(service: ApprovalService) {
  for (let tries = 0; tries < 200; tries++) {
    const [first] = await service.list();
    if (first) return first;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no approval request appeared');
}

test('a command waits for the operator: the question names where the turn replies, the answer and "always" come back to the tool', async () => {
  await withStore(async (store) => {
    const service = createApprovalService({ store, logger: quiet });
    await service.start();
    const events: ApprovalEvent[] = [];
    service.subscribe((event) => events.push(event));
    try {
      const answer = service.ask(question('git push'));
      const pending = await pendingOne(service);
      assert.equal(pending.command, 'git push');
      assert.match(pending.id, /^[2-9a-z]{6}$/u);
      assert.deepEqual(pending.replyTo, { channel: 'telegram:default', target: '{"chatId":"7"}' }, 'asked in the conversation the turn answers');
      assert.equal(events[0]?.type, 'requested');

      await service.decide(pending.id.toUpperCase(), { approve: true, always: true, by: 'cli' });
      assert.deepEqual(await answer, { id: pending.id, decision: 'approved', always: true, by: 'cli' });
      assert.deepEqual(service.allowedCommands('main'), ['git push'], '"always" allows the command from now on');
      assert.deepEqual(events.map((event) => [event.type, event.approval.status]), [['requested', 'pending'], ['resolved', 'approved']]);
      await assert.rejects(service.decide(pending.id, { approve: false, by: 'webchat' }), /already approved \(by cli\)/u);
      await assert.rejects(service.decide('zzzzzz', { approve: true, by: 'cli' }), /No approval request "zzzzzz"/u);
      assert.deepEqual(await service.list(), []);
    } finally {
      service.stop();
    }
  });
});

test('an unanswered request expires as denied, visibly; a stopped turn stops waiting but the request stays', async () => {
  await withStore(async (store) => {
    const service = createApprovalService({ store, logger: quiet });
    await service.start();
    const events: ApprovalEvent[] = [];
    service.subscribe((event) => events.push(event));
    try {
      const started = Date.now();
      const answer = await service.ask(question('rm -rf build', { waitMs: 150 }));
      assert.equal(answer.decision, 'expired');
      assert.equal(answer.by, 'expiry');
      assert.ok(Date.now() - started < 2000, 'it expires on time');
      assert.deepEqual(events.map((event) => event.approval.status), ['pending', 'expired']);

      const controller = new AbortController();
      const waiting = service.ask(question('make deploy', { signal: controller.signal }));
      await pendingOne(service);
      controller.abort();
      await assert.rejects(waiting, /stopped while approval \w+ was waiting/u);
      assert.equal((await service.list()).length, 1, 'the request is still there to answer');
    } finally {
      service.stop();
    }
  });
});

test('after a restart a pending request is still there: the turn asking again gets it back, and its answer', async () => {
  await withStore(async (store) => {
    const before = createApprovalService({ store, logger: quiet });
    await before.start();
    const controller = new AbortController();
    const first = before.ask(question('npm publish', { signal: controller.signal })).catch(() => null);
    const pending = await pendingOne(before);
    controller.abort();
    await first;
    before.stop();

    const after = createApprovalService({ store, logger: quiet });
    await after.start();
    try {
      assert.deepEqual((await after.list()).map((item) => item.id), [pending.id]);
      const again = after.ask(question('npm publish'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await after.list()).length, 1, 'no second request for the same command of the same run');
      await after.decide(pending.id, { approve: false, by: 'telegram:default:7' });
      assert.deepEqual(await again, { id: pending.id, decision: 'denied', always: false, by: 'telegram:default:7' });
    } finally {
      after.stop();
    }
  });
});

test('requests beyond the cap are denied at once, saying why', async () => {
  await withStore(async (store) => {
    const service = createApprovalService({ store, logger: quiet, maxPending: 1 });
    await service.start();
    try {
      void service.ask(question('one')).catch(() => {});
      await pendingOne(service);
      const answer = await service.ask(question('two'));
      assert.equal(answer.decision, 'denied');
      assert.match(answer.by ?? '', /too many approvals waiting \(1\)/u);
    } finally {
      service.stop();
    }
  });
});
