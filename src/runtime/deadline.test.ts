import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { collectGarbage } from '../../test/support/collect-garbage.js';
import { deadlineSignal } from './deadline.js';

test('a deadline joined with another signal still fires after a garbage collection', async () => {
  const parent = new AbortController();
  const reasons: unknown[] = [];
  for (let index = 0; index < 20; index++) {
    const { signal } = deadlineSignal(40, parent.signal);
    signal.addEventListener('abort', () => reasons.push(signal.reason), { once: true });
  }
  await turn();
  collectGarbage();
  const until = Date.now() + 5000;
  while (reasons.length < 20 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(reasons.length, 20, 'every deadline fired');
  assert.ok(reasons.every((reason) => reason instanceof DOMException && reason.name === 'TimeoutError'));
});

test('the other signal aborts it at once with its own reason, and clear() stops the timer', async () => {
  const parent = new AbortController();
  const joined = deadlineSignal(60_000, undefined, parent.signal);
  parent.abort(new Error('stopping'));
  assert.equal(joined.signal.aborted, true);
  assert.equal((joined.signal.reason as Error).message, 'stopping');
  joined.clear();

  const cleared = deadlineSignal(20);
  cleared.clear();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(cleared.signal.aborted, false, 'a cleared deadline never fires');
});
