import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSessionLanes, effectiveProviderShare } from './session-lanes.js';

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
  assert.deepEqual(lanes.stats(), { running: 0, queued: 0, lanes: 0, perProvider: 8, providers: {} });
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

test('one provider gets at most its share of the cap; turns for another provider pass the queue', async () => {
  const lanes = createSessionLanes({ maxConcurrent: 8, providerShare: 0.75 });
  const hung = deferred();
  const started: string[] = [];
  const stuck = Array.from({ length: 9 }, (_, i) =>
    lanes.run(`slow${i}`, async () => {
      started.push(`slow${i}`);
      await hung.promise;
    }, { provider: 'hung' }),
  );
  assert.equal(started.length, 6, 'ceil(8 × 0.75) turns for the hung provider run, the rest wait');
  assert.deepEqual(lanes.stats().providers, { hung: 6 });
  const answered = await lanes.run('fast', async () => 'answered', { provider: 'healthy' });
  assert.equal(answered, 'answered');
  assert.equal(await lanes.run('no-model', async () => 'ran'), 'ran', 'a turn without a provider is not held back');
  assert.equal(started.length, 6);
  hung.resolve();
  await Promise.all(stuck);
  assert.equal(started.length, 9);
  assert.deepEqual(lanes.stats().providers, {});
});

test('the global cap still holds with a provider share, and a share of 1 lets one provider use every slot', async () => {
  const lanes = createSessionLanes({ maxConcurrent: 4, providerShare: 0.5 });
  const gate = deferred();
  let active = 0;
  const run = (key: string, provider: string) =>
    lanes.run(key, async () => {
      active++;
      await gate.promise;
      active--;
    }, { provider });
  const tasks = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'c1'].map((key) => run(key, key.slice(0, 1)));
  assert.equal(active, 4);
  assert.deepEqual(lanes.stats().providers, { a: 2, b: 2 });
  lanes.setMaxConcurrent(4, 1);
  gate.resolve();
  await Promise.all(tasks);
  const again = deferred();
  const full = ['x1', 'x2', 'x3', 'x4'].map((key) => lanes.run(key, () => again.promise, { provider: 'x' }));
  assert.deepEqual(lanes.stats().providers, { x: 4 });
  again.resolve();
  await Promise.all(full);
});

test('the provider share applies only when the agents use more than one provider', () => {
  assert.equal(effectiveProviderShare(['local/a', 'local/b', undefined], 0.75), 1);
  assert.equal(effectiveProviderShare(['local/a', 'cloud/b'], 0.75), 0.75);
  assert.equal(effectiveProviderShare([], 0.5), 1);
});
