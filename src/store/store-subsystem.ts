import type { HearthPaths } from '../config/paths.js';
import type { HearthConfig } from '../config/schema.js';
import type { Store } from '../contracts/store.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { chooseStore, type StoreChoice } from './store-choice.js';

/** Opens the chosen store; each adapter is loaded only when chosen. */
export async function openStore(choice: StoreChoice): Promise<Store> {
  if (choice.kind === 'postgres') {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    return openPostgresStore({ url: choice.url });
  }
  const { createSqliteStore } = await import('./sqlite/sqlite-store.js');
  return createSqliteStore({ path: choice.path });
}

/** The state store: SQLite in the state folder, or PostgreSQL (store.kind / HEARTH_DATABASE_URL); closed last. */
export const storeSubsystem = defineSubsystem({
  name: 'store',
  async start({ paths, config, env }: { paths: HearthPaths; config: { current(): HearthConfig }; env: Record<string, string | undefined> }) {
    const store: Store = await openStore(chooseStore(config.current(), env, paths));
    return {
      api: store,
      // Down after a failed statement until one succeeds (SQLite: for good once the file is found damaged).
      health: () => store.health?.() ?? { status: 'ok' as const, detail: store.kind },
      stop: () => store.close(),
    };
  },
});
