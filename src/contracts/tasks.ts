/**
 * The shared task queue (docs/agents.md, "Task queue"): work one agent hands to another, kept in
 * the store so it survives restarts and is shared by every gateway on the same database.
 */

export type TaskStatus = 'open' | 'claimed' | 'done' | 'failed' | 'cancelled';

export const TASK_STATUSES: readonly TaskStatus[] = ['open', 'claimed', 'done', 'failed', 'cancelled'];

/** A task as the store keeps it. */
export interface Task {
  id: string;
  title: string;
  /** What to do: the instructions the working agent gets. */
  body: string;
  /** Who created it: an agent id, or `cli` / `ws` for an operator. */
  createdBy: string;
  /** The session it was created from, when an agent created it in a turn. */
  createdSession: string | null;
  /** The agents that may take it; null: any agent. */
  assignees: string[] | null;
  status: TaskStatus;
  /** Tasks that must be done before this one can be claimed, in the order given. */
  dependsOn: string[];
  /** True when every dependency is done (an open task is then claimable). */
  ready: boolean;
  /** When it should be done (epoch ms); null for none. */
  deadline: number | null;
  /** What the work produced (done), or why it failed or was cancelled. */
  result: string | null;
  /** Who holds the claim (a worker or a session); kept after it finishes for the record. */
  claimedBy: string | null;
  /** The agent working (or that worked) on it. */
  claimAgent: string | null;
  /** The turn working on it, when a worker runs one. */
  runId: string | null;
  /** Until when the claim holds; past it another claimer may take the task. */
  leaseUntil: number | null;
  /** How many times it was claimed. */
  attempts: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface CreateTaskInput {
  id: string;
  title: string;
  body: string;
  createdBy: string;
  createdSession?: string | null;
  assignees?: string[] | null;
  dependsOn?: string[];
  deadline?: number | null;
  now: number;
}

export interface ClaimTaskInput {
  /** A given task; without it, the most urgent ready task the agent may take (deadline, then age). */
  id?: string;
  agentId: string;
  claimer: string;
  leaseMs: number;
  /** The turn that will work on it, when known at claim time. */
  runId?: string | null;
  now: number;
}

/** Why a claim or a finish was refused. */
export type TaskRefusal =
  | 'not_found'
  /** A dependency is not done yet. */
  | 'not_ready'
  /** Another claimer holds it and its lease has not run out. */
  | 'taken'
  /** It is done, failed or cancelled. */
  | 'finished'
  /** It names assignees and this agent is not one of them. */
  | 'not_assigned'
  /** (finish, renew) the caller does not hold the claim (it ran out and someone else took it, or it never had it). */
  | 'not_claimer';

export type TaskClaimOutcome = { ok: true; task: Task } | { ok: false; reason: TaskRefusal; task: Task | null };

export interface FinishTaskInput {
  id: string;
  /** The claim holder finishing it; a finish by the task's own turn (`runId`) counts too. */
  claimer: string;
  runId?: string | null;
  status: 'done' | 'failed';
  result: string;
  now: number;
}

export interface ListTasksOptions {
  status?: TaskStatus;
  /** Only tasks this agent may take (no assignees, or it is one). */
  agentId?: string;
  limit: number;
}

/**
 * The task queue's part of the Store port. Every method is atomic. A claim succeeds for exactly
 * one of several concurrent claimers (also across gateways sharing a PostgreSQL database); a claim
 * whose lease ran out is open to others again.
 */
export interface TaskStore {
  /** Adds an open task. Rejects with BAD_REQUEST when a dependency does not exist, CONFLICT when the id is taken. */
  createTask(input: CreateTaskInput): Promise<Task>;
  getTask(id: string): Promise<Task | null>;
  /** Newest first. */
  listTasks(options: ListTasksOptions): Promise<Task[]>;
  /** Takes a task for a claimer until `now + leaseMs`; a claimer claiming its own task again renews it. */
  claimTask(input: ClaimTaskInput): Promise<TaskClaimOutcome>;
  /** Extends the claimer's lease (and records the turn working on it); false when it no longer holds the claim. */
  renewTaskClaim(id: string, claimer: string, options: { leaseMs: number; runId?: string | null; now: number }): Promise<boolean>;
  /** Gives a claim back (the task is open again); false when the claimer does not hold it. */
  releaseTask(id: string, claimer: string, now: number): Promise<boolean>;
  /** Records the result of a claimed task: done or failed. */
  finishTask(input: FinishTaskInput): Promise<TaskClaimOutcome>;
  /** Cancels an open or claimed task (the claimer sees its renewal refused); null when unknown. Finished tasks are returned as they are. */
  cancelTask(id: string, reason: string, now: number): Promise<Task | null>;
  /**
   * Deletes done, failed and cancelled tasks that finished before the cutoff, with their
   * dependency rows, oldest first, at most `limit`. A finished task an open or claimed task
   * depends on is kept (it still decides whether that task is ready). Returns how many went.
   */
  pruneFinishedTasks(finishedBefore: number, limit: number): Promise<number>;
}
