import type { CronJob, CronRunRecord } from '../contracts/automation.js';
import { isHearthError } from '../contracts/errors.js';
import { finish, iso, ledger, persist, type SchedulerCore, trigger } from './cron-engine.js';
import type { CronRunOutcome } from './cron-scheduler.js';
import { formatDuration, occurrencesBetween, scheduleStepper } from './schedule.js';

/**
 * At start: occurrences that fell while the gateway was down are handled by the job's misfire
 * policy (`skip`, `run-once`, `catch-up` within its window, at most `maxCatchUpRuns`), and each
 * one not run is in the ledger as `missed` with its reason.
 */
export async function recoverMissed(core: SchedulerCore, job: CronJob, now: number): Promise<void> {
  const { store, logger } = core.deps;
  const state = job.state;
  if (!state.enabled || state.nextRunAt === null || state.nextRunAt > now) return;
  if (state.retrying) {
    trigger(core, job, 'retry', state.nextRunAt);
    return;
  }
  const schedule = job.spec.schedule;
  const policy = job.spec.misfire;
  const { kept, count } = occurrencesBetween(schedule, state.nextRunAt, now + 1, policy === 'catch-up' ? core.maxCatchUpRuns : 1);
  const first = state.nextRunAt;
  const last = kept[kept.length - 1] ?? first;
  const down = `the gateway was not running at ${iso(first)}${count > 1 ? ` (${count} occurrences until ${iso(last)})` : ''}`;
  const next = scheduleStepper(schedule)(now);
  if (policy === 'skip') {
    job.state = { ...state, nextRunAt: next, nextScheduledAt: next, finished: next === null };
    await persist(core, job, ledger(core, job, 'missed', first, { count, reason: `${down}; misfire policy "skip"` }));
    logger.warn({ jobId: job.id, job: job.spec.name, missed: count }, `cron: ${down}; skipped (misfire policy "skip")`);
    return;
  }
  const toRun = policy === 'run-once' ? [last] : kept.filter((at) => at >= now - job.spec.catchUpWindowMs);
  const notRun = count - toRun.length;
  if (notRun > 0) {
    const reason =
      policy === 'run-once'
        ? `${down}; misfire policy "run-once" runs only the latest`
        : `${down}; older than the catch-up window (${formatDuration(job.spec.catchUpWindowMs)})${count > core.maxCatchUpRuns ? ` or beyond the last ${core.maxCatchUpRuns}` : ''}`;
    await store.putCronRun(ledger(core, job, 'missed', first, { count: notRun, reason }));
  }
  logger.warn({ jobId: job.id, job: job.spec.name, missed: count, running: toRun.length }, `cron: ${down}; running ${toRun.length} (misfire policy "${policy}")`);
  if (toRun.length === 0) {
    job.state = { ...state, nextRunAt: next, nextScheduledAt: next, finished: next === null };
    await persist(core, job);
    return;
  }
  if (toRun.length > 1) core.catchUp.set(job.id, toRun.slice(1));
  trigger(core, job, 'misfire', toRun[0]!, next);
}

/** How a run interrupted by a restart ended: its turn was re-run by the turn service. */
async function resumedOutcome(core: SchedulerCore, record: CronRunRecord): Promise<CronRunOutcome> {
  try {
    return record.turnRunId ? await core.deps.resume(record.turnRunId) : { status: 'error', error: 'interrupted before its turn started' };
  } catch (error) {
    return {
      status: 'error',
      error: isHearthError(error) && error.code === 'NOT_FOUND' ? 'the gateway stopped before the turn was accepted' : String(error),
    };
  }
}

/** At start: every run the last process left `running` is followed to its end and recorded. */
export async function resumeInterrupted(core: SchedulerCore): Promise<void> {
  const interrupted = await core.deps.store.listCronRuns({ status: 'running', limit: 10_000 });
  for (const record of interrupted) {
    const job = core.jobs.get(record.jobId);
    const work = resumedOutcome(core, record)
      .then((outcome) => (core.stopped ? null : finish(core, record.jobId, record, outcome)))
      .catch((error) => {
        core.deps.logger.error({ err: error, jobId: record.jobId }, 'could not finish an interrupted cron run');
        return null;
      });
    if (job) {
      const tracked: Promise<CronRunRecord | null> = work.finally(() => {
        if (core.running.get(job.id) === tracked) core.running.delete(job.id);
      });
      core.running.set(job.id, tracked);
    }
  }
}
