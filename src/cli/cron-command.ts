import { CliFailure, type CliRuntime, withGateway } from './cli-context.js';

/** The flags `cron add` and `cron edit` share, as commander hands them over. */
export interface CronJobFlags {
  name?: string;
  agent?: string;
  at?: string;
  every?: string;
  cron?: string;
  tz?: string;
  message?: string;
  session?: string;
  deliverChannel?: string;
  to?: string;
  thread?: string;
  deliverWebhook?: string;
  deliverNone?: boolean;
  misfire?: string;
  catchUpWindow?: string;
  alertAfter?: string;
  disableAfter?: string;
  alertChannel?: string;
  alertWebhook?: string;
  backoffMax?: string;
  dailyTokens?: string;
  dailyCostUsd?: string;
  model?: string;
  loop?: string;
  allowDuplicate?: boolean;
  enable?: boolean;
  disable?: boolean;
  json?: boolean;
}

interface JobView {
  id: string;
  name: string;
  agentId: string;
  schedule: string;
  enabled: boolean;
  disabledReason: string | null;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastStatus: string | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  consecutiveErrors: number;
  finished: boolean;
  running: boolean;
  spec: { misfire: string; session: string; delivery: { kind: string; channel?: string; accountId?: string; to?: string; url?: string } };
}

interface LedgerEntry {
  id: string;
  jobId: string;
  status: string;
  scheduledAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  trigger: string;
  turnRunId: string | null;
  reason: string | null;
  error: string | null;
  count: number;
}

const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));
const int = (value: string | undefined, flag: string) => {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new CliFailure(`${flag} must be a whole number of at least 1, not "${value}".`);
  return number;
};
const positive = (value: string | undefined, flag: string) => {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new CliFailure(`${flag} must be a positive number, not "${value}".`);
  return number;
};

function jobParams(flags: CronJobFlags): Record<string, unknown> {
  const params: Record<string, unknown> = {
    name: flags.name,
    agentId: flags.agent,
    at: flags.at,
    every: flags.every,
    cron: flags.cron,
    tz: flags.tz,
    message: flags.message,
    session: flags.session,
    deliverChannel: flags.deliverChannel,
    deliverTo: flags.to,
    deliverThread: flags.thread,
    deliverWebhook: flags.deliverWebhook,
    deliverNone: flags.deliverNone ? true : undefined,
    misfire: flags.misfire,
    catchUpWindow: flags.catchUpWindow,
    alertAfter: int(flags.alertAfter, '--alert-after'),
    disableAfter: int(flags.disableAfter, '--disable-after'),
    alertChannel: flags.alertChannel,
    alertWebhook: flags.alertWebhook,
    backoffMax: flags.backoffMax,
    dailyTokens: int(flags.dailyTokens, '--daily-tokens'),
    dailyCostUsd: positive(flags.dailyCostUsd, '--daily-cost-usd'),
    model: flags.model,
    loop: flags.loop,
  };
  for (const key of Object.keys(params)) if (params[key] === undefined) delete params[key];
  return params;
}

function describeJob(job: JobView): string {
  const state = !job.enabled ? `disabled: ${job.disabledReason ?? ''}` : job.running ? 'running' : job.finished && job.nextRunAt === null ? 'finished' : `next ${when(job.nextRunAt)}`;
  const last = job.lastStatus ? `last ${job.lastStatus} ${when(job.lastRunAt)}` : 'never ran';
  const errors = job.consecutiveErrors > 0 ? `  ${job.consecutiveErrors} errors in a row (${job.lastError})` : '';
  return `${job.id}  ${job.name}  agent ${job.agentId}  ${job.schedule}  ${state}  ${last}${errors}`;
}

const print = (runtime: CliRuntime, json: boolean | undefined, value: unknown, text: () => string) => {
  runtime.io.out(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
};

export async function cronList(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const { jobs } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ jobs: JobView[] }>('cron.list', {}));
  print(runtime, options.json, jobs, () => (jobs.length === 0 ? 'No cron jobs. Add one with `hearth cron add`.' : jobs.map(describeJob).join('\n')));
}

export async function cronAdd(runtime: CliRuntime, flags: CronJobFlags): Promise<void> {
  const params = { ...jobParams(flags), ...(flags.allowDuplicate ? { allowDuplicate: true } : {}) };
  const { job } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ job: JobView }>('cron.add', params));
  print(runtime, flags.json, job, () => `Added ${describeJob(job)}`);
}

export async function cronEdit(runtime: CliRuntime, id: string, flags: CronJobFlags): Promise<void> {
  if (flags.enable && flags.disable) throw new CliFailure('Give --enable or --disable, not both.');
  const params = { id, ...jobParams(flags), ...(flags.enable ? { enabled: true } : {}), ...(flags.disable ? { enabled: false } : {}) };
  if (Object.keys(params).length === 1) throw new CliFailure('Nothing to change: give the flags to edit (see `hearth cron edit --help`).');
  const { job } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ job: JobView }>('cron.edit', params));
  print(runtime, flags.json, job, () => `Updated ${describeJob(job)}`);
}

export async function cronRemove(runtime: CliRuntime, id: string, options: { json?: boolean }): Promise<void> {
  const result = await withGateway(runtime.env, runtime.io, (client) => client.call<{ removed: string }>('cron.rm', { id }));
  print(runtime, options.json, result, () => `Removed ${id}; its run history stays (\`hearth cron runs ${id}\`).`);
}

