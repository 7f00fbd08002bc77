import pg from 'pg';
import { HearthError } from '../../contracts/errors.js';
import type { StoreHealth } from '../../contracts/store.js';

/** One statement on the connection of the current read or transaction. */
export type Query = <R extends object = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

/** How the PostgreSQL store runs a read (`read`, on any pooled connection) and a write (`write`, one transaction). */
export interface PgRunner {
  read<T>(action: string, fn: (query: Query) => Promise<T>): Promise<T>;
  write<T>(action: string, fn: (query: Query) => Promise<T>): Promise<T>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * BIGINT (epoch milliseconds, ids, counts) and NUMERIC (sums) come back as numbers, as the port
 * promises, instead of pg's default strings; set per pool, never on the shared `pg.types`.
 */
export const numericTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

function storeError(action: string, cause: unknown): HearthError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new HearthError('STORE_ERROR', `The PostgreSQL state database failed to ${action}: ${detail}. Run \`hearth doctor\` to check it.`, { cause });
}

/**
 * The store's health: down after a failed statement until one succeeds. While down, asking for it
 * starts a probe (`SELECT 1`) so `/readyz` recovers when the server is back even without traffic.
 */
export function createPgHealth(pool: pg.Pool, label: string, now: () => number = Date.now) {
  let lastError: StoreHealth['lastError'] = null;
  let down = false;
  let probing = false;
  const noteSuccess = () => {
    down = false;
  };
  const noteError = (action: string, error: unknown) => {
    down = true;
    lastError = { at: now(), action, message: error instanceof Error ? error.message : String(error), damaged: false };
  };
  const probe = () => {
    if (probing) return;
    probing = true;
    pool
      .query('SELECT 1')
      .then(noteSuccess, (error: unknown) => noteError('answer a health probe', error))
      .finally(() => {
        probing = false;
      });
  };
  return {
    noteSuccess,
    noteError,
    report(): StoreHealth {
      if (down) {
        probe();
        return { status: 'down', detail: `postgres ${label}: ${lastError?.action ?? 'unreachable'} failed: ${lastError?.message ?? ''}`, lastError };
      }
      return { status: 'ok', detail: `postgres ${label}`, lastError };
    },
  };
}

export type PgHealth = ReturnType<typeof createPgHealth>;

/**
 * Runs `fn` in one transaction on one pooled connection: committed when it resolves, rolled back
 * when it throws. A connection that failed is closed, not given back to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (query: Query) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A connection the server drops mid-transaction also emits 'error' on its client (the pool
  // listens only while it is idle); the failed statement reports it, so the event is noted here.
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const value = await fn((text, params) => client.query(text, params));
    await client.query('COMMIT');
    return value;
  } catch (error) {
    if (!(error instanceof HearthError)) broken ??= error instanceof Error ? error : new Error(String(error));
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Reads run on any pooled connection, in parallel. Writes run one at a time per store, each in its
 * own transaction, in the order they were issued (as the SQLite store commits them): a failing
 * write rolls back alone and leaves the others as they were.
 */
export function createPgRunner(pool: pg.Pool, health: PgHealth, isClosed: () => boolean): PgRunner {
  let tail: Promise<unknown> = Promise.resolve();
  const settle = <T>(action: string, work: Promise<T>): Promise<T> =>
    work.then(
      (value) => {
        health.noteSuccess();
        return value;
      },
      (error: unknown) => {
        if (error instanceof HearthError) throw error;
        health.noteError(action, error);
        throw storeError(action, error);
      },
    );
  const transaction = <T>(fn: (query: Query) => Promise<T>) => withTransaction(pool, fn);
  return {
    read: (action, fn) => {
      if (isClosed()) return Promise.reject(storeError(action, new Error('the store is closed')));
      return settle(action, fn((text, params) => pool.query(text, params)));
    },
    write: (action, fn) => {
      if (isClosed()) return Promise.reject(storeError(action, new Error('the store is closed')));
      const result = tail.then(() => settle(action, transaction(fn)));
      tail = result.catch(() => {});
      return result;
    },
  };
}
