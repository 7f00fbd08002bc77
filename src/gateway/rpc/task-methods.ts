import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import { TASK_STATUSES, type Task, type TaskClaimOutcome, type TaskStatus } from '../../contracts/tasks.js';
import { describeRefusal, isOverdue } from '../../tasks/task-format.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const TASK_SHAPE = '{id, title, body, createdBy, assignees, status, dependsOn, ready, deadline, overdue, result, claimedBy, claimAgent, runId, leaseUntil, attempts, createdAt, updatedAt, finishedAt}';
const id = z.string().trim().min(1).max(64);
const statuses = TASK_STATUSES as [TaskStatus, ...TaskStatus[]];

const shown = (task: Task) => ({ ...task, overdue: isOverdue(task, Date.now()) });

/** The task of an accepted claim or finish; a refusal is a CONFLICT (or NOT_FOUND) that says why. */
function outcomeOf(taskId: string | undefined, outcome: TaskClaimOutcome) {
  if (outcome.ok) return { task: shown(outcome.task) };
  const code = outcome.reason === 'not_found' && taskId !== undefined ? 'NOT_FOUND' : 'CONFLICT';
  throw new HearthError(code, describeRefusal(taskId, outcome.reason, outcome.task), { details: { reason: outcome.reason } });
}

/** The shared task queue (docs/agents.md, "Task queue"): what agents hand each other, for operators and other programs. */
export const taskMethods: Record<string, RpcMethod> = {
  'tasks.create': defineMethod(
    { description: 'Adds a task to the shared queue: for any agent or the assignees named, claimable once every task in dependsOn is done.', returns: `{task: ${TASK_SHAPE}}` },
    z.strictObject({
      id: id.optional(),
      title: z.string().trim().min(1).max(200),
      body: z.string().max(20_000).optional(),
      assignees: z.array(z.string().min(1).max(64)).max(20).optional(),
      dependsOn: z.array(id).max(50).optional(),
      deadline: z.number().int().positive().optional(),
      createdBy: z.string().trim().min(1).max(64).optional(),
    }),
    async (params, _connection, context) => {
      const task = await context.store.createTask({
        id: params.id ?? `task-${randomUUID().slice(0, 8)}`,
        title: params.title,
        body: params.body ?? params.title,
        createdBy: params.createdBy ?? 'ws',
        assignees: params.assignees ?? null,
        dependsOn: params.dependsOn ?? [],
        deadline: params.deadline ?? null,
        now: Date.now(),
      });
      return { task: shown(task) };
    },
  ),
  'tasks.list': defineMethod(
    { description: 'Tasks newest first, optionally only one status or those one agent may take (default limit 100).', returns: `{tasks:[${TASK_SHAPE}]}` },
    z.strictObject({ status: z.enum(statuses).optional(), agentId: z.string().min(1).max(64).optional(), limit: z.number().int().min(1).max(1000).optional() }).optional(),
    async (params, _connection, context) => ({
      tasks: (await context.store.listTasks({ ...(params?.status ? { status: params.status } : {}), ...(params?.agentId ? { agentId: params.agentId } : {}), limit: params?.limit ?? 100 })).map(shown),
    }),
  ),
  'tasks.get': defineMethod(
    { description: 'One task with its instructions, dependencies, claim and result.', returns: `{task: ${TASK_SHAPE}}` },
    z.strictObject({ id }),
    async (params, _connection, context) => {
      const task = await context.store.getTask(params.id);
      if (!task) throw new HearthError('NOT_FOUND', `No task ${params.id}. \`hearth tasks list\` shows the tasks.`);
      return { task: shown(task) };
    },
  ),
  'tasks.claim': defineMethod(
    {
      description: 'Claims a task for an agent (by id, or its most urgent ready one) until the lease runs out (tasks.leaseMs); claiming it again renews it. Exactly one of several claimers wins.',
      returns: `{task: ${TASK_SHAPE}}`,
    },
    z.strictObject({ id: id.optional(), agentId: z.string().min(1).max(64), claimer: z.string().min(1).max(128).optional(), leaseMs: z.number().int().min(1000).max(86_400_000).optional() }),
    async (params, connection, context) =>
      outcomeOf(
        params.id,
        await context.store.claimTask({
          ...(params.id ? { id: params.id } : {}),
          agentId: params.agentId,
          claimer: params.claimer ?? `ws:${connection.id}`,
          leaseMs: params.leaseMs ?? context.config().tasks.leaseMs,
          now: Date.now(),
        }),
      ),
  ),
  'tasks.complete': defineMethod(
    { description: 'Records the result of a claimed task (status done, or failed with `failed: true`); only the claim holder may.', returns: `{task: ${TASK_SHAPE}}` },
    z.strictObject({ id, result: z.string().max(20_000), failed: z.boolean().optional(), claimer: z.string().min(1).max(128).optional() }),
    async (params, connection, context) =>
      outcomeOf(
        params.id,
        await context.store.finishTask({ id: params.id, claimer: params.claimer ?? `ws:${connection.id}`, status: params.failed ? 'failed' : 'done', result: params.result, now: Date.now() }),
      ),
  ),
  'tasks.cancel': defineMethod(
    { description: 'Cancels an open or claimed task; an agent working on it is stopped at its next lease renewal. A finished task is returned as it is.', returns: `{task: ${TASK_SHAPE}, cancelled}` },
    z.strictObject({ id, reason: z.string().max(2000).optional() }),
    async (params, _connection, context) => {
      const task = await context.store.cancelTask(params.id, params.reason ?? 'cancelled by the operator', Date.now());
      if (!task) throw new HearthError('NOT_FOUND', `No task ${params.id}. \`hearth tasks list\` shows the tasks.`);
      return { task: shown(task), cancelled: task.status === 'cancelled' };
    },
  ),
};
