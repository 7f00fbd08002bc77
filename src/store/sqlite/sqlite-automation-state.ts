import type BetterSqlite3 from 'better-sqlite3';
import type { RowQuarantine } from './sqlite-quarantine.js';
import { checkCronJobRow, jsonObjectProblem } from './stored-row-schemas.js';
import type { CronJob, CronRunStats, SpendRecord } from '../../contracts/automation.js';
import type { OutboxEntry, Store } from '../../contracts/store.js';
import type { StatementRunner } from './sqlite-channel-state.js';
import { type AlertRow, type CronRunRow, type JobRow, OUTBOX_COLUMNS, type OutboxRow, toAlert, toCronRun, toOutboxEntry } from '../row-mappers.js';

type AutomationStateMethods = Pick<
  Store,
  | 'putCronJob'
  | 'getCronJob'
  | 'listCronJobs'
  | 'deleteCronJob'
  | 'putCronRun'
  | 'listCronRuns'
  | 'pruneCronRuns'
  | 'cronRunStats'
  | 'raiseAlert'
  | 'pendingAlerts'
  | 'recordAlertDelivery'
  | 'listAlerts'
  | 'pruneAlerts'
  | 'readSpend'
>;

/** A job row checked against its schema, or null (marked in `quarantined_rows`) when it fails. */
const toJob = (row: JobRow, quarantine: RowQuarantine): CronJob | null => {
  const checked = checkCronJobRow(row);
  if (!quarantine.admit('cron_jobs', row.id, checked.ok ? null : checked.problem) || !checked.ok) return null;
  return { id: row.id, spec: checked.spec, state: checked.state, createdAt: row.created_at, updatedAt: row.updated_at };
};

