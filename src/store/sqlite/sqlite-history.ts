import type BetterSqlite3 from 'better-sqlite3';
import type { ChatMessage } from '../../contracts/messages.js';

/** Lines read by the first step of a history read; most turns' context ends within them or needs all. */
const FIRST_STEP_LINES = 50;

/**
 * The history a started turn runs with, read straight from the connection: better-sqlite3 is
 * synchronous and the group-commit queue never leaves a transaction open between event-loop
 * turns, so a read here never waits behind queued writes.
 *
 * The session's index is walked newest first in two steps (the first 50 lines, then the rest up to
 * `maxEntries`), stopping once the lines' stored text adds up to `maxChars`; SQLite joins each
 * step's lines into one string, so a read costs one JSON parse of what the turn can use instead
 * of one object and one parse per line of the whole tail.
 */
export function createSqliteHistoryReader(db: BetterSqlite3.Database) {
  const runSession = db.prepare('SELECT session_key, generation FROM runs WHERE id = ? AND context IS NULL');
  const step = db
    .prepare(
      `SELECT MIN(id), group_concat(body, ','), COALESCE(SUM(length(body)), 0), COUNT(*) FROM (
         SELECT id, body FROM transcript WHERE session_key = ? AND generation = ? AND id < ? AND role != 'error' ORDER BY id DESC LIMIT ?
       )`,
    )
    .raw();

  return {
    turnHistory(runId: string, bounds: { maxEntries: number; maxChars: number }): ChatMessage[] {
      const run = runSession.get(runId) as { session_key: string; generation: number | null } | undefined;
      if (!run || run.generation === null) return [];
      // Newest first: each step's text, then the array is reversed once.
      const parts: string[] = [];
      let lines = 0;
      let chars = 0;
      let before = Number.MAX_SAFE_INTEGER;
      while (lines < bounds.maxEntries && chars < bounds.maxChars) {
        const want = Math.min(lines === 0 ? FIRST_STEP_LINES : bounds.maxEntries, bounds.maxEntries - lines);
        const [oldest, text, length, count] = step.get(run.session_key, run.generation, before, want) as [number, string | null, number, number];
        if (count === 0 || text === null) break;
        parts.push(text);
        lines += count;
        chars += length;
        before = oldest;
        if (count < want) break;
      }
      return parts.length === 0 ? [] : (JSON.parse(`[${parts.join(',')}]`) as ChatMessage[]).reverse();
    },
  };
}
