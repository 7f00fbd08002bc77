import { randomUUID } from 'node:crypto';
import type { RunRecord } from '../contracts/store.js';
import type { Task, TaskStore } from '../contracts/tasks.js';
import type { TurnOutcome, TurnService } from '../sessions/turn-service.js';
import { taskSessionKey } from './task-tool.js';

export interface TaskWorkerSettings {
  /** Agents that take tasks from the queue. */
  take: readonly string[];
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
}

export interface TaskWorkerDeps {
  store: TaskStore & { getRun(runId: string): Promise<RunRecord | null> };
  turns: Pick<TurnService, 'submit' | 'awaitRun' | 'forgetRun' | 'waitFor' | 'abort'>;
  settings: () => TaskWorkerSettings;
  /** Whether an agent exists in the config in force. */
  hasAgent: (agentId: string) => boolean;
  /** How long one turn of the agent may run (its turnTimeoutMs). */
  turnTimeoutMs: (agentId: string) => number;
  /** Names this worker's claims (`worker:<id>:<agentId>`); one per gateway start. */
  workerId: string;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  now?: () => number;
  newRunId?: () => string;
}

/** What the worker is doing, for `/readyz` and `status`. */
export interface TaskWorkerStatus {
  agents: string[];
  working: { taskId: string; agentId: string; runId: string | null }[];
  lastError: string | null;
}

/**
 * Takes tasks for the agents in `tasks.take`: every `pollMs` it claims one ready task per idle
 * agent, runs a turn for it in the session `task:<id>` through the turn service, renews the claim
 * every third of the lease while the turn runs, and records the turn's reply as the result. When
 * the claim is lost (cancelled, or taken after the lease ran out) the turn is aborted. A turn
 * left by a gateway that died is adopted rather than run twice when this store still has it.
 */
