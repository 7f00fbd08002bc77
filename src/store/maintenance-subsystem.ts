import type { Store } from '../contracts/store.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';

const HOUR_MS = 3600_000;

/** Hourly pruning of old idempotency keys (after a day) and of the cron ledger (`cron.historyDays`). */
export const maintenanceSubsystem = defineSubsystem({
  name: 'maintenance',
  start({ store, config, logger }: Pick<GatewayBase, 'config' | 'logger'> & { store: Store }) {
    const prune = () => {
      store.pruneIdempotencyKeys(Date.now() - 24 * HOUR_MS).catch((error) => logger.warn({ err: error }, 'idempotency key pruning failed'));
      store
        .pruneCronRuns(Date.now() - config.current().cron.historyDays * 86_400_000)
        .catch((error) => logger.warn({ err: error }, 'cron ledger pruning failed'));
    };
    const timer = setInterval(prune, HOUR_MS);
    timer.unref();
    return { api: undefined, drain: () => clearInterval(timer) };
  },
});
