import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { createWalCheckpointer } from './wal-checkpointer.js';

const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function openDb() {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-wal-'));
  const path = join(dir, 'store.sqlite');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE lines (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO lines (body) VALUES (?)');
  const commitMegabyte = () => db.transaction(() => {
    for (let index = 0; index < 256; index++) insert.run('x'.repeat(4000));
  })();
  return { db, path, commitMegabyte, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const walBytes = (path: string) => statSync(`${path}-wal`).size;

test('under a stream of commits the WAL is checkpointed by the other thread and stays small; the connection itself never checkpoints', async () => {
  using store = openDb();
  const checkpointer = createWalCheckpointer(store.db, store.path, { intervalMs: 0 });
  try {
    assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 0);
    for (let round = 0; round < 60; round++) {
      store.commitMegabyte();
      checkpointer.noteCommit();
      await sleep(30);
    }
    // 60 MB committed; without checkpoints the WAL would hold all of it.
    assert.ok(walBytes(store.path) < 20 * 1024 * 1024, `WAL at ${walBytes(store.path)} bytes`);
    assert.ok(checkpointer.stats().checkpoints > 0);
    assert.equal(checkpointer.stats().fallback, null);
    assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM lines').get() as { n: number }).n, 60 * 256);
  } finally {
    await checkpointer.close();
    store.db.close();
  }
});

test('under commits with no pause between them the WAL still starts over: its file stays within a few times maxWalBytes instead of growing without end', async () => {
  using store = openDb();
  const checkpointer = createWalCheckpointer(store.db, store.path, { intervalMs: 0, startWalBytes: 0, maxWalBytes: 2 * 1024 * 1024 });
  const insert = store.db.prepare('INSERT INTO lines (body) VALUES (?)');
  let largest = 0;
  try {
    // Without the connection's catch-up the WAL passes 250 MB in this second.
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      // A few pages a commit, one after another, as a gateway under constant load writes.
      store.db.transaction(() => {
        for (let index = 0; index < 4; index++) insert.run('y'.repeat(4000));
      })();
      checkpointer.noteCommit();
      largest = Math.max(largest, walBytes(store.path));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(checkpointer.stats().catchUps > 0, 'the connection finished checkpoints the thread could not');
    assert.ok(largest < 64 * 1024 * 1024, `the WAL reached ${largest} bytes`);
    // What is written while the thread's last checkpoint runs stays in the file until the next
    // write starts the WAL over: a slow machine leaves a few megabytes, never the hundreds above.
    assert.ok(walBytes(store.path) <= 16 * 1024 * 1024, `the WAL is ${walBytes(store.path)} bytes at the end`);
  } finally {
    await checkpointer.close();
    store.db.close();
  }
});

test('when the thread cannot run, the connection goes back to SQLite\'s own checkpoints and says why', async () => {
  using store = openDb();
  const reasons: string[] = [];
  const checkpointer = createWalCheckpointer(store.db, store.path, { intervalMs: 0, startWalBytes: 0, module: '/nonexistent/better-sqlite3.node', onFallback: (reason) => reasons.push(reason) });
  try {
    store.commitMegabyte();
    checkpointer.noteCommit();
    for (let waited = 0; waited < 5000 && reasons.length === 0; waited += 20) await sleep(20);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, /checkpoint thread/);
    assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    for (let round = 0; round < 20; round++) store.commitMegabyte();
    assert.ok(walBytes(store.path) < 8 * 1024 * 1024, 'SQLite checkpoints again on its own');
  } finally {
    await checkpointer.close();
    store.db.close();
  }
});

test('a gateway writing a little starts no thread; a busy one does, which empties the WAL file and ends after a quiet spell', async () => {
  using store = openDb();
  const checkpointer = createWalCheckpointer(store.db, store.path, { intervalMs: 0, idleMs: 100 });
  try {
    store.commitMegabyte();
    checkpointer.noteCommit();
    assert.equal(checkpointer.stats().running, false, 'a 1 MB WAL is left alone');
    for (let round = 0; round < 4; round++) store.commitMegabyte();
    checkpointer.noteCommit();
    assert.equal(checkpointer.stats().running, true);
    for (let waited = 0; waited < 3000 && checkpointer.stats().running; waited += 20) await sleep(20);
    assert.equal(checkpointer.stats().running, false);
    assert.equal(walBytes(store.path), 0, 'the WAL file was emptied before the thread ended');
    for (let round = 0; round < 5; round++) store.commitMegabyte();
    checkpointer.noteCommit();
    assert.equal(checkpointer.stats().running, true);
  } finally {
    await checkpointer.close();
    assert.equal(checkpointer.stats().running, false);
    store.db.close();
  }
});
