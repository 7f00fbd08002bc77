import type { Store } from '../contracts/store.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export interface MaintenanceDeps {
  store: Pick<Store, 'pruneIdempotencyKeys' | 'pruneCronRuns'>;
  clock: Clock;
  /** `cron.historyDays` and `cron.historyMaxRows` of the config in force. */
  history: () => { historyDays: number; historyMaxRows: number };
  logger: Pick<GatewayBase['logger'], 'warn'>;
}

/**
 * Prunes idempotency keys older than a day and cron ledger entries older than
 * `cron.historyDays` or beyond `cron.historyMaxRows` (0: no limit): once just after start (so a gateway restarted often still prunes), then
 * every hour. `prune()` resolves when both are done; a failure is logged, never thrown.
 */
export function createMaintenance({ store, clock, history, logger }: MaintenanceDeps) {
  let timer: unknown;
  let stopped = false;

  async function prune(): Promise<void> {
    const now = clock.now();
    const { historyDays, historyMaxRows } = history();
    await Promise.all([
      store.pruneIdempotencyKeys(now - DAY_MS).catch((error) => logger.warn({ err: error }, 'idempotency key pruning failed')),
      store.pruneCronRuns(now - historyDays * DAY_MS, historyMaxRows > 0 ? historyMaxRows : undefined).catch((error) => logger.warn({ err: error }, 'cron ledger pruning failed')),
    ]);
  }

  function schedule(delayMs: number): void {
    timer = clock.setTimer(() => {
      if (stopped) return;
      void prune().finally(() => {
        if (!stopped) schedule(HOUR_MS);
      });
    }, delayMs);
  }

  return {
    start: () => schedule(0),
    prune,
    stop() {
      stopped = true;
      clock.clearTimer(timer);
    },
  };
}

/** The gateway's store maintenance (see `createMaintenance`). */
export const maintenanceSubsystem = defineSubsystem({
  name: 'maintenance',
  start({ store, config, logger }: Pick<GatewayBase, 'config' | 'logger'> & { store: Store }) {
    const maintenance = createMaintenance({ store, clock: systemClock, history: () => config.current().cron, logger });
    maintenance.start();
    return { api: undefined, drain: () => maintenance.stop() };
  },
});
