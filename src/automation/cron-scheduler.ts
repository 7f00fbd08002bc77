import type { CronJob, CronJobSpec, CronRunRecord, CronRunStatus, CronSchedule, EscalationPolicy } from '../contracts/automation.js';
import { HearthError } from '../contracts/errors.js';
import type { Store } from '../contracts/store.js';
import type { Clock } from '../runtime/clock.js';
import type { AlertRequest } from './alerts.js';
import { arm, iso, type SchedulerCore, trigger } from './cron-engine.js';
import { addJob, editJob, jobFingerprint, previewRuns, removeJob, requireJob } from './cron-jobs.js';
import { recoverMissed, resumeInterrupted } from './cron-recovery.js';
import { describeSchedule } from './schedule.js';

export { jobFingerprint } from './cron-jobs.js';

/** How a job's turn ended. */
export interface CronRunOutcome {
  status: 'ok' | 'error';
  error?: string;
}

export interface CronSchedulerDeps {
  store: Store;
  clock: Clock;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** `cron.escalation` from the config (a job's own overrides are applied on top). */
  escalation: () => EscalationPolicy;
  alerts: { raise(request: AlertRequest): Promise<unknown> };
  /** Starts the job's agent turn under `run.turnRunId` and resolves with how it ended. */
  execute(job: CronJob, run: CronRunRecord): Promise<CronRunOutcome>;
  /** How a turn interrupted by a restart ended (the turn service re-runs it). */
  resume(turnRunId: string): Promise<CronRunOutcome>;
  /** Why the job may not run now (its daily budget is spent), or null. */
  blockedReason?(job: CronJob): Promise<string | null>;
  onEscalation?(action: 'alert' | 'disabled'): void;
  /** First retry delay after an error; doubles per consecutive error up to `backoffMaxMs`. */
  retryBaseMs?: number;
  /** At most this many missed occurrences are run by `catch-up` at a start. */
  maxCatchUpRuns?: number;
  maxJobs?: number;
}

export interface AddJobOptions {
  /** Adds the job even when one with the same name, agent and schedule exists. */
  allowDuplicate?: boolean;
  id?: string;
}

export type JobPatch = Partial<CronJobSpec> & { enabled?: boolean };

/** Jobs by health: disabled, degraded (failing, or overdue) and healthy. */
function jobHealth(core: SchedulerCore) {
  const now = core.deps.clock.now();
  const degraded: { id: string; name: string; reason: string }[] = [];
  const disabled: { id: string; name: string; reason: string }[] = [];
  let healthy = 0;
  for (const job of core.jobs.values()) {
    const { state } = job;
    if (!state.enabled) disabled.push({ id: job.id, name: job.spec.name, reason: state.disabledReason ?? 'disabled' });
    else if (state.consecutiveErrors > 0) degraded.push({ id: job.id, name: job.spec.name, reason: `${state.consecutiveErrors} consecutive errors (last: ${state.lastError})` });
    else if (state.nextRunAt !== null && state.nextRunAt < now - 60_000 && !core.running.has(job.id)) degraded.push({ id: job.id, name: job.spec.name, reason: `overdue since ${iso(state.nextRunAt)}` });
    else healthy++;
  }
  return { total: core.jobs.size, healthy, degraded: degraded.length, disabled: disabled.length, problems: [...disabled, ...degraded] };
}

/** Per job over the window: failure rate, last success, how late runs started; and duplicate jobs. */
async function auditJobs(core: SchedulerCore, windowMs: number) {
  const { jobs } = core;
  const stats = new Map((await core.deps.store.cronRunStats(core.deps.clock.now() - windowMs)).map((row) => [row.jobId, row]));
  const rows = [...jobs.values()].map((job) => {
    const row = stats.get(job.id);
    const ok = row?.ok ?? 0;
    const errors = row?.error ?? 0;
    return {
      id: job.id,
      name: job.spec.name,
      agentId: job.spec.agentId,
      schedule: describeSchedule(job.spec.schedule),
      enabled: job.state.enabled,
      runs: ok + errors,
      ok,
      errors,
      missed: row?.missed ?? 0,
      skipped: row?.skipped ?? 0,
      failureRate: ok + errors === 0 ? 0 : errors / (ok + errors),
      lastSuccessAt: job.state.lastSuccessAt,
      driftAvgMs: row?.driftAvgMs ?? null,
      driftMaxMs: row?.driftMaxMs ?? null,
    };
  });
  rows.sort((a, b) => b.failureRate - a.failureRate || b.errors - a.errors || a.name.localeCompare(b.name));
  const groups = new Map<string, string[]>();
  for (const job of jobs.values()) {
    const key = jobFingerprint(job.spec);
    groups.set(key, [...(groups.get(key) ?? []), job.id]);
  }
  const duplicates = [...groups.entries()].filter(([, ids]) => ids.length > 1).map(([fingerprint, ids]) => ({ fingerprint, jobIds: ids }));
  return { windowMs, jobs: rows, duplicates };
}

/** Loads the jobs, follows interrupted runs to their end, applies misfire policies, arms the timer. */
async function startScheduler(core: SchedulerCore, standby: boolean): Promise<void> {
  if (core.started) return;
  for (const job of await core.deps.store.listCronJobs()) core.jobs.set(job.id, job);
  core.started = true;
  if (!standby) await takeLead(core);
}

async function takeLead(core: SchedulerCore): Promise<void> {
  if (core.leading || core.stopped) return;
  const { clock, logger } = core.deps;
  await refreshJobs(core);
  core.leading = true;
  await resumeInterrupted(core);
  const now = clock.now();
  for (const job of core.jobs.values()) {
    if (core.running.has(job.id)) continue;
    await recoverMissed(core, job, now).catch((error) => logger.error({ err: error, jobId: job.id }, 'could not handle the missed runs of a cron job'));
  }
  arm(core);
  if (core.jobs.size > 0) logger.info({ jobs: core.jobs.size }, 'cron scheduler started');
}

/** Replaces jobs (or one) with the store's copy, unless a run of it is in progress here; drops removed ones. */
async function refreshJobs(core: SchedulerCore, id?: string): Promise<void> {
  const stored = new Map((await core.deps.store.listCronJobs()).map((job) => [job.id, job]));
  const ids = id === undefined ? new Set([...stored.keys(), ...core.jobs.keys()]) : new Set([id]);
  for (const jobId of ids) {
    if (core.running.has(jobId)) continue;
    const job = stored.get(jobId);
    const local = core.jobs.get(jobId);
    if (!job) core.jobs.delete(jobId);
    else if (!local || !core.leading || job.updatedAt >= local.updatedAt) core.jobs.set(jobId, job);
  }
  arm(core);
}

/**
 * The cron scheduler. Jobs live in the store; one timer is armed for the earliest due job (no
 * polling, however many jobs), and `every` and cron occurrences are computed from the schedule,
 * never from when the last run happened, so timers do not drift. Every occurrence ends up in the
 * run ledger as run (`ok`/`error`), `skipped` or `missed` with its reason; occurrences that fell
 * while the gateway was down are handled by each job's misfire policy at start
 * (`cron-recovery.ts`). Errors are retried with exponential backoff, alert the operator once per
 * streak, and disable the job after too many in a row (`cron-engine.ts`).
 */
export function createCronScheduler(deps: CronSchedulerDeps) {
  const maxJobs = deps.maxJobs ?? 10_000;
  const core: SchedulerCore = {
    deps,
    retryBaseMs: deps.retryBaseMs ?? 30_000,
    maxCatchUpRuns: deps.maxCatchUpRuns ?? 24,
    jobs: new Map(),
    running: new Map(),
    catchUp: new Map(),
    timer: null,
    timerAt: Number.POSITIVE_INFINITY,
    started: false,
    stopped: false,
    leading: false,
  };

  return {
    /** Loads the jobs and fires them; with `standby`, only loads them (another node of the cluster fires them). */
    start: (options: { standby?: boolean } = {}): Promise<void> => startScheduler(core, options.standby ?? false),

    /**
     * Cluster mode, this node now fires the schedule: reads the jobs afresh, follows the runs the
     * last leader left running, applies misfire policies to what fell due meanwhile, arms the timer.
     */
    lead: (): Promise<void> => takeLead(core),

    /** Cluster mode, another node fires the schedule now: the timer stops (runs in progress finish). */
    standby(): void {
      core.leading = false;
      if (core.timer !== null) deps.clock.clearTimer(core.timer);
      core.timer = null;
      core.timerAt = Number.POSITIVE_INFINITY;
      core.catchUp.clear();
    },

    /** Cluster mode: takes a job changed on another node from the store (all jobs, while on standby). */
    refresh: (id?: string): Promise<void> => refreshJobs(core, id),

    /** Stops the timer. Runs in progress are left to the turn service (finished at the next start if it checkpoints them). */
    stop(): void {
      core.stopped = true;
      if (core.timer !== null) deps.clock.clearTimer(core.timer);
      core.timer = null;
      core.catchUp.clear();
    },

    list: (): CronJob[] => [...core.jobs.values()],
    get: (id: string): CronJob | null => core.jobs.get(id) ?? null,
    isRunning: (id: string) => core.running.has(id),
    add: (spec: CronJobSpec, options: AddJobOptions = {}): Promise<CronJob> => addJob(core, maxJobs, spec, options),
    edit: (id: string, patch: JobPatch): Promise<CronJob> => editJob(core, id, patch),
    remove: (id: string): Promise<boolean> => removeJob(core, id),
    /** The next `count` run times a job with this schedule would get if added now; throws what adding it would. */
    preview: (schedule: CronSchedule, count: number): number[] => previewRuns(schedule, deps.clock.now(), count),

    /** Runs a job now, outside its schedule; resolves with its ledger entry once it finished. */
    async runNow(id: string): Promise<{ record: CronRunRecord; done: Promise<CronRunRecord | null> }> {
      const job = requireJob(core, id);
      if (core.running.has(id)) throw new HearthError('BAD_REQUEST', `The job "${job.spec.name}" is running already; wait for it (\`hearth cron runs ${id}\`).`);
      const record = trigger(core, job, 'manual', deps.clock.now());
      if (!record) throw new HearthError('BAD_REQUEST', `The job "${job.spec.name}" is running already.`);
      return { record, done: core.running.get(id) ?? Promise.resolve(null) };
    },

    runs: (options: { jobId?: string; status?: CronRunStatus; limit: number; since?: number }) => deps.store.listCronRuns(options),
    health: () => jobHealth(core),
    audit: (windowMs = 7 * 86_400_000) => auditJobs(core, windowMs),

    /** Settles when no run is in progress (tests and shutdown). */
    async idle(): Promise<void> {
      while (core.running.size > 0) await Promise.all([...core.running.values()]);
    },
  };
}

export type CronScheduler = ReturnType<typeof createCronScheduler>;
