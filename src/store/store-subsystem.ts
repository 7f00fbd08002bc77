import { join } from 'node:path';
import type { HearthPaths } from '../config/paths.js';
import type { Store } from '../contracts/store.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { createSqliteStore } from './sqlite/sqlite-store.js';

/** The SQLite store in the state folder; closed last. */
export const storeSubsystem = defineSubsystem({
  name: 'store',
  start({ paths }: { paths: HearthPaths }) {
    const store: Store = createSqliteStore({ path: join(paths.stateDir, 'hearth.sqlite') });
    return {
      api: store,
      // Down after a failed statement until one succeeds, and for good once the file is found damaged.
      health: () => store.health?.() ?? { status: 'ok' as const, detail: store.kind },
      stop: () => store.close(),
    };
  },
});
