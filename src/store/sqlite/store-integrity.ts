import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { StoreHealth } from '../../contracts/store.js';

/**
 * Thrown when the state database cannot be used because its file is damaged (pages that fail
 * `quick_check`, a truncated file, a header that is not SQLite's). The gateway refuses to start
 * with it and the CLI exits with its own code; `hearth doctor --fix` salvages what can be read.
 */
export class StoreDamaged extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(
      `the state database ${path} is damaged: ${problems.slice(0, 3).join('; ')}. ` +
        'Nothing was changed. Run `hearth doctor` to see the damage, then `hearth doctor --fix` to salvage what can be read into a new database (the damaged file is kept beside it).',
    );
    this.name = 'StoreDamaged';
  }
}

/** Files up to this size are checked before the gateway starts; about 1.5 ms per MiB. */
export const DEFAULT_CHECK_MAX_BYTES = 64 * 1024 * 1024;

const DAMAGE_CODES: readonly string[] = ['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB', 'SQLITE_IOERR_SHORT_READ'];

/** True for SQLite's errors that mean the file itself is damaged (not busy, full or closed). */
export function isDamageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DAMAGE_CODES.includes(code);
}

/** `PRAGMA quick_check`, up to `limit` problems; an empty list means the file is sound. */
export function quickCheck(db: BetterSqlite3.Database, limit = 10): string[] {
  const rows = db.pragma(`quick_check(${limit})`) as { quick_check: string }[];
  return rows
    .flatMap((row) => row.quick_check.split('\n'))
    .filter((text) => text !== 'ok' && !text.startsWith('*** in database'));
}

/**
 * The store's health as the gateway reports it: the last error and whether a success came after
 * it. Damage is sticky (a read of another page succeeding does not mend it); any other error
 * (disk full, locked) clears at the next successful statement.
 */
export function createStoreHealth(path: string, now: () => number = Date.now) {
  let lastError: { at: number; action: string; message: string; damaged: boolean } | null = null;
  let lastSuccessAt: number | null = null;
  let damaged = false;
  return {
    noteSuccess(): void {
      if (lastError === null || lastSuccessAt !== null) return;
      lastSuccessAt = now();
    },
    noteError(action: string, error: unknown): void {
      const isDamage = isDamageError(error);
      damaged ||= isDamage;
      lastError = { at: now(), action, message: error instanceof Error ? error.message : String(error), damaged: isDamage };
      lastSuccessAt = null;
    },
    noteDamage(problems: string[]): void {
      damaged = true;
      lastError = { at: now(), action: 'pass quick_check', message: problems.slice(0, 3).join('; '), damaged: true };
      lastSuccessAt = null;
    },
    report(): StoreHealth {
      if (damaged) {
        return {
          status: 'down',
          detail: `${path} is damaged (${lastError?.message ?? 'quick_check failed'}): stop the gateway and run \`hearth doctor --fix\``,
          lastError,
        };
      }
      if (lastError && lastSuccessAt === null) {
        return { status: 'down', detail: `the last write or read failed (${lastError.action}: ${lastError.message}); run \`hearth doctor\``, lastError };
      }
      return { status: 'ok', detail: 'sqlite', lastError };
    },
  };
}

export type StoreHealthTracker = ReturnType<typeof createStoreHealth>;

const CHECK_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
function check() {
  try {
    const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
    const rows = db.pragma('quick_check(10)');
    db.close();
    return rows.map((row) => row.quick_check).filter((text) => text !== 'ok');
  } catch (error) {
    return /CORRUPT|NOTADB/.test(String(error && error.code)) ? [String(error.message)] : null;
  }
}
parentPort.postMessage(check());
`;

/**
 * `quick_check` of a large file on another thread, so start-up does not wait for it; resolves
 * with the problems found (empty when sound), or null when the check could not run.
 */
export function quickCheckInBackground(path: string): Promise<string[] | null> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Promise((resolve) => {
    const worker = new Worker(CHECK_WORKER, { eval: true, workerData: { path, module } });
    worker.unref();
    worker.once('message', (problems: string[] | null) => resolve(problems));
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
}
