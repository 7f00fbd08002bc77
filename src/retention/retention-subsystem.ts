import { join } from 'node:path';
import type { Store } from '../contracts/store.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { createMediaStore } from '../media/media-store.js';
import { type RetentionReport, type RetentionSettings, runRetention } from './retention.js';

/** Pruning starts this long after the gateway starts (or after one interval, when sooner), so start-up does not pay for it. */
const FIRST_RUN_DELAY_MS = 30_000;

/**
 * What `hearth status` shows of retention: the settings in force (with the cron ledger's, which
 * the hourly maintenance prunes), the last pass or why it failed, and when the next one is due
 * (null while a pass runs).
 */
export interface RetentionStatus {
  settings: RetentionSettings & { intervalMinutes: number; cronHistoryDays: number; cronHistoryMaxRows: number };
  lastPass: RetentionReport | null;
  lastError: { at: number; message: string } | null;
  nextPassAt: number | null;
}

const megabytes = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
const compacted = (report: RetentionReport) =>
  report.reclaimed ? `; database compacted from ${megabytes(report.reclaimed.beforeBytes)} to ${megabytes(report.reclaimed.afterBytes)} in ${report.reclaimed.durationMs} ms` : '';

export interface RetentionSchedule {
  runNow(): Promise<RetentionReport | null>;
  last(): RetentionReport | null;
  status(): RetentionStatus;
  stop(): void;
}

/**
 * Runs retention (see runRetention) every `retention.intervalMinutes`, one pass at a time; a
 * failure is logged and counted, and the next pass tries again. Its last pass shows in
 * `hearth status` and `/readyz` as the `retention` component's detail.
 */
export function scheduleRetention(deps: Pick<GatewayBase, 'config' | 'logger' | 'paths'> & { store: Store; clock?: Clock; firstRunDelayMs?: number }): RetentionSchedule & { health(): { status: 'ok' | 'degraded'; detail: string } } {
  const clock = deps.clock ?? systemClock;
  const state = {
    timer: undefined as unknown,
    stopped: false,
    running: null as Promise<RetentionReport | null> | null,
    last: null as RetentionReport | null,
    error: null as { at: number; message: string } | null,
    nextAt: null as number | null,
  };
  const settings = () => deps.config.current().retention;

  async function pass(): Promise<RetentionReport | null> {
    try {
      const media = createMediaStore(deps.config.current().media, deps.paths.home);
      const report = await runRetention({ store: deps.store, clock, settings, archiveDir: join(deps.paths.home, 'archive', 'sessions'), media }).finally(() => media.close());
      state.last = report;
      state.error = null;
      const removed = report.sessionsArchived + report.runsRemoved + report.outboxRemoved + report.tasksRemoved + report.alertsRemoved + report.mediaFilesRemoved;
      if (removed > 0) deps.logger.info({ ...report }, 'retention pruned old state');
      return report;
    } catch (error) {
      state.error = { at: clock.now(), message: error instanceof Error ? error.message : String(error) };
      deps.logger.warn({ err: error }, 'retention failed; the next pass tries again');
      return null;
    }
  }

  function runNow(): Promise<RetentionReport | null> {
    state.running ??= pass().finally(() => {
      state.running = null;
    });
    return state.running;
  }

  function schedule(delayMs: number): void {
    state.nextAt = clock.now() + delayMs;
    state.timer = clock.setTimer(() => {
      if (state.stopped) return;
      state.nextAt = null;
      void runNow().finally(() => {
        if (!state.stopped) schedule(settings().intervalMinutes * 60_000);
      });
    }, delayMs);
  }

  schedule(deps.firstRunDelayMs ?? Math.min(FIRST_RUN_DELAY_MS, settings().intervalMinutes * 60_000));
  return {
    runNow,
    last: () => state.last,
    status() {
      const { retention, cron } = deps.config.current();
      return {
        settings: { ...retention, cronHistoryDays: cron.historyDays, cronHistoryMaxRows: cron.historyMaxRows },
        lastPass: state.last,
        lastError: state.error,
        nextPassAt: state.stopped ? null : state.nextAt,
      };
    },
    stop() {
      state.stopped = true;
      clock.clearTimer(state.timer);
    },
    health() {
      if (state.error) return { status: 'degraded', detail: `the last pass failed: ${state.error.message}` };
      const last = state.last;
      if (!last) return { status: 'ok', detail: 'no pass yet' };
      return {
        status: 'ok',
        detail: `last pass ${new Date(last.at).toISOString()}: ${last.sessionsArchived} sessions archived (${last.linesRemoved} lines), ${last.runsRemoved} run records, ${last.outboxRemoved} outbox entries, ${last.tasksRemoved} tasks, ${last.alertsRemoved} alerts, ${last.mediaFilesRemoved} media files removed${compacted(last)}`,
      };
    },
  };
}

/** Archives and prunes old state on a schedule (`retention` in the config). */
export const retentionSubsystem = defineSubsystem({
  name: 'retention',
  start(deps: Pick<GatewayBase, 'config' | 'logger' | 'paths'> & { store: Store }) {
    const retention = scheduleRetention(deps);
    return { api: retention, health: retention.health, drain: () => retention.stop() };
  },
});
