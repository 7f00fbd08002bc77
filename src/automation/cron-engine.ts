import { randomBytes } from 'node:crypto';
import type { CronJob, CronRunRecord, CronRunStatus, EscalationPolicy } from '../contracts/automation.js';
import type { CronRunOutcome, CronSchedulerDeps } from './cron-scheduler.js';
import { occurrencesBetween, scheduleStepper } from './schedule.js';

/**
 * What the scheduler's parts share: its dependencies, the jobs it loaded, the runs in progress
 * and its one timer. Built by `createCronScheduler`; the functions here run jobs on it.
 */
export interface SchedulerCore {
  deps: CronSchedulerDeps;
  retryBaseMs: number;
  maxCatchUpRuns: number;
  jobs: Map<string, CronJob>;
  /** Jobs with a run in progress (at most one run per job at a time), settling with its final ledger entry. */
  running: Map<string, Promise<CronRunRecord | null>>;
  /** Occurrences a `catch-up` start still has to run, per job, oldest first (bounded by maxCatchUpRuns). */
  catchUp: Map<string, number[]>;
  timer: unknown;
  timerAt: number;
  started: boolean;
  stopped: boolean;
  /** Whether this node fires the schedule: always on one node; in a cluster, on the node holding the cron lease. */
  leading: boolean;
}

export const iso = (ms: number) => new Date(ms).toISOString();

const entryId = (jobId: string, scheduledAt: number) => `${jobId}@${scheduledAt}`;

export const policyOf = (core: SchedulerCore, job: CronJob): EscalationPolicy => ({ ...core.deps.escalation(), ...job.spec.escalation });

/** A ledger entry for one occurrence of the job. */
export function ledger(core: SchedulerCore, job: CronJob, status: CronRunStatus, scheduledAt: number, fields: Partial<CronRunRecord> = {}): CronRunRecord {
  return {
    id: entryId(job.id, scheduledAt),
    jobId: job.id,
    status,
    scheduledAt,
    startedAt: null,
    finishedAt: null,
    trigger: 'schedule',
    turnRunId: null,
    reason: null,
    error: null,
    count: 1,
    createdAt: core.deps.clock.now(),
    ...fields,
  };
}

/** Saves the job and, when it has a next run, that run's `scheduled` ledger entry. */
export async function persist(core: SchedulerCore, job: CronJob, entry?: CronRunRecord): Promise<void> {
  const { store, clock } = core.deps;
  job.updatedAt = clock.now();
  if (entry) await store.putCronRun(entry, job);
  else await store.putCronJob(job);
  const next = job.state.nextRunAt;
  if (job.state.enabled && next !== null) {
    await store.putCronRun(ledger(core, job, 'scheduled', next, { trigger: job.state.retrying ? 'retry' : 'schedule' }));
  }
}

// ---- the timer -------------------------------------------------------------------------

/** Arms the one timer for the earliest due job (or none). */
export function arm(core: SchedulerCore): void {
  const { clock } = core.deps;
  if (!core.started || core.stopped || !core.leading) return;
  let earliest = Number.POSITIVE_INFINITY;
  for (const job of core.jobs.values()) {
    if (job.state.enabled && job.state.nextRunAt !== null && job.state.nextRunAt < earliest) earliest = job.state.nextRunAt;
  }
  if (earliest === core.timerAt) return;
  if (core.timer !== null) clock.clearTimer(core.timer);
  core.timer = null;
  core.timerAt = earliest;
  if (earliest === Number.POSITIVE_INFINITY) return;
  // Long waits are split (timers hold at most ~24.8 days); waking early finds nothing due and re-arms.
  const delay = Math.min(Math.max(0, earliest - clock.now()), 86_400_000);
  core.timer = clock.setTimer(() => {
    core.timer = null;
    core.timerAt = Number.POSITIVE_INFINITY;
    fire(core);
  }, delay);
}

function fire(core: SchedulerCore): void {
  const now = core.deps.clock.now();
  for (const job of core.jobs.values()) {
    const due = job.state.nextRunAt;
    if (job.state.enabled && due !== null && due <= now) trigger(core, job, job.state.retrying ? 'retry' : 'schedule', due);
  }
  arm(core);
}

// ---- running a job ---------------------------------------------------------------------

/**
 * Moves the job's schedule past `scheduledAt` (synchronously, so the timer never fires it twice),
 * and records the occurrences a suspended or blocked process passed. Returns the ledger notes.
 */
