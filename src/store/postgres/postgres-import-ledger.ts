import type { Store } from '../../contracts/store.js';
import type { PgRunner } from './postgres-runner.js';

/** The import ledger (migration 2): items of another gateway's state already imported. */
export function createPostgresImportLedger({ read, write }: PgRunner): Pick<Store, 'findImported' | 'recordImported'> {
  return {
    findImported: (source, sourceId) =>
      read('read the import ledger', async (query) => (await query<{ target: string }>('SELECT target FROM import_ledger WHERE source = $1 AND source_id = $2', [source, sourceId])).rows[0]?.target ?? null),
    recordImported: (source, items, now) =>
      write('record imported items', async (query) => {
        for (const item of items) {
          await query('INSERT INTO import_ledger (source, source_id, target, imported_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [source, item.sourceId, item.target, now]);
        }
      }),
  };
}
