import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isHearthError } from '../contracts/errors.js';
import { TASK_STATUSES, type TaskStatus, type TaskStore } from '../contracts/tasks.js';
import type { Tool } from '../contracts/tool.js';
import { defineTool, errorResult } from '../tools/define-tool.js';
import { describeRefusal, describeTask } from './task-format.js';

/** The session key of the turn a worker runs for a task. */
export function taskSessionKey(taskId: string): string {
  return `task:${taskId}`;
}

/** The task a task turn works on, from its session key; null for any other session. */
export function taskIdOfSession(sessionKey: string): string | null {
  return sessionKey.startsWith('task:') ? sessionKey.slice('task:'.length) : null;
}

const TEXT_MAX = 20_000;

const schema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('create'),
    title: z.string().trim().min(1).max(200),
    instructions: z.string().max(TEXT_MAX).optional(),
    assignees: z.array(z.string().min(1).max(64)).max(20).optional(),
    dependsOn: z.array(z.string().min(1).max(64)).max(50).optional(),
    deadline: z.string().optional(),
  }),
  z.strictObject({ action: z.literal('list'), status: z.enum(TASK_STATUSES as [TaskStatus, ...TaskStatus[]]).optional(), mine: z.boolean().optional() }),
  z.strictObject({ action: z.literal('show'), id: z.string().min(1) }),
  z.strictObject({ action: z.literal('claim'), id: z.string().min(1).optional() }),
  z.strictObject({ action: z.literal('complete'), id: z.string().min(1), result: z.string().max(TEXT_MAX) }),
  z.strictObject({ action: z.literal('fail'), id: z.string().min(1), reason: z.string().max(TEXT_MAX) }),
]);
type TaskArguments = z.infer<typeof schema>;

export interface TaskToolDeps {
  store: TaskStore;
  /** How long a claim made through the tool holds (tasks.leaseMs). */
  leaseMs: () => number;
  now?: () => number;
  newId?: () => string;
}

/**
 * `task {action, …}`: the shared task queue as an agent sees it. `create` hands work to other
 * agents (optionally to named ones, after other tasks, by a deadline); `list` and `show` read the
 * queue; `claim` takes a task (one agent at a time; the claim lasts `tasks.leaseMs` and claiming
 * again renews it); `complete` and `fail` record the result of a task the agent holds.
 */
export function createTaskTool(deps: TaskToolDeps): Tool {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? (() => `task-${randomUUID().slice(0, 8)}`);
  return defineTool<TaskArguments>({
    spec: {
      name: 'task',
      description:
        'The shared task queue between agents. action "create" hands work to another agent (title, instructions, optional assignees: agent ids, ' +
        'dependsOn: task ids that must be done first, deadline: ISO date-time); "list" shows tasks (status filter; mine: only those you may take); ' +
        '"show" one task with its result; "claim" takes a ready task (by id, or the most urgent one for you); "complete" records the result of a task you claimed; ' +
        '"fail" gives it up with a reason. Two agents never hold the same task.',
      parameters: {
        type: 'object',
        properties: {
          action: { type: 'string', enum: ['create', 'list', 'show', 'claim', 'complete', 'fail'] },
          id: { type: 'string', description: 'The task id (show, claim, complete, fail).' },
          title: { type: 'string', description: 'create: a short title.' },
          instructions: { type: 'string', description: 'create: what to do, for the agent that takes it.' },
          assignees: { type: 'array', items: { type: 'string' }, description: 'create: agent ids that may take it (default: any agent).' },
          dependsOn: { type: 'array', items: { type: 'string' }, description: 'create: task ids that must be done first.' },
          deadline: { type: 'string', description: 'create: when it should be done, ISO 8601, e.g. 2026-05-01T09:00:00Z.' },
          status: { type: 'string', enum: [...TASK_STATUSES], description: 'list: only tasks with this status.' },
          mine: { type: 'boolean', description: 'list: only tasks you may take.' },
          result: { type: 'string', description: 'complete: what the work produced.' },
          reason: { type: 'string', description: 'fail: why it cannot be done.' },
        },
        required: ['action'],
        additionalProperties: false,
      },
    },
    sideEffects: true,
    schema,
    usage: 'task {"action": "create"|"list"|"show"|"claim"|"complete"|"fail", …}',
    async run(args, context) {
      const at = now();
      const claimer = `session:${context.sessionKey}`;
      switch (args.action) {
        case 'create': {
          let deadline: number | null = null;
          if (args.deadline !== undefined) {
            deadline = Date.parse(args.deadline);
            if (Number.isNaN(deadline)) return errorResult(`deadline ${JSON.stringify(args.deadline)} is not a date; write it as ISO 8601, e.g. 2026-05-01T09:00:00Z.`);
          }
          try {
            const task = await deps.store.createTask({
              id: newId(),
              title: args.title,
              body: args.instructions ?? args.title,
              createdBy: context.agentId,
              createdSession: context.sessionKey,
              assignees: args.assignees ?? null,
              dependsOn: args.dependsOn ?? [],
              deadline,
              now: at,
            });
            return { content: `Created ${describeTask(task, at)}`, details: { taskId: task.id } };
          } catch (error) {
            if (isHearthError(error) && (error.code === 'BAD_REQUEST' || error.code === 'CONFLICT')) return errorResult(error.message);
            throw error;
          }
        }
        case 'list': {
          const tasks = await deps.store.listTasks({ ...(args.status ? { status: args.status } : {}), ...(args.mine ? { agentId: context.agentId } : {}), limit: 50 });
          if (tasks.length === 0) return { content: 'No tasks.' };
          return { content: tasks.map((task) => describeTask(task, at)).join('\n') };
        }
        case 'show': {
          const task = await deps.store.getTask(args.id);
          if (!task) return errorResult(`No task ${args.id}.`);
          const lines = [describeTask(task, at), `Instructions: ${task.body}`];
          if (task.result !== null) lines.push(`Result: ${task.result}`);
          return { content: lines.join('\n') };
        }
        case 'claim': {
          const outcome = await deps.store.claimTask({ ...(args.id ? { id: args.id } : {}), agentId: context.agentId, claimer, leaseMs: deps.leaseMs(), now: at });
          if (!outcome.ok) return errorResult(describeRefusal(args.id, outcome.reason, outcome.task));
          const task = outcome.task;
          return {
            content: `Claimed ${describeTask(task, at)} until ${new Date(task.leaseUntil ?? at).toISOString()}.\nInstructions: ${task.body}\nWhen done, call task with action "complete" (or "fail") and id ${task.id}.`,
            details: { taskId: task.id },
          };
        }
        case 'complete':
        case 'fail': {
          const outcome = await deps.store.finishTask({
            id: args.id,
            claimer,
            runId: context.runId,
            status: args.action === 'complete' ? 'done' : 'failed',
            result: args.action === 'complete' ? args.result : args.reason,
            now: at,
          });
          if (!outcome.ok) return errorResult(describeRefusal(args.id, outcome.reason, outcome.task));
          return { content: `Recorded ${args.id} as ${outcome.task.status}.` };
        }
      }
    },
  });
}
