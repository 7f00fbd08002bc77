import type { Task, TaskRefusal } from '../contracts/tasks.js';

/** Whether a task is past its deadline and still not finished. */
export function isOverdue(task: Task, now: number): boolean {
  return task.deadline !== null && task.deadline < now && (task.status === 'open' || task.status === 'claimed');
}

/** One line about a task, for the agent and the CLI. */
export function describeTask(task: Task, now: number): string {
  const state = task.status === 'open' ? (task.ready ? 'open, ready' : 'open, waiting for its dependencies') : task.status;
  const parts = [`${task.id} [${state}] ${JSON.stringify(task.title)}`];
  if (task.assignees) parts.push(`for ${task.assignees.join(' or ')}`);
  if (task.dependsOn.length > 0) parts.push(`after ${task.dependsOn.join(', ')}`);
  if (task.deadline !== null) parts.push(`due ${new Date(task.deadline).toISOString()}${isOverdue(task, now) ? ' (OVERDUE)' : ''}`);
  if (task.status === 'claimed' && task.claimAgent) parts.push(`worked on by ${task.claimAgent}`);
  parts.push(`created by ${task.createdBy}`);
  return parts.join('; ');
}

/** What a refused claim or finish means, in words an agent or an operator can act on. */
export function describeRefusal(id: string | undefined, reason: TaskRefusal, task: Task | null): string {
  const name = id ?? task?.id ?? 'the task';
  switch (reason) {
    case 'not_found':
      return id === undefined ? 'No task is ready for you to claim now.' : `No task ${id}.`;
    case 'not_ready':
      return `${name} is waiting for ${task?.dependsOn.join(', ') || 'its dependencies'}: it can be claimed once they are done.`;
    case 'taken':
      return `${name} is already claimed by ${task?.claimAgent ?? 'another agent'}${task?.leaseUntil ? ` until ${new Date(task.leaseUntil).toISOString()}` : ''}; two agents never work the same task.`;
    case 'finished':
      return `${name} is already ${task?.status ?? 'finished'}${task?.result ? `: ${task.result}` : ''}.`;
    case 'not_assigned':
      return `${name} is for ${task?.assignees?.join(' or ') ?? 'other agents'}, not you.`;
    case 'not_claimer':
      return `You do not hold the claim on ${name} (its lease may have run out and another agent taken it); claim it first.`;
  }
}
