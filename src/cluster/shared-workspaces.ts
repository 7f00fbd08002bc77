import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { ensureClusterTables } from './leases.js';

/** The marker file in the workspaces folder every node must see, holding the cluster's workspace id. */
export const WORKSPACE_MARKER = '.hearth-cluster-workspaces';

/** The folder's marker; the first node to look writes it (exclusively: nodes starting together on one folder agree). */
async function readOrCreateMarker(workspacesDir: string, marker: string): Promise<string> {
  mkdirSync(workspacesDir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(marker, `${randomUUID()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Another node may have created it a moment ago and not written it yet.
  for (let tries = 0; tries < 20; tries++) {
    const text = readFileSync(marker, 'utf8').trim();
    if (text !== '') return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${marker} is empty`);
}

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
    await ensureClusterTables(pool);
    const local = await readOrCreateMarker(workspacesDir, marker);
    await pool.query("INSERT INTO cluster_meta (key, value) VALUES ('workspaces', $1) ON CONFLICT (key) DO NOTHING", [local]);
    const shared = (await pool.query<{ value: string }>("SELECT value FROM cluster_meta WHERE key = 'workspaces'")).rows[0]?.value;
    if (shared === undefined) return 'the cluster\'s workspace id could not be read from the database';
    if (local === shared) return null;
    return `this node's workspaces folder (${workspacesDir}) is not the one the other nodes use (its ${WORKSPACE_MARKER} says ${local}, the database ${shared}): mount the cluster's shared folder there, so every node's agents read and write the same files (docs/cluster.md)`;
  } catch (error) {
    return `the shared workspaces could not be checked: ${error instanceof Error ? error.message : String(error)}`;
  }
}
