import type BetterSqlite3 from 'better-sqlite3';
import { HearthError } from '../../contracts/errors.js';
import type {
  AcceptedTurn,
  AcceptTurnInput,
  RunStatus,
  RunStepInput,
  StartedTurn,
  Store,
  TranscriptEntry,
  TurnResult,
} from '../../contracts/store.js';
import { acceptedRunValues, deliveredText, finishedRunValues, stepValues } from '../row-values.js';
import { INBOX_COLUMNS, type InboxRow, type RunRow, type SessionRow, type StepRow, type TranscriptRow, toInboxEntry, toRunRecord, toRunStep, toSessionSummary, toTranscriptEntry } from '../row-mappers.js';
import { sqliteMigrations } from './migrations.js';
import { createSqliteRunPlans } from './sqlite-run-plans.js';
import { createSqliteAutomationState } from './sqlite-automation-state.js';
import { createSqliteRetention } from './sqlite-retention.js';
import { createSqliteCompactions } from './sqlite-compactions.js';
import { createSqliteApprovals } from './sqlite-approvals.js';
import { createSqliteUsage } from './sqlite-usage.js';
import { createSqliteChannelState, type StatementRunner } from './sqlite-channel-state.js';
import { createSqliteImportLedger } from './sqlite-import-ledger.js';
import { createSqliteHistoryReader } from './sqlite-history.js';
import { createSqliteTasks } from './sqlite-tasks.js';
import { type OpenOptions, openSqliteFile } from './sqlite-open.js';
import { createWalCheckpointer } from './wal-checkpointer.js';
import { createRowQuarantine } from './sqlite-quarantine.js';
import { createStoreHealth, isDamageError, StoreDamaged, type StoreHealthTracker } from './store-integrity.js';

type Database = BetterSqlite3.Database;

export interface SqliteStoreOptions extends OpenOptions {
  /** Database file path, or ':memory:'. */
  path: string;
}

function storeError(action: string, cause: unknown): HearthError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (isDamageError(cause)) {
    return new HearthError('STORE_ERROR', `The state database is damaged and failed to ${action}: ${detail}. Stop the gateway and run \`hearth doctor --fix\` to salvage it.`, { cause });
  }
  return new HearthError('STORE_ERROR', `The state database failed to ${action}: ${detail}. Run \`hearth doctor\` to check it.`, {
    cause,
  });
}

/**
 * The default Store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every method
 * runs its statements inside one transaction and resolves immediately; the async signature is
 * the port's, shared with the PostgreSQL adapter. Every statement is prepared once, here.
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const health = createStoreHealth(options.path);
  const db = openMigrated(options, health);
  const quarantine = createRowQuarantine(db);
  const checkpointer =
    options.path === ':memory:' ? undefined : createWalCheckpointer(db, options.path, { onFallback: (reason) => health.noteError('checkpoint the WAL on another thread', new Error(reason)) });
  const sql = prepareStatements(db);
  const run = readRunner(health);
  const { write, flush } = groupCommit(db, health, checkpointer);
  const runner: StatementRunner = { run, write };
  const history = createSqliteHistoryReader(db);

  return {
    kind: 'sqlite',
    health: health.report,
    migrate: () => run('apply migrations', () => applyMigrations(db)),
    close: async () => {
      await checkpointer?.close();
      return run('close', () => {
        flush();
        if (db.open) db.close();
      });
    },
    ...turnMethods(sql, runner),
    turnHistory: (runId, bounds) => run('read the history of a turn', () => history.turnHistory(runId, bounds)),
    ...createSqliteChannelState(db, runner, quarantine),
    ...createSqliteImportLedger(db, runner),
    ...createSqliteRunPlans(db, runner),
    ...createSqliteApprovals(db, runner, quarantine),
    ...createSqliteCompactions(db, runner),
    ...createSqliteAutomationState(db, runner, quarantine),
    ...createSqliteUsage(db, runner),
    ...createSqliteRetention(db, runner),
    ...createSqliteTasks(db, runner),
    quarantinedRows: () => run('list quarantined rows', () => quarantine.list()),
    ...sessionAndRunMethods(sql, runner),
  };
}

/** Opens the database file and brings its schema up to date; a damaged file is closed and reported as such. */
function openMigrated(options: SqliteStoreOptions, health: StoreHealthTracker): Database {
  const db = openSqliteFile(options, health);
  try {
    applyMigrations(db);
  } catch (error) {
    db.close();
    throw isDamageError(error) ? new StoreDamaged(options.path, [error instanceof Error ? error.message : String(error)]) : error;
  }
  return db;
}

