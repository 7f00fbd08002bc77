import { HearthError } from '../../contracts/errors.js';
import type { Task, TaskStore } from '../../contracts/tasks.js';
import { claimRefusal, finishRefusal, prunableTasksSql, TASK_READY_SQL, type TaskRow, taskClaimableSql, toTask } from '../task-rows.js';
import type { PgRunner, Query } from './postgres-runner.js';

const SELECT = `SELECT t.*, ${TASK_READY_SQL} AS ready FROM tasks t`;
const assignable = (agent: string) => `(t.assignees IS NULL OR t.assignees::jsonb ? ${agent})`;
const CLAIM_SET = `status = 'claimed', claimed_by = $2, claim_agent = $3, run_id = COALESCE($4, run_id), lease_until = $5, attempts = attempts + 1, updated_at = $6`;

/**
 * The task queue in PostgreSQL (migration 3). A claim is one UPDATE whose WHERE holds the claim's
 * conditions: under READ COMMITTED a second claimer waits for the first one's row lock and then
 * finds the row taken; a claim of "the next task" skips rows another claimer has locked.
 */
export function createPostgresTasks({ read, write }: PgRunner): TaskStore {
  const get = async (query: Query, id: string): Promise<Task | null> => {
    const row = (await query<TaskRow>(`${SELECT} WHERE t.id = $1`, [id])).rows[0];
    return row ? toTask(row) : null;
  };
  return {
    createTask: (input) =>
      write('create a task', async (query) => {
        const dependsOn = [...new Set(input.dependsOn ?? [])];
        if (dependsOn.length > 0) {
          const found = new Set((await query<{ id: string }>('SELECT id FROM tasks WHERE id = ANY($1)', [dependsOn])).rows.map((row) => row.id));
          const missing = dependsOn.filter((id) => !found.has(id));
          if (missing.length > 0) throw new HearthError('BAD_REQUEST', `No task ${missing.join(', ')}: a task can depend only on tasks that exist.`);
        }
        const assignees = input.assignees && input.assignees.length > 0 ? JSON.stringify([...new Set(input.assignees)]) : null;
        const inserted = await query(
          `INSERT INTO tasks (id, title, body, created_by, created_session, assignees, status, depends_on, deadline, attempts, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, 0, $9, $9) ON CONFLICT (id) DO NOTHING RETURNING id`,
          [input.id, input.title, input.body, input.createdBy, input.createdSession ?? null, assignees, JSON.stringify(dependsOn), input.deadline ?? null, input.now],
        );
        if (inserted.rowCount !== 1) throw new HearthError('CONFLICT', `A task with id ${input.id} already exists.`);
        for (const dependency of dependsOn) {
          await query('INSERT INTO task_dependencies (task_id, depends_on) VALUES ($1, $2) ON CONFLICT DO NOTHING', [input.id, dependency]);
        }
        return (await get(query, input.id)) as Task;
      }),
    getTask: (id) => read('read a task', (query) => get(query, id)),
    listTasks: ({ status, agentId, limit }) =>
      read('list tasks', async (query) =>
        (
          await query<TaskRow>(
            `${SELECT} WHERE ($1::text IS NULL OR t.status = $1) AND ($2::text IS NULL OR ${assignable('$2')}) ORDER BY t.created_at DESC, t.id DESC LIMIT $3`,
            [status ?? null, agentId ?? null, limit],
          )
        ).rows.map(toTask),
      ),
    claimTask: (input) =>
      write('claim a task', async (query) => {
        const values = [input.claimer, input.agentId, input.runId ?? null, input.now + input.leaseMs, input.now];
        if (input.id !== undefined) {
          const current = await get(query, input.id);
          if (current?.status === 'claimed' && current.claimedBy === input.claimer) {
            await query(`UPDATE tasks SET lease_until = $1, run_id = COALESCE($2, run_id), updated_at = $3 WHERE id = $4 AND claimed_by = $5`, [
              input.now + input.leaseMs,
              input.runId ?? null,
              input.now,
              input.id,
              input.claimer,
            ]);
            return { ok: true, task: (await get(query, input.id)) as Task };
          }
          const claimed = await query(
            `UPDATE tasks AS t SET ${CLAIM_SET} WHERE t.id = $1 AND ${taskClaimableSql('$6')} AND ${TASK_READY_SQL} AND ${assignable('$3')} RETURNING t.id`,
            [input.id, ...values],
          );
          if (claimed.rowCount === 1) return { ok: true, task: (await get(query, input.id)) as Task };
          return claimRefusal(await get(query, input.id), input.agentId, input.now);
        }
        const claimed = await query<{ id: string }>(
          `UPDATE tasks AS u SET status = 'claimed', claimed_by = $1, claim_agent = $2, run_id = COALESCE($3, run_id), lease_until = $4, attempts = attempts + 1, updated_at = $5
           WHERE u.id = (
             SELECT t.id FROM tasks t WHERE ${taskClaimableSql('$5')} AND ${TASK_READY_SQL} AND ${assignable('$2')}
             ORDER BY t.deadline ASC NULLS LAST, t.created_at, t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED
           ) RETURNING u.id`,
          values,
        );
        const id = claimed.rows[0]?.id;
        if (id === undefined) return { ok: false, reason: 'not_found', task: null };
        return { ok: true, task: (await get(query, id)) as Task };
      }),
    renewTaskClaim: (id, claimer, { leaseMs, runId, now }) =>
      write('renew a task claim', async (query) => {
        const renewed = await query(`UPDATE tasks SET lease_until = $1, run_id = COALESCE($2, run_id), updated_at = $3 WHERE id = $4 AND status = 'claimed' AND claimed_by = $5`, [
          now + leaseMs,
          runId ?? null,
          now,
          id,
          claimer,
        ]);
        return renewed.rowCount === 1;
      }),
    releaseTask: (id, claimer, now) =>
      write('release a task', async (query) => {
        const released = await query(`UPDATE tasks SET status = 'open', claimed_by = NULL, lease_until = NULL, updated_at = $1 WHERE id = $2 AND status = 'claimed' AND claimed_by = $3`, [now, id, claimer]);
        return released.rowCount === 1;
      }),
    finishTask: (input) =>
      write('finish a task', async (query) => {
        const finished = await query(
          `UPDATE tasks SET status = $1, result = $2, lease_until = NULL, finished_at = $3, updated_at = $3
           WHERE id = $4 AND status = 'claimed' AND (claimed_by = $5 OR (run_id IS NOT NULL AND run_id = $6))`,
          [input.status, input.result, input.now, input.id, input.claimer, input.runId ?? null],
        );
        const task = await get(query, input.id);
        return finished.rowCount === 1 && task ? { ok: true, task } : finishRefusal(task);
      }),
    cancelTask: (id, reason, now) =>
      write('cancel a task', async (query) => {
        await query(`UPDATE tasks SET status = 'cancelled', result = $1, lease_until = NULL, finished_at = $2, updated_at = $2 WHERE id = $3 AND status IN ('open', 'claimed')`, [reason, now, id]);
        return get(query, id);
      }),
    pruneFinishedTasks: (finishedBefore, limit) =>
      write('prune finished tasks', async (query) => {
        const ids = (await query<{ id: string }>(prunableTasksSql('$1', '$2'), [finishedBefore, limit])).rows.map((row) => row.id);
        if (ids.length === 0) return 0;
        await query('DELETE FROM task_dependencies WHERE task_id = ANY($1) OR depends_on = ANY($1)', [ids]);
        return (await query('DELETE FROM tasks WHERE id = ANY($1)', [ids])).rowCount ?? 0;
      }),
  };
}
