import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIdleCompactor } from './idle-compactor.js';

const until = async (check: () => boolean, timeoutMs = 2000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('idle compactor', () => {
  it('collects once after a busy period followed by quiet, and not while turns keep coming', async () => {
    // Quiet is measured on the injected clock, which moves only when the test says so; the
    // compactor's timer is real but short, and each of its checks reads the clock once.
    const clock = { now: 0, reads: 0 };
    let collections = 0;
    let turns = 0;
    const compactor = createIdleCompactor({
      idleMs: 5,
      minTurns: 3,
      collect: () => collections++,
      now: () => {
        clock.reads += 1;
        return clock.now;
      },
    });
    const checks = () => clock.reads - turns;
    const turn = () => {
      turns += 1;
      compactor.noteTurn();
    };
    turn();
    turn();
    clock.now += 1000;
    // Too little work to bother: no timer at all, so nothing is checked however long it is quiet.
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(checks(), 0);
    assert.equal(collections, 0, 'too little work to bother');
    turn();
    await until(() => checks() >= 3);
    assert.equal(collections, 0, 'not while the clock shows no quiet since the last turn');
    clock.now += 4;
    turn();
    clock.now += 4;
    const seen = checks();
    await until(() => checks() >= seen + 2);
    assert.equal(collections, 0, 'quiet shorter than idleMs since the last turn is not enough');
    clock.now += 1;
    await until(() => collections === 1);
    const after = checks();
    clock.now += 1000;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(checks(), after, 'no timer is left after a compaction');
    assert.equal(collections, 1, 'once per busy period');
    compactor.stop();
  });

  it('releases the caches of the burst just before the collection, and only then', async () => {
    const order: string[] = [];
    const compactor = createIdleCompactor({ idleMs: 5, minTurns: 2, collect: () => order.push('collect'), release: () => order.push('release') });
    compactor.noteTurn();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(order, [], 'nothing is released after too little work');
    compactor.noteTurn();
    await until(() => order.length === 2);
    assert.deepEqual(order, ['release', 'collect']);
    compactor.stop();
  });

  it('runs V8\'s own full collection when no collector is given, without --expose-gc', async () => {
    const compactor = createIdleCompactor({ idleMs: 10, minTurns: 1 });
    compactor.noteTurn();
    await until(() => compactor.compactions() === 1);
    compactor.stop();
  });
});
