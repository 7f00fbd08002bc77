import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

/** The marker file in the workspaces folder every node must see, holding the cluster's workspace id. */
export const WORKSPACE_MARKER = '.hearth-cluster-workspaces';

/**
 * Whether this node sees the same workspaces folder as its peers. The first node to start writes
 * a random id into `<workspacesDir>/.hearth-cluster-workspaces` and into the database; every node
 * after it must find the same id in its own folder. Returns null when it does, else what is wrong
 * and how to fix it (the folder is not the shared mount). Never throws: a check that cannot run
 * is reported the same way.
 */
export async function checkSharedWorkspaces(pool: pg.Pool, workspacesDir: string): Promise<string | null> {
  const marker = join(workspacesDir, WORKSPACE_MARKER);
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS cluster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const local = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : null;
    const proposed = local ?? randomUUID();
    await pool.query("INSERT INTO cluster_meta (key, value) VALUES ('workspaces', $1) ON CONFLICT (key) DO NOTHING", [proposed]);
    const shared = (await pool.query<{ value: string }>("SELECT value FROM cluster_meta WHERE key = 'workspaces'")).rows[0]?.value;
    if (shared === undefined) return 'the cluster\'s workspace id could not be read from the database';
    if (local === null && shared === proposed) {
      mkdirSync(workspacesDir, { recursive: true, mode: 0o700 });
      writeFileSync(marker, `${shared}\n`, { mode: 0o600 });
      return null;
    }
    if (local === shared) return null;
    return local === null
      ? `this node's workspaces folder (${workspacesDir}) is not the one the other nodes use (it has no ${WORKSPACE_MARKER}): mount the shared folder there, so every node's agents read and write the same files (docs/cluster.md)`
      : `this node's workspaces folder (${workspacesDir}) belongs to another cluster (${WORKSPACE_MARKER} says ${local}, the database ${shared}): mount this cluster's shared folder there (docs/cluster.md)`;
  } catch (error) {
    return `the shared workspaces could not be checked: ${error instanceof Error ? error.message : String(error)}`;
  }
}
