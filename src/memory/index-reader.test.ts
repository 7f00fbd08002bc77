import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { createIndexReader } from './index-reader.js';

function withDatabase(run: (db: BetterSqlite3.Database, path: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-index-reader-'));
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const path = join(dir, 'index.sqlite');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
  return run(db, path).finally(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

test('the reader answers read-only queries on its own thread and sees what the writer committed', () =>
  withDatabase(async (db, path) => {
    const reader = createIndexReader(path, { mmapBytes: 0 });
    try {
      db.prepare('INSERT INTO notes (text) VALUES (?)').run('Ada likes tea.');
      assert.deepEqual(await reader.all('SELECT id, text FROM notes WHERE text LIKE ?', ['%tea%']), [{ id: 1, text: 'Ada likes tea.' }]);
      db.prepare('INSERT INTO notes (text) VALUES (?)').run('Grace likes tea too.');
      assert.equal((await reader.all<{ n: number }>('SELECT COUNT(*) AS n FROM notes', []))[0]?.n, 2);
      await assert.rejects(reader.all('SELECT * FROM missing_table', []), /no such table: missing_table/u);
      await assert.rejects(reader.all("INSERT INTO notes (text) VALUES ('x') RETURNING id", []), /readonly/u, 'it cannot write');
      assert.equal((await reader.all<{ n: number }>('SELECT COUNT(*) AS n FROM notes', []))[0]?.n, 2, 'still answering after errors');
    } finally {
      reader.close();
    }
    await assert.rejects(reader.all('SELECT 1', []), /closed/u);
  }));

test('a reader whose thread cannot start rejects every query with the reason, and never hangs', () =>
  withDatabase(async (_db, path) => {
    const reader = createIndexReader(path, { mmapBytes: 0, module: '/nonexistent/better-sqlite3.node' });
    await assert.rejects(reader.all('SELECT 1', []), /Cannot find module|ended/u);
    await assert.rejects(reader.all('SELECT 1', []), /Cannot find module|ended/u);
    reader.close();
  }));

test('an idle reader does not keep the process from exiting', () =>
  withDatabase(async (_db, path) => {
    const module = fileURLToPath(new URL('./index-reader.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then(async ({ createIndexReader }) => {
      const reader = createIndexReader(${JSON.stringify(path)}, { mmapBytes: 0 });
      console.log(JSON.stringify(await reader.all('SELECT 40 + 2 AS answer', [])));
    });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(child.error, undefined, 'exited on its own within 10 s');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '[{"answer":42}]');
  }));
