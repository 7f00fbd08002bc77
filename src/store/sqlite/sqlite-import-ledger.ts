import type BetterSqlite3 from 'better-sqlite3';
import type { Store } from '../../contracts/store.js';
import type { StatementRunner } from './sqlite-channel-state.js';

/** The import ledger (migration 10): items of another gateway's state already imported. */
export function createSqliteImportLedger(db: BetterSqlite3.Database, { run, write }: StatementRunner): Pick<Store, 'findImported' | 'recordImported'> {
  const find = db.prepare('SELECT target FROM import_ledger WHERE source = ? AND source_id = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO import_ledger (source, source_id, target, imported_at) VALUES (?, ?, ?, ?)');
  return {
    findImported: (source, sourceId) => run('read the import ledger', () => (find.get(source, sourceId) as { target: string } | undefined)?.target ?? null),
    recordImported: (source, items, now) =>
      write('record imported items', () => {
        for (const item of items) insert.run(source, item.sourceId, item.target, now);
      }),
  };
}
