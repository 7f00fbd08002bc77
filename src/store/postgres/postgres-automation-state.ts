import type { CronJob, CronRunStats, SpendRecord } from '../../contracts/automation.js';
import type { ActiveTranscript, ArchivedLine, CompactionMessage, IdleSession, OutboxEntry, Store } from '../../contracts/store.js';
import { type AlertRow, type CronRunRow, type JobRow, type OutboxRow, readCompaction, type TranscriptRow, toAlert, toCronRun, toOutboxEntry, toTranscriptEntry, USAGE_SUMS, type UsageTotalsRow, toUsageTotals } from '../row-mappers.js';
import { checkCronJobRow, jsonObjectProblem } from '../sqlite/stored-row-schemas.js';
import { INSERT_OUTBOX, type PgQuarantine } from './postgres-channel-state.js';
import type { PgRunner, Query } from './postgres-runner.js';

type AutomationMethods = Pick<
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
  | 'usageSummary'
  | 'activeTranscript'
  | 'appendCompaction'
  | 'idleSessions'
  | 'sessionLines'
  | 'deleteIdleSession'
  | 'pruneRunRecords'
  | 'pruneFinishedOutbox'
  | 'mediaReferences'
>;

const WINDOW = 'FROM runs WHERE finished_at >= $1 AND finished_at < $2 AND input_tokens IS NOT NULL';

/**
 * Cron jobs and their ledger, operator alerts, spend and usage, compactions and retention in
 * PostgreSQL: the same statements as the SQLite store's, in PostgreSQL's dialect.
 */
