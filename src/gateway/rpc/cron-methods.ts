import { z } from 'zod';
import { describeSchedule, hostTimeZone, isTimeZone, isoInZone, parseDuration } from '../../automation/schedule.js';
import { chatSpecSchema } from '../../config/schema.js';
import type { CronDelivery, CronJob, CronJobSpec, CronSchedule, EscalationPolicy } from '../../contracts/automation.js';
import { HearthError } from '../../contracts/errors.js';
import type { GatewayContext } from '../gateway-context.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

/** The job fields `cron.add` and `cron.edit` take, shaped like the CLI's flags. */
const jobFields = {
  name: z.string().min(1).max(200),
  agentId: z.string().min(1).max(64),
  at: z.string().min(1).max(100),
  every: z.string().min(1).max(40),
  cron: z.string().min(1).max(200),
  tz: z.string().min(1).max(100),
  message: z.string().min(1).max(100_000),
  session: z.string().min(1).max(512),
  deliverChannel: z.string().min(1).max(200),
  deliverTo: z.string().min(1).max(200),
  deliverThread: z.string().min(1).max(200),
  deliverWebhook: z.url(),
  deliverNone: z.literal(true),
  misfire: z.enum(['skip', 'run-once', 'catch-up']),
  catchUpWindow: z.string().min(1).max(40),
  alertAfter: z.number().int().min(1).max(10_000),
  disableAfter: z.number().int().min(1).max(10_000),
  // The same form as cron.escalation.alertChannel in the config, so a malformed chat is refused here, not when an alert fires.
  alertChannel: chatSpecSchema().max(300),
  alertWebhook: z.url(),
  backoffMax: z.string().min(1).max(40),
  dailyTokens: z.number().int().positive(),
  dailyCostUsd: z.number().positive(),
  model: z.string().min(1).max(200),
  loop: z.enum(['conversational', 'structured']),
};

const addParams = z.strictObject({ ...jobFields, agentId: jobFields.agentId.optional() }).partial().extend({
  name: jobFields.name,
  message: jobFields.message,
  allowDuplicate: z.boolean().optional(),
});
const editParams = z.strictObject({ id: z.string().min(1).max(100), enabled: z.boolean().optional() }).extend(z.strictObject(jobFields).partial().shape);

type JobParams = Partial<z.infer<z.ZodObject<typeof jobFields>>>;

function scheduleFrom(params: JobParams, previous?: CronSchedule): CronSchedule | undefined {
  const given = [params.at, params.every, params.cron].filter((value) => value !== undefined).length;
  if (given > 1) throw new HearthError('BAD_REQUEST', 'Give one schedule: --at <ISO time>, --every <duration> or --cron "<expression>".');
  if (params.at !== undefined) return { kind: 'at', at: params.at };
  if (params.every !== undefined) return { kind: 'every', everyMs: parseDuration(params.every, '--every') };
  if (params.cron !== undefined) return { kind: 'cron', expr: params.cron, tz: params.tz ?? hostTimeZone() };
  if (params.tz !== undefined) {
    if (previous?.kind !== 'cron') throw new HearthError('BAD_REQUEST', '--tz goes with a --cron schedule.');
    return { ...previous, tz: params.tz };
  }
  return undefined;
}

function deliveryFrom(params: JobParams): CronDelivery | undefined {
  if (params.deliverNone) return { kind: 'none' };
  if (params.deliverWebhook) return { kind: 'webhook', url: params.deliverWebhook };
  if (params.deliverChannel === undefined && params.deliverTo === undefined) return undefined;
  if (!params.deliverChannel || !params.deliverTo) {
    throw new HearthError('BAD_REQUEST', 'A reply to a chat needs both --deliver-channel <platform>[:<account>] and --to <chat id>.');
  }
  const [channel, accountId = 'default'] = params.deliverChannel.split(':') as [string, string?];
  return { kind: 'channel', channel, accountId, to: params.deliverTo, ...(params.deliverThread ? { threadId: params.deliverThread } : {}) };
}

function escalationFrom(params: JobParams, previous?: Partial<EscalationPolicy>): Partial<EscalationPolicy> | undefined {
  const patch: Partial<EscalationPolicy> = {
    ...(params.alertAfter !== undefined ? { alertAfterConsecutiveErrors: params.alertAfter } : {}),
    ...(params.disableAfter !== undefined ? { disableAfterConsecutiveErrors: params.disableAfter } : {}),
    ...(params.alertChannel !== undefined ? { alertChannel: params.alertChannel } : {}),
    ...(params.alertWebhook !== undefined ? { alertWebhook: params.alertWebhook } : {}),
    ...(params.backoffMax !== undefined ? { backoffMaxMs: parseDuration(params.backoffMax, '--backoff-max') } : {}),
  };
  return Object.keys(patch).length === 0 ? previous : { ...previous, ...patch };
}

