import { HearthError } from '../../contracts/errors.js';
import { EMPTY_PACKED, PACK_SEPARATOR, type PackedMessages } from '../../contracts/packed-messages.js';
import type { AcceptedTurn, RunStatus, RunStepInput, StartedTurn, Store, TranscriptEntry } from '../../contracts/store.js';
import {
  INBOX_COLUMNS,
  type InboxRow,
  type RunRow,
  type SessionRow,
  type StepRow,
  type TranscriptRow,
  readCompaction,
  toInboxEntry,
  toRunRecord,
  toRunStep,
  toSessionSummary,
  toTranscriptEntry,
} from '../row-mappers.js';
import { createHistoryWalk } from '../history-walk.js';
import { acceptedRunValues, deliveredText, finishedRunValues, stepValues } from '../row-values.js';
import type { PgRunner, Query } from './postgres-runner.js';

type TurnMethods = Pick<
  Store,
  | 'acceptTurn'
  | 'startTurn'
  | 'turnHistory'
  | 'unfinishedTurns'
  | 'requeueTurn'
  | 'recordStep'
  | 'completeTurn'
  | 'readTranscript'
  | 'transcriptBeforeRun'
  | 'listSessions'
  | 'resetSession'
  | 'getRun'
  | 'listRunSteps'
  | 'listRuns'
  | 'pruneIdempotencyKeys'
>;

const TRANSCRIPT_COLUMNS = 'id, run_id, body, created_at';

async function insertStep(query: Query, runId: string, step: RunStepInput): Promise<void> {
  await query(
    `INSERT INTO run_steps (run_id, seq, kind, name, input, output, error, started_at, duration_ms, input_tokens, output_tokens)
     SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM run_steps WHERE run_id = $1`,
    [runId, ...stepValues(step)],
  );
}

/**
 * Turns, transcripts, sessions and run records in PostgreSQL. A turn's row is locked (`FOR
 * UPDATE`) while it is started or completed, so two gateways racing for the same turn serialise
 * on it and only the first completes it: the second finds it done and writes nothing.
 */
