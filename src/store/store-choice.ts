import { join } from 'node:path';
import type { HearthPaths } from '../config/paths.js';
import type { HearthConfig } from '../config/schema.js';
import { HearthError } from '../contracts/errors.js';

/** Which store the gateway opens. */
export type StoreChoice = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * `store` in the config, with HEARTH_DATABASE_URL selecting postgres (and its URL) over it. Throws
 * CONFIG_INVALID when postgres is chosen without a URL.
 */
export function chooseStore(config: Pick<HearthConfig, 'store'>, env: Record<string, string | undefined>, paths: Pick<HearthPaths, 'stateDir'>): StoreChoice {
  const fromEnv = env.HEARTH_DATABASE_URL?.trim();
  if (fromEnv) return { kind: 'postgres', url: fromEnv };
  if (config.store.kind === 'postgres') {
    if (!config.store.url) {
      throw new HearthError('CONFIG_INVALID', 'store.kind is "postgres" but store.url is not set: set it to postgres://user:password@host:5432/database, or set HEARTH_DATABASE_URL.');
    }
    return { kind: 'postgres', url: config.store.url };
  }
  return { kind: 'sqlite', path: join(paths.stateDir, 'hearth.sqlite') };
}

/** Whether the state lives in PostgreSQL (for commands that only apply to the SQLite file). */
export function usesPostgres(config: Pick<HearthConfig, 'store'>, env: Record<string, string | undefined>): boolean {
  return Boolean(env.HEARTH_DATABASE_URL?.trim()) || config.store.kind === 'postgres';
}

/** The message for a SQLite-only operation asked of a PostgreSQL store. */
export function sqliteOnly(what: string): string {
  return `${what}: for the SQLite state file only, and this home keeps its state in PostgreSQL (store.kind / HEARTH_DATABASE_URL): use the server's own tools (pg_dump, pg_restore, amcheck) for it (see docs/cluster.md)`;
}
