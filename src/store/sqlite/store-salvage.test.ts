import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { breakHeader, leafPages, overwritePages, truncateDatabase } from '../../../test/support/corrupt-sqlite.js';
import type { Store } from '../../contracts/store.js';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { createSqliteStore } from './sqlite-store.js';
import { type SalvageResult, salvageDatabase } from './store-salvage.js';

const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-salvage-'));
  dirs.push(dir);
  return join(dir, 'hearth.sqlite');
}

const SESSION = 'agent:main:ws:direct:ann';
const AT = Date.parse('2026-03-04T05:06:07.089Z');

/** `turns` finished turns in one session; each transcript line is about 900 bytes, so a 4 KiB page holds a few. */
async function fill(store: Store, turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) {
    const runId = `run-${i}`;
    await store.acceptTurn({ runId, sessionKey: SESSION, agentId: 'main', source: 'ws', text: `question ${i} ${'q'.repeat(900)}`, now: 1_000 + i });
    await store.startTurn(runId, { now: 1_000 + i, historyLimit: 0 });
    const reply = `answer ${i} ${'a'.repeat(900)}`;
    await store.completeTurn(runId, { status: 'ok', messages: [{ role: 'assistant', content: reply }], reply, toolCalls: [], deliverTo: null, now: 1_000 + i });
  }
}

async function writeDatabase(turns: number, path = tempPath()): Promise<string> {
  const store = createSqliteStore({ path });
  await fill(store, turns);
  await store.close();
  return path;
}

const templates: Record<number, Promise<string>> = {};

/** A closed store file with `turns` finished turns: written once per size, copied for each test. */
async function filledDatabase(turns = 100): Promise<string> {
  templates[turns] ??= writeDatabase(turns);
  const path = tempPath();
  copyFileSync(await templates[turns], path);
  return path;
}

/** Every transcript line by id, as stored. */
function transcriptBodies(path: string): Map<number, string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return new Map((db.prepare('SELECT id, body FROM transcript ORDER BY id').all() as { id: number; body: string }[]).map((row) => [row.id, row.body]));
  } finally {
    db.close();
  }
}

/** The ids of the lines that a lookup of that one line can still read from the damaged file. */
function readableOneByOne(path: string, ids: Iterable<number>): number[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const get = db.prepare('SELECT body FROM transcript WHERE id = ?');
  const readable: number[] = [];
  try {
    for (const id of ids) {
      try {
        if (get.get(id) !== undefined) readable.push(id);
      } catch {
        // on a damaged page
      }
    }
  } finally {
    db.close();
  }
  return readable;
}

const table = (result: SalvageResult, name: string) => result.tables.find((entry) => entry.table === name);
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('salvage keeps every line that can still be read, also the first one after a damaged stretch and when the first page is damaged', async () => {
  const cases: [string, (pages: number[]) => number[]][] = [
    ['the first page', (pages) => pages.slice(0, 1)],
    ['pages in the middle', (pages) => [pages[3]!, pages[4]!, pages[10]!]],
    ['the last page', (pages) => pages.slice(-1)],
  ];
  for (const [name, pick] of cases) {
    const path = await filledDatabase();
    const before = transcriptBodies(path);
    const { pageSize, pages } = leafPages(path, 'transcript');
    overwritePages(path, pageSize, pick(pages));
    const readable = readableOneByOne(path, before.keys());
    assert.ok(readable.length > 0 && readable.length < before.size, `${name}: some lines are lost, some can be read (${readable.length} of ${before.size})`);

    const result = salvageDatabase(path, AT);
    assert.deepEqual(table(result, 'transcript'), { table: 'transcript', rows: readable.length, damaged: true }, name);
    assert.deepEqual(table(result, 'runs'), { table: 'runs', rows: 100, damaged: false }, `${name}: an undamaged table is copied whole`);
    assert.deepEqual(table(result, 'sessions'), { table: 'sessions', rows: 1, damaged: false }, name);
    assert.deepEqual(result.unreadable, [], name);
    const kept = transcriptBodies(path);
    assert.deepEqual([...kept.keys()], readable, `${name}: exactly the readable lines are kept`);
    for (const [id, body] of kept) assert.equal(body, before.get(id), `${name}: line ${id} is kept as it was`);
  }
});

test('salvage reads the rows still in the write-ahead log of a gateway that stopped abruptly, even with a broken header, and moves the log aside', async () => {
  for (const damage of ['none', 'header'] as const) {
    const live = tempPath();
    const path = tempPath();
    const store = createSqliteStore({ path: live });
    try {
      for (let i = 0; i < 20; i++) await store.acceptTurn({ runId: `run-${i}`, sessionKey: SESSION, agentId: 'main', source: 'ws', text: `message ${i}`, now: i });
      // What a crash leaves: the main file and a log that holds the commits.
      copyFileSync(live, path);
      copyFileSync(`${live}-wal`, `${path}-wal`);
    } finally {
      await store.close();
    }
    if (damage === 'header') breakHeader(path);
    const walHash = sha(`${path}-wal`);

    const result = salvageDatabase(path, AT);
    assert.deepEqual(table(result, 'runs'), { table: 'runs', rows: 20, damaged: false }, damage);
    assert.equal(sha(`${result.damagedPath}-wal`), walHash, `${damage}: the log is kept beside the damaged file`);
    assert.equal(existsSync(`${path}-wal`), false, `${damage}: no stale log is left beside the new file`);
    assert.equal(existsSync(`${path}-shm`), false, `${damage}: nor its index`);
    assert.equal(existsSync(`${path}.salvage-source`), false, `${damage}: the repaired copy it read from is removed`);
    const salvaged = createSqliteStore({ path });
    try {
      assert.deepEqual((await salvaged.unfinishedTurns()).map((entry) => entry.text), Array.from({ length: 20 }, (_, i) => `message ${i}`), damage);
    } finally {
      await salvaged.close();
    }
  }
});