export function createPostgresAutomationState({ read, write }: PgRunner, quarantine: PgQuarantine, options: { timeZone: string }): AutomationMethods {
  const toJob = async (query: Query, row: JobRow): Promise<CronJob | null> => {
    const checked = checkCronJobRow(row);
    if (!(await quarantine.admit(query, 'cron_jobs', row.id, checked.ok ? null : checked.problem)) || !checked.ok) return null;
    return { id: row.id, spec: checked.spec, state: checked.state, createdAt: row.created_at, updatedAt: row.updated_at };
  };
  const putJob = async (query: Query, job: CronJob) => {
    await query(
      `INSERT INTO cron_jobs (id, spec, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, state = excluded.state, updated_at = excluded.updated_at`,
      [job.id, JSON.stringify(job.spec), JSON.stringify(job.state), job.createdAt, job.updatedAt],
    );
    await quarantine.clear(query, 'cron_jobs', job.id);
  };
  const admitAlerts = async (query: Query, rows: AlertRow[]) => {
    const admitted: AlertRow[] = [];
    for (const row of rows) if (await quarantine.admit(query, 'operator_alerts', String(row.id), jsonObjectProblem('payload', row.payload))) admitted.push(row);
    return admitted.map(toAlert);
  };
  const generationOf = async (query: Query, sessionKey: string): Promise<number | null> =>
    (await query<{ generation: number }>('SELECT generation FROM sessions WHERE key = $1', [sessionKey])).rows[0]?.generation ?? null;
  const deleteRuns = async (query: Query, ids: string[]) => {
    if (ids.length === 0) return 0;
    await query('DELETE FROM run_steps WHERE run_id = ANY($1::text[])', [ids]);
    return (await query('DELETE FROM runs WHERE id = ANY($1::text[])', [ids])).rowCount ?? 0;
  };

  return {
    putCronJob: (job) => write('save a cron job', (query) => putJob(query, job)),
    getCronJob: (id) =>
      read('read a cron job', async (query) => {
        const row = (await query<JobRow>('SELECT * FROM cron_jobs WHERE id = $1', [id])).rows[0];
        return row ? toJob(query, row) : null;
      }),
    listCronJobs: () =>
      read('list cron jobs', async (query) => {
        const jobs: CronJob[] = [];
        for (const row of (await query<JobRow>('SELECT * FROM cron_jobs ORDER BY created_at, id')).rows) {
          const job = await toJob(query, row);
          if (job) jobs.push(job);
        }
        return jobs;
      }),
    deleteCronJob: (id) =>
      write('remove a cron job', async (query) => {
        await quarantine.clear(query, 'cron_jobs', id);
        return ((await query('DELETE FROM cron_jobs WHERE id = $1', [id])).rowCount ?? 0) > 0;
      }),
    putCronRun: (run, job) =>
      write('record a cron run', async (query) => {
        await query(
          `INSERT INTO cron_runs (id, job_id, status, scheduled_at, started_at, finished_at, trigger, turn_run_id, reason, error, count, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, trigger = excluded.trigger, started_at = excluded.started_at, finished_at = excluded.finished_at,
             turn_run_id = excluded.turn_run_id, reason = excluded.reason, error = excluded.error, count = excluded.count`,
          [run.id, run.jobId, run.status, run.scheduledAt, run.startedAt, run.finishedAt, run.trigger, run.turnRunId, run.reason, run.error, run.count, run.createdAt],
        );
        if (job) await putJob(query, job);
      }),
    listCronRuns: ({ jobId, status, since, limit }) =>
      read('list cron runs', async (query) =>
        (
          await query<CronRunRow>(
            `SELECT * FROM cron_runs WHERE ($1::text IS NULL OR job_id = $1) AND ($2::text IS NULL OR status = $2)
             AND ($3::bigint IS NULL OR created_at >= $3) ORDER BY created_at DESC, seq DESC LIMIT $4`,
            [jobId ?? null, status ?? null, since ?? null, limit],
          )
        ).rows.map(toCronRun),
      ),
    cronRunStats: (since) =>
      read('sum up the cron ledger', async (query) =>
        (
          await query<CronRunStats>(
            `SELECT job_id AS "jobId",
               SUM(CASE status WHEN 'ok' THEN count ELSE 0 END) AS ok,
               SUM(CASE status WHEN 'error' THEN count ELSE 0 END) AS error,
               SUM(CASE status WHEN 'missed' THEN count ELSE 0 END) AS missed,
               SUM(CASE status WHEN 'skipped' THEN count ELSE 0 END) AS skipped,
               AVG(CASE WHEN trigger = 'schedule' AND status IN ('ok', 'error') THEN started_at - scheduled_at END)::double precision AS "driftAvgMs",
               MAX(CASE WHEN trigger = 'schedule' AND status IN ('ok', 'error') THEN started_at - scheduled_at END) AS "driftMaxMs"
             FROM cron_runs WHERE created_at >= $1 GROUP BY job_id`,
            [since],
          )
        ).rows,
      ),
    pruneCronRuns: (olderThan, maxRows) =>
      write('prune the cron ledger', async (query) => {
        let removed = (await query(`DELETE FROM cron_runs WHERE created_at < $1 AND status NOT IN ('running', 'scheduled')`, [olderThan])).rowCount ?? 0;
        const over = maxRows === undefined ? 0 : Number((await query<{ n: string }>('SELECT COUNT(*) AS n FROM cron_runs')).rows[0]?.n ?? 0) - maxRows;
        if (over > 0) {
          removed +=
            (await query(`DELETE FROM cron_runs WHERE id IN (SELECT id FROM cron_runs WHERE status NOT IN ('running', 'scheduled') ORDER BY created_at, seq LIMIT $1)`, [over])).rowCount ?? 0;
        }
        return removed;
      }),

    raiseAlert: (input, message) =>
      write('record an operator alert', async (query) => {
        const inserted = await query<AlertRow>(
          `INSERT INTO operator_alerts (dedupe_key, event, payload, webhook, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (dedupe_key) DO NOTHING RETURNING *`,
          [input.dedupeKey, input.event, JSON.stringify(input.payload), input.webhook, input.webhook ? 'pending' : 'logged', input.now],
        );
        const row = inserted.rows[0];
        if (!row) {
          const first = (await query<AlertRow>('SELECT * FROM operator_alerts WHERE dedupe_key = $1', [input.dedupeKey])).rows[0] as AlertRow;
          return { alert: toAlert(first), created: false, outbox: null };
        }
        let outbox: OutboxEntry | null = null;
        if (message) {
          const queued = await query<OutboxRow>(INSERT_OUTBOX, [message.runId, message.sessionKey, message.channel, message.target, message.text, message.now]);
          outbox = toOutboxEntry(queued.rows[0] as OutboxRow);
        }
        return { alert: toAlert(row), created: true, outbox };
      }),
    pendingAlerts: (now, limit) =>
      read('list pending alerts', async (query) =>
        admitAlerts(
          query,
          (await query<AlertRow>(`SELECT * FROM operator_alerts WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $1) ORDER BY id LIMIT $2`, [now, limit])).rows,
        ),
      ),
    recordAlertDelivery: (id, outcome) =>
      write('record an alert delivery', async (query) => {
        if (outcome.delivered) {
          await query(`UPDATE operator_alerts SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, next_attempt_at = NULL, last_error = NULL WHERE id = $2`, [outcome.now, id]);
        } else if (outcome.retryAt === null) {
          await query(`UPDATE operator_alerts SET status = 'failed', attempts = attempts + 1, last_error = $1, next_attempt_at = NULL WHERE id = $2`, [outcome.error ?? 'gave up', id]);
        } else {
          await query('UPDATE operator_alerts SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3', [outcome.error ?? 'failed', outcome.retryAt, id]);
        }
      }),
    listAlerts: (limit) => read('list alerts', async (query) => admitAlerts(query, (await query<AlertRow>('SELECT * FROM operator_alerts ORDER BY id DESC LIMIT $1', [limit])).rows)),
    pruneAlerts: (before, limit) =>
      write('prune old alerts', async (query) =>
        (await query(`DELETE FROM operator_alerts WHERE id IN (SELECT id FROM operator_alerts WHERE status <> 'pending' AND created_at < $1 ORDER BY id LIMIT $2)`, [before, limit])).rowCount ?? 0,
      ),
    readSpend: (day, scopes) =>
      read('read spend', async (query) => {
        const rows = await query<{ day: string; scope: string; tokens: number; cost_usd: number }>(
          'SELECT day, scope, tokens, cost_usd FROM daily_spend WHERE day = $1 AND scope = ANY($2::text[])',
          [day, [...scopes]],
        );
        const byScope = new Map(rows.rows.map((row) => [row.scope, row]));
        const found: SpendRecord[] = [];
        for (const scope of scopes) {
          const row = byScope.get(scope);
          if (row) found.push({ day: row.day, scope: row.scope, tokens: row.tokens, costUsd: row.cost_usd });
        }
        return found;
      }),
    usageSummary: ({ since, until }) =>
      read('summarise usage', async (query) => {
        // Days in the gateway's time zone, as budgets count them (JavaScript's Date and SQLite's 'localtime' both follow it).
        const days = await query<UsageTotalsRow>(
          `SELECT to_char(to_timestamp(finished_at / 1000.0) AT TIME ZONE $3, 'YYYY-MM-DD') AS key, ${USAGE_SUMS} ${WINDOW} GROUP BY key ORDER BY key`,
          [since, until, options.timeZone],
        );
        const agents = await query<UsageTotalsRow>(`SELECT agent_id AS key, ${USAGE_SUMS} ${WINDOW} GROUP BY agent_id ORDER BY agent_id`, [since, until]);
        const models = await query<UsageTotalsRow>(`SELECT model_ref AS key, ${USAGE_SUMS} ${WINDOW} GROUP BY model_ref ORDER BY model_ref NULLS FIRST`, [since, until]);
        return {
          days: days.rows.map((row) => ({ day: row.key ?? '', ...toUsageTotals(row) })),
          agents: agents.rows.map((row) => ({ agentId: row.key ?? '', ...toUsageTotals(row) })),
          models: models.rows.map((row) => ({ model: row.key, ...toUsageTotals(row) })),
        };
      }),

    activeTranscript: (sessionKey, { maxEntries }) =>
      read('read the active transcript of a session', async (query): Promise<ActiveTranscript | null> => {
        const generation = await generationOf(query, sessionKey);
        if (generation === null) return null;
        const last = (
          await query<TranscriptRow>(
            `SELECT id, run_id, body, created_at FROM transcript WHERE session_key = $1 AND generation = $2 AND role = 'compaction' ORDER BY id DESC LIMIT 1`,
            [sessionKey, generation],
          )
        ).rows[0];
        const message = readCompaction(last);
        const compaction = last && message ? { ...toTranscriptEntry(last), message } : null;
        const firstId = message?.firstKeptId ?? 0;
        const rows = (
          await query<TranscriptRow>(
            `SELECT id, run_id, body, created_at FROM transcript WHERE session_key = $1 AND generation = $2 AND id >= $3 AND role <> 'compaction' ORDER BY id DESC LIMIT $4`,
            [sessionKey, generation, firstId, maxEntries],
          )
        ).rows;
        const total =
          rows.length < maxEntries
            ? rows.length
            : ((await query<{ n: number }>(`SELECT COUNT(*) AS n FROM transcript WHERE session_key = $1 AND generation = $2 AND id >= $3 AND role <> 'compaction'`, [sessionKey, generation, firstId]))
                .rows[0]?.n ?? 0);
        return { generation, compaction, entries: rows.reverse().map(toTranscriptEntry), omitted: total - rows.length };
      }),
    appendCompaction: (sessionKey, input) =>
      write('append a compaction', async (query) => {
        const generation = (await query<{ generation: number }>('SELECT generation FROM sessions WHERE key = $1 FOR UPDATE', [sessionKey])).rows[0]?.generation;
        if (generation === undefined || generation !== input.generation) return null;
        const { generation: _generation, runId, now, ...fields } = input;
        const message: CompactionMessage = { role: 'compaction', ...fields };
        const inserted = await query<{ id: number }>(
          `INSERT INTO transcript (session_key, generation, run_id, role, body, created_at) VALUES ($1, $2, $3, 'compaction', $4, $5) RETURNING id`,
          [sessionKey, input.generation, runId, JSON.stringify(message), now],
        );
        return inserted.rows[0]?.id ?? null;
      }),

    idleSessions: (before, limit) =>
      read('list idle sessions', async (query) =>
        (await query<IdleSession>('SELECT key, agent_id AS "agentId", updated_at AS "updatedAt" FROM sessions WHERE updated_at < $1 ORDER BY updated_at LIMIT $2', [before, limit])).rows,
      ),
    sessionLines: (sessionKey) =>
      read('read a session for its archive', async (query) =>
        (
          await query<ArchivedLine>('SELECT id, generation, run_id AS "runId", role, body, created_at AS "createdAt" FROM transcript WHERE session_key = $1 ORDER BY id', [sessionKey])
        ).rows,
      ),
    deleteIdleSession: (sessionKey, before) =>
      write('delete an idle session', async (query) => {
        // A turn that arrived since the archive was written keeps the session.
        const idle = await query('SELECT 1 FROM sessions WHERE key = $1 AND updated_at < $2 FOR UPDATE', [sessionKey, before]);
        if (idle.rows.length === 0) return null;
        const lines = (await query('DELETE FROM transcript WHERE session_key = $1', [sessionKey])).rowCount ?? 0;
        await query('DELETE FROM sessions WHERE key = $1', [sessionKey]);
        return lines;
      }),
    pruneRunRecords: ({ finishedBefore, maxRows, limit }) =>
      write('prune run records', async (query) => {
        const old = await query<{ id: string }>('SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1 LIMIT $2', [finishedBefore, limit]);
        let removed = await deleteRuns(query, old.rows.map((row) => row.id));
        const over = ((await query<{ n: number }>('SELECT COUNT(*) AS n FROM runs')).rows[0]?.n ?? 0) - maxRows;
        if (over > 0) {
          const oldest = await query<{ id: string }>('SELECT id FROM runs WHERE finished_at IS NOT NULL ORDER BY seq LIMIT $1', [Math.min(over, limit)]);
          removed += await deleteRuns(query, oldest.rows.map((row) => row.id));
        }
        return removed;
      }),
    pruneFinishedOutbox: (before, limit) =>
      write('prune the delivered outbox', async (query) =>
        (await query(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 LIMIT $2)`, [before, limit])).rowCount ?? 0,
      ),
    mediaReferences: () =>
      read('list the media transcripts refer to', async (query) => {
        const found = new Set<string>();
        for (const row of (await query<{ body: string }>(`SELECT body FROM transcript WHERE body LIKE '%media/%'`)).rows) {
          for (const match of row.body.matchAll(/media\/([0-9a-f]{64})/gu)) found.add(match[1] as string);
        }
        return found;
      }),
  };
}
