import type BetterSqlite3 from 'better-sqlite3';
import type { ArchivedLine, IdleSession, ReclaimedSpace, Store } from '../../contracts/store.js';
import type { StatementRunner } from './sqlite-channel-state.js';

type RetentionMethods = Pick<Store, 'idleSessions' | 'sessionLines' | 'deleteIdleSession' | 'pruneRunRecords' | 'pruneFinishedOutbox' | 'mediaReferences'> &
  Required<Pick<Store, 'reclaimSpace'>>;

/**
 * `VACUUM` when enough of the file is free pages: SQLite reuses free pages for new rows, so this
 * only matters after a large prune. It rewrites the file (the gateway waits for it; a 100 MB
 * database takes about a second), then checkpoints so the WAL does not keep the old size.
 */
function reclaimSpace(db: BetterSqlite3.Database, options: { minFreeRatio: number; minFreeBytes: number }): ReclaimedSpace | null {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (pages === 0 || free / pages < options.minFreeRatio || free * pageSize < options.minFreeBytes) return null;
  const started = performance.now();
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const after = db.pragma('page_count', { simple: true }) as number;
  return { beforeBytes: pages * pageSize, afterBytes: after * pageSize, durationMs: Math.round(performance.now() - started) };
}

/**
 * What retention reads and deletes, each in bounded batches so a large store is pruned a slice
 * at a time between the gateway's own writes.
 */
export function createSqliteRetention(db: BetterSqlite3.Database, runner: StatementRunner): RetentionMethods {
  const sql = {
    idle: db.prepare('SELECT key, agent_id AS agentId, updated_at AS updatedAt FROM sessions WHERE updated_at < ? ORDER BY updated_at LIMIT ?'),
    lines: db.prepare('SELECT id, generation, run_id AS runId, role, body, created_at AS createdAt FROM transcript WHERE sid = (SELECT sid FROM sessions WHERE key = ?) ORDER BY id'),
    stillIdle: db.prepare('SELECT 1 FROM sessions WHERE key = ? AND updated_at < ?'),
    deleteLines: db.prepare('DELETE FROM transcript WHERE sid = (SELECT sid FROM sessions WHERE key = ?)'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE key = ?'),
    oldRuns: db.prepare('SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?'),
    runCount: db.prepare('SELECT COUNT(*) AS n FROM runs'),
    oldestFinished: db.prepare('SELECT id FROM runs WHERE finished_at IS NOT NULL ORDER BY rowid LIMIT ?'),
    deleteSteps: db.prepare('DELETE FROM run_steps WHERE run_id = ?'),
    deleteRun: db.prepare('DELETE FROM runs WHERE id = ?'),
    finishedOutbox: db.prepare("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status != 'pending' AND created_at < ? LIMIT ?)"),
    mediaLines: db.prepare("SELECT body FROM transcript WHERE body LIKE '%media/%'"),
  };
  const deleteRuns = (ids: { id: string }[]) => {
    for (const { id } of ids) {
      sql.deleteSteps.run(id);
      sql.deleteRun.run(id);
    }
    return ids.length;
  };
  return {
    idleSessions: (before, limit) => runner.run('list idle sessions', () => sql.idle.all(before, limit) as IdleSession[]),
    sessionLines: (sessionKey) => runner.run('read a session for its archive', () => sql.lines.all(sessionKey) as ArchivedLine[]),
    deleteIdleSession: (sessionKey, before) =>
      runner.write('delete an idle session', () => {
        // A turn that arrived since the archive was written keeps the session.
        if (!sql.stillIdle.get(sessionKey, before)) return null;
        const lines = sql.deleteLines.run(sessionKey).changes;
        sql.deleteSession.run(sessionKey);
        return lines;
      }),
    pruneRunRecords: ({ finishedBefore, maxRows, limit }) =>
      runner.write('prune run records', () => {
        let removed = deleteRuns(sql.oldRuns.all(finishedBefore, limit) as { id: string }[]);
        const over = (sql.runCount.get() as { n: number }).n - maxRows;
        if (over > 0) removed += deleteRuns(sql.oldestFinished.all(Math.min(over, limit)) as { id: string }[]);
        return removed;
      }),
    pruneFinishedOutbox: (before, limit) => runner.write('prune the delivered outbox', () => sql.finishedOutbox.run(before, limit).changes),
    reclaimSpace: (options) => runner.run('reclaim free space', () => reclaimSpace(db, options)),
    mediaReferences: () =>
      runner.run('list the media transcripts refer to', () => {
        const found = new Set<string>();
        for (const row of sql.mediaLines.iterate() as Iterable<{ body: string }>) {
          for (const match of row.body.matchAll(/media\/([0-9a-f]{64})/gu)) found.add(match[1] as string);
        }
        return found;
      }),
  };
}