/** Applies the migrations the database has not had yet, and returns their versions. */
function applyMigrations(db: Database): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => row.version));
  const pending = sqliteMigrations.filter((migration) => !applied.has(migration.version));
  // One transaction for all of them: a database is at its old version or at the new one, never
  // in between, and a new database is made in one commit instead of one per migration.
  db.transaction(() => {
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of pending) {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }
  })();
  return pending.map((migration) => migration.version);
}

/** The statements of turns, sessions and runs, prepared once when the store opens. */
function prepareStatements(db: Database) {
  return { ...prepareInboxStatements(db), ...prepareSessionStatements(db), ...prepareRunStatements(db) };
}

type Statements = ReturnType<typeof prepareStatements>;

/** The inbox (a run waiting for or in its turn) and the idempotency keys that find a run again. */
function prepareInboxStatements(db: Database) {
  return {
    findIdempotency: db.prepare('SELECT run_id FROM idempotency_keys WHERE scope = ? AND key = ?'),
    insertIdempotency: db.prepare('INSERT OR REPLACE INTO idempotency_keys (scope, key, run_id, created_at) VALUES (?, ?, ?, ?)'),
    pruneIdempotency: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
    insertRun: db.prepare(
      `INSERT INTO runs (id, session_key, agent_id, source, text, context, reply_to, options, status, attempts, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?)`,
    ),
    runStatus: db.prepare('SELECT session_key, status FROM runs WHERE id = ?'),
    inboxByRun: db.prepare(`SELECT ${INBOX_COLUMNS} FROM runs WHERE id = ?`),
    unfinished: db.prepare(`SELECT ${INBOX_COLUMNS} FROM runs WHERE status = 'queued' ORDER BY rowid`),
    markInboxStarted: db.prepare(`UPDATE runs SET attempts = attempts + 1, started_at = ?, generation = ? WHERE id = ?`),
    requeueInbox: db.prepare(`UPDATE runs SET attempts = MAX(attempts - 1, 0), started_at = NULL, generation = NULL WHERE id = ? AND status = 'queued'`),
  };
}

/** Sessions and their transcripts. */
function prepareSessionStatements(db: Database) {
  return {
    touchSession: db.prepare('UPDATE sessions SET updated_at = ? WHERE key = ? RETURNING generation, sid'),
    // A new session's id is past every id in use, in the sessions and in the transcript.
    insertSession: db.prepare(
      `INSERT INTO sessions (key, agent_id, generation, created_at, updated_at, sid) VALUES (?, ?, 0, ?, ?,
         (SELECT MAX(COALESCE((SELECT MAX(sid) FROM sessions), 0), COALESCE((SELECT MAX(sid) FROM transcript), 0)) + 1))
       RETURNING generation, sid`,
    ),
    sessionGeneration: db.prepare('SELECT generation FROM sessions WHERE key = ?'),
    recentTranscript: db.prepare(
      `SELECT id, run_id, role, body, created_at FROM transcript WHERE sid = (SELECT sid FROM sessions WHERE key = ?) AND generation = ? ORDER BY id DESC LIMIT ?`,
    ),
    insertTranscript: db.prepare(
      'INSERT INTO transcript (session_key, sid, generation, run_id, role, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    listSessions: db.prepare(
      `SELECT s.key, s.agent_id, s.created_at, s.updated_at,
         (SELECT COUNT(*) FROM transcript t WHERE t.sid = s.sid AND t.generation = s.generation) AS message_count,
         (SELECT t.body FROM transcript t WHERE t.sid = s.sid AND t.generation = s.generation ORDER BY t.id DESC LIMIT 1) AS last_body
       FROM sessions s WHERE (? IS NULL OR s.agent_id = ?) ORDER BY s.updated_at DESC LIMIT ?`,
    ),
    resetSession: db.prepare('UPDATE sessions SET generation = generation + 1, updated_at = ? WHERE key = ?'),
    transcriptBeforeRun: db.prepare(
      `SELECT t.id, t.run_id, t.role, t.body, t.created_at FROM transcript t JOIN runs r ON r.id = @run JOIN sessions s ON s.key = r.session_key
       WHERE t.sid = s.sid AND t.generation = r.generation
         AND t.id < COALESCE((SELECT MIN(id) FROM transcript WHERE run_id = @run), 9223372036854775807)
       ORDER BY t.id DESC LIMIT @limit`,
    ),
  };
}