function advance(core: SchedulerCore, job: CronJob, kind: CronRunRecord['trigger'], scheduledAt: number, next?: number | null): Promise<unknown>[] {
  const now = core.deps.clock.now();
  const step = scheduleStepper(job.spec.schedule);
  let regular = next !== undefined ? next : kind === 'retry' ? job.state.nextScheduledAt : step(scheduledAt);
  let passed = 0;
  let passedFrom = 0;
  if (regular !== null && regular <= now && kind !== 'manual') {
    // The process was suspended or blocked past more occurrences: they are recorded, not run.
    passedFrom = regular;
    passed = occurrencesBetween(job.spec.schedule, regular, now + 1, 0).count;
    regular = step(now);
  }
  if (kind !== 'manual') {
    job.state = { ...job.state, nextRunAt: regular, nextScheduledAt: regular, retrying: false, finished: regular === null };
  }
  if (passed === 0) return [];
  const reason = `the gateway was suspended or too busy when ${passed === 1 ? 'it was' : `these ${passed} were`} due (from ${iso(passedFrom)})`;
  return [core.deps.store.putCronRun(ledger(core, job, 'missed', passedFrom, { count: passed, reason }))];
}

/** Skips the run when the job's budget is spent; otherwise starts its turn and finishes it. */
async function runJob(core: SchedulerCore, job: CronJob, record: CronRunRecord, notes: Promise<unknown>[]): Promise<CronRunRecord | null> {
  const { deps } = core;
  await Promise.all(notes);
  const blocked = deps.blockedReason ? await deps.blockedReason(job) : null;
  if (blocked) {
    const skipped: CronRunRecord = { ...record, status: 'skipped', turnRunId: null, reason: blocked, finishedAt: deps.clock.now() };
    await persist(core, job, skipped);
    deps.logger.warn({ jobId: job.id, job: job.spec.name }, `cron run skipped: ${blocked}`);
    return skipped;
  }
  record.startedAt = deps.clock.now();
  job.state = { ...job.state, lastRunAt: record.startedAt };
  await persist(core, job, record);
  let outcome: CronRunOutcome;
  try {
    outcome = await deps.execute(job, record);
  } catch (error) {
    if (core.stopped) return null;
    outcome = { status: 'error', error: error instanceof Error ? error.message : String(error) };
  }
  if (core.stopped) return null;
  return finish(core, job.id, record, outcome);
}

/** After a run: forgets it, and starts the job's next catch-up occurrence if one is waiting. */
function afterRun(core: SchedulerCore, jobId: string, tracked: Promise<CronRunRecord | null>): void {
  if (core.running.get(jobId) === tracked) core.running.delete(jobId);
  const queue = core.catchUp.get(jobId);
  const current = core.jobs.get(jobId);
  if (queue && current && !core.stopped) {
    const nextAt = queue.shift();
    if (queue.length === 0) core.catchUp.delete(jobId);
    if (nextAt !== undefined && current.state.enabled) trigger(core, current, 'misfire', nextAt, current.state.nextScheduledAt);
  }
}

/**
 * Moves the job's schedule past `scheduledAt` and runs it unless it is still running or blocked.
 * `next` overrides the next regular occurrence (a catch-up start has already planned it).
 * Returns the run's ledger entry, or null when it was skipped because the last run is still going.
 */
export function trigger(core: SchedulerCore, job: CronJob, kind: CronRunRecord['trigger'], scheduledAt: number, next?: number | null): CronRunRecord | null {
  const { logger, clock } = core.deps;
  const notes = advance(core, job, kind, scheduledAt, next);
  const id = kind === 'manual' ? `${job.id}@manual-${clock.now()}` : entryId(job.id, scheduledAt);
  if (core.running.has(job.id)) {
    const skipped = ledger(core, job, 'skipped', scheduledAt, { id, trigger: kind, reason: 'the previous run was still running' });
    void Promise.all(notes)
      .then(() => persist(core, job, skipped))
      .catch((error) => logger.error({ err: error, jobId: job.id }, 'could not record a skipped cron run'));
    return null;
  }
  const record = ledger(core, job, 'running', scheduledAt, { id, trigger: kind, turnRunId: `run_cron_${randomBytes(9).toString('base64url')}` });
  const tracked: Promise<CronRunRecord | null> = runJob(core, job, record, notes)
    .catch((error) => {
      logger.error({ err: error, jobId: job.id }, 'a cron run could not be recorded');
      return null;
    })
    .finally(() => afterRun(core, job.id, tracked));
  core.running.set(job.id, tracked);
  return record;
}

/**
 * After an error: disables the job past `disableAfterConsecutiveErrors`, otherwise schedules a
 * retry with backoff (occurrences inside the backoff are skipped, and say so). Returns the
 * escalation to raise, if any, and the extra ledger entries.
 */