/** Cron jobs and their ledger, operator alerts and daily spend: the scheduled-work part of the SQLite store. */
export function createSqliteAutomationState(db: BetterSqlite3.Database, runner: StatementRunner, quarantine: RowQuarantine): AutomationStateMethods {
  const sql = {
    putJob: db.prepare(
      `INSERT INTO cron_jobs (id, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, state = excluded.state, updated_at = excluded.updated_at`,
    ),
    getJob: db.prepare('SELECT * FROM cron_jobs WHERE id = ?'),
    listJobs: db.prepare('SELECT * FROM cron_jobs ORDER BY created_at, id'),
    deleteJob: db.prepare('DELETE FROM cron_jobs WHERE id = ?'),
    putRun: db.prepare(
      `INSERT INTO cron_runs (id, job_id, status, scheduled_at, started_at, finished_at, trigger, turn_run_id, reason, error, count, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, trigger = excluded.trigger, started_at = excluded.started_at, finished_at = excluded.finished_at,
         turn_run_id = excluded.turn_run_id, reason = excluded.reason, error = excluded.error, count = excluded.count`,
    ),
    listRuns: db.prepare(
      `SELECT * FROM cron_runs WHERE (@job IS NULL OR job_id = @job) AND (@status IS NULL OR status = @status)
       AND (@since IS NULL OR created_at >= @since) ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
    ),
    runStats: db.prepare(
      `SELECT job_id AS jobId,
         SUM(CASE status WHEN 'ok' THEN count ELSE 0 END) AS ok,
         SUM(CASE status WHEN 'error' THEN count ELSE 0 END) AS error,
         SUM(CASE status WHEN 'missed' THEN count ELSE 0 END) AS missed,
         SUM(CASE status WHEN 'skipped' THEN count ELSE 0 END) AS skipped,
         AVG(CASE WHEN trigger = 'schedule' AND status IN ('ok', 'error') THEN started_at - scheduled_at END) AS driftAvgMs,
         MAX(CASE WHEN trigger = 'schedule' AND status IN ('ok', 'error') THEN started_at - scheduled_at END) AS driftMaxMs
       FROM cron_runs WHERE created_at >= ? GROUP BY job_id`,
    ),
    pruneRuns: db.prepare(`DELETE FROM cron_runs WHERE created_at < ? AND status NOT IN ('running', 'scheduled')`),
    countRuns: db.prepare('SELECT COUNT(*) AS n FROM cron_runs'),
    pruneOldestRuns: db.prepare(
      `DELETE FROM cron_runs WHERE id IN (SELECT id FROM cron_runs WHERE status NOT IN ('running', 'scheduled') ORDER BY created_at, rowid LIMIT ?)`,
    ),
    insertAlert: db.prepare(
      `INSERT INTO operator_alerts (dedupe_key, event, payload, webhook, status, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING *`,
    ),
    alertByKey: db.prepare('SELECT * FROM operator_alerts WHERE dedupe_key = ?'),
    pendingAlerts: db.prepare(
      `SELECT * FROM operator_alerts WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?`,
    ),
    alertDelivered: db.prepare(
      `UPDATE operator_alerts SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL, last_error = NULL WHERE id = ?`,
    ),
    alertRetry: db.prepare(`UPDATE operator_alerts SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`),
    alertGiveUp: db.prepare(`UPDATE operator_alerts SET status = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = NULL WHERE id = ?`),
    listAlerts: db.prepare('SELECT * FROM operator_alerts ORDER BY id DESC LIMIT ?'),
    pruneAlerts: db.prepare("DELETE FROM operator_alerts WHERE id IN (SELECT id FROM operator_alerts WHERE status <> 'pending' AND created_at < ? ORDER BY id LIMIT ?)"),
    insertOutbox: db.prepare(
      `INSERT INTO outbox (run_id, session_key, channel, target, text, status, attempts, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)
       RETURNING ${OUTBOX_COLUMNS}`,
    ),
    spend: db.prepare('SELECT day, scope, tokens, cost_usd FROM daily_spend WHERE day = ? AND scope = ?'),
  };

  /** An alert whose payload is not a JSON object is marked and skipped instead of failing every list. */
  const admitAlert = (row: AlertRow): boolean => quarantine.admit('operator_alerts', String(row.id), jsonObjectProblem('payload', row.payload));

  const putJob = (job: CronJob) => {
    sql.putJob.run(job.id, JSON.stringify(job.spec), JSON.stringify(job.state), job.createdAt, job.updatedAt);
    quarantine.clear('cron_jobs', job.id);
  };

  return {
    putCronJob: (job) => runner.write('save a cron job', () => putJob(job)),
    getCronJob: (id) =>
      runner.run('read a cron job', () => {
        const row = sql.getJob.get(id) as JobRow | undefined;
        return row ? toJob(row, quarantine) : null;
      }),
    listCronJobs: () => runner.run('list cron jobs', () => (sql.listJobs.all() as JobRow[]).map((row) => toJob(row, quarantine)).filter((job): job is CronJob => job !== null)),
    deleteCronJob: (id) =>
      runner.write('remove a cron job', () => {
        quarantine.clear('cron_jobs', id);
        return sql.deleteJob.run(id).changes > 0;
      }),
    putCronRun: (run, job) =>
      runner.write('record a cron run', () => {
        sql.putRun.run(
          run.id,
          run.jobId,
          run.status,
          run.scheduledAt,
          run.startedAt,
          run.finishedAt,
          run.trigger,
          run.turnRunId,
          run.reason,
          run.error,
          run.count,
          run.createdAt,
        );
        if (job) putJob(job);
      }),
    listCronRuns: ({ jobId, status, since, limit }) =>
      runner.run('list cron runs', () => (sql.listRuns.all({ job: jobId ?? null, status: status ?? null, since: since ?? null, limit }) as CronRunRow[]).map(toCronRun)),
    cronRunStats: (since) => runner.run('sum up the cron ledger', () => sql.runStats.all(since) as CronRunStats[]),
    pruneCronRuns: (olderThan, maxRows) =>
      runner.write('prune the cron ledger', () => {
        let removed = sql.pruneRuns.run(olderThan).changes;
        const over = maxRows === undefined ? 0 : (sql.countRuns.get() as { n: number }).n - maxRows;
        if (over > 0) removed += sql.pruneOldestRuns.run(over).changes;
        return removed;
      }),
    raiseAlert: (input, message) =>
      runner.write('record an operator alert', () => {
        const row = sql.insertAlert.get(
          input.dedupeKey,
          input.event,
          JSON.stringify(input.payload),
          input.webhook,
          input.webhook ? 'pending' : 'logged',
          input.now,
        ) as AlertRow | undefined;
        if (!row) return { alert: toAlert(sql.alertByKey.get(input.dedupeKey) as AlertRow), created: false, outbox: null };
        let outbox: OutboxEntry | null = null;
        if (message) {
          outbox = toOutboxEntry(
            sql.insertOutbox.get(message.runId, message.sessionKey, message.channel, message.target, message.text, message.now) as OutboxRow,
          );
        }
        return { alert: toAlert(row), created: true, outbox };
      }),
    pendingAlerts: (now, limit) => runner.run('list pending alerts', () => (sql.pendingAlerts.all(now, limit) as AlertRow[]).filter(admitAlert).map(toAlert)),
    recordAlertDelivery: (id, outcome) =>
      runner.write('record an alert delivery', () => {
        if (outcome.delivered) sql.alertDelivered.run(outcome.now, id);
        else if (outcome.retryAt === null) sql.alertGiveUp.run(outcome.error ?? 'gave up', id);
        else sql.alertRetry.run(outcome.error ?? 'failed', outcome.retryAt, id);
      }),
    listAlerts: (limit) => runner.run('list alerts', () => (sql.listAlerts.all(limit) as AlertRow[]).filter(admitAlert).map(toAlert)),
    pruneAlerts: (before, limit) => runner.write('prune old alerts', () => sql.pruneAlerts.run(before, limit).changes),
    readSpend: (day, scopes) =>
      runner.run('read spend', () => {
        const found: SpendRecord[] = [];
        for (const scope of scopes) {
          const row = sql.spend.get(day, scope) as { day: string; scope: string; tokens: number; cost_usd: number } | undefined;
          if (row) found.push({ day: row.day, scope: row.scope, tokens: row.tokens, costUsd: row.cost_usd });
        }
        return found;
      }),
  };
}
