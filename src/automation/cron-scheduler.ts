import { randomBytes } from 'node:crypto';
import type {
  CronJob,
  CronJobSpec,
  CronJobState,
  CronRunRecord,
  CronRunStatus,
  EscalationPolicy,
} from '../contracts/automation.js';
import { HearthError, isHearthError } from '../contracts/errors.js';
import type { Store } from '../contracts/store.js';
import type { Clock } from '../runtime/clock.js';
import type { AlertRequest } from './alerts.js';
import { describeSchedule, formatDuration, occurrencesBetween, scheduleStepper, validateSchedule } from './schedule.js';

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

const iso = (ms: number) => new Date(ms).toISOString();

/** Jobs with the same name, agent and schedule are duplicates (usually a job added twice). */
export function jobFingerprint(spec: Pick<CronJobSpec, 'name' | 'agentId' | 'schedule'>): string {
  return `${spec.name.trim().toLowerCase()}|${spec.agentId}|${describeSchedule(spec.schedule)}`;
}

const freshState = (): CronJobState => ({
  enabled: true,
  disabledReason: null,
  nextRunAt: null,
  nextScheduledAt: null,
  retrying: false,
  lastRunAt: null,
  lastStatus: null,
  lastSuccessAt: null,
  lastError: null,
  consecutiveErrors: 0,
  streakStartedAt: null,
  finished: false,
});

/**
 * The cron scheduler. Jobs live in the store; one timer is armed for the earliest due job (no
 * polling, however many jobs), and `every` and cron occurrences are computed from the schedule,
 * never from when the last run happened, so timers do not drift. Every occurrence ends up in the
 * run ledger as run (`ok`/`error`), `skipped` or `missed` with its reason; occurrences that fell
 * while the gateway was down are handled by each job's misfire policy at start. Errors are
 * retried with exponential backoff, alert the operator once per streak, and disable the job
 * after too many in a row.
 */
