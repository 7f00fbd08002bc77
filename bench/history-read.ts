// What a turn's history read costs in the SQLite store, for sessions whose transcripts are longer
// than one context: the bounded read a turn now does (on the store's own connection and on a
// second read-only WAL connection) against reading and parsing the newest 400 lines one by one.
// Usage: node dist/bench/history-read.js [sessions] [exchanges per session]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../src/runtime/load-commonjs.js';
import { createSqliteHistoryReader } from '../src/store/sqlite/sqlite-history.js';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const sessions = Number(process.argv[2] ?? 1000);
const exchanges = Number(process.argv[3] ?? 250);
const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
const dir = mkdtempSync(join(tmpdir(), 'hearth-history-bench-'));
const path = join(dir, 'bench.sqlite');

async function seed(): Promise<void> {
  const store = createSqliteStore({ path });
  for (let index = 0; index < sessions; index++) {
    await store.acceptTurn({ runId: `run-${index}`, sessionKey: `s${index}`, agentId: 'main', source: 'ws', text: 'hi', now: 1 });
    await store.startTurn(`run-${index}`, { now: 1, historyLimit: 0 });
  }
  await store.close();
  const db = new Database(path);
  const session = db.prepare("INSERT INTO sessions (key, agent_id, generation, created_at, updated_at, sid) VALUES (?, 'main', 0, 1, 1, ?)");
  const line = db.prepare('INSERT INTO transcript (session_key, sid, generation, run_id, role, body, created_at) VALUES (?, ?, 0, NULL, ?, ?, 1)');
  db.transaction(() => {
    for (let index = 0; index < sessions; index++) {
      session.run(`s${index}`, index + 1);
      for (let turn = 0; turn < exchanges; turn++) {
        line.run(`s${index}`, index + 1, 'user', JSON.stringify({ role: 'user', content: `earlier question ${turn}` }));
        line.run(`s${index}`, index + 1, 'assistant', JSON.stringify({ role: 'assistant', content: `echo: earlier question ${turn}` }));
      }
    }
  })();
  db.close();
}

function measure(label: string, read: (index: number) => { length: number }): void {
  const rounds = 3;
  let lines = 0;
  const cpu0 = process.cpuUsage();
  for (let round = 0; round < rounds; round++) for (let index = 0; index < sessions; index++) lines += read(index).length;
  const cpu = process.cpuUsage(cpu0);
  const reads = rounds * sessions;
  console.log(`${label}: ${(((cpu.user + cpu.system) / reads) | 0)} µs CPU per read, ${(lines / reads).toFixed(0)} messages per read`);
}

try {
  await seed();
  const bounds = { maxEntries: 400, maxChars: 25_904 * 4 };
  const main = new Database(path);
  main.pragma('journal_mode = WAL');
  main.pragma('cache_size = -2000');
  const second = new Database(path, { readonly: true });
  second.pragma('cache_size = -2000');
  const old = main.prepare('SELECT id, run_id, role, body, created_at FROM transcript WHERE sid = ? AND generation = 0 ORDER BY id DESC LIMIT 400');
  measure('newest 400 lines, one parse per line (before)', (index) =>
    (old.all(index + 1) as { body: string }[]).reverse().map((row) => JSON.parse(row.body) as unknown),
  );
  const onMain = createSqliteHistoryReader(main);
  measure('bounded read, packed (no parse), same connection', (index) => onMain.turnHistory(`run-${index}`, bounds).ends);
  const onSecond = createSqliteHistoryReader(second);
  measure('bounded read, second read-only connection', (index) => onSecond.turnHistory(`run-${index}`, bounds).ends);
  const small = { maxEntries: 400, maxChars: 2000 };
  measure('bounded read, a 500-token budget', (index) => onMain.turnHistory(`run-${index}`, small).ends);
  main.close();
  second.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