export function createTaskWorker(deps: TaskWorkerDeps) {
  const now = deps.now ?? Date.now;
  const newRunId = deps.newRunId ?? (() => `run_${randomUUID()}`);
  /** Agent id → the task it works on; an agent takes one task at a time. */
  const busy = new Map<string, { taskId: string; runId: string | null }>();
  const claimerOf = (agentId: string) => `worker:${deps.workerId}:${agentId}`;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  /** The renewal timers of the tasks in flight, cleared when their turn ends or at stop. */
  const renewals = new Set<NodeJS.Timeout>();
  let stopped = false;
  let lastError: string | null = null;

  const noteError = (message: string, error: unknown) => {
    lastError = `${message}: ${error instanceof Error ? error.message : String(error)}`;
    deps.logger.warn({ err: error }, message);
  };

  async function poll(): Promise<void> {
    const settings = deps.settings();
    for (const agentId of settings.take) {
      if (stopped || busy.has(agentId) || !deps.hasAgent(agentId)) continue;
      const outcome = await deps.store.claimTask({ agentId, claimer: claimerOf(agentId), leaseMs: settings.leaseMs, now: now() });
      if (!outcome.ok) continue;
      busy.set(agentId, { taskId: outcome.task.id, runId: null });
      void work(agentId, outcome.task)
        .catch((error: unknown) => noteError(`task ${outcome.task.id} could not be worked on`, error))
        .finally(() => busy.delete(agentId));
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      polling = poll()
        .catch((error: unknown) => noteError('looking for ready tasks failed', error))
        .finally(() => schedule(deps.settings().pollMs));
    }, delayMs);
    timer.unref();
  }

  async function work(agentId: string, task: Task): Promise<void> {
    const claimer = claimerOf(agentId);
    const settings = deps.settings();
    let lost = false;
    let runId: string | null = null;
    // Renew every third of the lease; a refused renewal means the claim is gone: stop the turn.
    const renewal = setInterval(() => {
      if (stopped) return;
      deps.store
        .renewTaskClaim(task.id, claimer, { leaseMs: deps.settings().leaseMs, now: now() })
        .then((held) => {
          if (held || lost) return;
          lost = true;
          deps.logger.warn({ taskId: task.id, runId }, 'the claim on a task was lost (cancelled, or taken after its lease ran out); its turn is stopped');
          if (runId !== null) deps.turns.abort(runId);
        })
        .catch((error: unknown) => noteError(`renewing the claim on task ${task.id} failed`, error));
    }, Math.max(200, Math.floor(settings.leaseMs / 3)));
    renewal.unref();
    renewals.add(renewal);
    try {
      const outcome = await runFor(agentId, task, claimer, (id) => {
        runId = id;
        const entry = busy.get(agentId);
        if (entry) entry.runId = id;
      });
      if (stopped || lost || outcome === null) return;
      await record(task, claimer, outcome);
    } finally {
      clearInterval(renewal);
      renewals.delete(renewal);
    }
  }

  /** The outcome of the task's turn: an earlier attempt's when this store still has it, else a new turn's. */
  async function runFor(agentId: string, task: Task, claimer: string, started: (runId: string) => void): Promise<TurnOutcome | null> {
    const earlier = task.runId === null ? null : await deps.store.getRun(task.runId);
    if (earlier && earlier.status === 'ok') {
      deps.logger.info({ taskId: task.id, runId: earlier.runId }, 'a task\'s earlier turn had finished before its claim ran out; recording its reply');
      started(earlier.runId);
      return deps.turns.waitFor(earlier.runId);
    }
    if (earlier && (earlier.status === 'queued' || earlier.status === 'running')) {
      started(earlier.runId);
      const adopted = await withTimeout(deps.turns.waitFor(earlier.runId), deps.turnTimeoutMs(agentId) + deps.settings().leaseMs);
      if (adopted !== null) {
        deps.logger.info({ taskId: task.id, runId: earlier.runId }, 'adopted the turn of a task whose claimer stopped');
        return adopted;
      }
      if (stopped) return null;
    }
    const runId = newRunId();
    started(runId);
    await deps.store.renewTaskClaim(task.id, claimer, { leaseMs: deps.settings().leaseMs, runId, now: now() });
    const finished = deps.turns.awaitRun(runId);
    try {
      await deps.turns.submit({ runId, sessionKey: taskSessionKey(task.id), agentId, source: 'task', text: await taskPrompt(task), replyTo: null });
    } catch (error) {
      deps.turns.forgetRun(runId);
      await deps.store.releaseTask(task.id, claimer, now()).catch(() => false);
      throw error;
    }
    deps.logger.info({ taskId: task.id, runId, agentId, attempt: task.attempts }, 'working on a task');
    return finished;
  }

  async function record(task: Task, claimer: string, outcome: TurnOutcome): Promise<void> {
    const current = await deps.store.getTask(task.id);
    // The agent may have recorded the result itself with the task tool.
    if (current?.status !== 'claimed' || current.claimedBy !== claimer) return;
    if (outcome.status === 'ok') {
      await deps.store.finishTask({ id: task.id, claimer, status: 'done', result: outcome.reply, now: now() });
      return;
    }
    const why = outcome.error?.message ?? `the turn ended ${outcome.status}`;
    if (current.attempts >= deps.settings().maxAttempts) {
      await deps.store.finishTask({ id: task.id, claimer, status: 'failed', result: `Failed after ${current.attempts} attempts: ${why}`, now: now() });
      deps.logger.warn({ taskId: task.id, runId: outcome.runId }, 'a task failed: its turns kept failing');
      return;
    }
    await deps.store.releaseTask(task.id, claimer, now());
    deps.logger.warn({ taskId: task.id, runId: outcome.runId, reason: why }, 'a task\'s turn failed; the task goes back to the queue');
  }

  async function taskPrompt(task: Task): Promise<string> {
    const lines = [`You are working on task ${task.id} from the shared task queue: ${task.title}`, `Created by ${task.createdBy}.`];
    if (task.deadline !== null) lines.push(`Due ${new Date(task.deadline).toISOString()}.`);
    lines.push('', 'Instructions:', task.body);
    const dependencies = await Promise.all(task.dependsOn.map((id) => deps.store.getTask(id)));
    const done = dependencies.filter((dependency): dependency is Task => dependency !== null);
    if (done.length > 0) {
      lines.push('', 'Results of the tasks it depends on:');
      for (const dependency of done) lines.push(`- ${dependency.id} (${dependency.title}): ${dependency.result ?? '(no result)'}`);
    }
    lines.push('', `Do the work now. Your final reply is recorded as the task's result. If it cannot be done, call the task tool with action "fail", id ${task.id} and the reason.`);
    return lines.join('\n');
  }

  return {
    start(): void {
      stopped = false;
      schedule(0);
    },
    /** Stops claiming and renewing; turns in flight are the turn service's to drain (their claims run out). */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      for (const renewal of renewals) clearInterval(renewal);
      renewals.clear();
      await polling?.catch(() => {});
    },
    status(): TaskWorkerStatus {
      return {
        agents: [...deps.settings().take],
        working: [...busy.entries()].map(([agentId, entry]) => ({ agentId, ...entry })),
        lastError,
      };
    },
  };
}

export type TaskWorker = ReturnType<typeof createTaskWorker>;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(null), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
