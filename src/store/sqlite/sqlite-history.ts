import type BetterSqlite3 from 'better-sqlite3';
import { EMPTY_PACKED, type PackedMessages } from '../../contracts/packed-messages.js';
import { createHistoryWalk } from '../history-walk.js';
import { readCompaction } from '../row-mappers.js';

/**
 * The history a started turn runs with, read straight from the connection: better-sqlite3 is
 * synchronous and the group-commit queue never leaves a transaction open between event-loop
 * turns, so a read here never waits behind queued writes.
 *
 * The session's index is walked newest first in two steps (the first 50 lines, then the rest up to
 * `maxEntries`), stopping once the lines' stored text adds up to `maxChars`. SQLite joins each
 * step's lines, oldest first, into one string with a role initial per line, so a read makes no
 * object per line and parses nothing: the history stays packed (see PackedMessages). After a
 * compaction, the walk stops at its first kept line and the history starts with its summary.
 */
export function createSqliteHistoryReader(db: BetterSqlite3.Database) {
  const runSession = db.prepare('SELECT s.sid, r.generation FROM runs r JOIN sessions s ON s.key = r.session_key WHERE r.id = ? AND r.context IS NULL');
  // Served by the partial index transcript_compactions: a session without one costs one lookup.
  const lastCompaction = db.prepare(
    `SELECT body FROM transcript WHERE sid = ? AND generation = ? AND role = 'compaction' ORDER BY id DESC LIMIT 1`,
  );
  const step = db
    .prepare(
      // The newest lines, put back in order before they are joined (cheaper than ordering inside
      // each group_concat, which sorts once per aggregate).
      `SELECT MIN(id), group_concat(body, char(30)), group_concat(substr(role, 1, 1), ''), COALESCE(SUM(length(body)), 0), COUNT(*) FROM (
         SELECT * FROM (
           SELECT id, body, role FROM transcript WHERE sid = ? AND generation = ? AND id < ? AND id >= ? AND role NOT IN ('error', 'compaction') ORDER BY id DESC LIMIT ?
         ) ORDER BY id
       )`,
    )
    .raw();

  return {
    turnHistory(runId: string, bounds: { maxEntries: number; maxChars: number }): PackedMessages {
      const run = runSession.get(runId) as { sid: number; generation: number | null } | undefined;
      if (!run || run.generation === null) return EMPTY_PACKED;
      const compaction = readCompaction(lastCompaction.get(run.sid, run.generation) as { body: string } | undefined);
      const firstId = compaction?.firstKeptId ?? 0;
      const walk = createHistoryWalk(bounds, compaction);
      for (let ask = walk.next(); ask; ask = walk.next()) {
        const [oldest, text, initials, length, count] = step.get(run.sid, run.generation, ask.before, firstId, ask.want) as [number, string | null, string, number, number];
        walk.add({ oldest, text, initials, length, count }, ask.want);
      }
      return walk.packed();
    },
  };
}
