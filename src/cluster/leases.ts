import type { Pool } from 'pg';

/**
 * Work ownership across gateways that share one PostgreSQL database: named leases with an expiry
 * in the database's own clock (so nodes' clocks may disagree), and the nodes' heartbeats. A lease
 * is held by one node at a time; the holder renews it well before it expires; when the holder
 * dies, another node takes it once it has expired. Nothing about ownership lives in memory only.
 */
export interface Leases {
  /** Takes the lease, or renews it when this node holds it; false when another node holds it unexpired. */
  acquire(name: string, ttlMs: number): Promise<boolean>;
  /** Renews several leases this node holds in one statement; returns the names it still holds. */
  renew(names: readonly string[], ttlMs: number): Promise<string[]>;
  /** Gives it up (only if this node holds it), so another node can take it at once. */
  release(name: string): Promise<void>;
  /** Every lease with its holder and how long until it expires (negative: expired). */
  list(prefix?: string): Promise<LeaseRow[]>;
  /** Records this node as alive, with where it serves. */
  heartbeat(info: { url: string; startedAt: number }): Promise<void>;
  nodes(): Promise<NodeRow[]>;
  readonly nodeId: string;
}

export interface LeaseRow {
  name: string;
  holder: string;
  acquiredAt: number;
  /** How long its holder has had it, by the database's clock. */
  heldForMs: number;
  expiresInMs: number;
}

export interface NodeRow {
  nodeId: string;
  url: string;
  startedAt: number;
  heartbeatAgeMs: number;
}

/** Milliseconds since the epoch by the database's clock, the one every node agrees on. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export const LEASE_TABLES = `
  CREATE TABLE IF NOT EXISTS cluster_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
  );
`;

/**
 * Creates the cluster's tables (leases, nodes, large events, shared settings) once, under an
 * advisory lock: `CREATE TABLE IF NOT EXISTS` run by nodes starting at the same moment can
 * otherwise fail on PostgreSQL's catalog.
 */
export async function ensureClusterTables(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('hearth cluster tables'))");
    await client.query(LEASE_TABLES);
    await client.query('CREATE TABLE IF NOT EXISTS cluster_events (id BIGSERIAL PRIMARY KEY, body JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    await client.query('CREATE TABLE IF NOT EXISTS cluster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** A node whose last heartbeat is older than two lease periods counts as gone. */
export const isAlive = (node: Pick<NodeRow, 'heartbeatAgeMs'>, leaseMs: number): boolean => node.heartbeatAgeMs < leaseMs * 2;

/** A pool or a single client: what the reads below need. */
type Queryable = Pick<Pool, 'query'>;

/** Every lease whose name starts with `prefix`, with its holder and how long until it expires (negative: expired). */
export async function readLeases(db: Queryable, prefix = ''): Promise<LeaseRow[]> {
  const result = await db.query<{ name: string; holder: string; acquired_at: string; held: string; expires_in: string }>(
    `SELECT name, holder, acquired_at, ${DB_NOW} - acquired_at AS held, expires_at - ${DB_NOW} AS expires_in FROM cluster_leases WHERE starts_with(name, $1) ORDER BY name`,
    [prefix],
  );
  return result.rows.map((row) => ({ name: row.name, holder: row.holder, acquiredAt: Number(row.acquired_at), heldForMs: Number(row.held), expiresInMs: Number(row.expires_in) }));
}

/** Every node that has joined, with the age of its last heartbeat. */
export async function readNodes(db: Queryable): Promise<NodeRow[]> {
  const result = await db.query<{ node_id: string; url: string; started_at: string; age: string }>(
    `SELECT node_id, url, started_at, ${DB_NOW} - heartbeat_at AS age FROM cluster_nodes ORDER BY node_id`,
  );
  return result.rows.map((row) => ({ nodeId: row.node_id, url: row.url, startedAt: Number(row.started_at), heartbeatAgeMs: Number(row.age) }));
}

export async function createLeases(pool: Pool, nodeId: string): Promise<Leases> {
  await ensureClusterTables(pool);
  return {
    nodeId,
    async acquire(name, ttlMs) {
      const result = await pool.query(
        `INSERT INTO cluster_leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, ${DB_NOW}, ${DB_NOW} + $3)
         ON CONFLICT (name) DO UPDATE SET
           holder = EXCLUDED.holder,
           expires_at = EXCLUDED.expires_at,
           acquired_at = CASE WHEN cluster_leases.holder = EXCLUDED.holder THEN cluster_leases.acquired_at ELSE EXCLUDED.acquired_at END
         WHERE cluster_leases.holder = EXCLUDED.holder OR cluster_leases.expires_at < ${DB_NOW}
         RETURNING holder`,
        [name, nodeId, Math.round(ttlMs)],
      );
      return result.rowCount === 1;
    },
    async renew(names, ttlMs) {
      if (names.length === 0) return [];
      const result = await pool.query<{ name: string }>(
        `UPDATE cluster_leases SET expires_at = ${DB_NOW} + $3 WHERE holder = $1 AND name = ANY($2::text[]) RETURNING name`,
        [nodeId, names, Math.round(ttlMs)],
      );
      return result.rows.map((row) => row.name);
    },
    async release(name) {
      await pool.query('DELETE FROM cluster_leases WHERE name = $1 AND holder = $2', [name, nodeId]);
    },
    list: (prefix = '') => readLeases(pool, prefix),
    async heartbeat(info) {
      await pool.query(
        `INSERT INTO cluster_nodes (node_id, url, started_at, heartbeat_at) VALUES ($1, $2, $3, ${DB_NOW})
         ON CONFLICT (node_id) DO UPDATE SET url = EXCLUDED.url, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at`,
        [nodeId, info.url, info.startedAt],
      );
    },
    nodes: () => readNodes(pool),
  };
}
