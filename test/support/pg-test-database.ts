import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The machine's PostgreSQL server (127.0.0.1:5432, trust auth), or HEARTH_TEST_POSTGRES_URL. */
export const POSTGRES_ADMIN_URL = process.env.HEARTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  /** A pool on it, closed by `drop`. */
  pool(max?: number): pg.Pool;
  drop(): Promise<void>;
}

/** Creates a database of its own for a test file (dropped with `drop`), failing clearly when PostgreSQL does not answer. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect().catch((error: Error) => {
    throw new Error(`PostgreSQL does not answer at ${POSTGRES_ADMIN_URL} (${error.message}): start it with \`pg_ctlcluster --skip-systemctl-redirect 15 main start\``);
  });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const pools: pg.Pool[] = [];
  return {
    url: url.toString(),
    pool(max = 2) {
      const created = new pg.Pool({ connectionString: url.toString(), max });
      created.on('error', () => {});
      pools.push(created);
      return created;
    },
    async drop() {
      for (const created of pools) await created.end().catch(() => {});
      const dropper = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}
