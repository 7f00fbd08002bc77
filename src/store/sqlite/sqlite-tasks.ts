import type BetterSqlite3 from 'better-sqlite3';
import { HearthError } from '../../contracts/errors.js';
import type { Task, TaskStore } from '../../contracts/tasks.js';
import { claimRefusal, finishRefusal, prunableTasksSql, TASK_READY_SQL, type TaskRow, taskClaimableSql, toTask } from '../task-rows.js';
import type { StatementRunner } from './sqlite-channel-state.js';

const SELECT = `SELECT t.*, ${TASK_READY_SQL} AS ready FROM tasks t`;
const ASSIGNABLE = `(t.assignees IS NULL OR EXISTS (SELECT 1 FROM json_each(t.assignees) WHERE value = @agent))`;

/**
 * The task queue in SQLite. Every claim runs in the store's write transaction and re-checks the
 * claim's conditions in its UPDATE, so of several claimers (also other processes on the same
 * file) exactly one changes the row.
 */
export function createSqliteTasks(db: BetterSqlite3.Database, runner: StatementRunner): TaskStore {
  const sql = {
    byId: db.prepare(`${SELECT} WHERE t.id = ?`),
    existing: db.prepare('SELECT id FROM tasks WHERE id = ?'),
    insert: db.prepare(
      `INSERT INTO tasks (id, title, body, created_by, created_session, assignees, status, depends_on, deadline, attempts, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, 0, ?, ?)`,
    ),
    insertDependency: db.prepare('INSERT OR IGNORE INTO task_dependencies (task_id, depends_on) VALUES (?, ?)'),
    list: db.prepare(
      `${SELECT} WHERE (@status IS NULL OR t.status = @status) AND (@agent IS NULL OR ${ASSIGNABLE})
       ORDER BY t.created_at DESC, t.id DESC LIMIT @limit`,
    ),
    next: db.prepare(
      `SELECT t.id FROM tasks t WHERE ${taskClaimableSql('@now')} AND ${TASK_READY_SQL} AND ${ASSIGNABLE}
       ORDER BY t.deadline IS NULL, t.deadline, t.created_at, t.id LIMIT 1`,
    ),
    claim: db.prepare(
      `UPDATE tasks AS t SET status = 'claimed', claimed_by = @claimer, claim_agent = @agent, run_id = COALESCE(@run, run_id),
         lease_until = @until, attempts = attempts + 1, updated_at = @now
       WHERE t.id = @id AND ${taskClaimableSql('@now')} AND ${TASK_READY_SQL} AND ${ASSIGNABLE}`,
    ),
    renew: db.prepare(
      `UPDATE tasks SET lease_until = @until, run_id = COALESCE(@run, run_id), updated_at = @now WHERE id = @id AND status = 'claimed' AND claimed_by = @claimer`,
    ),
    release: db.prepare(`UPDATE tasks SET status = 'open', claimed_by = NULL, lease_until = NULL, updated_at = @now WHERE id = @id AND status = 'claimed' AND claimed_by = @claimer`),
    finish: db.prepare(
      `UPDATE tasks SET status = @status, result = @result, lease_until = NULL, finished_at = @now, updated_at = @now
       WHERE id = @id AND status = 'claimed' AND (claimed_by = @claimer OR (run_id IS NOT NULL AND run_id = @run))`,
    ),
    prunable: db.prepare(prunableTasksSql('?', '?')),
    deleteDependencies: db.prepare('DELETE FROM task_dependencies WHERE task_id IN (SELECT value FROM json_each(@ids)) OR depends_on IN (SELECT value FROM json_each(@ids))'),
    deleteTasks: db.prepare('DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(?))'),
    cancel: db.prepare(
      `UPDATE tasks SET status = 'cancelled', result = @reason, lease_until = NULL, finished_at = @now, updated_at = @now WHERE id = @id AND status IN ('open', 'claimed')`,
    ),
  };
  const get = (id: string): Task | null => {
    const row = sql.byId.get(id) as TaskRow | undefined;
    return row ? toTask(row) : null;
  };
  return {
    createTask: (input) =>
      runner.write('create a task', () => {
        if (sql.existing.get(input.id)) throw new HearthError('CONFLICT', `A task with id ${input.id} already exists.`);
        const dependsOn = [...new Set(input.dependsOn ?? [])];
        const missing = dependsOn.filter((id) => !sql.existing.get(id));
        if (missing.length > 0) throw new HearthError('BAD_REQUEST', `No task ${missing.join(', ')}: a task can depend only on tasks that exist.`);
        const assignees = input.assignees && input.assignees.length > 0 ? JSON.stringify([...new Set(input.assignees)]) : null;
        sql.insert.run(input.id, input.title, input.body, input.createdBy, input.createdSession ?? null, assignees, JSON.stringify(dependsOn), input.deadline ?? null, input.now, input.now);
        for (const dependency of dependsOn) sql.insertDependency.run(input.id, dependency);
        return get(input.id) as Task;
      }),
    getTask: (id) => runner.run('read a task', () => get(id)),
    listTasks: ({ status, agentId, limit }) =>
      runner.run('list tasks', () => (sql.list.all({ status: status ?? null, agent: agentId ?? null, limit }) as TaskRow[]).map(toTask)),
    claimTask: (input) =>
      runner.write('claim a task', () => {
        const values = { claimer: input.claimer, agent: input.agentId, run: input.runId ?? null, until: input.now + input.leaseMs, now: input.now };
        if (input.id !== undefined) {
          const current = get(input.id);
          // The holder claiming again renews its claim instead of counting another attempt.
          if (current?.status === 'claimed' && current.claimedBy === input.claimer) {
            sql.renew.run({ id: input.id, claimer: input.claimer, until: values.until, run: values.run, now: input.now });
            return { ok: true, task: get(input.id) as Task };
          }
          if (sql.claim.run({ ...values, id: input.id }).changes === 1) return { ok: true, task: get(input.id) as Task };
          return claimRefusal(current, input.agentId, input.now);
        }
        const next = sql.next.get({ now: input.now, agent: input.agentId }) as { id: string } | undefined;
        if (!next || sql.claim.run({ ...values, id: next.id }).changes !== 1) return { ok: false, reason: 'not_found', task: null };
        return { ok: true, task: get(next.id) as Task };
      }),
    renewTaskClaim: (id, claimer, { leaseMs, runId, now }) =>
      runner.write('renew a task claim', () => sql.renew.run({ id, claimer, until: now + leaseMs, run: runId ?? null, now }).changes === 1),
    releaseTask: (id, claimer, now) => runner.write('release a task', () => sql.release.run({ id, claimer, now }).changes === 1),
    finishTask: (input) =>
      runner.write('finish a task', () => {
        const changed = sql.finish.run({ id: input.id, status: input.status, result: input.result, now: input.now, claimer: input.claimer, run: input.runId ?? null }).changes;
        const task = get(input.id);
        return changed === 1 && task ? { ok: true, task } : finishRefusal(task);
      }),
    cancelTask: (id, reason, now) =>
      runner.write('cancel a task', () => {
        sql.cancel.run({ id, reason, now });
        return get(id);
      }),
    pruneFinishedTasks: (finishedBefore, limit) =>
      runner.write('prune finished tasks', () => {
        const ids = JSON.stringify((sql.prunable.all(finishedBefore, limit) as { id: string }[]).map((row) => row.id));
        sql.deleteDependencies.run({ ids });
        return sql.deleteTasks.run(ids).changes;
      }),
  };
}