export function createCronScheduler(deps: CronSchedulerDeps) {
  const { store, clock, logger } = deps;
  const retryBaseMs = deps.retryBaseMs ?? 30_000;
  const maxCatchUpRuns = deps.maxCatchUpRuns ?? 24;
  const maxJobs = deps.maxJobs ?? 10_000;
  const jobs = new Map<string, CronJob>();
  /** Jobs with a run in progress (at most one run per job at a time), settling with its final ledger entry. */
  const running = new Map<string, Promise<CronRunRecord | null>>();
  /** Occurrences a `catch-up` start still has to run, per job, oldest first (bounded by maxCatchUpRuns). */
  const catchUp = new Map<string, number[]>();
  let timer: unknown = null;
  let timerAt = Number.POSITIVE_INFINITY;
  let started = false;
  let stopped = false;

  const policyOf = (job: CronJob): EscalationPolicy => ({ ...deps.escalation(), ...job.spec.escalation });
  const entryId = (jobId: string, scheduledAt: number) => `${jobId}@${scheduledAt}`;

  const ledger = (job: CronJob, status: CronRunStatus, scheduledAt: number, fields: Partial<CronRunRecord> = {}): CronRunRecord => ({
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
    createdAt: clock.now(),
    ...fields,
  });

  /** Saves the job and, when it has a next run, that run's `scheduled` ledger entry. */
  const persist = async (job: CronJob, entry?: CronRunRecord) => {
    job.updatedAt = clock.now();
    if (entry) await store.putCronRun(entry, job);
    else await store.putCronJob(job);
    const next = job.state.nextRunAt;
    if (job.state.enabled && next !== null) {
      await store.putCronRun(ledger(job, 'scheduled', next, { trigger: job.state.retrying ? 'retry' : 'schedule' }));
    }
  };

  // ---- the timer -------------------------------------------------------------------------

  const arm = () => {
    if (!started || stopped) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const job of jobs.values()) {
      if (job.state.enabled && job.state.nextRunAt !== null && job.state.nextRunAt < earliest) earliest = job.state.nextRunAt;
    }
    if (earliest === timerAt) return;
    if (timer !== null) clock.clearTimer(timer);
    timer = null;
    timerAt = earliest;
    if (earliest === Number.POSITIVE_INFINITY) return;
    // Long waits are split (timers hold at most ~24.8 days); waking early finds nothing due and re-arms.
    const delay = Math.min(Math.max(0, earliest - clock.now()), 86_400_000);
    timer = clock.setTimer(() => {
      timer = null;
      timerAt = Number.POSITIVE_INFINITY;
      fire();
    }, delay);
  };

  function fire() {
    const now = clock.now();
    for (const job of jobs.values()) {
      const due = job.state.nextRunAt;
      if (job.state.enabled && due !== null && due <= now) trigger(job, job.state.retrying ? 'retry' : 'schedule', due);
    }
    arm();
  }

  // ---- running a job ---------------------------------------------------------------------

  /**
   * Moves the job's schedule past `scheduledAt` (synchronously, so the timer never fires it
   * twice) and runs it unless it is still running or blocked. `next` overrides the next regular
   * occurrence (a catch-up start has already planned it).
   */
  function trigger(job: CronJob, kind: CronRunRecord['trigger'], scheduledAt: number, next?: number | null) {
    const now = clock.now();
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
    const notes: Promise<unknown>[] = [];
    if (passed > 0) {
      notes.push(
        store.putCronRun(
          ledger(job, 'missed', passedFrom, {
            count: passed,
            reason: `the gateway was suspended or too busy when ${passed === 1 ? 'it was' : `these ${passed} were`} due (from ${iso(passedFrom)})`,
          }),
        ),
      );
    }
    const id = kind === 'manual' ? `${job.id}@manual-${now}` : entryId(job.id, scheduledAt);
    if (running.has(job.id)) {
      const skipped = ledger(job, 'skipped', scheduledAt, { id, trigger: kind, reason: 'the previous run was still running' });
      void Promise.all(notes)
        .then(() => persist(job, skipped))
        .catch((error) => logger.error({ err: error, jobId: job.id }, 'could not record a skipped cron run'));
      return null;
    }
    const record = ledger(job, 'running', scheduledAt, { id, trigger: kind, turnRunId: `run_cron_${randomBytes(9).toString('base64url')}` });
    const work = (async () => {
      await Promise.all(notes);
      const blocked = deps.blockedReason ? await deps.blockedReason(job) : null;
      if (blocked) {
        const skipped: CronRunRecord = { ...record, status: 'skipped', turnRunId: null, reason: blocked, finishedAt: clock.now() };
        await persist(job, skipped);
        logger.warn({ jobId: job.id, job: job.spec.name }, `cron run skipped: ${blocked}`);
        return skipped;
      }
      record.startedAt = clock.now();
      job.state = { ...job.state, lastRunAt: record.startedAt };
      await persist(job, record);
      let outcome: CronRunOutcome;
      try {
        outcome = await deps.execute(job, record);
      } catch (error) {
        if (stopped) return null;
        outcome = { status: 'error', error: error instanceof Error ? error.message : String(error) };
      }
      if (stopped) return null;
      return finish(job.id, record, outcome);
    })();
    const tracked: Promise<CronRunRecord | null> = work
      .catch((error) => {
        logger.error({ err: error, jobId: job.id }, 'a cron run could not be recorded');
        return null;
      })
      .finally(() => {
        if (running.get(job.id) === tracked) running.delete(job.id);
        const queue = catchUp.get(job.id);
        const current = jobs.get(job.id);
        if (queue && current && !stopped) {
          const nextAt = queue.shift();
          if (queue.length === 0) catchUp.delete(job.id);
          if (nextAt !== undefined && current.state.enabled) trigger(current, 'misfire', nextAt, current.state.nextScheduledAt);
        }
      });
    running.set(job.id, tracked);
    return record;
  }

  /** Records how a run ended, applies retries and the escalation policy, and returns the final ledger entry. */
  async function finish(jobId: string, record: CronRunRecord, outcome: CronRunOutcome): Promise<CronRunRecord> {
    const now = clock.now();
    const done: CronRunRecord = { ...record, status: outcome.status, finishedAt: now, error: outcome.status === 'error' ? (outcome.error ?? 'failed') : null };
    const job = jobs.get(jobId);
    if (!job) {
      await store.putCronRun(done);
      return done;
    }
    if (outcome.status === 'ok') {
      job.state = { ...job.state, lastStatus: 'ok', lastSuccessAt: now, lastError: null, consecutiveErrors: 0, streakStartedAt: null };
      await persist(job, done);
      arm();
      return done;
    }
    const errors = job.state.consecutiveErrors + 1;
    const streakStartedAt = job.state.streakStartedAt ?? now;
    job.state = { ...job.state, lastStatus: 'error', lastError: done.error, consecutiveErrors: errors, streakStartedAt };
    const policy = policyOf(job);
    let action: 'alert' | 'disabled' | null = null;
    const extra: CronRunRecord[] = [];
    if (errors >= policy.disableAfterConsecutiveErrors) {
      action = 'disabled';
      job.state = {
        ...job.state,
        enabled: false,
        nextRunAt: null,
        retrying: false,
        disabledReason: `disabled after ${errors} consecutive errors (last: ${done.error}); fix the cause, then \`hearth cron edit ${job.id} --enable\``,
      };
      if (job.state.nextScheduledAt !== null) {
        extra.push(ledger(job, 'skipped', job.state.nextScheduledAt, { reason: 'the job was disabled after repeated errors' }));
      }
    } else {
      if (errors === policy.alertAfterConsecutiveErrors) action = 'alert';
      if (record.trigger !== 'manual') {
        const retryAt = now + Math.min(policy.backoffMaxMs, retryBaseMs * 2 ** (errors - 1));
        let regular = job.state.nextScheduledAt;
        if (regular !== null && regular <= retryAt) {
          // Occurrences that fall inside the backoff are replaced by the retry, and say so.
          const inside = occurrencesBetween(job.spec.schedule, regular, retryAt + 1, 0).count;
          extra.push(
            ledger(job, 'skipped', regular, {
              count: inside,
              reason: `backing off after ${errors} consecutive error${errors === 1 ? '' : 's'}; retrying at ${iso(retryAt)}`,
            }),
          );
          regular = scheduleStepper(job.spec.schedule)(retryAt);
        }
        job.state = { ...job.state, nextRunAt: retryAt, nextScheduledAt: regular, retrying: true, finished: false };
      }
    }
    for (const entry of extra) await store.putCronRun(entry);
    await persist(job, done);
    arm();
    logger.warn({ jobId: job.id, job: job.spec.name, consecutiveErrors: errors, error: done.error }, 'cron run failed');
    if (action) await escalate(job, action, policy);
    return done;
  }

  async function escalate(job: CronJob, action: 'alert' | 'disabled', policy: EscalationPolicy) {
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
      .catch((error) => logger.error({ err: error, jobId: job.id }, 'could not record a cron alert'));
  }

  // ---- start: misfires and interrupted runs ----------------------------------------------

  async function recoverMissed(job: CronJob, now: number) {
    const state = job.state;
    if (!state.enabled || state.nextRunAt === null || state.nextRunAt > now) return;
    if (state.retrying) {
      trigger(job, 'retry', state.nextRunAt);
      return;
    }
    const schedule = job.spec.schedule;
    const policy = job.spec.misfire;
    const step = scheduleStepper(schedule);
    const { kept, count } = occurrencesBetween(schedule, state.nextRunAt, now + 1, policy === 'catch-up' ? maxCatchUpRuns : 1);
    const first = state.nextRunAt;
    const last = kept[kept.length - 1] ?? first;
    const down = `the gateway was not running at ${iso(first)}${count > 1 ? ` (${count} occurrences until ${iso(last)})` : ''}`;
    const next = step(now);
    if (policy === 'skip') {
      job.state = { ...state, nextRunAt: next, nextScheduledAt: next, finished: next === null };
      await persist(job, ledger(job, 'missed', first, { count, reason: `${down}; misfire policy "skip"` }));
      logger.warn({ jobId: job.id, job: job.spec.name, missed: count }, `cron: ${down}; skipped (misfire policy "skip")`);
      return;
    }
    const toRun = policy === 'run-once' ? [last] : kept.filter((at) => at >= now - job.spec.catchUpWindowMs);
    const notRun = count - toRun.length;
    if (notRun > 0) {
      const reason =
        policy === 'run-once'
          ? `${down}; misfire policy "run-once" runs only the latest`
          : `${down}; older than the catch-up window (${formatDuration(job.spec.catchUpWindowMs)})${count > maxCatchUpRuns ? ` or beyond the last ${maxCatchUpRuns}` : ''}`;
      await store.putCronRun(ledger(job, 'missed', first, { count: notRun, reason }));
    }
    logger.warn({ jobId: job.id, job: job.spec.name, missed: count, running: toRun.length }, `cron: ${down}; running ${toRun.length} (misfire policy "${policy}")`);
    if (toRun.length === 0) {
      job.state = { ...state, nextRunAt: next, nextScheduledAt: next, finished: next === null };
      await persist(job);
      return;
    }
    if (toRun.length > 1) catchUp.set(job.id, toRun.slice(1));
    trigger(job, 'misfire', toRun[0]!, next);
  }

  async function resumeInterrupted() {
    const interrupted = await store.listCronRuns({ status: 'running', limit: 10_000 });
    for (const record of interrupted) {
      const job = jobs.get(record.jobId);
      const work = (async () => {
        let outcome: CronRunOutcome;
        try {
          outcome = record.turnRunId ? await deps.resume(record.turnRunId) : { status: 'error', error: 'interrupted before its turn started' };
        } catch (error) {
          outcome = {
            status: 'error',
            error: isHearthError(error) && error.code === 'NOT_FOUND' ? 'the gateway stopped before the turn was accepted' : String(error),
          };
        }
        return stopped ? null : finish(record.jobId, record, outcome);
      })().catch((error) => {
        logger.error({ err: error, jobId: record.jobId }, 'could not finish an interrupted cron run');
        return null;
      });
      if (job) {
        const tracked: Promise<CronRunRecord | null> = work.finally(() => {
          if (running.get(job.id) === tracked) running.delete(job.id);
        });
        running.set(job.id, tracked);
      }
    }
  }

  // ---- editing -------------------------------------------------------------------------

  const validateSpec = (spec: CronJobSpec) => {
    if (spec.name.trim() === '') throw new HearthError('BAD_REQUEST', 'A cron job needs a --name.');
    if (spec.message.trim() === '') throw new HearthError('BAD_REQUEST', 'A cron job needs a --message for its agent.');
    validateSchedule(spec.schedule);
    const policy = { ...deps.escalation(), ...spec.escalation };
    if (policy.disableAfterConsecutiveErrors < 1 || policy.alertAfterConsecutiveErrors < 1) {
      throw new HearthError('BAD_REQUEST', 'alertAfterConsecutiveErrors and disableAfterConsecutiveErrors must be at least 1.');
    }
  };

  const requireJob = (id: string): CronJob => {
    const job = jobs.get(id);
    if (!job) throw new HearthError('NOT_FOUND', `No cron job "${id}". \`hearth cron list\` shows the jobs.`);
    return job;
  };

  const firstRun = (spec: CronJobSpec, now: number) => scheduleStepper(spec.schedule)(now - 1);

  return {
    async start(): Promise<void> {
      if (started) return;
      for (const job of await store.listCronJobs()) jobs.set(job.id, job);
      started = true;
      await resumeInterrupted();
      const now = clock.now();
      for (const job of jobs.values()) {
        if (running.has(job.id)) continue;
        await recoverMissed(job, now).catch((error) => logger.error({ err: error, jobId: job.id }, 'could not handle the missed runs of a cron job'));
      }
      arm();
      if (jobs.size > 0) logger.info({ jobs: jobs.size }, 'cron scheduler started');
    },

    /** Stops the timer. Runs in progress are left to the turn service (finished at the next start if it checkpoints them). */
    stop(): void {
      stopped = true;
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      catchUp.clear();
    },

    list: (): CronJob[] => [...jobs.values()],
    get: (id: string): CronJob | null => jobs.get(id) ?? null,
    isRunning: (id: string) => running.has(id),

    async add(spec: CronJobSpec, options: AddJobOptions = {}): Promise<CronJob> {
      validateSpec(spec);
      if (jobs.size >= maxJobs) throw new HearthError('BAD_REQUEST', `There are already ${jobs.size} cron jobs (the most is ${maxJobs}). Remove some with \`hearth cron rm <id>\`.`);
      const fingerprint = jobFingerprint(spec);
      const twin = [...jobs.values()].find((job) => jobFingerprint(job.spec) === fingerprint);
      if (twin && !options.allowDuplicate) {
        throw new HearthError(
          'BAD_REQUEST',
          `A job with the same name, agent and schedule exists already (${twin.id}). Edit it with \`hearth cron edit ${twin.id}\`, or add this one with --allow-duplicate.`,
        );
      }
      const id = options.id ?? `job_${randomBytes(6).toString('hex')}`;
      if (jobs.has(id)) throw new HearthError('BAD_REQUEST', `A cron job "${id}" exists already.`);
      const now = clock.now();
      const schedule = spec.schedule.kind === 'every' && spec.schedule.anchorAt === undefined ? { ...spec.schedule, anchorAt: now + spec.schedule.everyMs } : spec.schedule;
      const full: CronJobSpec = { ...spec, schedule };
      const next = firstRun(full, now);
      const job: CronJob = { id, spec: full, state: { ...freshState(), nextRunAt: next, nextScheduledAt: next, finished: next === null }, createdAt: now, updatedAt: now };
      jobs.set(id, job);
      await persist(job);
      arm();
      return job;
    },

    async edit(id: string, patch: JobPatch): Promise<CronJob> {
      const job = requireJob(id);
      const { enabled, ...specPatch } = patch;
      const spec: CronJobSpec = { ...job.spec, ...specPatch };
      validateSpec(spec);
      const now = clock.now();
      const scheduleChanged = patch.schedule !== undefined;
      if (scheduleChanged && spec.schedule.kind === 'every' && patch.schedule?.kind === 'every' && patch.schedule.anchorAt === undefined) {
        spec.schedule = { ...spec.schedule, anchorAt: now + spec.schedule.everyMs };
      }
      const previousNext = job.state.enabled ? job.state.nextRunAt : null;
      let state = job.state;
      if (enabled === false && state.enabled) state = { ...state, enabled: false, disabledReason: 'disabled by its owner', nextRunAt: null, retrying: false };
      const enabling = enabled === true && !state.enabled;
      if (enabling) state = { ...state, enabled: true, disabledReason: null, consecutiveErrors: 0, streakStartedAt: null };
      if (state.enabled && (scheduleChanged || enabling)) {
        const next = firstRun(spec, now);
        state = { ...state, nextRunAt: next, nextScheduledAt: next, retrying: false, finished: next === null };
      }
      job.spec = spec;
      job.state = state;
      if (previousNext !== null && previousNext !== state.nextRunAt) {
        await store.putCronRun(ledger(job, 'skipped', previousNext, { reason: state.enabled ? 'the schedule was edited' : 'the job was disabled' }));
      }
      await persist(job);
      arm();
      return job;
    },

    async remove(id: string): Promise<boolean> {
      const job = jobs.get(id);
      // A job the scheduler could not load (a damaged row) can still be removed.
      if (!job) return store.deleteCronJob(id);
      jobs.delete(id);
      catchUp.delete(id);
      if (job.state.enabled && job.state.nextRunAt !== null) {
        await store.putCronRun(ledger(job, 'skipped', job.state.nextRunAt, { reason: 'the job was removed' }));
      }
      await store.deleteCronJob(id);
      arm();
      return true;
    },

    /** Runs a job now, outside its schedule; resolves with its ledger entry once it finished. */
    async runNow(id: string): Promise<{ record: CronRunRecord; done: Promise<CronRunRecord | null> }> {
      const job = requireJob(id);
      if (running.has(id)) throw new HearthError('BAD_REQUEST', `The job "${job.spec.name}" is running already; wait for it (\`hearth cron runs ${id}\`).`);
      const record = trigger(job, 'manual', clock.now());
      if (!record) throw new HearthError('BAD_REQUEST', `The job "${job.spec.name}" is running already.`);
      return { record, done: running.get(id) ?? Promise.resolve(null) };
    },

    runs: (options: { jobId?: string; status?: CronRunStatus; limit: number; since?: number }) => store.listCronRuns(options),

    /** Jobs by health: disabled, degraded (failing, or overdue) and healthy. */
    health() {
      const now = clock.now();
      const degraded: { id: string; name: string; reason: string }[] = [];
      const disabled: { id: string; name: string; reason: string }[] = [];
      let healthy = 0;
      for (const job of jobs.values()) {
        const { state } = job;
        if (!state.enabled) disabled.push({ id: job.id, name: job.spec.name, reason: state.disabledReason ?? 'disabled' });
        else if (state.consecutiveErrors > 0) degraded.push({ id: job.id, name: job.spec.name, reason: `${state.consecutiveErrors} consecutive errors (last: ${state.lastError})` });
        else if (state.nextRunAt !== null && state.nextRunAt < now - 60_000 && !running.has(job.id)) degraded.push({ id: job.id, name: job.spec.name, reason: `overdue since ${iso(state.nextRunAt)}` });
        else healthy++;
      }
      return { total: jobs.size, healthy, degraded: degraded.length, disabled: disabled.length, problems: [...disabled, ...degraded] };
    },

    /** Per job over the window: failure rate, last success, how late runs started; and duplicate jobs. */
    async audit(windowMs = 7 * 86_400_000) {
      const stats = new Map((await store.cronRunStats(clock.now() - windowMs)).map((row) => [row.jobId, row]));
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
    },

    /** Settles when no run is in progress (tests and shutdown). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.all([...running.values()]);
    },
  };
}

export type CronScheduler = ReturnType<typeof createCronScheduler>;
