import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createSqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { GatewayContext } from '../gateway-context.js';
import type { RpcConnection } from './rpc-types.js';
import { taskMethods } from './task-methods.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-task-rpc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const connectionNamed = (id: string): RpcConnection => ({ id, watch() {}, notify() {}, watchHealth: () => null });

async function call(context: GatewayContext, name: string, params: unknown, connection = connectionNamed('one')) {
  const method = taskMethods[name];
  assert.ok(method, `${name} is registered`);
  return method.handle(method.params.parse(params), connection, context) as Promise<{ task: { id: string; status: string; overdue: boolean; leaseUntil: number | null; result: string | null }; cancelled?: boolean }>;
}

test('tasks.* over RPC: create, claim by one connection only, complete by the holder, overdue shown, refusals as CONFLICT or NOT_FOUND naming why', async () => {
  const store = createSqliteStore({ path: join(dir, 'rpc.sqlite') });
  const context = { store, config: () => ({ tasks: { leaseMs: 5000 } }) } as unknown as GatewayContext;
  try {
    const created = await call(context, 'tasks.create', { id: 'report', title: 'weekly report', deadline: 1000 });
    assert.equal(created.task.status, 'open');
    assert.equal(created.task.overdue, true, 'a deadline in the past shows as overdue');
    const before = Date.now();
    const claimed = await call(context, 'tasks.claim', { id: 'report', agentId: 'writer' }, connectionNamed('one'));
    assert.ok((claimed.task.leaseUntil ?? 0) >= before + 5000, 'the lease is tasks.leaseMs');
    await assert.rejects(call(context, 'tasks.claim', { id: 'report', agentId: 'writer' }, connectionNamed('two')), (error: { code?: string; message: string; details?: { reason?: string } }) => {
      assert.equal(error.code, 'CONFLICT');
      assert.equal(error.details?.reason, 'taken');
      assert.match(error.message, /already claimed by writer/);
      return true;
    });
    await assert.rejects(call(context, 'tasks.complete', { id: 'report', result: 'x' }, connectionNamed('two')), (error: { code?: string }) => error.code === 'CONFLICT');
    const done = await call(context, 'tasks.complete', { id: 'report', result: 'sent' }, connectionNamed('one'));
    assert.deepEqual([done.task.status, done.task.result, done.task.overdue], ['done', 'sent', false]);
    await assert.rejects(call(context, 'tasks.get', { id: 'nope' }), (error: { code?: string }) => error.code === 'NOT_FOUND');
    await assert.rejects(call(context, 'tasks.create', { title: 'later', dependsOn: ['nope'] }), (error: { code?: string }) => error.code === 'BAD_REQUEST');
    const again = await call(context, 'tasks.cancel', { id: 'report' });
    assert.equal(again.cancelled, false, 'a done task stays done');
  } finally {
    await store.close();
  }
});
