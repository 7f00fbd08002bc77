import type { Task, TaskClaimOutcome, TaskStatus } from '../contracts/tasks.js';

/** A `tasks` row with its computed `ready` column, as both stores read it. */
export interface TaskRow {
  id: string;
  title: string;
  body: string;
  created_by: string;
  created_session: string | null;
  assignees: string | null;
  status: string;
  depends_on: string;
  deadline: number | null;
  result: string | null;
  claimed_by: string | null;
  claim_agent: string | null;
  run_id: string | null;
  lease_until: number | null;
  attempts: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  ready: number | boolean;
}

/** The SQL of the `ready` column: no dependency of `t` is anything but done. */
/**
 * Finished tasks no open or claimed task depends on: what retention may delete. Selects their
 * ids, oldest finished first; the cutoff and the limit are the statement's two parameters.
 */
export const prunableTasksSql = (before: string, limit: string) =>
  `SELECT t.id FROM tasks t WHERE t.status IN ('done', 'failed', 'cancelled') AND t.finished_at < ${before}
     AND t.id NOT IN (SELECT d.depends_on FROM task_dependencies d JOIN tasks c ON c.id = d.task_id WHERE c.status IN ('open', 'claimed'))
   ORDER BY t.finished_at, t.id LIMIT ${limit}`;

export const TASK_READY_SQL = `NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks p ON p.id = d.depends_on WHERE d.task_id = t.id AND p.status <> 'done')`;

/** Claimable by anyone: open, or claimed with a lease that ran out (`$now` is the parameter of the time). */
export const taskClaimableSql = (now: string) => `(t.status = 'open' OR (t.status = 'claimed' AND t.lease_until <= ${now}))`;

const parseList = (text: string | null): string[] | null => {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : null;
  } catch {
    return null;
  }
};

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    createdBy: row.created_by,
    createdSession: row.created_session,
    assignees: parseList(row.assignees),
    status: row.status as TaskStatus,
    dependsOn: parseList(row.depends_on) ?? [],
    ready: row.ready === true || row.ready === 1,
    deadline: row.deadline,
    result: row.result,
    claimedBy: row.claimed_by,
    claimAgent: row.claim_agent,
    runId: row.run_id,
    leaseUntil: row.lease_until,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

/** Why a claim of a task as it is now was refused (the claim's own conditions, checked in order). */
export function claimRefusal(task: Task | null, agentId: string, now: number): TaskClaimOutcome {
  if (task === null) return { ok: false, reason: 'not_found', task: null };
  if (task.status === 'done' || task.status === 'failed' || task.status === 'cancelled') return { ok: false, reason: 'finished', task };
  if (task.assignees !== null && !task.assignees.includes(agentId)) return { ok: false, reason: 'not_assigned', task };
  if (task.status === 'claimed' && (task.leaseUntil ?? 0) > now) return { ok: false, reason: 'taken', task };
  return { ok: false, reason: 'not_ready', task };
}

/** Why a finish was refused. */
export function finishRefusal(task: Task | null): TaskClaimOutcome {
  if (task === null) return { ok: false, reason: 'not_found', task: null };
  if (task.status === 'done' || task.status === 'failed' || task.status === 'cancelled') return { ok: false, reason: 'finished', task };
  return { ok: false, reason: 'not_claimer', task };
}