test('salvage reads a file whose header has an impossible page size, and a cut-short file with 64 KiB pages', async () => {
  for (const pageSize of [4097, 256]) {
    const path = await filledDatabase(5);
    const before = transcriptBodies(path);
    const fd = openSync(path, 'r+');
    const field = Buffer.alloc(2);
    field.writeUInt16BE(pageSize);
    writeSync(fd, field, 0, 2, 16);
    closeSync(fd);
    const result = salvageDatabase(path, AT);
    assert.deepEqual(table(result, 'transcript'), { table: 'transcript', rows: 10, damaged: false }, `page size ${pageSize}`);
    assert.deepEqual(transcriptBodies(path), before, `page size ${pageSize}: every line is back`);
  }

  const path = tempPath();
  const db = new Database(path);
  db.pragma('page_size = 65536');
  db.exec('VACUUM');
  db.close();
  await writeDatabase(100, path);
  const before = transcriptBodies(path);
  truncateDatabase(path, 0.99, 65536); // the last page goes
  const result = salvageDatabase(path, AT);
  const rows = table(result, 'transcript')?.rows ?? 0;
  assert.ok(rows > 0 && rows < 200, `the lines before the cut are kept (${rows})`);
  const kept = transcriptBodies(path);
  assert.equal(kept.size, rows);
  for (const [id, body] of kept) assert.equal(body, before.get(id), `line ${id} is kept as it was`);
});

test('salvage of a file that is garbage throughout names every table unreadable, puts an empty store in place and keeps the garbage', async () => {
  const path = tempPath();
  const garbage = Buffer.alloc(16 * 4096);
  for (let index = 0; index < garbage.length; index++) garbage[index] = (index * 131 + 7) & 0xff;
  writeFileSync(path, garbage);

  const result = salvageDatabase(path, AT);
  assert.deepEqual(result.tables, []);
  for (const name of ['cron_jobs', 'outbox', 'runs', 'sessions', 'transcript']) assert.ok(result.unreadable.includes(name), `${name} is named`);
  assert.ok(!result.unreadable.includes('schema_migrations'), 'the migration ledger is not a table of data');
  assert.deepEqual(readFileSync(result.damagedPath), garbage, 'the garbage is kept as it was');
  const store = createSqliteStore({ path });
  try {
    assert.deepEqual(await store.listSessions({ limit: 10 }), []);
    assert.equal(store.health?.().status, 'ok');
  } finally {
    await store.close();
  }
});

test('salvage of a file from another schema version copies the columns both have and names the tables the file lacks', async () => {
  const path = await filledDatabase(5);
  const db = new Database(path);
  db.exec(`ALTER TABLE sessions ADD COLUMN title TEXT; UPDATE sessions SET title = 'from a later version';
    DROP TABLE operator_alerts;`);
  // And from before integer session ids: the copied sessions and lines are numbered in the new file.
  db.exec(`DROP INDEX transcript_by_session; DROP INDEX transcript_compactions; DROP INDEX sessions_by_sid;
    ALTER TABLE transcript DROP COLUMN sid; ALTER TABLE sessions DROP COLUMN sid;`);
  db.close();

  const result = salvageDatabase(path, AT);
  assert.deepEqual(result.unreadable, ['operator_alerts']);
  assert.deepEqual(table(result, 'sessions'), { table: 'sessions', rows: 1, damaged: false });
  assert.deepEqual(table(result, 'transcript'), { table: 'transcript', rows: 10, damaged: false });
  const store = createSqliteStore({ path });
  try {
    assert.deepEqual((await store.listSessions({ limit: 10 })).map((session) => [session.sessionKey, session.messageCount]), [[SESSION, 10]]);
    assert.deepEqual(await store.listAlerts(10), [], 'the table the file lacked is there, empty');
  } finally {
    await store.close();
  }
});

test('salvage run again at the same moment replaces the half-built file a stopped run left, and names the damaged file after that moment', async () => {
  const path = await filledDatabase(5);
  const leftover = `${path}.salvage-2026-03-04T05-06-07-089Z`;
  writeFileSync(leftover, 'left by a salvage that was stopped');
  writeFileSync(`${leftover}-wal`, 'and its log');

  const result = salvageDatabase(path, AT);
  assert.equal(result.damagedPath, `${path}.damaged-2026-03-04T05-06-07-089Z`);
  assert.deepEqual(table(result, 'transcript'), { table: 'transcript', rows: 10, damaged: false });
  assert.equal(existsSync(leftover), false, 'the half-built file became the new store');
  assert.equal(existsSync(`${leftover}-wal`), false);
  const store = createSqliteStore({ path });
  try {
    assert.equal((await store.readTranscript(SESSION, 100)).length, 10);
  } finally {
    await store.close();
  }
});