export async function cronRun(runtime: CliRuntime, id: string, options: { json?: boolean; wait: boolean; timeout: string }): Promise<void> {
  const timeoutMs = Math.max(1, Number(options.timeout) || 600) * 1000;
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ run: LedgerEntry; finished: boolean }>('cron.run', { id, wait: options.wait, timeoutMs }, timeoutMs + 5000),
  );
  print(runtime, options.json, result, () => {
    const { run } = result;
    if (!result.finished) return `Started ${run.id} (turn ${run.turnRunId}); \`hearth cron runs ${id}\` shows how it ends.`;
    return `${run.status}: ${run.id} (turn ${run.turnRunId})${run.error ? ` — ${run.error}` : ''}${run.reason ? ` — ${run.reason}` : ''}`;
  });
  if (result.finished && result.run.status !== 'ok') throw new CliFailure(`The run ended ${result.run.status}.`);
}

export async function cronRuns(runtime: CliRuntime, id: string | undefined, options: { json?: boolean; limit: string; status?: string }): Promise<void> {
  const { runs } = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ runs: LedgerEntry[] }>('cron.runs', {
      limit: Math.min(1000, Math.max(1, Number(options.limit) || 20)),
      ...(id ? { id } : {}),
      ...(options.status ? { status: options.status } : {}),
    }),
  );
  print(runtime, options.json, runs, () =>
    runs.length === 0
      ? 'No runs recorded.'
      : runs
          .map((run) => {
            const late = run.startedAt !== null ? `  started +${Math.round(run.startedAt - run.scheduledAt)} ms` : '';
            const took = run.startedAt !== null && run.finishedAt !== null ? `  took ${Math.round(run.finishedAt - run.startedAt)} ms` : '';
            const detail = run.error ?? run.reason;
            return `${when(run.scheduledAt)}  ${run.status}${run.count > 1 ? ` ×${run.count}` : ''}  ${run.jobId}  ${run.trigger}${late}${took}${run.turnRunId ? `  turn ${run.turnRunId}` : ''}${detail ? `  ${detail}` : ''}`;
          })
          .join('\n'),
  );
}

interface AuditReport {
  windowMs: number;
  jobs: { id: string; name: string; agentId: string; schedule: string; enabled: boolean; runs: number; errors: number; missed: number; skipped: number; failureRate: number; lastSuccessAt: number | null; driftAvgMs: number | null; driftMaxMs: number | null }[];
  duplicates: { fingerprint: string; jobIds: string[] }[];
}

export async function cronAudit(runtime: CliRuntime, options: { json?: boolean; days: string }): Promise<void> {
  const days = Math.min(365, Math.max(1, Number(options.days) || 7));
  const report = await withGateway(runtime.env, runtime.io, (client) => client.call<AuditReport>('cron.audit', { days }));
  print(runtime, options.json, report, () => {
    const lines = [`Cron jobs over the last ${days} days, worst first:`];
    if (report.jobs.length === 0) lines.push('  (no jobs)');
    for (const job of report.jobs) {
      const drift = job.driftAvgMs === null ? 'no scheduled runs' : `started late by ${Math.round(job.driftAvgMs)} ms (average), ${job.driftMaxMs} ms (max)`;
      lines.push(
        `  ${job.id}  ${job.name}  ${Math.round(job.failureRate * 100)}% failed (${job.errors} of ${job.runs})  missed ${job.missed}  skipped ${job.skipped}  last success ${when(job.lastSuccessAt)}  ${drift}${job.enabled ? '' : '  DISABLED'}`,
      );
    }
    for (const group of report.duplicates) lines.push(`Duplicates (same name, agent and schedule): ${group.jobIds.join(', ')} — remove the extra ones with \`hearth cron rm <id>\``);
    return lines.join('\n');
  });
}

export async function cronHealth(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const health = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ total: number; healthy: number; degraded: number; disabled: number; problems: { id: string; name: string; reason: string }[] }>('cron.health', {}),
  );
  print(runtime, options.json, health, () =>
    [`${health.total} jobs: ${health.healthy} healthy, ${health.degraded} degraded, ${health.disabled} disabled`, ...health.problems.map((problem) => `  ${problem.id}  ${problem.name}: ${problem.reason}`)].join('\n'),
  );
}

/** The flags of `cron preview`. */
export interface CronPreviewFlags {
  at?: string;
  every?: string;
  cron?: string;
  tz?: string;
  count: string;
  json?: boolean;
}

export async function cronPreview(runtime: CliRuntime, flags: CronPreviewFlags): Promise<void> {
  const count = Number(flags.count);
  if (!Number.isInteger(count) || count < 1 || count > 50) throw new CliFailure(`--count must be a whole number from 1 to 50, not "${flags.count}".`);
  const params = { at: flags.at, every: flags.every, cron: flags.cron, tz: flags.tz, count };
  const preview = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ schedule: string; timeZone: string; next: string[] }>('cron.preview', Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined))),
  );
  print(runtime, flags.json, preview, () =>
    preview.next.length === 0 ? `${preview.schedule} has no more runs.` : [`The next runs of ${preview.schedule} (${preview.timeZone}):`, ...preview.next.map((at) => `  ${at}`)].join('\n'),
  );
}