/** A run's record and steps, the day's spend, and the outbox row of its reply. */
function prepareRunStatements(db: Database) {
  return {
    nextStepSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM run_steps WHERE run_id = ?'),
    insertStep: db.prepare(
      `INSERT INTO run_steps (run_id, seq, kind, name, input, output, error, started_at, duration_ms, input_tokens, output_tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    finishRun: db.prepare(
      `UPDATE runs SET status = ?, started_at = COALESCE(started_at, ?), model_ref = ?, reply = ?, tool_calls = ?, input_tokens = ?,
       output_tokens = ?, error_code = ?, error_message = ?, finished_at = ?, cost_usd = ? WHERE id = ?`,
    ),
    addSpend: db.prepare(
      `INSERT INTO daily_spend (day, scope, tokens, cost_usd) VALUES (?, ?, ?, ?)
       ON CONFLICT (day, scope) DO UPDATE SET tokens = tokens + excluded.tokens, cost_usd = cost_usd + excluded.cost_usd`,
    ),
    insertOutbox: db.prepare(
      `INSERT INTO outbox (run_id, session_key, channel, target, text, status, attempts, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)`,
    ),
    getRun: db.prepare('SELECT * FROM runs WHERE id = ?'),
    // Runs are inserted in time order, so the newest are the highest rowids; no time index to maintain.
    listRuns: db.prepare('SELECT * FROM runs WHERE (? IS NULL OR session_key = ?) ORDER BY rowid DESC LIMIT ?'),
    listSteps: db.prepare(
      `SELECT seq, kind, name, input, output, error, started_at, duration_ms, input_tokens, output_tokens FROM run_steps
       WHERE run_id = ? ORDER BY seq`,
    ),
  };
}

type TurnMethods = Pick<Store, 'acceptTurn' | 'startTurn' | 'unfinishedTurns' | 'requeueTurn' | 'recordStep' | 'completeTurn'>;

/** A turn's way through the store: accepted, started, its steps recorded, completed (or put back in the queue). */
function turnMethods(sql: Statements, { run, write }: StatementRunner): TurnMethods {
  return {
    acceptTurn: (input) => write('accept a message', () => acceptTurn(sql, input)),
    startTurn: (runId, { now, historyLimit }) => write('start a turn', () => startTurn(sql, runId, now, historyLimit)),
    unfinishedTurns: () => run('list unfinished turns', () => (sql.unfinished.all() as InboxRow[]).map(toInboxEntry)),
    requeueTurn: (runId) =>
      write('requeue a turn', () => {
        sql.requeueInbox.run(runId);
      }),
    recordStep: (runId, step) => write('record a run step', () => insertStep(sql, runId, step)),
    completeTurn: (runId, result) => write('finish a turn', () => completeTurn(sql, runId, result)),
  };
}

/** Queues a new run, or finds the one an idempotency key already names. */
function acceptTurn(sql: Statements, input: AcceptTurnInput): AcceptedTurn {
  if (input.idempotency) {
    const existing = sql.findIdempotency.get(input.idempotency.scope, input.idempotency.key) as { run_id: string } | undefined;
    if (existing) {
      const run = sql.runStatus.get(existing.run_id) as { session_key: string; status: RunStatus } | undefined;
      if (run) return { runId: existing.run_id, sessionKey: run.session_key, duplicate: true, status: run.status };
    }
  }
  sql.insertRun.run(...acceptedRunValues(input));
  if (input.idempotency) {
    sql.insertIdempotency.run(input.idempotency.scope, input.idempotency.key, input.runId, input.now);
  }
  return { runId: input.runId, sessionKey: input.sessionKey, duplicate: false, status: 'queued' };
}

/**
 * Starting a turn writes one small row update (the attempt, the time and the transcript
 * generation); the user's line goes into the transcript with the turn's result, so an
 * interrupted attempt leaves nothing to clean up.
 */
function startTurn(sql: Statements, runId: string, now: number, historyLimit: number): StartedTurn | null {
  const row = sql.inboxByRun.get(runId) as InboxRow | undefined;
  if (!row || row.status === 'done') return null;
  const entry = toInboxEntry({ ...row, attempts: row.attempts + 1 });
  if (entry.context !== null) {
    sql.markInboxStarted.run(now, null, runId);
    return { ...entry, history: [] };
  }
  const generation = (sql.sessionGeneration.get(row.session_key) as { generation: number } | undefined)?.generation ?? 0;
  sql.markInboxStarted.run(now, generation, runId);
  const history =
    historyLimit > 0 ? (sql.recentTranscript.all(row.session_key, generation, historyLimit) as TranscriptRow[]).reverse().map(toTranscriptEntry) : [];
  return { ...entry, history };
}

/** Writes a turn's result: the exchange into the transcript, the run record, its steps, the spend and the reply's outbox row. */
function completeTurn(sql: Statements, runId: string, result: TurnResult): { outboxId: number | null } {
  const row = sql.inboxByRun.get(runId) as InboxRow | undefined;
  if (!row) throw new HearthError('NOT_FOUND', `Run ${runId} is not in the inbox.`);
  if (row.context === null) {
    const { generation: current, sid } = touchSession(sql, row.session_key, row.agent_id, result.now);
    // The exchange belongs to the transcript the turn started in, even when the session was
    // reset while it ran.
    const generation = row.generation ?? current;
    const lines: TranscriptEntry['message'][] = [{ role: 'user', content: row.text }, ...result.messages];
    if (result.error) lines.push({ role: 'error', content: result.error.message, code: result.error.code });
    appendMessages(sql, { key: row.session_key, sid }, generation, runId, lines, result.now);
  }
  sql.finishRun.run(...finishedRunValues(result), runId);
  for (const step of result.steps ?? []) insertStep(sql, runId, step);
  if (result.spend && result.usage) {
    const tokens = result.usage.inputTokens + result.usage.outputTokens;
    for (const scope of result.spend.scopes) sql.addSpend.run(result.spend.day, scope, tokens, result.costUsd ?? 0);
  }
  let outboxId: number | null = null;
  const text = deliveredText(result);
  if (result.deliverTo && text !== '') {
    const info = sql.insertOutbox.run(runId, row.session_key, result.deliverTo.channel, result.deliverTo.target, text, result.now);
    outboxId = Number(info.lastInsertRowid);
  }
  return { outboxId };
}

/** Marks the session active now (creating it on its first turn): its transcript generation and id. */
function touchSession(sql: Statements, key: string, agentId: string, now: number): { generation: number; sid: number } {
  return (sql.touchSession.get(now, key) ?? sql.insertSession.get(key, agentId, now, now)) as { generation: number; sid: number };
}

/** Adds a turn's messages to the session's transcript. */
function appendMessages(sql: Statements, session: { key: string; sid: number }, generation: number, runId: string, messages: readonly TranscriptEntry['message'][], now: number): void {
  for (const message of messages) {
    sql.insertTranscript.run(session.key, session.sid, generation, runId, message.role, JSON.stringify(message), now);
  }
}

/** Records one step of a run (a model call or a tool call), numbered after the run's last. */
function insertStep(sql: Statements, runId: string, step: RunStepInput): void {
  const { seq } = sql.nextStepSeq.get(runId) as { seq: number };
  sql.insertStep.run(runId, seq, ...stepValues(step));
}

type SessionAndRunMethods = Pick<Store, 'readTranscript' | 'listSessions' | 'transcriptBeforeRun' | 'resetSession' | 'getRun' | 'listRuns' | 'listRunSteps' | 'pruneIdempotencyKeys'>;

/** Reading sessions, transcripts and runs; resetting a session; pruning old idempotency keys. */
function sessionAndRunMethods(sql: Statements, { run, write }: StatementRunner): SessionAndRunMethods {
  return {
    readTranscript: (sessionKey, limit) =>
      run('read a transcript', () => {
        const session = sql.sessionGeneration.get(sessionKey) as { generation: number } | undefined;
        if (!session) return [];
        return (sql.recentTranscript.all(sessionKey, session.generation, limit) as TranscriptRow[]).reverse().map(toTranscriptEntry);
      }),
    listSessions: ({ limit, agentId }) =>
      run('list sessions', () => (sql.listSessions.all(agentId ?? null, agentId ?? null, limit) as SessionRow[]).map(toSessionSummary)),
    transcriptBeforeRun: (runId, limit) =>
      run('read the transcript before a run', () => (sql.transcriptBeforeRun.all({ run: runId, limit }) as TranscriptRow[]).reverse().map(toTranscriptEntry)),
    resetSession: (sessionKey, now) => write('reset a session', () => sql.resetSession.run(now, sessionKey).changes > 0),
    getRun: (runId) =>
      run('read a run', () => {
        const row = sql.getRun.get(runId) as RunRow | undefined;
        return row ? toRunRecord(row) : null;
      }),
    listRuns: ({ limit, sessionKey }) =>
      run('list runs', () => (sql.listRuns.all(sessionKey ?? null, sessionKey ?? null, limit) as RunRow[]).map(toRunRecord)),
    listRunSteps: (runId) =>
      run('read run steps', () => (sql.listSteps.all(runId) as StepRow[]).map(toRunStep)),
    pruneIdempotencyKeys: (olderThan) => write('prune idempotency keys', () => sql.pruneIdempotency.run(olderThan).changes),
  };
}

/** How the store runs a read: at once, noting the database's health; a failure becomes a STORE_ERROR. */
function readRunner(health: StoreHealthTracker): StatementRunner['run'] {
  return <T>(action: string, fn: () => T): Promise<T> => {
    try {
      const value = fn();
      health.noteSuccess();
      return Promise.resolve(value);
    } catch (error) {
      if (error instanceof HearthError) return Promise.reject(error);
      health.noteError(action, error);
      return Promise.reject(storeError(action, error));
    }
  };
}

/** A write waiting for the next group commit. */
interface PendingWrite {
  action: string;
  write: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Group commit: writes issued in the same turn of the event loop share one transaction, so a
 * busy gateway pays for one commit instead of one per write. When one write fails, the batch
 * is rolled back and every write runs again in its own transaction, so only that one fails.
 * Every promise settles only after the commit: nothing is acknowledged before it is on disk.
 * `flush` commits what is waiting now (the store calls it when it closes).
 */
function groupCommit(db: Database, health: StoreHealthTracker, checkpointer: ReturnType<typeof createWalCheckpointer> | undefined) {
  const pending: PendingWrite[] = [];
  let flushScheduled = false;
  let lingered = false;
  const flush = () => {
    // Under load, wait one more event-loop turn so more writes share the commit.
    if (!lingered && pending.length >= 2) {
      lingered = true;
      setImmediate(flush);
      return;
    }
    lingered = false;
    flushScheduled = false;
    const batch = pending.splice(0);
    if (batch.length === 0) return;
    commitBatch(db, health, checkpointer, batch);
  };
  const write = <T>(action: string, fn: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!db.open) {
        reject(storeError(action, new Error('the database is closed')));
        return;
      }
      pending.push({ action, write: fn, resolve: resolve as (value: unknown) => void, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  return { write, flush };
}

/** Commits a batch of writes in one transaction, or, when one of them fails, each write in its own. */
function commitBatch(db: Database, health: StoreHealthTracker, checkpointer: ReturnType<typeof createWalCheckpointer> | undefined, batch: PendingWrite[]): void {
  let results: unknown[] | undefined;
  try {
    results = db.transaction(() => batch.map((item) => item.write()))();
  } catch {
    // One write failed and the whole batch rolled back: run each alone, so only it fails.
    results = undefined;
  }
  checkpointer?.noteCommit();
  if (results) {
    health.noteSuccess();
    for (const [index, item] of batch.entries()) item.resolve(results[index]);
    return;
  }
  for (const item of batch) {
    try {
      item.resolve(db.transaction(item.write)());
      health.noteSuccess();
    } catch (error) {
      if (!(error instanceof HearthError)) health.noteError(item.action, error);
      item.reject(error instanceof HearthError ? error : storeError(item.action, error));
    }
  }
}
