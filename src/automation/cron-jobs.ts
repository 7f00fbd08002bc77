import { randomBytes } from 'node:crypto';
import type { CronJob, CronJobSpec, CronJobState, CronSchedule } from '../contracts/automation.js';
import { HearthError } from '../contracts/errors.js';
import { arm, ledger, persist, type SchedulerCore } from './cron-engine.js';
import type { AddJobOptions, JobPatch } from './cron-scheduler.js';
import { describeSchedule, scheduleStepper, validateSchedule } from './schedule.js';

/** Jobs with the same name, agent and schedule are duplicates (usually a job added twice). */
export function jobFingerprint(spec: Pick<CronJobSpec, 'name' | 'agentId' | 'schedule'>): string {
  return `${spec.name.trim().toLowerCase()}|${spec.agentId}|${describeSchedule(spec.schedule)}`;
}

/** A job's state before it ever ran: enabled, nothing scheduled, no errors. */
export const freshJobState = (): CronJobState => ({
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

const firstRun = (spec: CronJobSpec, now: number) => scheduleStepper(spec.schedule)(now - 1);

/** An `every` schedule without an anchor counts from one period after now, as a new job does. */
const anchored = (schedule: CronSchedule, now: number): CronSchedule =>
  schedule.kind === 'every' && schedule.anchorAt === undefined ? { ...schedule, anchorAt: now + schedule.everyMs } : schedule;

/**
 * The first `count` runs a job with this schedule would have if it were added at `now`, by the
 * scheduler's own stepping (fewer when the schedule ends). Throws the same errors as adding it.
 */
export function previewRuns(schedule: CronSchedule, now: number, count: number): number[] {
  validateSchedule(schedule);
  const full = anchored(schedule, now);
  const step = scheduleStepper(full);
  const runs: number[] = [];
  for (let at = step(now - 1); at !== null && runs.length < count; at = step(at)) runs.push(at);
  return runs;
}

function validateSpec(core: SchedulerCore, spec: CronJobSpec): void {
  if (spec.name.trim() === '') throw new HearthError('BAD_REQUEST', 'A cron job needs a --name.');
  if (spec.message.trim() === '') throw new HearthError('BAD_REQUEST', 'A cron job needs a --message for its agent.');
  validateSchedule(spec.schedule);
  const policy = { ...core.deps.escalation(), ...spec.escalation };
  if (policy.disableAfterConsecutiveErrors < 1 || policy.alertAfterConsecutiveErrors < 1) {
    throw new HearthError('BAD_REQUEST', 'alertAfterConsecutiveErrors and disableAfterConsecutiveErrors must be at least 1.');
  }
}

export function requireJob(core: SchedulerCore, id: string): CronJob {
  const job = core.jobs.get(id);
  if (!job) throw new HearthError('NOT_FOUND', `No cron job "${id}". \`hearth cron list\` shows the jobs.`);
  return job;
}

/** Adds a job (refusing a duplicate unless asked), saves it with its first `scheduled` entry, re-arms. */
export async function addJob(core: SchedulerCore, maxJobs: number, spec: CronJobSpec, options: AddJobOptions = {}): Promise<CronJob> {
  const { jobs } = core;
  validateSpec(core, spec);
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
  const now = core.deps.clock.now();
  const full: CronJobSpec = { ...spec, schedule: anchored(spec.schedule, now) };
  const next = firstRun(full, now);
  const job: CronJob = { id, spec: full, state: { ...freshJobState(), nextRunAt: next, nextScheduledAt: next, finished: next === null }, createdAt: now, updatedAt: now };
  jobs.set(id, job);
  await persist(core, job);
  arm(core);
  return job;
}

/** Edits a job's spec or enables/disables it; a changed schedule replans the next run (the old one is `skipped`). */
export async function editJob(core: SchedulerCore, id: string, patch: JobPatch): Promise<CronJob> {
  const job = requireJob(core, id);
  const { enabled, ...specPatch } = patch;
  const spec: CronJobSpec = { ...job.spec, ...specPatch };
  validateSpec(core, spec);
  const now = core.deps.clock.now();
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
    await core.deps.store.putCronRun(ledger(core, job, 'skipped', previousNext, { reason: state.enabled ? 'the schedule was edited' : 'the job was disabled' }));
  }
  await persist(core, job);
  arm(core);
  return job;
}

/** Removes a job (its next run is `skipped`); a job the scheduler could not load (a damaged row) can still be removed. */
export async function removeJob(core: SchedulerCore, id: string): Promise<boolean> {
  const { store } = core.deps;
  const job = core.jobs.get(id);
  if (!job) return store.deleteCronJob(id);
  core.jobs.delete(id);
  core.catchUp.delete(id);
  if (job.state.enabled && job.state.nextRunAt !== null) {
    await store.putCronRun(ledger(core, job, 'skipped', job.state.nextRunAt, { reason: 'the job was removed' }));
  }
  await store.deleteCronJob(id);
  arm(core);
  return true;
}
