import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { createSqliteStore } from '../sqlite/sqlite-store.js';
import { applyPostgresMigrations } from './postgres-migrations.js';
import { type Query, withTransaction } from './postgres-runner.js';

/** Rows per INSERT statement: well under PostgreSQL's 65,535 parameters for every table. */
const ROWS_PER_INSERT = 200;
/** Tables whose rows mean the database is in use: a copy never goes into one of those. */
const IN_USE_TABLES = ['sessions', 'runs', 'cron_jobs', 'approved_senders'];

export interface CopyReport {
  /** Rows copied, per table. */
  tables: Record<string, number>;
  /** SQLite tables with no PostgreSQL twin (left behind). */
  skipped: string[];
}

interface PgColumn {
  name: string;
  type: string;
  /** `ALWAYS` identity columns are numbered by PostgreSQL, in insertion order; `BY DEFAULT` ones are copied. */
  identity: 'ALWAYS' | 'BY DEFAULT' | null;
}

async function pgColumns(query: Query): Promise<Map<string, PgColumn[]>> {
  const rows = (await query<{ table_name: string; column_name: string; data_type: string; identity_generation: string | null }>(
    `SELECT table_name, column_name, data_type, identity_generation FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`,
  )).rows;
  const tables = new Map<string, PgColumn[]>();
  for (const row of rows) {
    const columns = tables.get(row.table_name) ?? [];
    columns.push({ name: row.column_name, type: row.data_type, identity: row.identity_generation as PgColumn['identity'] });
    tables.set(row.table_name, columns);
  }
  return tables;
}

const toPg = (value: unknown, column: PgColumn) => (column.type === 'boolean' && typeof value === 'number' ? value !== 0 : value);

async function copyTable(db: BetterSqlite3.Database, query: Query, table: string, columns: PgColumn[]): Promise<number> {
  const sqliteNames = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((column) => column.name));
  const copied = columns.filter((column) => column.identity !== 'ALWAYS' && sqliteNames.has(column.name));
  const names = copied.map((column) => `"${column.name}"`).join(', ');
  const select = db.prepare(`SELECT ${names} FROM "${table}" ORDER BY rowid`).raw(true);
  let batch: unknown[][] = [];
  let total = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const params = batch.flatMap((row) => row.map((value, index) => toPg(value, copied[index] as PgColumn)));
    const tuples = batch.map((_, rowIndex) => `(${copied.map((_column, index) => `$${rowIndex * copied.length + index + 1}`).join(', ')})`);
    await query(`INSERT INTO "${table}" (${names}) VALUES ${tuples.join(', ')}`, params);
    total += batch.length;
    batch = [];
  };
  for (const row of select.iterate() as Iterable<unknown[]>) {
    batch.push(row);
    if (batch.length >= ROWS_PER_INSERT) await flush();
  }
  await flush();
  for (const column of columns.filter((candidate) => candidate.identity === 'BY DEFAULT')) {
    await query(`SELECT setval(pg_get_serial_sequence('"${table}"', '${column.name}'), COALESCE((SELECT MAX("${column.name}") FROM "${table}"), 0) + 1, false)`);
  }
  return total;
}

async function refuseInUse(query: Query): Promise<void> {
  for (const table of IN_USE_TABLES) {
    const { rows } = await query(`SELECT 1 FROM "${table}" LIMIT 1`);
    if (rows.length > 0) throw new Error(`the PostgreSQL database already holds state (rows in ${table}): copy into a new, empty database`);
  }
}

/**
 * Copies a single-node SQLite state database into an empty PostgreSQL one (moving an install into
 * a cluster): the SQLite file is brought to the current schema first, then every table the two
 * stores share is copied in one transaction, in insertion order, and PostgreSQL's id sequences are
 * set past the copied ids. A database that already holds state is refused; nothing is written then.
 */
export async function copySqliteIntoPostgres(sqlitePath: string, url: string): Promise<CopyReport> {
  // Opening the store brings the file to the current schema.
  await createSqliteStore({ path: sqlitePath }).close();
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => {});
  try {
    await applyPostgresMigrations(pool);
    return await withTransaction(pool, async (query) => {
      await refuseInUse(query);
      const tables = await pgColumns(query);
      const sqliteTables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all() as { name: string }[]).map((row) => row.name);
      const report: CopyReport = { tables: {}, skipped: sqliteTables.filter((name) => !tables.has(name)) };
      for (const name of sqliteTables) {
        const columns = tables.get(name);
        if (columns) report.tables[name] = await copyTable(db, query, name, columns);
      }
      return report;
    });
  } finally {
    db.close();
    await pool.end();
  }
}
