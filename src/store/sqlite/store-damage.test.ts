import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { breakHeader, leafPages, overwritePages, truncateDatabase } from '../../../test/support/corrupt-sqlite.js';
import type { Store } from '../../contracts/store.js';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { createSqliteStore } from './sqlite-store.js';
import { createStoreHealth, isDamageError, quickCheck, quickCheckInBackground, StoreDamaged } from './store-integrity.js';
import { salvageDatabase } from './store-salvage.js';

const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-damage-'));
  dirs.push(dir);
  return join(dir, 'hearth.sqlite');
}

const SESSIONS = ['agent:main:ws:direct:ann', 'agent:main:ws:direct:bob', 'agent:main:ws:direct:cyd'];

/** Turns written through the store: `turns` per session, each a question and a long-ish answer. */
async function fill(store: Store, turns: number): Promise<void> {
  let n = 0;
  for (let i = 0; i < turns; i++) {
    for (const sessionKey of SESSIONS) {
      const runId = `run-${n++}`;
      await store.acceptTurn({ runId, sessionKey, agentId: 'main', source: 'ws', text: `question ${i}`, now: 1_000 + n });
      await store.startTurn(runId, { now: 1_000 + n, historyLimit: 0 });
      const reply = `answer ${i} `.repeat(30);
      await store.completeTurn(runId, { status: 'ok', messages: [{ role: 'assistant', content: reply }], reply, toolCalls: [], deliverTo: null, now: 1_000 + n });
    }
  }
}

let template: Promise<string> | undefined;

/** A closed store file with 60 turns in each session: written once, copied for each test. */
async function filledDatabase(): Promise<string> {
  template ??= (async () => {
    const path = tempPath();
    const store = createSqliteStore({ path });
    await fill(store, 60);
    await store.close();
    return path;
  })();
  const path = tempPath();
  copyFileSync(await template, path);
  return path;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

for (const [name, damage] of [
  ['pages overwritten with garbage', (path: string) => {
    const { pageSize, pages } = leafPages(path, 'transcript');
    overwritePages(path, pageSize, pages.slice(2, 4));
  }],
  ['a file cut to half its size', (path: string) => truncateDatabase(path, 0.5)],
  ['a broken header', (path: string) => breakHeader(path)],
] as const) {
  test(`a database with ${name} is refused at open with SQLite's words and the way out (hearth doctor)`, async () => {
    const path = await filledDatabase();
    damage(path);
    assert.throws(
      () => createSqliteStore({ path }),
      (error: unknown) => {
        assert.ok(error instanceof StoreDamaged, String(error));
        assert.match(error.message, /is damaged: (database disk image is malformed|file is not a database)/u);
        assert.match(error.message, /`hearth doctor --fix`/u);
        return true;
      },
    );
  });
}

test('salvage keeps every row of tables whose damage was only in an index, and the damaged file untouched beside it', async () => {
  const path = await filledDatabase();
  const { pageSize, pages } = leafPages(path, 'transcript_by_session');
  overwritePages(path, pageSize, pages.slice(0, 2));
  const damagedHash = sha(path);
  assert.throws(() => createSqliteStore({ path }), StoreDamaged);

  const result = salvageDatabase(path, Date.parse('2026-01-02T03:04:05Z'));
  assert.equal(result.damagedPath, `${path}.damaged-2026-01-02T03-04-05-000Z`);
  assert.equal(sha(result.damagedPath), damagedHash, 'the damaged file is kept as it was');
  assert.deepEqual(result.unreadable, []);
  assert.equal(result.tables.find((table) => table.table === 'transcript')?.rows, 60 * 3 * 2);

  const store = createSqliteStore({ path });
  try {
    assert.deepEqual((await store.listSessions({ limit: 10 })).map((session) => session.sessionKey).sort(), SESSIONS);
    const history = await store.readTranscript(SESSIONS[1]!, 1000);
    assert.equal(history.length, 120);
    assert.equal(history[0]?.message.content, 'question 0');
  } finally {
    await store.close();
  }
});

test('salvage steps over unreadable pages of a table and keeps the rest; a truncated file or a broken header are read too', async () => {
  const cases: [string, (path: string) => void, (rows: number) => void][] = [
    [
      'garbage pages',
      (path) => {
        const { pageSize, pages } = leafPages(path, 'transcript');
        overwritePages(path, pageSize, pages.slice(3, 5));
      },
      (rows) => assert.ok(rows > 300 && rows < 360, `most transcript rows kept (${rows})`),
    ],
    ['truncation', (path) => truncateDatabase(path, 0.6), (rows) => assert.ok(rows > 0 && rows < 360, `the rows before the cut are kept (${rows})`)],
    ['a broken header', (path) => breakHeader(path), (rows) => assert.equal(rows, 360, 'every row is kept')],
  ];
  for (const [name, damage, expectRows] of cases) {
    const path = await filledDatabase();
    damage(path);
    const result = salvageDatabase(path);
    const transcript = result.tables.find((table) => table.table === 'transcript');
    assert.ok(transcript, `${name}: the transcript table was read`);
    expectRows(transcript.rows);
    assert.ok(existsSync(result.damagedPath), `${name}: the damaged file is kept`);
    const store = createSqliteStore({ path });
    try {
      assert.ok((await store.listSessions({ limit: 10 })).length > 0, `${name}: sessions are back`);
      assert.equal(store.health?.().status, 'ok');
    } finally {
      await store.close();
    }
  }
});

test('store health: a failed write turns it down until a write succeeds, and the error stays visible', async () => {
  const store = createSqliteStore({ path: tempPath() });
  try {
    assert.equal(store.health?.().status, 'ok');
    await store.acceptTurn({ runId: 'dup', sessionKey: SESSIONS[0]!, agentId: 'main', source: 'ws', text: 'a', now: 1 });
    await assert.rejects(store.acceptTurn({ runId: 'dup', sessionKey: SESSIONS[0]!, agentId: 'main', source: 'ws', text: 'b', now: 2 }), { code: 'STORE_ERROR' });
    const down = store.health?.();
    assert.equal(down?.status, 'down');
    assert.match(down?.detail ?? '', /accept a message: UNIQUE constraint failed/u);
    await store.acceptTurn({ runId: 'next', sessionKey: SESSIONS[0]!, agentId: 'main', source: 'ws', text: 'c', now: 3 });
    const recovered = store.health?.();
    assert.equal(recovered?.status, 'ok');
    assert.equal(recovered?.lastError?.action, 'accept a message');
  } finally {
    await store.close();
  }
});

test('store health: pages found damaged while running keep the store down, naming hearth doctor --fix', async () => {
  const path = await filledDatabase();
  const store = createSqliteStore({ path });
  try {
    const { pageSize, pages } = leafPages(path, 'transcript');
    overwritePages(path, pageSize, pages);
    // Another connection's commit makes the store drop its page cache and read the file again.
    const other = new Database(path);
    other.prepare("INSERT INTO daily_spend (day, scope, tokens, cost_usd) VALUES ('2026-01-01', 'x', 1, 0)").run();
    other.close();
    await assert.rejects(store.readTranscript(SESSIONS[0]!, 50), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'STORE_ERROR');
      assert.match(error.message, /damaged.*hearth doctor --fix/u);
      return true;
    });
    await store.acceptTurn({ runId: 'after', sessionKey: 'agent:main:ws:direct:new', agentId: 'main', source: 'ws', text: 'hi', now: 5 });
    const health = store.health?.();
    assert.equal(health?.status, 'down', 'a later success does not hide damage');
    assert.match(health?.detail ?? '', /is damaged .*hearth doctor --fix/u);
  } finally {
    await store.close();
  }
});

