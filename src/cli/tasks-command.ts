import type { Task, TaskStatus } from '../contracts/tasks.js';
import { describeTask } from '../tasks/task-format.js';
import { type CliRuntime, withGateway } from './cli-context.js';

type ShownTask = Task & { overdue: boolean };

/** `hearth tasks list [--status <s>] [--agent <id>] [--json]` */
export async function tasksList(runtime: CliRuntime, options: { status?: TaskStatus; agent?: string; limit?: number; json?: boolean }): Promise<void> {
  const params = { ...(options.status ? { status: options.status } : {}), ...(options.agent ? { agentId: options.agent } : {}), ...(options.limit ? { limit: options.limit } : {}) };
  const { tasks } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ tasks: ShownTask[] }>('tasks.list', params));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(tasks, null, 2)}\n`);
    return;
  }
  if (tasks.length === 0) {
    runtime.io.out(options.status ? `No ${options.status} tasks.\n` : 'No tasks yet. Agents create them with the task tool.\n');
    return;
  }
  const now = Date.now();
  for (const task of tasks) runtime.io.out(`${describeTask(task, now)}\n`);
}

/** `hearth tasks show <id> [--json]` */
export async function tasksShow(runtime: CliRuntime, id: string, options: { json?: boolean }): Promise<void> {
  const { task } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ task: ShownTask }>('tasks.get', { id }));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(task, null, 2)}\n`);
    return;
  }
  const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
  const lines = [
    describeTask(task, Date.now()),
    `status:       ${task.status}${task.overdue ? ' (overdue)' : ''}`,
    `created:      ${time(task.createdAt)} by ${task.createdBy}${task.createdSession ? ` in ${task.createdSession}` : ''}`,
    `assignees:    ${task.assignees?.join(', ') ?? 'any agent'}`,
    `depends on:   ${task.dependsOn.length > 0 ? `${task.dependsOn.join(', ')}${task.ready ? ' (all done)' : ' (not all done yet)'}` : '-'}`,
    `deadline:     ${time(task.deadline)}`,
    `claim:        ${task.claimedBy ? `${task.claimAgent ?? '?'} (${task.claimedBy})${task.status === 'claimed' ? ` until ${time(task.leaseUntil)}` : ''}` : '-'}`,
    `attempts:     ${task.attempts}${task.runId ? `, last run ${task.runId} (hearth runs show ${task.runId})` : ''}`,
    `finished:     ${time(task.finishedAt)}`,
    '',
    'Instructions:',
    task.body,
  ];
  if (task.result !== null) lines.push('', 'Result:', task.result);
  runtime.io.out(`${lines.join('\n')}\n`);
}

/** `hearth tasks cancel <id> [--reason <text>]` */
export async function tasksCancel(runtime: CliRuntime, id: string, options: { reason?: string; json?: boolean }): Promise<void> {
  const { task, cancelled } = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ task: ShownTask; cancelled: boolean }>('tasks.cancel', { id, ...(options.reason ? { reason: options.reason } : {}) }),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify({ task, cancelled }, null, 2)}\n`);
    return;
  }
  if (!cancelled) {
    runtime.io.out(`${task.id} was already ${task.status}; nothing changed.\n`);
    return;
  }
  runtime.io.out(`Cancelled ${task.id} (${task.title}).${task.claimAgent && task.claimedBy ? ` ${task.claimAgent} stops working on it at its next lease renewal.` : ''}\n`);
}
