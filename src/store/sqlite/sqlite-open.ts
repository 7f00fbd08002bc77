import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { DEFAULT_CHECK_MAX_BYTES, isDamageError, quickCheck, quickCheckInBackground, StoreDamaged, type StoreHealthTracker } from './store-integrity.js';

const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;

export interface OpenOptions {
  path: string;
  /** Files up to this size pass `quick_check` before the store opens; larger ones are checked on another thread after. */
  checkMaxBytes?: number;
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/**
 * Opens the database in WAL mode and checks that its file is sound, so a damaged file stops the
 * start instead of failing every turn later. Throws StoreDamaged when SQLite finds the file
 * damaged (bad pages, a truncated file, a header that is not SQLite's).
 */
export function openSqliteFile(options: OpenOptions, health: StoreHealthTracker): BetterSqlite3.Database {
  const size = options.path === ':memory:' ? 0 : fileSize(options.path);
  const checkMaxBytes = options.checkMaxBytes ?? DEFAULT_CHECK_MAX_BYTES;
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes (kill -9) in WAL mode; only power loss can drop the
    // last transactions.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // better-sqlite3 builds SQLite with a 16 MB page cache; SQLite's own 2 MB default keeps the
    // gateway's memory flat over months (the OS caches the file anyway) and is no slower here.
    db.pragma('cache_size = -2000');
    db.pragma('foreign_keys = ON');
    if (size > 0 && size <= checkMaxBytes) {
      const problems = quickCheck(db);
      if (problems.length > 0) throw new StoreDamaged(options.path, problems);
    } else if (size > checkMaxBytes) {
      void quickCheckInBackground(options.path).then((problems) => {
        if (problems && problems.length > 0) health.noteDamage(problems);
      });
    }
    return db;
  } catch (error) {
    db?.close();
    if (isDamageError(error)) throw new StoreDamaged(options.path, [error instanceof Error ? error.message : String(error)]);
    throw error;
  }
}
