import pg from 'pg';
import { HearthError } from '../../contracts/errors.js';
import type { Store } from '../../contracts/store.js';
import { createPostgresAutomationState } from './postgres-automation-state.js';
import { createPgQuarantine, createPostgresChannelState } from './postgres-channel-state.js';
import { applyPostgresMigrations } from './postgres-migrations.js';
import { createPgHealth, createPgRunner, numericTypes, redactUrl } from './postgres-runner.js';
import { createPostgresImportLedger } from './postgres-import-ledger.js';
import { createPostgresRunPlans } from './postgres-run-plans.js';
import { createPostgresTurns } from './postgres-turns.js';
import { createPostgresTasks } from './postgres-tasks.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (store.url or HEARTH_DATABASE_URL). */
  url: string;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before a statement fails (default 10 s). */
  connectTimeoutMs?: number;
  /** How long one statement may take before it fails, so a server that hangs cannot hold the write queue for ever (default 60 s). */
  statementTimeoutMs?: number;
  /** The time zone usage days are counted in (default: the process's, as budgets count them). */
  timeZone?: string;
}

/**
 * The cluster Store: PostgreSQL through a pg Pool, with the SQLite store's semantics (the same
 * contract suite passes on both). Several gateways may share one database: a turn is completed
 * once even when two race for it, and migrations run once under an advisory lock.
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const label = redactUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs ?? 60_000,
    query_timeout: (options.statementTimeoutMs ?? 60_000) + 1000,
    keepAlive: true,
    types: numericTypes,
    application_name: 'hearth',
  });
  // A pooled connection the server closed (restart, pg_terminate_backend) is dropped from the pool;
  // the next statement that fails marks the store down.
  const health = createPgHealth(pool, label);
  pool.on('error', (error) => health.noteError('keep a pooled connection', error));
  let closed = false;
  const runner = createPgRunner(pool, health, () => closed);
  const quarantine = createPgQuarantine();
  const timeZone = options.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;

  return {
    kind: 'postgres',
    health: health.report,
    quarantinedRows: () => runner.read('list quarantined rows', (query) => quarantine.list(query)),
    migrate: () =>
      applyPostgresMigrations(pool).then(
        (done) => {
          health.noteSuccess();
          return done;
        },
        (error: unknown) => {
          health.noteError('apply migrations', error);
          throw new HearthError('STORE_ERROR', `The PostgreSQL state database failed to apply migrations: ${error instanceof Error ? error.message : String(error)}.`, { cause: error });
        },
      ),
    close: async () => {
      if (closed) return;
      closed = true;
      await runner.write('close', async () => undefined).catch(() => {});
      await pool.end();
    },
    ...createPostgresTurns(runner),
    ...createPostgresChannelState(runner, quarantine),
    ...createPostgresAutomationState(runner, quarantine, { timeZone }),
    ...createPostgresImportLedger(runner),
    ...createPostgresRunPlans(runner),
    ...createPostgresTasks(runner),
  };
}

/**
 * Opens the PostgreSQL store and applies its migrations, or fails with a start-up message that
 * names store.url and what to check (never a stack trace).
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new HearthError('CONFIG_INVALID', `store.url is not a URL (${redactUrl(options.url)}): write it as postgres://user:password@host:5432/database.`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new HearthError('CONFIG_INVALID', `store.url must start with postgres:// (it is ${redactUrl(options.url)}).`);
  }
  const store = createPostgresStore(options);
  try {
    await store.migrate();
    return store;
  } catch (error) {
    await store.close().catch(() => {});
    const cause = (error as { cause?: unknown }).cause ?? error;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new HearthError(
      'STORE_ERROR',
      `Cannot open the PostgreSQL state database at store.url ${redactUrl(options.url)}: ${detail}. ` +
        'Check that the server runs and accepts connections from this machine, that the database exists, and that the user and password are right (or set HEARTH_DATABASE_URL).',
      { cause },
    );
  }
}