export function createPostgresTurns({ read, write }: PgRunner): TurnMethods {
  const generationOf = async (query: Query, sessionKey: string): Promise<number | null> =>
    (await query<{ generation: number }>('SELECT generation FROM sessions WHERE key = $1', [sessionKey])).rows[0]?.generation ?? null;
  const recent = async (query: Query, sessionKey: string, generation: number, limit: number): Promise<TranscriptEntry[]> =>
    (
      await query<TranscriptRow>(
        `SELECT ${TRANSCRIPT_COLUMNS} FROM transcript WHERE session_key = $1 AND generation = $2 ORDER BY id DESC LIMIT $3`,
        [sessionKey, generation, limit],
      )
    ).rows
      .reverse()
      .map(toTranscriptEntry);

  return {
    acceptTurn: (input) =>
      write('accept a message', async (query): Promise<AcceptedTurn> => {
        if (input.idempotency) {
          const { scope, key } = input.idempotency;
          // The key first: a gateway accepting the same key at the same moment waits here for this
          // transaction and then finds the key taken, so only one of them queues a run.
          const claimed = await query(
            'INSERT INTO idempotency_keys (scope, key, run_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING RETURNING run_id',
            [scope, key, input.runId, input.now],
          );
          if (claimed.rows.length === 0) {
            const existing = await query<{ session_key: string; status: RunStatus; run_id: string }>(
              'SELECT k.run_id, r.session_key, r.status FROM idempotency_keys k JOIN runs r ON r.id = k.run_id WHERE k.scope = $1 AND k.key = $2',
              [scope, key],
            );
            const row = existing.rows[0];
            if (row) return { runId: row.run_id, sessionKey: row.session_key, duplicate: true, status: row.status };
            // The key outlived its run (pruned): it now names this one.
            await query('UPDATE idempotency_keys SET run_id = $3, created_at = $4 WHERE scope = $1 AND key = $2', [scope, key, input.runId, input.now]);
          }
        }
        await query(
          `INSERT INTO runs (id, session_key, agent_id, source, text, context, reply_to, options, status, attempts, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9)`,
          acceptedRunValues(input),
        );
        return { runId: input.runId, sessionKey: input.sessionKey, duplicate: false, status: 'queued' };
      }),

    startTurn: (runId, { now, historyLimit }) =>
      write('start a turn', async (query): Promise<StartedTurn | null> => {
        const row = (await query<InboxRow>(`SELECT ${INBOX_COLUMNS} FROM runs WHERE id = $1 FOR UPDATE`, [runId])).rows[0];
        if (!row || row.status === 'done') return null;
        const entry = toInboxEntry({ ...row, attempts: row.attempts + 1 });
        const mark = 'UPDATE runs SET attempts = attempts + 1, started_at = $1, generation = $2 WHERE id = $3';
        if (entry.context !== null) {
          await query(mark, [now, null, runId]);
          return { ...entry, history: [] };
        }
        const generation = (await generationOf(query, row.session_key)) ?? 0;
        await query(mark, [now, generation, runId]);
        const history = historyLimit > 0 ? await recent(query, row.session_key, generation, historyLimit) : [];
        return { ...entry, history };
      }),

    turnHistory: (runId, bounds) =>
      read('read the history of a turn', async (query): Promise<PackedMessages> => {
        const run = (await query<{ session_key: string; generation: number | null }>('SELECT session_key, generation FROM runs WHERE id = $1 AND context IS NULL', [runId])).rows[0];
        if (!run || run.generation === null) return EMPTY_PACKED;
        const last = await query<{ body: string }>(
          `SELECT body FROM transcript WHERE session_key = $1 AND generation = $2 AND role = 'compaction' ORDER BY id DESC LIMIT 1`,
          [run.session_key, run.generation],
        );
        const compaction = readCompaction(last.rows[0]);
        const firstId = compaction?.firstKeptId ?? 0;
        const walk = createHistoryWalk(bounds, compaction);
        for (let ask = walk.next(); ask; ask = walk.next()) {
          const step = await query<{ oldest: number; text: string | null; initials: string | null; length: number; count: number }>(
            `SELECT MIN(id) AS oldest, string_agg(body, $6 ORDER BY id) AS text, string_agg(left(role, 1), '' ORDER BY id) AS initials,
               COALESCE(SUM(length(body)), 0) AS length, COUNT(*) AS count FROM (
               SELECT id, body, role FROM transcript WHERE session_key = $1 AND generation = $2 AND id < $3 AND id >= $4
                 AND role NOT IN ('error', 'compaction') ORDER BY id DESC LIMIT $5
             ) newest`,
            [run.session_key, run.generation, ask.before, firstId, ask.want, PACK_SEPARATOR],
          );
          walk.add(step.rows[0], ask.want);
        }
        return walk.packed();
      }),

    unfinishedTurns: () =>
      read('list unfinished turns', async (query) => (await query<InboxRow>(`SELECT ${INBOX_COLUMNS} FROM runs WHERE status = 'queued' ORDER BY seq`)).rows.map(toInboxEntry)),

    requeueTurn: (runId) =>
      write('requeue a turn', async (query) => {
        await query(`UPDATE runs SET attempts = GREATEST(attempts - 1, 0), started_at = NULL, generation = NULL WHERE id = $1 AND status = 'queued'`, [runId]);
      }),

    recordStep: (runId, step) => write('record a run step', (query) => insertStep(query, runId, step)),

    completeTurn: (runId, result) =>
      write('finish a turn', async (query) => {
        const row = (await query<InboxRow>(`SELECT ${INBOX_COLUMNS} FROM runs WHERE id = $1 FOR UPDATE`, [runId])).rows[0];
        if (!row) throw new HearthError('NOT_FOUND', `Run ${runId} is not in the inbox.`);
        // Completed already (by another gateway on the same database): exactly once, so nothing more is written.
        if (row.status === 'done') return { outboxId: null };
        if (row.context === null) {
          const session = await query<{ generation: number }>(
            `INSERT INTO sessions (key, agent_id, generation, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)
             ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at RETURNING generation`,
            [row.session_key, row.agent_id, result.now],
          );
          // The exchange belongs to the transcript the turn started in, even when the session was reset while it ran.
          const generation = row.generation ?? session.rows[0]?.generation ?? 0;
          const lines: TranscriptEntry['message'][] = [{ role: 'user', content: row.text }, ...result.messages];
          if (result.error) lines.push({ role: 'error', content: result.error.message, code: result.error.code });
          await query(
            `INSERT INTO transcript (session_key, generation, run_id, role, body, created_at)
             SELECT $1, $2, $3, line.role, line.body, $4 FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS line(role, body, n) ORDER BY line.n`,
            [row.session_key, generation, runId, result.now, lines.map((line) => line.role), lines.map((line) => JSON.stringify(line))],
          );
        }
        await query(
          `UPDATE runs SET status = $1, started_at = COALESCE(started_at, $2), model_ref = $3, reply = $4, tool_calls = $5, input_tokens = $6,
           output_tokens = $7, error_code = $8, error_message = $9, finished_at = $10, cost_usd = $11 WHERE id = $12`,
          [...finishedRunValues(result), runId],
        );
        for (const step of result.steps ?? []) await insertStep(query, runId, step);
        if (result.spend && result.usage) {
          const tokens = result.usage.inputTokens + result.usage.outputTokens;
          for (const scope of result.spend.scopes) {
            await query(
              `INSERT INTO daily_spend (day, scope, tokens, cost_usd) VALUES ($1, $2, $3, $4)
               ON CONFLICT (day, scope) DO UPDATE SET tokens = daily_spend.tokens + excluded.tokens, cost_usd = daily_spend.cost_usd + excluded.cost_usd`,
              [result.spend.day, scope, tokens, result.costUsd ?? 0],
            );
          }
        }
        const text = deliveredText(result);
        if (!result.deliverTo || text === '') return { outboxId: null };
        const outbox = await query<{ id: number }>(
          `INSERT INTO outbox (run_id, session_key, channel, target, text, status, attempts, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6) RETURNING id`,
          [runId, row.session_key, result.deliverTo.channel, result.deliverTo.target, text, result.now],
        );
        return { outboxId: outbox.rows[0]?.id ?? null };
      }),

    readTranscript: (sessionKey, limit) =>
      read('read a transcript', async (query) => {
        const generation = await generationOf(query, sessionKey);
        return generation === null ? [] : recent(query, sessionKey, generation, limit);
      }),

    transcriptBeforeRun: (runId, limit) =>
      read('read the transcript before a run', async (query) =>
        (
          await query<TranscriptRow>(
            `SELECT t.id, t.run_id, t.body, t.created_at FROM transcript t JOIN runs r ON r.id = $1
             WHERE t.session_key = r.session_key AND t.generation = r.generation
               AND t.id < COALESCE((SELECT MIN(id) FROM transcript WHERE run_id = $1), 9223372036854775807)
             ORDER BY t.id DESC LIMIT $2`,
            [runId, limit],
          )
        ).rows
          .reverse()
          .map(toTranscriptEntry),
      ),

    listSessions: ({ limit, agentId }) =>
      read('list sessions', async (query) =>
        (
          await query<SessionRow>(
            `SELECT s.key, s.agent_id, s.created_at, s.updated_at,
               (SELECT COUNT(*) FROM transcript t WHERE t.session_key = s.key AND t.generation = s.generation) AS message_count,
               (SELECT t.body FROM transcript t WHERE t.session_key = s.key AND t.generation = s.generation ORDER BY t.id DESC LIMIT 1) AS last_body
             FROM sessions s WHERE ($1::text IS NULL OR s.agent_id = $1) ORDER BY s.updated_at DESC LIMIT $2`,
            [agentId ?? null, limit],
          )
        ).rows.map(toSessionSummary),
      ),

    resetSession: (sessionKey, now) =>
      write('reset a session', async (query) => ((await query('UPDATE sessions SET generation = generation + 1, updated_at = $1 WHERE key = $2', [now, sessionKey])).rowCount ?? 0) > 0),

    getRun: (runId) =>
      read('read a run', async (query) => {
        const row = (await query<RunRow>('SELECT * FROM runs WHERE id = $1', [runId])).rows[0];
        return row ? toRunRecord(row) : null;
      }),

    listRuns: ({ limit, sessionKey }) =>
      read('list runs', async (query) =>
        (await query<RunRow>('SELECT * FROM runs WHERE ($1::text IS NULL OR session_key = $1) ORDER BY seq DESC LIMIT $2', [sessionKey ?? null, limit])).rows.map(toRunRecord),
      ),

    listRunSteps: (runId) =>
      read('read run steps', async (query) =>
        (
          await query<StepRow>(
            'SELECT seq, kind, name, input, output, error, started_at, duration_ms, input_tokens, output_tokens FROM run_steps WHERE run_id = $1 ORDER BY seq',
            [runId],
          )
        ).rows.map(toRunStep),
      ),

    pruneIdempotencyKeys: (olderThan) =>
      write('prune idempotency keys', async (query) => (await query('DELETE FROM idempotency_keys WHERE created_at < $1', [olderThan])).rowCount ?? 0),
  };
}
