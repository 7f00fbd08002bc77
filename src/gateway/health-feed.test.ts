import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHealthFeed } from './health-feed.js';

/** Resolves once `check` holds, checking every few milliseconds; fails with `what` after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

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
  const watching = state.snapshots;
  await until(() => state.snapshots >= watching + 3, 'three ticks of the feed');
  assert.deepEqual(a, [], 'nothing changed, nothing sent');
  state.status = 'degraded';
  await until(() => a.length > 0, 'the change to reach the first watcher');
  assert.deepEqual(a, [{ store: 'degraded' }]);
  assert.deepEqual(b, [{ store: 'degraded' }]);
  feed.unwatch('a');
  feed.unwatch('b');
  const taken = state.snapshots;
  // Nothing to wait for when nothing should happen: give a stray timer three intervals.
  await new Promise((resolve) => setTimeout(resolve, 60));
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
