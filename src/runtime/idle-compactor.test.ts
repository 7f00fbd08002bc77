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
    let collections = 0;
    const compactor = createIdleCompactor({ idleMs: 60, minTurns: 3, collect: () => collections++ });
    compactor.noteTurn();
    compactor.noteTurn();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(collections, 0, 'too little work to bother');
    for (let i = 0; i < 5; i++) {
      compactor.noteTurn();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(collections, 0, 'not while busy');
    await until(() => collections === 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(collections, 1, 'once per busy period');
    compactor.stop();
  });

  it('runs V8\'s own full collection when no collector is given, without --expose-gc', async () => {
    const compactor = createIdleCompactor({ idleMs: 10, minTurns: 1 });
    compactor.noteTurn();
    await until(() => compactor.compactions() === 1);
    compactor.stop();
  });
});
