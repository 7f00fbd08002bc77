import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSessionLanes } from './session-lanes.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('one turn at a time per session, in arrival order', async () => {
  const lanes = createSessionLanes({ maxConcurrent: 8 });
  const order: string[] = [];
  const gate = deferred();
  const first = lanes.run('a', async () => {
    order.push('a1 start');
    await gate.promise;
    order.push('a1 end');
  });
  const second = lanes.run('a', async () => {
    order.push('a2');
  });
  const other = lanes.run('b', async () => {
    order.push('b1');
  });
  await other;
  assert.deepEqual(order, ['a1 start', 'b1']);
  gate.resolve();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['a1 start', 'b1', 'a1 end', 'a2']);
  assert.deepEqual(lanes.stats(), { running: 0, queued: 0, lanes: 0 });
});

test('the global cap bounds concurrent turns across sessions', async () => {
  const lanes = createSessionLanes({ maxConcurrent: 2 });
  let active = 0;
  let peak = 0;
  const tasks = Array.from({ length: 10 }, (_, i) =>
    lanes.run(`s${i}`, async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setImmediate(r));
      active--;
    }),
  );
  await Promise.all(tasks);
  assert.equal(peak, 2);
  assert.equal(await lanes.idle(100), true);
});

test('a failing turn does not block the lane', async () => {
  const lanes = createSessionLanes({ maxConcurrent: 1 });
  await assert.rejects(lanes.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await lanes.run('a', async () => 7), 7);
});
