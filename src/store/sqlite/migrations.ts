/**
 * Versioned schema migrations for the SQLite store. Append new versions; never edit an applied one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Gives every session an integer id (`sessions.sid`) and every transcript line its session's id:
 * a session with lines but no row gets one (its agent from its key), then sessions without an id
 * are numbered past every id in use, then lines without one take their session's. Run by
 * migration 13 and again after a salvage, whose copy may come from a database older than it.
 */
export const NUMBER_SESSIONS_SQL = `
  INSERT INTO sessions (key, agent_id, generation, created_at, updated_at)
    SELECT session_key,
      CASE WHEN session_key LIKE 'agent:%:%' THEN substr(session_key, 7, instr(substr(session_key, 7), ':') - 1) ELSE 'main' END,
      MAX(generation), MIN(created_at), MAX(created_at)
    FROM transcript WHERE session_key NOT IN (SELECT key FROM sessions) GROUP BY session_key;
  UPDATE sessions SET sid = rowid + (SELECT MAX(COALESCE((SELECT MAX(sid) FROM sessions), 0), COALESCE((SELECT MAX(sid) FROM transcript), 0)))
    WHERE sid IS NULL;
  UPDATE transcript SET sid = (SELECT sid FROM sessions WHERE key = transcript.session_key) WHERE sid IS NULL;
`;

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'core tables: sessions, transcript, runs (the inbox is the queued runs), outbox, run steps, idempotency keys',
    sql: `
      CREATE TABLE sessions (
        key TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE transcript (
        id INTEGER PRIMARY KEY,
        session_key TEXT NOT NULL,
        generation INTEGER NOT NULL,
        run_id TEXT,
        role TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX transcript_by_session ON transcript (session_key, generation, id);
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        session_key TEXT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        text TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
      );
      CREATE INDEX outbox_undelivered ON outbox (status, id) WHERE status = 'pending';
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        session_key TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        source TEXT NOT NULL,
        text TEXT NOT NULL,
        context TEXT,
        reply_to TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        generation INTEGER,
        model_ref TEXT,
        reply TEXT,
        tool_calls TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        error_code TEXT,
        error_message TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
      );
      CREATE INDEX runs_by_session ON runs (session_key, created_at);
      CREATE INDEX runs_unfinished ON runs (status) WHERE status = 'queued';
      CREATE TABLE run_steps (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        input TEXT,
        output TEXT,
        error TEXT,
        started_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        input_tokens INTEGER,
        output_tokens INTEGER
      );
      CREATE INDEX run_steps_by_run ON run_steps (run_id, seq);
      CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        run_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX idempotency_by_time ON idempotency_keys (created_at);
    `,
  },
  {
    version: 2,
    name: 'channels: outbox retries and progress of split messages, pairing requests, approved senders',
    sql: `
      ALTER TABLE outbox ADD COLUMN chunks_sent INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
      CREATE INDEX outbox_failed ON outbox (channel) WHERE status = 'failed';
      CREATE TABLE pairing_requests (
        code TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        account_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        sender_name TEXT,
        chat_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX pairing_by_sender ON pairing_requests (channel, account_id, sender_id);
      CREATE TABLE approved_senders (
        channel TEXT NOT NULL,
        account_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        sender_name TEXT,
        approved_at INTEGER NOT NULL,
        PRIMARY KEY (channel, account_id, sender_id)
      );
    `,
  },
  {
    version: 3,
    name: 'scheduled work: cron jobs and their run ledger, operator alerts, daily spend, run options and cost',
    sql: `
      ALTER TABLE runs ADD COLUMN options TEXT;
      ALTER TABLE runs ADD COLUMN cost_usd REAL;
      CREATE TABLE cron_jobs (
        id TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE cron_runs (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        status TEXT NOT NULL,
        scheduled_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        trigger TEXT NOT NULL,
        turn_run_id TEXT,
        reason TEXT,
        error TEXT,
        count INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX cron_runs_by_job ON cron_runs (job_id, created_at);
      CREATE INDEX cron_runs_by_time ON cron_runs (created_at);
      CREATE INDEX cron_runs_running ON cron_runs (status) WHERE status = 'running';
      CREATE TABLE operator_alerts (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        webhook TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
      );
      CREATE INDEX operator_alerts_pending ON operator_alerts (status) WHERE status = 'pending';
      CREATE TABLE daily_spend (
        day TEXT NOT NULL,
        scope TEXT NOT NULL,
        tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (day, scope)
      );
    `,
  },
  {
    version: 4,
    name: 'stored rows that fail their schema when loaded: marked here and skipped',
    sql: `
      CREATE TABLE quarantined_rows (
        table_name TEXT NOT NULL,
        row_key TEXT NOT NULL,
        reason TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL,
        PRIMARY KEY (table_name, row_key)
      );
    `,
  },
  {
    version: 5,
    name: 'compactions of a session transcript, found without scanning its lines',
    sql: `
      CREATE INDEX transcript_compactions ON transcript (session_key, generation, id) WHERE role = 'compaction';
    `,
  },
  {
    version: 6,
    name: 'exec approvals: commands waiting for the operator, and the commands allowed for good',
    sql: `
      CREATE TABLE exec_approvals (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        session_key TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        command TEXT NOT NULL,
        cwd TEXT NOT NULL,
        can_always INTEGER NOT NULL,
        reply_to TEXT,
        status TEXT NOT NULL,
        always INTEGER NOT NULL DEFAULT 0,
        decided_by TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        decided_at INTEGER
      );
      CREATE INDEX exec_approvals_by_run ON exec_approvals (run_id);
      CREATE INDEX exec_approvals_pending ON exec_approvals (expires_at) WHERE status = 'pending';
      CREATE TABLE exec_allowed_commands (
        agent_id TEXT NOT NULL,
        pattern TEXT NOT NULL,
        approval_id TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, pattern)
      );
    `,
  },
  {
    version: 7,
    name: 'usage per day, agent and model read from an index, not by scanning the runs',
    sql: `
      CREATE INDEX runs_usage ON runs (finished_at, agent_id, model_ref, input_tokens, output_tokens, cost_usd);
    `,
  },
  {
    version: 8,
    name: 'channel cursors: where each channel account resumes reading its platform (Matrix sync tokens)',
    sql: `
      CREATE TABLE channel_cursors (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'drop runs_by_session: no query reads it (runs are listed newest first by rowid), and keeping it cost every turn a write to a page of its own per session',
    sql: `
      DROP INDEX IF EXISTS runs_by_session;
    `,
  },
  {
    version: 10,
    name: 'import ledger: which items of another gateway (OpenClaw) were imported, and as what, so a second import adds nothing',
    sql: `
      CREATE TABLE import_ledger (
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        target TEXT NOT NULL,
        imported_at INTEGER NOT NULL,
        PRIMARY KEY (source, source_id)
      );
    `,
  },
  {
    version: 11,
    name: 'the shared task queue: tasks agents hand to each other, their dependencies, claims and leases',
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_session TEXT,
        assignees TEXT,
        status TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        deadline INTEGER,
        result TEXT,
        claimed_by TEXT,
        claim_agent TEXT,
        run_id TEXT,
        lease_until INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX tasks_unfinished ON tasks (status, deadline, created_at) WHERE status IN ('open', 'claimed');
      CREATE INDEX tasks_by_creation ON tasks (created_at);
      CREATE TABLE task_dependencies (
        task_id TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        PRIMARY KEY (task_id, depends_on)
      );
    `,
  },
  {
    version: 12,
    name: 'run plans: a structured run\'s plan and per-step checkpoints, deleted with their run',
    sql: `
      CREATE TABLE run_plans (
        run_id TEXT PRIMARY KEY,
        plan TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        steps TEXT NOT NULL,
        resume_of TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TRIGGER run_plans_follow_runs AFTER DELETE ON runs BEGIN
        DELETE FROM run_plans WHERE run_id = old.id;
      END;
    `,
  },
  {
    version: 13,
    name: 'transcript lines found by their session\'s integer id: an index a fifth the size, one small entry a line',
    sql: `
      ALTER TABLE sessions ADD COLUMN sid INTEGER;
      ALTER TABLE transcript ADD COLUMN sid INTEGER;
      ${NUMBER_SESSIONS_SQL}
      CREATE UNIQUE INDEX sessions_by_sid ON sessions (sid);
      DROP INDEX transcript_by_session;
      DROP INDEX transcript_compactions;
      CREATE INDEX transcript_by_session ON transcript (sid, generation, id);
      CREATE INDEX transcript_compactions ON transcript (sid, generation, id) WHERE role = 'compaction';
    `,
  },
];
