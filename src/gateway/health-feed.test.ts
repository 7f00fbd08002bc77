import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHealthFeed } from './health-feed.js';

test('the health feed pushes only changes, to every watcher, and stops looking when nobody watches', async () => {
  const state = { status: 'ok', snapshots: 0 };
  const feed = createHealthFeed(() => {
    state.snapshots += 1;
    return { store: state.status };
  }, 20);
  const a: unknown[] = [];
  const b: unknown[] = [];
  assert.deepEqual(feed.watch('a', (snapshot) => a.push(snapshot)), { store: 'ok' });
  feed.watch('b', (snapshot) => b.push(snapshot));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(a, [], 'nothing changed, nothing sent');
  state.status = 'degraded';
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(a, [{ store: 'degraded' }]);
  assert.deepEqual(b, [{ store: 'degraded' }]);
  feed.unwatch('a');
  feed.unwatch('b');
  const taken = state.snapshots;
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(state.snapshots, taken, 'no snapshots while nobody watches');
  feed.stop();
});

test('a newcomer does not swallow a change the others have not heard of yet', () => {
  const state = { status: 'ok' };
  const feed = createHealthFeed(() => ({ store: state.status }), 60_000);
  const first: unknown[] = [];
  feed.watch('first', (snapshot) => first.push(snapshot));
  state.status = 'down';
  assert.deepEqual(feed.watch('second', () => {}), { store: 'down' });
  assert.deepEqual(first, [{ store: 'down' }], 'told before the second watcher took the new state as its baseline');
  feed.stop();
});