test('a file larger than the start-up bound opens at once and is checked on another thread: damage found there turns the store down', async () => {
  const path = await filledDatabase();
  const { pageSize, pages } = leafPages(path, 'transcript');
  overwritePages(path, pageSize, pages.slice(2, 4));
  const store = createSqliteStore({ path, checkMaxBytes: 1024 });
  try {
    assert.equal(store.health?.().status, 'ok', 'not checked before opening');
    const deadline = Date.now() + 10_000;
    while (store.health?.().status === 'ok' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const health = store.health?.();
    assert.equal(health?.status, 'down');
    assert.match(health?.detail ?? '', /is damaged .*hearth doctor --fix/u);
  } finally {
    await store.close();
  }
});

/** Garbage over leaf pages of a table or index; damage in an index leaves its table readable. */
async function damagedDatabase(name: 'transcript' | 'transcript_by_session'): Promise<string> {
  const path = await filledDatabase();
  const { pageSize, pages } = leafPages(path, name);
  overwritePages(path, pageSize, pages.slice(0, 2));
  return path;
}

const sqliteError = (code: string) => Object.assign(new Error(`sqlite says ${code}`), { code });

test('only SQLite errors that mean a damaged file count as damage', () => {
  for (const code of ['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB', 'SQLITE_IOERR_SHORT_READ']) {
    assert.equal(isDamageError(sqliteError(code)), true, code);
  }
  for (const error of [sqliteError('SQLITE_BUSY'), sqliteError('SQLITE_FULL'), sqliteError(''), { code: 11 }, new Error('SQLITE_CORRUPT'), null, undefined, 'SQLITE_CORRUPT']) {
    assert.equal(isDamageError(error), false, String((error as { code?: unknown } | null)?.code ?? error));
  }
});

test('the damage message names the file, at most three problems, and the way out', () => {
  const error = new StoreDamaged('/data/hearth.sqlite', ['page 3 is bad', 'page 4 is bad', 'page 5 is bad', 'page 6 is bad']);
  assert.equal(error.name, 'StoreDamaged');
  assert.equal(error.path, '/data/hearth.sqlite');
  assert.equal(error.problems.length, 4, 'every problem is kept for the report');
  assert.match(error.message, /^the state database \/data\/hearth\.sqlite is damaged: page 3 is bad; page 4 is bad; page 5 is bad\. Nothing was changed\./u);
  assert.doesNotMatch(error.message, /page 6/u);
  assert.match(error.message, /`hearth doctor` to see the damage, then `hearth doctor --fix`/u);
});

test('quick_check lists the problems of a damaged file, up to the limit, without SQLite\'s heading lines', async () => {
  const sound = new Database(await filledDatabase(), { readonly: true });
  try {
    assert.deepEqual(quickCheck(sound), []);
  } finally {
    sound.close();
  }
  const db = new Database(await damagedDatabase('transcript_by_session'), { readonly: true });
  try {
    const problems = quickCheck(db);
    assert.ok(problems.length > 1 && problems.length <= 10, `several problems, at most ten (${problems.length})`);
    for (const problem of problems) {
      assert.notEqual(problem, 'ok');
      assert.ok(!problem.startsWith('***'), problem);
      assert.ok(problem.length > 0);
    }
    assert.equal(quickCheck(db, 1).length, 1, 'the limit is passed on');
  } finally {
    db.close();
  }
});

test('the check on another thread finds damage, passes a sound file, and says when it could not run', async () => {
  assert.deepEqual(await quickCheckInBackground(await filledDatabase()), []);
  const index = await quickCheckInBackground(await damagedDatabase('transcript_by_session'));
  assert.ok(index !== null && index.length > 1 && index.every((problem) => problem !== 'ok'), String(index));
  const pages = await quickCheckInBackground(await damagedDatabase('transcript'));
  assert.equal(pages?.length, 1, 'a check that SQLite stops with an error reports that error');
  assert.match(pages?.[0] ?? '', /malformed/u);
  const notADatabase = await filledDatabase();
  breakHeader(notADatabase);
  const header = await quickCheckInBackground(notADatabase);
  assert.equal(header?.length, 1);
  assert.match(header?.[0] ?? '', /not a database/u);
  assert.equal(await quickCheckInBackground(join(tempPath(), 'missing.sqlite')), null, 'a file that cannot be opened is not reported as damage');
});

test('store health: an error turns it down with the action and message, a later success clears it but keeps the error visible', () => {
  let now = 100;
  const health = createStoreHealth('/data/hearth.sqlite', () => now);
  assert.deepEqual(health.report(), { status: 'ok', detail: 'sqlite', lastError: null });
  health.noteSuccess();
  assert.deepEqual(health.report(), { status: 'ok', detail: 'sqlite', lastError: null }, 'a success with no error before it changes nothing');

  now = 200;
  health.noteError('save a cron job', sqliteError('SQLITE_FULL'));
  const down = health.report();
  assert.equal(down.status, 'down');
  assert.equal(down.detail, 'the last write or read failed (save a cron job: sqlite says SQLITE_FULL); run `hearth doctor`');
  assert.deepEqual(down.lastError, { at: 200, action: 'save a cron job', message: 'sqlite says SQLITE_FULL', damaged: false });

  now = 300;
  health.noteSuccess();
  now = 400;
  health.noteSuccess();
  assert.deepEqual(health.report(), { status: 'ok', detail: 'sqlite', lastError: { at: 200, action: 'save a cron job', message: 'sqlite says SQLITE_FULL', damaged: false } });

  health.noteError('list runs', 'the disk went away');
  assert.equal(health.report().status, 'down', 'a new error after a success turns it down again');
  assert.equal(health.report().lastError?.message, 'the disk went away', 'an error that is not an Error is shown as text');
});

test('store health: damage keeps it down through later successes and names hearth doctor --fix', () => {
  const health = createStoreHealth('/data/hearth.sqlite', () => 5);
  health.noteError('read a transcript', sqliteError('SQLITE_CORRUPT'));
  health.noteSuccess();
  const damaged = health.report();
  assert.equal(damaged.status, 'down');
  assert.equal(damaged.detail, '/data/hearth.sqlite is damaged (sqlite says SQLITE_CORRUPT): stop the gateway and run `hearth doctor --fix`');
  assert.equal(damaged.lastError?.damaged, true);

  health.noteError('list runs', sqliteError('SQLITE_BUSY'));
  health.noteSuccess();
  assert.equal(health.report().status, 'down', 'a later ordinary error and success do not mend damage');
  assert.equal(health.report().lastError?.damaged, false);

  const checked = createStoreHealth('/data/other.sqlite', () => 9);
  checked.noteDamage(['one', 'two', 'three', 'four']);
  checked.noteSuccess();
  assert.deepEqual(checked.report(), {
    status: 'down',
    detail: '/data/other.sqlite is damaged (one; two; three): stop the gateway and run `hearth doctor --fix`',
    lastError: { at: 9, action: 'pass quick_check', message: 'one; two; three', damaged: true },
  });
});