function checkAgent(context: GatewayContext, agentId: string) {
  if (!context.agents().get(agentId)) {
    const known = context.agents().list().map((agent) => agent.id);
    throw new HearthError('NOT_FOUND', `No agent "${agentId}". Configured agents: ${known.join(', ')}.`);
  }
}

/** A job as the CLI and the UI show it. */
export function jobView(job: CronJob, running: boolean) {
  return {
    id: job.id,
    name: job.spec.name,
    agentId: job.spec.agentId,
    schedule: describeSchedule(job.spec.schedule),
    spec: job.spec,
    ...job.state,
    running,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

const previewParams = z.strictObject({ at: jobFields.at, every: jobFields.every, cron: jobFields.cron, tz: jobFields.tz, count: z.number().int().min(1).max(50) }).partial();

/**
 * The next runs of a schedule as the scheduler would plan them for a job added now, written in
 * the job's zone (a cron job's `tz`, else the given `tz` or the host's).
 */
function previewSchedule(params: z.infer<typeof previewParams>, context: GatewayContext) {
  const { count, ...fields } = params;
  const schedule = scheduleFrom(fields);
  if (!schedule) throw new HearthError('BAD_REQUEST', 'Give a schedule to preview: --at <ISO time>, --every <duration> or --cron "<expression>" [--tz <zone>].');
  const timeZone = schedule.kind === 'cron' ? schedule.tz : (params.tz ?? hostTimeZone());
  if (!isTimeZone(timeZone)) throw new HearthError('BAD_REQUEST', `"${timeZone}" is not an IANA time zone: write one like Europe/Berlin, America/New_York or UTC.`);
  const next = context.cron.preview(schedule, count ?? 5);
  return { schedule: describeSchedule(schedule), timeZone, next: next.map((at) => isoInZone(at, timeZone)) };
}

/** `cron.list|add|edit|rm|run|runs|audit|health|preview`. */
export const cronMethods: Record<string, RpcMethod> = {
  'cron.list': defineMethod({ description: 'The jobs with their schedule, next run, last result and errors in a row.', returns: '{jobs:[{id, name, agentId, schedule, spec, enabled, disabledReason, nextRunAt, lastRunAt, lastStatus, lastSuccessAt, lastError, consecutiveErrors, finished, running}]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    jobs: context.cron.list().map((job) => jobView(job, context.cron.isRunning(job.id))),
  })),

  'cron.add': defineMethod({ description: 'Adds a job with one schedule (`at`, `every` or `cron` + `tz`); refused when a job with the same name, agent and schedule exists, unless `allowDuplicate`.', returns: '{job}' }, addParams, async (params, _connection, context) => {
    const agentId = params.agentId ?? context.agents().defaultAgentId;
    checkAgent(context, agentId);
    const schedule = scheduleFrom(params);
    if (!schedule) throw new HearthError('BAD_REQUEST', 'A cron job needs a schedule: --at <ISO time>, --every <duration> or --cron "<expression>" [--tz <zone>].');
    const escalation = escalationFrom(params);
    const spec: CronJobSpec = {
      name: params.name,
      agentId,
      schedule,
      message: params.message,
      session: params.session ?? 'isolated',
      delivery: deliveryFrom(params) ?? { kind: 'none' },
      misfire: params.misfire ?? 'run-once',
      catchUpWindowMs: params.catchUpWindow ? parseDuration(params.catchUpWindow, '--catch-up-window') : 6 * 3_600_000,
      ...(escalation ? { escalation } : {}),
      ...(params.dailyTokens || params.dailyCostUsd
        ? { budget: { ...(params.dailyTokens ? { dailyTokens: params.dailyTokens } : {}), ...(params.dailyCostUsd ? { dailyCostUsd: params.dailyCostUsd } : {}) } }
        : {}),
      ...(params.model ? { model: params.model } : {}),
      ...(params.loop ? { loop: params.loop } : {}),
    };
    const job = await context.cron.add(spec, { allowDuplicate: params.allowDuplicate ?? false });
    return { job: jobView(job, false) };
  }),

  'cron.edit': defineMethod({ description: 'Changes a job; `enabled: true` turns it back on and forgets its errors.', returns: '{job}' }, editParams, async (params, _connection, context) => {
    const job = context.cron.get(params.id);
    if (!job) throw new HearthError('NOT_FOUND', `No cron job "${params.id}". \`hearth cron list\` shows the jobs.`);
    if (params.agentId) checkAgent(context, params.agentId);
    const schedule = scheduleFrom(params, job.spec.schedule);
    const delivery = deliveryFrom(params);
    const escalation = escalationFrom(params, job.spec.escalation);
    const budget =
      params.dailyTokens !== undefined || params.dailyCostUsd !== undefined
        ? { ...job.spec.budget, ...(params.dailyTokens ? { dailyTokens: params.dailyTokens } : {}), ...(params.dailyCostUsd ? { dailyCostUsd: params.dailyCostUsd } : {}) }
        : undefined;
    const updated = await context.cron.edit(params.id, {
      ...(params.name !== undefined ? { name: params.name } : {}),
      ...(params.agentId !== undefined ? { agentId: params.agentId } : {}),
      ...(params.message !== undefined ? { message: params.message } : {}),
      ...(params.session !== undefined ? { session: params.session } : {}),
      ...(params.misfire !== undefined ? { misfire: params.misfire } : {}),
      ...(params.catchUpWindow !== undefined ? { catchUpWindowMs: parseDuration(params.catchUpWindow, '--catch-up-window') } : {}),
      ...(params.model !== undefined ? { model: params.model } : {}),
      ...(params.loop !== undefined ? { loop: params.loop } : {}),
      ...(schedule ? { schedule } : {}),
      ...(delivery ? { delivery } : {}),
      ...(escalation ? { escalation } : {}),
      ...(budget ? { budget } : {}),
      ...(params.enabled !== undefined ? { enabled: params.enabled } : {}),
    });
    return { job: jobView(updated, context.cron.isRunning(updated.id)) };
  }),

  'cron.rm': defineMethod({ description: 'Removes a job; its run history stays.', returns: '{removed}' }, z.strictObject({ id: z.string().min(1).max(100) }), async (params, _connection, context) => {
    if (!(await context.cron.remove(params.id))) throw new HearthError('NOT_FOUND', `No cron job "${params.id}". \`hearth cron list\` shows the jobs.`);
    return { removed: params.id };
  }),

  'cron.run': defineMethod(
    { description: 'Runs a job now and, unless `wait: false`, waits up to `timeoutMs` (default 600 s) for the result.', returns: '{run, finished} (`run` is the ledger entry)' },
    z.strictObject({ id: z.string().min(1).max(100), wait: z.boolean().optional(), timeoutMs: z.number().int().min(1).max(3_600_000).optional() }),
    async (params, _connection, context) => {
      const { record, done } = await context.cron.runNow(params.id);
      if (params.wait === false) return { run: record, finished: false };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), params.timeoutMs ?? 600_000);
      });
      const finished = await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
      return { run: finished ?? record, finished: finished !== null };
    },
  ),

  'cron.runs': defineMethod(
    { description: 'The run ledger, newest first: scheduled, running, ok, error, missed and skipped runs with their reason.', returns: '{runs:[{id, jobId, status, scheduledAt, startedAt, finishedAt, trigger, turnRunId, reason, error, count}]}' },
    z
      .strictObject({
        id: z.string().min(1).max(100).optional(),
        status: z.enum(['scheduled', 'running', 'ok', 'error', 'missed', 'skipped']).optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      })
      .optional(),
    async (params, _connection, context) => ({
      runs: await context.cron.runs({ limit: params?.limit ?? 50, ...(params?.id ? { jobId: params.id } : {}), ...(params?.status ? { status: params.status } : {}) }),
    }),
  ),

  'cron.audit': defineMethod({ description: 'Jobs by failure rate over the last `days` (default 7), with last success, schedule drift and duplicate jobs.', returns: '{windowMs, jobs:[{…, failureRate, lastSuccessAt, driftAvgMs, driftMaxMs}], duplicates}' }, z.strictObject({ days: z.number().int().min(1).max(365).optional() }).optional(), async (params, _connection, context) =>
    context.cron.audit((params?.days ?? 7) * 86_400_000),
  ),

  'cron.preview': defineMethod(
    {
      description: 'The next `count` (default 5) run times of a schedule, planned by the scheduler as for a job added now and written in its zone; a wrong schedule or zone is refused with what to write instead.',
      returns: '{schedule, timeZone, next:[ISO 8601 time with the zone\'s offset]}',
    },
    previewParams,
    async (params, _connection, context) => previewSchedule(params, context),
  ),

  'cron.health': defineMethod({ description: 'How many jobs are healthy, degraded or disabled, and why.', returns: '{total, healthy, degraded, disabled, problems}' }, z.strictObject({}).optional(), async (_params, _connection, context) => context.cron.health()),
};
