import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorkQueue } from './work-queue.js';

/** A task that runs until `finish()` is called. */
function gate() {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { finish, task: () => done };
}

test('a busy client waits its turn while another client starts at once, round-robin', async () => {
  const queue = createWorkQueue({ perClient: 1, total: 2, queuePerClient: 10, queueTotal: 100 });
  const order: string[] = [];
  const busy = gate();
  const first = queue.run('busy', busy.task);
  const waiting = [1, 2, 3].map((n) => queue.run('busy', async () => order.push(`busy-${n}`)));
  assert.deepEqual(queue.stats(), { running: 1, queued: 3, clients: 1 });
  const other = await queue.run('other', async () => order.push('other'));
  assert.equal(other.admitted, true);
  assert.deepEqual(order, ['other'], 'the other client did not wait behind the busy one');
  busy.finish();
  await first;
  await Promise.all(waiting);
  assert.deepEqual(order, ['other', 'busy-1', 'busy-2', 'busy-3']);
  assert.deepEqual(queue.stats(), { running: 0, queued: 0, clients: 0 });
});

test('a full queue refuses at once, and the total cap shares slots fairly', async () => {
  const queue = createWorkQueue({ perClient: 2, total: 2, queuePerClient: 2, queueTotal: 3 });
  const slow = gate();
  const running = [queue.run('a', slow.task), queue.run('a', slow.task)];
  const started: string[] = [];
  const queuedA = [queue.run('a', async () => started.push('a1')), queue.run('a', async () => started.push('a2'))];
  assert.deepEqual(await queue.run('a', async () => started.push('a3')), { admitted: false }, 'past its own queue');
  const queuedB = queue.run('b', async () => started.push('b1'));
  assert.deepEqual(await queue.run('c', async () => started.push('c1')), { admitted: false }, 'past the total queue');
  slow.finish();
  await Promise.all([...running, ...queuedA, queuedB]);
  assert.deepEqual(started.slice(0, 2).sort(), ['a1', 'b1'], 'b had to wait behind all of a');
});

test('forgetting a client refuses its waiting tasks', async () => {
  const queue = createWorkQueue({ perClient: 1, total: 10, queuePerClient: 10, queueTotal: 10 });
  const slow = gate();
  const running = queue.run('gone', slow.task);
  const waiting = queue.run('gone', async () => 'ran');
  queue.forget('gone');
  assert.deepEqual(await waiting, { admitted: false });
  slow.finish();
  assert.equal((await running).admitted, true);
  assert.deepEqual(queue.stats(), { running: 0, queued: 0, clients: 0 });
});
