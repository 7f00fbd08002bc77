import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { IdleSession, ReclaimedSpace, Store } from '../contracts/store.js';
import type { MediaStore } from '../media/media-store.js';
import type { Clock } from '../runtime/clock.js';

const DAY_MS = 86_400_000;
/** Sessions archived per round, and rows deleted per statement: a slice at a time between the gateway's own writes. */
const SESSIONS_PER_ROUND = 100;
const ROWS_PER_BATCH = 1000;
/** Most batches of one kind a run deletes; the next run goes on. */
const MAX_BATCHES = 50;
/** Free space below this is never worth rewriting the database for. */
const MIN_RECLAIM_BYTES = 16 * 1024 * 1024;
/** A file saved less than this ago may belong to a message still being stored: not pruned yet. */
const MEDIA_GRACE_MS = 3_600_000;

export interface RetentionSettings {
  sessionsIdleDays: number;
  runsDays: number;
  runsMaxRows: number;
  outboxDays: number;
  /** Done, failed and cancelled tasks are kept this many days after they finished; 0 for ever. */
  tasksDays: number;
  /** Operator alerts whose delivery is over are kept this many days; 0 for ever. */
  alertsDays: number;
  /** Share of the database (in percent) that must be free pages before it is compacted; 0 never. */
  vacuumFreePercent: number;
}

export interface RetentionReport {
  at: number;
  durationMs: number;
  sessionsArchived: number;
  linesRemoved: number;
  runsRemoved: number;
  outboxRemoved: number;
  tasksRemoved: number;
  alertsRemoved: number;
  mediaFilesRemoved: number;
  mediaBytesRemoved: number;
  /** Set when the pass compacted the database. */
  reclaimed: ReclaimedSpace | null;
}

export interface RetentionDeps {
  store: Pick<Store, 'idleSessions' | 'sessionLines' | 'deleteIdleSession' | 'pruneRunRecords' | 'pruneFinishedOutbox' | 'pruneFinishedTasks' | 'pruneAlerts' | 'mediaReferences' | 'reclaimSpace'>;
  clock: Pick<Clock, 'now'>;
  settings: () => RetentionSettings;
  /** `$HEARTH_HOME/archive/sessions`. */
  archiveDir: string;
  /** Where channel media is kept (`$HEARTH_HOME/media` or the object store of `media.to`). */
  media: Pick<MediaStore, 'prune'>;
  /** Least free space worth compacting for (16 MiB unless a test says otherwise). */
  minReclaimBytes?: number;
}

const yieldToGateway = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A file name from a session key: its characters that are safe, and the idle time for uniqueness. */
function archiveName(session: IdleSession): string {
  return `${session.key.replace(/[^A-Za-z0-9._-]+/gu, '_').slice(0, 180)}.${session.updatedAt}.jsonl.gz`;
}

/**
 * Writes a session's archive: gzip JSON lines, the first describing the session, then every
 * transcript line of every generation. Written to a temporary name, flushed and renamed, so an
 * archive either is whole or is not there (and the session is then not deleted).
 */
async function archiveSession(deps: RetentionDeps, session: IdleSession, now: number): Promise<void> {
  const lines = await deps.store.sessionLines(session.key);
  const day = new Date(now).toISOString().slice(0, 10);
  const dir = join(deps.archiveDir, day);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const header = JSON.stringify({ session: session.key, agentId: session.agentId, lastTurnAt: session.updatedAt, archivedAt: now, lines: lines.length });
  const body = [header, ...lines.map((line) => JSON.stringify({ ...line, message: JSON.parse(line.body) as unknown, body: undefined }))].join('\n');
  const file = join(dir, archiveName(session));
  writeFileSync(`${file}.tmp`, gzipSync(`${body}\n`), { mode: 0o600, flush: true });
  renameSync(`${file}.tmp`, file);
}

async function pruneSessions(deps: RetentionDeps, settings: RetentionSettings, now: number, report: RetentionReport): Promise<void> {
  if (settings.sessionsIdleDays <= 0) return;
  const before = now - settings.sessionsIdleDays * DAY_MS;
  for (let round = 0; round < MAX_BATCHES; round++) {
    const idle = await deps.store.idleSessions(before, SESSIONS_PER_ROUND);
    for (const session of idle) {
      await archiveSession(deps, session, now);
      const removed = await deps.store.deleteIdleSession(session.key, before);
      // A turn since the archive was written keeps the session (its archive stays, a harmless copy).
      if (removed === null) continue;
      report.sessionsArchived++;
      report.linesRemoved += removed;
    }
    if (idle.length < SESSIONS_PER_ROUND) return;
    await yieldToGateway();
  }
}

async function batches(deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const removed = await deleteBatch();
    total += removed;
    if (removed < ROWS_PER_BATCH) break;
    await yieldToGateway();
  }
  return total;
}

/**
 * One retention pass: sessions idle past `sessionsIdleDays` are archived and removed, run
 * records past `runsDays` (or beyond `runsMaxRows`), finished outbox entries past `outboxDays`,
 * finished tasks past `tasksDays` (unless an unfinished task depends on them) and operator alerts
 * past `alertsDays` (unless still being delivered) are deleted, media files no transcript refers to any more are removed, and the database is
 * compacted when more than `vacuumFreePercent` of it is free. Bounded: a store
 * with more to prune is pruned over several passes.
 */
export async function runRetention(deps: RetentionDeps): Promise<RetentionReport> {
  const settings = deps.settings();
  const now = deps.clock.now();
  const started = Date.now();
  const report: RetentionReport = { at: now, durationMs: 0, sessionsArchived: 0, linesRemoved: 0, runsRemoved: 0, outboxRemoved: 0, tasksRemoved: 0, alertsRemoved: 0, mediaFilesRemoved: 0, mediaBytesRemoved: 0, reclaimed: null };
  await pruneSessions(deps, settings, now, report);
  if (settings.runsDays > 0 || settings.runsMaxRows > 0) {
    const finishedBefore = settings.runsDays > 0 ? now - settings.runsDays * DAY_MS : 0;
    const maxRows = settings.runsMaxRows > 0 ? settings.runsMaxRows : Number.MAX_SAFE_INTEGER;
    report.runsRemoved = await batches(() => deps.store.pruneRunRecords({ finishedBefore, maxRows, limit: ROWS_PER_BATCH }));
  }
  if (settings.outboxDays > 0) report.outboxRemoved = await batches(() => deps.store.pruneFinishedOutbox(now - settings.outboxDays * DAY_MS, ROWS_PER_BATCH));
  if (settings.tasksDays > 0) report.tasksRemoved = await batches(() => deps.store.pruneFinishedTasks(now - settings.tasksDays * DAY_MS, ROWS_PER_BATCH));
  if (settings.alertsDays > 0) report.alertsRemoved = await batches(() => deps.store.pruneAlerts(now - settings.alertsDays * DAY_MS, ROWS_PER_BATCH));
  const media = await deps.media.prune(await deps.store.mediaReferences(), MEDIA_GRACE_MS, now);
  report.mediaFilesRemoved = media.files;
  report.mediaBytesRemoved = media.bytes;
  if (settings.vacuumFreePercent > 0 && deps.store.reclaimSpace) {
    report.reclaimed = await deps.store.reclaimSpace({ minFreeRatio: settings.vacuumFreePercent / 100, minFreeBytes: deps.minReclaimBytes ?? MIN_RECLAIM_BYTES });
  }
  report.durationMs = Date.now() - started;
  return report;
}
