import pg from 'pg';
import { postgresMigrations } from '../store/postgres/postgres-migrations.js';
import { numericTypes, redactUrl } from '../store/postgres/postgres-runner.js';
import type { Finding } from './doctor.js';

/**
 * `hearth doctor` for a PostgreSQL store: the server answers, the schema is at the version this
 * Hearth knows (or older: the gateway migrates it at start), and stored rows set aside. Changes nothing.
 */
export async function checkPostgresStore(url: string, options: { timeoutMs?: number } = {}): Promise<Finding[]> {
  const where = redactUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.timeoutMs ?? 5000, types: numericTypes });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    return [
      {
        check: 'database',
        status: 'error',
        message: `the PostgreSQL state database at store.url ${where} does not answer: ${error instanceof Error ? error.message : String(error)}`,
        fix: 'check that the server runs and accepts connections from this machine, that the database exists, and the user and password in store.url (or HEARTH_DATABASE_URL)',
      },
    ];
  }
  try {
    const findings: Finding[] = [];
    const server = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
    findings.push({ check: 'database', status: 'ok', message: `PostgreSQL ${server} answers at ${where}` });
    const known = Math.max(...postgresMigrations.map((migration) => migration.version));
    const table = (await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found")).rows[0]?.found;
    const version = table ? ((await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations')).rows[0]?.version ?? 0) : 0;
    if (version > known) {
      findings.push({ check: 'migrations', status: 'error', message: `the database is at schema version ${version}, newer than this Hearth knows (${known})`, fix: 'run the Hearth version that migrated it, or restore a backup made before' });
    } else if (version < known) {
      findings.push({ check: 'migrations', status: 'warn', message: `the database is at schema version ${version}; this Hearth migrates it to ${known} at start`, fix: '`hearth doctor --migrate` applies them now (safe while other gateways run: migrations take an advisory lock)' });
    } else {
      findings.push({ check: 'migrations', status: 'ok', message: `schema version ${version} (current)` });
    }
    if (version > 0) {
      const set = (await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM quarantined_rows')).rows[0]?.n ?? 0;
      if (set > 0) findings.push({ check: 'stored rows', status: 'warn', message: `${set} stored row(s) fail their schema and are skipped`, fix: '`hearth status` lists them; fix or delete each row' });
    }
    return findings;
  } catch (error) {
    return [{ check: 'database', status: 'error', message: `reading ${where} failed: ${error instanceof Error ? error.message : String(error)}`, fix: 'check that the user in store.url may read the database' }];
  } finally {
    await client.end().catch(() => {});
  }
}