function applyFailure(core: SchedulerCore, job: CronJob, done: CronRunRecord, errors: number, now: number) {
  const policy = policyOf(core, job);
  const extra: CronRunRecord[] = [];
  if (errors >= policy.disableAfterConsecutiveErrors) {
    job.state = {
      ...job.state,
      enabled: false,
      nextRunAt: null,
      retrying: false,
      disabledReason: `disabled after ${errors} consecutive errors (last: ${done.error}); fix the cause, then \`hearth cron edit ${job.id} --enable\``,
    };
    if (job.state.nextScheduledAt !== null) {
      extra.push(ledger(core, job, 'skipped', job.state.nextScheduledAt, { reason: 'the job was disabled after repeated errors' }));
    }
    return { action: 'disabled' as const, policy, extra };
  }
  const action = errors === policy.alertAfterConsecutiveErrors ? ('alert' as const) : null;
  if (done.trigger !== 'manual') {
    const retryAt = now + Math.min(policy.backoffMaxMs, core.retryBaseMs * 2 ** (errors - 1));
    let regular = job.state.nextScheduledAt;
    if (regular !== null && regular <= retryAt) {
      const inside = occurrencesBetween(job.spec.schedule, regular, retryAt + 1, 0).count;
      extra.push(
        ledger(core, job, 'skipped', regular, {
          count: inside,
          reason: `backing off after ${errors} consecutive error${errors === 1 ? '' : 's'}; retrying at ${iso(retryAt)}`,
        }),
      );
      regular = scheduleStepper(job.spec.schedule)(retryAt);
    }
    job.state = { ...job.state, nextRunAt: retryAt, nextScheduledAt: regular, retrying: true, finished: false };
  }
  return { action, policy, extra };
}

/** Records how a run ended, applies retries and the escalation policy, and returns the final ledger entry. */
export async function finish(core: SchedulerCore, jobId: string, record: CronRunRecord, outcome: CronRunOutcome): Promise<CronRunRecord> {
  const { store, clock, logger } = core.deps;
  const now = clock.now();
  const done: CronRunRecord = { ...record, status: outcome.status, finishedAt: now, error: outcome.status === 'error' ? (outcome.error ?? 'failed') : null };
  const job = core.jobs.get(jobId);
  if (!job) {
    await store.putCronRun(done);
    return done;
  }
  if (outcome.status === 'ok') {
    job.state = { ...job.state, lastStatus: 'ok', lastSuccessAt: now, lastError: null, consecutiveErrors: 0, streakStartedAt: null };
    await persist(core, job, done);
    arm(core);
    return done;
  }
  const errors = job.state.consecutiveErrors + 1;
  const streakStartedAt = job.state.streakStartedAt ?? now;
  job.state = { ...job.state, lastStatus: 'error', lastError: done.error, consecutiveErrors: errors, streakStartedAt };
  const { action, policy, extra } = applyFailure(core, job, done, errors, now);
  for (const entry of extra) await store.putCronRun(entry);
  await persist(core, job, done);
  arm(core);
  logger.warn({ jobId: job.id, job: job.spec.name, consecutiveErrors: errors, error: done.error }, 'cron run failed');
  if (action) await escalate(core, job, action, policy);
  return done;
}

/** One operator alert per error streak (and one when the job is disabled). */
async function escalate(core: SchedulerCore, job: CronJob, action: 'alert' | 'disabled', policy: EscalationPolicy): Promise<void> {
  const { deps } = core;
  deps.onEscalation?.(action);
  const payload = {
    event: 'cron.escalation',
    jobId: job.id,
    jobName: job.spec.name,
    agentId: job.spec.agentId,
    consecutiveErrors: job.state.consecutiveErrors,
    action,
    lastError: job.state.lastError,
    lastSuccessAt: job.state.lastSuccessAt === null ? null : iso(job.state.lastSuccessAt),
  };
  const text =
    action === 'disabled'
      ? `Cron job "${job.spec.name}" (${job.id}) failed ${job.state.consecutiveErrors} times in a row and was disabled. Last error: ${job.state.lastError}. Fix the cause, then run \`hearth cron edit ${job.id} --enable\`.`
      : `Cron job "${job.spec.name}" (${job.id}) failed ${job.state.consecutiveErrors} times in a row. Last error: ${job.state.lastError}. It is retried with backoff and disabled after ${policy.disableAfterConsecutiveErrors} errors; \`hearth cron runs ${job.id}\` shows each run.`;
  await deps.alerts
    .raise({
      dedupeKey: `cron.escalation:${job.id}:${job.state.streakStartedAt ?? 0}:${action}`,
      event: 'cron.escalation',
      payload,
      text,
      channel: policy.alertChannel,
      webhook: policy.alertWebhook,
    })
    .catch((error) => deps.logger.error({ err: error, jobId: job.id }, 'could not record a cron alert'));
}
