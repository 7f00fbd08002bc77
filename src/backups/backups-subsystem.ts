import type { AlertSink } from '../automation/alerts.js';
import { parseDuration } from '../automation/schedule.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { usesPostgres } from '../store/store-choice.js';
// The backup code (the archive writer, the S3 client) loads only when backups are configured.
import type { BackupResult } from './backup.js';

/** The first backup of a gateway waits this long after start, or until one is due. */
const FIRST_BACKUP_DELAY_MS = 60_000;
/** Longest a stopping gateway waits for the backup in progress (a hung upload must not hold it). */
const STOP_WAIT_MS = 60_000;

/**
 * What `hearth status` shows of backups: the settings in force (null when backups are off), the
 * last backup this gateway stored, the last failure (cleared by the next success), and when the
 * next one is due (null while one runs, or before the first is scheduled).
 */
export interface BackupsStatus {
  settings: { to: string; every: string; keep: number; includeSecrets: boolean } | null;
  last: { at: number; name: string; where: string; sizeBytes: number; removed: number } | null;
  lastError: { at: number; message: string } | null;
  nextAt: number | null;
  running: boolean;
}

interface BackupsDeps extends Pick<GatewayBase, 'config' | 'logger' | 'paths' | 'version'> {
  alerts: Pick<AlertSink, 'raise'>;
  clock?: Clock;
  /** For HEARTH_DATABASE_URL, which puts the state in PostgreSQL (then the backups hold only the home's files). */
  env?: GatewayBase['env'];
}

/**
 * Backups on a schedule (`backups` in the config): a state export every `backups.every` to a
 * folder or an S3-compatible bucket, keeping the newest `backups.keep`. A failed backup is an
 * operator alert (once a day) and turns the component degraded until one succeeds.
 */
export function scheduleBackups(deps: BackupsDeps) {
  const clock = deps.clock ?? systemClock;
  const state = {
    timer: undefined as unknown,
    stopped: false,
    last: null as (BackupResult & { at: number }) | null,
    error: null as string | null,
    errorAt: 0,
    nextAt: null as number | null,
    running: false,
    /** The scheduled backup in progress: stopping waits for it, so the store is not closed under it. */
    inProgress: null as Promise<void> | null,
  };

  async function backUp(): Promise<void> {
    const config = deps.config.current().backups;
    if (!config) return;
    const now = clock.now();
    state.running = true;
    try {
      const result = await (await import('./backup.js')).runBackup(deps.paths, config, { hearthVersion: deps.version, now });
      state.last = { ...result, at: now };
      state.error = null;
      deps.logger.info({ backup: result.name, where: result.where, bytes: result.sizeBytes, removed: result.removed }, 'backup stored');
    } catch (error) {
      state.error = error instanceof Error ? error.message : String(error);
      state.errorAt = now;
      const day = new Date(now).toISOString().slice(0, 10);
      const alerts = deps.config.current().alerts;
      await deps.alerts
        .raise({ dedupeKey: `backup:failed:${day}`, event: 'backup.failed', payload: { event: 'backup.failed', to: config.to, error: state.error }, text: `The backup to ${config.to} failed: ${state.error}. Check backups.to and its credentials; the next backup tries again.`, channel: alerts.channel, webhook: alerts.webhook })
        .catch((raiseError: unknown) => deps.logger.error({ err: raiseError }, 'could not record the backup alert'));
    } finally {
      state.running = false;
    }
  }

  function schedule(delayMs: number): void {
    state.nextAt = clock.now() + delayMs;
    state.timer = clock.setTimer(() => {
      if (state.stopped) return;
      state.nextAt = null;
      const inProgress = backUp().finally(() => {
        state.inProgress = null;
        const config = deps.config.current().backups;
        if (!state.stopped && config) schedule(parseDuration(config.every));
      });
      state.inProgress = inProgress;
    }, delayMs);
  }

  /** Due now if the newest stored backup is older than `every`; else when it will be. */
  async function firstDelay(): Promise<number> {
    const config = deps.config.current().backups;
    if (!config) return FIRST_BACKUP_DELAY_MS;
    const newest = (await (await import('./backup.js')).listBackups(config).catch(() => [])).at(-1);
    const due = newest ? newest.at + parseDuration(config.every) - clock.now() : 0;
    return Math.max(Math.min(FIRST_BACKUP_DELAY_MS, parseDuration(config.every)), due);
  }

  if (deps.config.current().backups && usesPostgres(deps.config.current(), deps.env ?? {})) {
    deps.logger.warn({}, "backups hold the home's files only: the PostgreSQL state database is not in them; back it up with pg_dump (see docs/cluster.md)");
  }
  if (deps.config.current().backups) void firstDelay().then((delay) => !state.stopped && schedule(delay));
  return {
    backUp,
    /** Makes no more backups; resolves when the one in progress (if any) is stored and pruned, or after STOP_WAIT_MS. */
    async stop(): Promise<void> {
      state.stopped = true;
      clock.clearTimer(state.timer);
      const running = state.inProgress;
      if (!running) return;
      let timer: unknown;
      const waited = new Promise<void>((resolve) => {
        timer = clock.setTimer(() => {
          deps.logger.warn({ waitedMs: STOP_WAIT_MS }, 'stopping without waiting longer for the backup in progress');
          resolve();
        }, STOP_WAIT_MS);
      });
      await Promise.race([running, waited]);
      clock.clearTimer(timer);
    },
    status(): BackupsStatus {
      const config = deps.config.current().backups;
      const last = state.last;
      return {
        settings: config ? { to: config.to, every: config.every, keep: config.keep, includeSecrets: config.includeSecrets } : null,
        last: last ? { at: last.at, name: last.name, where: last.where, sizeBytes: last.sizeBytes, removed: last.removed.length } : null,
        lastError: state.error ? { at: state.errorAt, message: state.error } : null,
        nextAt: config && !state.stopped ? state.nextAt : null,
        running: state.running,
      };
    },
    health(): { status: 'ok' | 'degraded'; detail: string } {
      if (!deps.config.current().backups) return { status: 'ok', detail: 'off (no backups in the config)' };
      if (state.error) return { status: 'degraded', detail: `the last backup failed: ${state.error}` };
      return { status: 'ok', detail: state.last ? `last ${state.last.name} in ${state.last.where}` : 'none yet this run' };
    },
  };
}

export const backupsSubsystem = defineSubsystem({
  name: 'backups',
  start(deps: BackupsDeps) {
    const backups = scheduleBackups(deps);
    return { api: backups, health: backups.health, drain: () => backups.stop() };
  },
});
