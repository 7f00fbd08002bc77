import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Store } from '../contracts/store.js';
import type { Tool } from '../contracts/tool.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { Turns } from '../sessions/turns-subsystem.js';
import { createTaskTool } from './task-tool.js';
import { createTaskWorker, type TaskWorker } from './task-worker.js';

/** The `task` tool for every agent, its claims lasting `tasks.leaseMs` of the config in force. */
export function createTaskTools({ store, config }: Pick<GatewayBase, 'config'> & { store: Store }): Tool[] {
  return [createTaskTool({ store, leaseMs: () => config.current().tasks.leaseMs })];
}

interface TasksDeps extends Pick<GatewayBase, 'config' | 'logger'> {
  store: Store;
  models: Pick<Models, 'agents'>;
  turns: Pick<Turns, 'service'>;
}

/**
 * The shared task queue's worker (docs/agents.md, "Task queue"): for the agents in `tasks.take`,
 * claims ready tasks and runs a turn for each through the turn service. Draining it stops claiming
 * and renewing; a turn still running is checkpointed by the turns subsystem and its claim runs out.
 */
export const tasksSubsystem = defineSubsystem({
  name: 'tasks',
  start({ store, config, logger, models, turns }: TasksDeps) {
    const worker: TaskWorker = createTaskWorker({
      store,
      turns: turns.service,
      settings: () => config.current().tasks,
      hasAgent: (agentId) => models.agents().get(agentId) !== undefined,
      turnTimeoutMs: (agentId) => models.agents().get(agentId)?.turnTimeoutMs ?? config.current().agents.defaults.turnTimeoutMs,
      workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      logger,
    });
    worker.start();
    return {
      api: { status: () => worker.status() },
      health() {
        const status = worker.status();
        if (status.agents.length === 0) return { status: 'ok' as const, detail: 'no agent takes tasks (tasks.take)' };
        const working = status.working.map((entry) => `${entry.agentId} on ${entry.taskId}`).join(', ');
        return { status: 'ok' as const, detail: `${status.agents.join(', ')} take tasks${working ? `; ${working}` : ''}${status.lastError ? `; last error: ${status.lastError}` : ''}` };
      },
      drain: () => worker.stop(),
      stop: () => worker.stop(),
    };
  },
});
