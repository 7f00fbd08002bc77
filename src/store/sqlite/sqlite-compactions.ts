import type BetterSqlite3 from 'better-sqlite3';
import type { ActiveTranscript, CompactionInput, CompactionMessage, Store } from '../../contracts/store.js';
import type { StatementRunner } from './sqlite-channel-state.js';
import { readCompaction, type TranscriptRow, toTranscriptEntry as toEntry } from '../row-mappers.js';

/**
 * Compactions in the SQLite store: a compaction is a transcript line (role `compaction`) whose
 * summary stands for the lines before its `firstKeptId`; the lines themselves stay.
 */
export function createSqliteCompactions(db: BetterSqlite3.Database, { run, write }: StatementRunner): Pick<Store, 'activeTranscript' | 'appendCompaction'> {
  const sql = {
    session: db.prepare('SELECT generation, sid FROM sessions WHERE key = ?'),
    last: db.prepare(
      `SELECT id, run_id, body, created_at FROM transcript WHERE sid = ? AND generation = ? AND role = 'compaction' ORDER BY id DESC LIMIT 1`,
    ),
    lines: db.prepare(
      `SELECT id, run_id, body, created_at FROM transcript WHERE sid = ? AND generation = ? AND id >= ? AND role != 'compaction' ORDER BY id DESC LIMIT ?`,
    ),
    count: db.prepare(`SELECT COUNT(*) AS n FROM transcript WHERE sid = ? AND generation = ? AND id >= ? AND role != 'compaction'`),
    insert: db.prepare(`INSERT INTO transcript (session_key, sid, generation, run_id, role, body, created_at) VALUES (?, ?, ?, ?, 'compaction', ?, ?)`),
  };

  const activeTranscript = (sessionKey: string, maxEntries: number): ActiveTranscript | null => {
    const session = sql.session.get(sessionKey) as { generation: number; sid: number } | undefined;
    if (!session) return null;
    const row = sql.last.get(session.sid, session.generation) as TranscriptRow | undefined;
    const message = readCompaction(row);
    const compaction = row && message ? { ...toEntry(row), message } : null;
    const firstId = message?.firstKeptId ?? 0;
    const rows = sql.lines.all(session.sid, session.generation, firstId, maxEntries) as TranscriptRow[];
    const total = rows.length < maxEntries ? rows.length : (sql.count.get(session.sid, session.generation, firstId) as { n: number }).n;
    return { generation: session.generation, compaction, entries: rows.reverse().map(toEntry), omitted: total - rows.length };
  };

  const appendCompaction = (sessionKey: string, input: CompactionInput): number | null => {
    const session = sql.session.get(sessionKey) as { generation: number; sid: number } | undefined;
    if (!session || session.generation !== input.generation) return null;
    const { generation: _generation, runId, now, ...fields } = input;
    const message: CompactionMessage = { role: 'compaction', ...fields };
    return Number(sql.insert.run(sessionKey, session.sid, input.generation, runId, JSON.stringify(message), now).lastInsertRowid);
  };

  return {
    activeTranscript: (sessionKey, { maxEntries }) => run('read the active transcript of a session', () => activeTranscript(sessionKey, maxEntries)),
    appendCompaction: (sessionKey, input) => write('append a compaction', () => appendCompaction(sessionKey, input)),
  };
}
