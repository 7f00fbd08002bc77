import type { BackupsStatus } from '../backups/backups-subsystem.js';
import type { RetentionStatus } from '../retention/retention-subsystem.js';
import { formatBytes as size } from '../tools/file-io.js';

const INDENT = '          ';
const time = (at: number) => new Date(at).toISOString().replace(/\.\d{3}Z$/u, 'Z');
const count = (value: number) => value.toLocaleString('en-US');
const days = (value: number) => (value > 0 ? `${count(value)} d` : 'for ever');
const capped = (kept: string, maxRows: number) => (maxRows > 0 ? `${kept}, at most ${count(maxRows)}` : kept);

/** `Retention` in `hearth status`: the last pass and the next, then how long each kind of state is kept. */
export function describeRetention(status: RetentionStatus): string[] {
  const { settings, lastPass, lastError } = status;
  const next = status.nextPassAt ? `next ${time(status.nextPassAt)}` : 'a pass is running';
  let last = 'no pass yet';
  if (lastError && (!lastPass || lastError.at >= lastPass.at)) last = `last pass FAILED ${time(lastError.at)}: ${lastError.message}`;
  else if (lastPass) {
    const compacted = lastPass.reclaimed ? `; database compacted ${size(lastPass.reclaimed.beforeBytes)} → ${size(lastPass.reclaimed.afterBytes)}` : '';
    last =
      `last pass ${time(lastPass.at)} removed ${count(lastPass.sessionsArchived)} sessions (archived), ${count(lastPass.runsRemoved)} run records, ` +
      `${count(lastPass.outboxRemoved)} outbox entries, ${count(lastPass.tasksRemoved)} tasks, ${count(lastPass.alertsRemoved)} alerts, ${count(lastPass.mediaFilesRemoved)} media files${compacted}`;
  }
  const kept = [
    `idle sessions ${days(settings.sessionsIdleDays)}`,
    `runs ${capped(days(settings.runsDays), settings.runsMaxRows)}`,
    `outbox ${days(settings.outboxDays)}`,
    `tasks ${days(settings.tasksDays)}`,
    `alerts ${days(settings.alertsDays)}`,
    `cron ledger ${capped(days(settings.cronHistoryDays), settings.cronHistoryMaxRows)}`,
  ];
  const compaction = settings.vacuumFreePercent > 0 ? `compacts at ${settings.vacuumFreePercent}% free` : 'never compacts';
  return [`Retention ${last}; ${next}`, `${INDENT}keeps ${kept.join('; ')}; every ${settings.intervalMinutes} min, ${compaction}`];
}

/** `Backups` in `hearth status`: where and how often, the last backup (or failure) and the next. */
export function describeBackups(status: BackupsStatus): string {
  const { settings, last, lastError } = status;
  if (!settings) return 'Backups   off (no backups in the config)';
  const secrets = settings.includeSecrets ? ', with secrets' : '';
  let outcome = 'none yet since start';
  if (lastError) outcome = `last FAILED ${time(lastError.at)}: ${lastError.message}${last ? ` (last stored ${last.name} ${time(last.at)})` : ''}`;
  else if (last) outcome = `last ${last.name} ${time(last.at)} (${size(last.sizeBytes)})${last.where === settings.to ? '' : ` in ${last.where}`}${last.removed > 0 ? `, ${last.removed} older removed` : ''}`;
  const next = status.running ? 'a backup is running' : status.nextAt ? `next ${time(status.nextAt)}` : 'the next not scheduled yet';
  return `Backups   every ${settings.every} to ${settings.to}, keeping ${settings.keep}${secrets}: ${outcome}; ${next}`;
}
