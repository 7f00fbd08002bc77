import type BetterSqlite3 from 'better-sqlite3';
import type { QuarantinedRow } from '../../contracts/store.js';

/**
 * Marks stored rows that fail their schema in `quarantined_rows`, so they are skipped (never
 * half-loaded) and listed by `status` and `hearth doctor`. The row itself is kept as it was.
 */
export function createRowQuarantine(db: BetterSqlite3.Database, now: () => number = Date.now) {
  const sql = {
    mark: db.prepare('INSERT INTO quarantined_rows (table_name, row_key, reason, quarantined_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    clear: db.prepare('DELETE FROM quarantined_rows WHERE table_name = ? AND row_key = ?'),
    list: db.prepare('SELECT table_name, row_key, reason, quarantined_at FROM quarantined_rows ORDER BY quarantined_at, table_name, row_key'),
  };
  return {
    /** True when the row may be loaded; otherwise marks it (once) with the problem. */
    admit(table: string, key: string, problem: string | null): boolean {
      if (problem === null) return true;
      sql.mark.run(table, key, problem, now());
      return false;
    },
    /** Forgets the mark of a row that was written again (or removed). */
    clear(table: string, key: string): void {
      sql.clear.run(table, key);
    },
    list(): QuarantinedRow[] {
      return (sql.list.all() as { table_name: string; row_key: string; reason: string; quarantined_at: number }[]).map((row) => ({
        table: row.table_name,
        key: row.row_key,
        reason: row.reason,
        at: row.quarantined_at,
      }));
    },
  };
}

export type RowQuarantine = ReturnType<typeof createRowQuarantine>;
