import { useEffect, useRef, useState } from 'preact/hooks';
import type { RpcClient } from '../rpc';
import { ago, Notice, Panel, Status, Table, when } from '../parts';
import { useAction } from '../use-action';
import { useEvery } from '../use-every';
import { useRpc } from '../use-rpc';
import { CronForm } from './cron-form';

interface CronJob {
  id: string;
  name: string;
  agentId: string;
  schedule: string;
  enabled: boolean;
  disabledReason: string | null;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastStatus: string | null;
  lastError: string | null;
  consecutiveErrors: number;
  finished: boolean;
  running: boolean;
}

interface LedgerEntry {
  id: string;
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

interface AuditReport {
  windowMs: number;
  jobs: { id: string; name: string; enabled: boolean; runs: number; errors: number; missed: number; skipped: number; failureRate: number; lastSuccessAt: number | null; driftAvgMs: number | null; driftMaxMs: number | null }[];
  duplicates: { fingerprint: string; jobIds: string[] }[];
}

interface CronHealth {
  total: number;
  healthy: number;
  degraded: number;
  disabled: number;
}

/** Changes whenever a run of the job starts or ends, so what shows its runs can fetch them again. */
const versionOf = (job: CronJob) => `${job.running}|${job.lastRunAt}|${job.lastStatus}|${job.enabled}`;

/** The jobs with their next runs, a form to add one, each job's ledger, and the audit. */
export function Cron({ client }: { client: RpcClient }) {
  const jobs = useRpc<{ jobs: CronJob[] }>(client, 'cron.list');
  const running = jobs.data?.jobs.some((job) => job.running) ?? false;
  useEvery(1000, running, () => {
    jobs.reload();
    return undefined;
  });
  const versions = jobs.data?.jobs.map(versionOf).join(',') ?? '';
  return (
    <div class="stack">
      <JobsPanel client={client} jobs={jobs.data?.jobs ?? null} error={jobs.error} loading={jobs.loading} reload={jobs.reload} />
      <CronForm client={client} onAdded={jobs.reload} />
      <AuditPanel client={client} versions={versions} />
    </div>
  );
}

function JobsPanel({ client, jobs, error, loading, reload }: { client: RpcClient; jobs: CronJob[] | null; error: string | null; loading: boolean; reload(): void }) {
  const action = useAction(reload);
  return (
    <Panel title="Jobs" id="cron-jobs">
      <p class="notice" role="status">
        {action.message}
      </p>
      <Notice error={error} loading={loading && !jobs} empty={jobs?.length === 0 && 'No cron jobs yet: add one below, or with hearth cron add.'} />
      <ul class="jobs">
        {jobs?.map((job) => (
          <JobCard key={job.id} client={client} job={job} run={action.run} />
        ))}
      </ul>
    </Panel>
  );
}

function jobLight(job: CronJob) {
  if (!job.enabled) return <Status status="down" label={`disabled${job.disabledReason ? `: ${job.disabledReason}` : ''}`} />;
  if (job.running) return <Status status="starting" label="running" />;
  if (job.consecutiveErrors > 0) return <Status status="degraded" label={`${job.consecutiveErrors} errors in a row`} />;
  return <Status status="ok" label={job.finished && job.nextRunAt === null ? 'finished' : 'enabled'} />;
}

function JobCard({ client, job, run }: { client: RpcClient; job: CronJob; run(what: Promise<unknown>, done: string): void }) {
  const [open, setOpen] = useState(false);
  const heading = `job-${job.id}`;
  return (
    <li class="job" data-job={job.id} aria-labelledby={heading}>
      <h3 id={heading}>
        {job.name} {jobLight(job)}
      </h3>
      <dl class="figures">
        <div>
          <dt>Schedule</dt>
          <dd>
            <code>{job.schedule}</code>
          </dd>
        </div>
        <div>
          <dt>Agent</dt>
          <dd>{job.agentId}</dd>
        </div>
        <div>
          <dt>Next run</dt>
          <dd data-testid="next-run">{job.nextRunAt === null ? '—' : `${when(job.nextRunAt)} (${ago(job.nextRunAt)})`}</dd>
        </div>
        <div>
          <dt>Last run</dt>
          <dd>{job.lastStatus ? `${job.lastStatus}, ${ago(job.lastRunAt)}${job.lastError ? ` — ${job.lastError}` : ''}` : 'never'}</dd>
        </div>
      </dl>
      <div class="buttons">
        <button type="button" disabled={job.running} onClick={() => run(client.call('cron.run', { id: job.id, wait: false }), `Started ${job.name}.`)}>
          Run now
        </button>
        <button type="button" onClick={() => run(client.call('cron.edit', { id: job.id, enabled: !job.enabled }), `${job.enabled ? 'Disabled' : 'Enabled'} ${job.name}.`)}>
          {job.enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" aria-expanded={open} aria-controls={`${heading}-ledger`} onClick={() => setOpen(!open)}>
          Ledger
        </button>
      </div>
      {open && (
        <div id={`${heading}-ledger`} class="ledger">
          <Ledger client={client} job={job} />
        </div>
      )}
    </li>
  );
}

function ledgerLight(status: string) {
  const light = status === 'ok' ? 'ok' : status === 'error' ? 'down' : status === 'running' || status === 'scheduled' ? 'starting' : 'degraded';
  return <Status status={light} label={status} />;
}

/** The newest runs of one job; fetched again whenever one of its runs starts or ends. */
function Ledger({ client, job }: { client: RpcClient; job: CronJob }) {
  const runs = useRpc<{ runs: LedgerEntry[] }>(client, 'cron.runs', { id: job.id, limit: 20 });
  const version = versionOf(job);
  const first = useRef(version);
  const { reload } = runs;
  useEffect(() => {
    if (version !== first.current) reload();
  }, [version, reload]);
  return (
    <>
      <Notice error={runs.error} loading={runs.loading && !runs.data} empty={runs.data?.runs.length === 0 && 'No runs recorded yet.'} />
      {runs.data && runs.data.runs.length > 0 && (
        <Table
          label={`Runs of ${job.name}`}
          rows={runs.data.runs}
          rowKey={(row) => row.id}
          columns={[
            { title: 'Scheduled', cell: (row) => when(row.scheduledAt) },
            { title: 'Status', cell: (row) => <span data-ledger-status={row.status}>{ledgerLight(row.status)}{row.count > 1 ? ` ×${row.count}` : ''}</span> },
            { title: 'Trigger', cell: (row) => row.trigger },
            { title: 'Late', cell: (row) => (row.startedAt === null ? '—' : `${Math.round(row.startedAt - row.scheduledAt)} ms`) },
            { title: 'Took', cell: (row) => (row.startedAt === null || row.finishedAt === null ? '—' : `${Math.round(row.finishedAt - row.startedAt)} ms`) },
            { title: 'Run', cell: (row) => (row.turnRunId ? <a href={`#/runs?run=${encodeURIComponent(row.turnRunId)}`}>{row.turnRunId}</a> : '—') },
            { title: 'Detail', cell: (row) => row.error ?? row.reason ?? '—' },
          ]}
        />
      )}
    </>
  );
}

const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const drift = (ms: number | null) => (ms === null ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** Failure rates, lateness and duplicates over the last week, worst job first. */
function AuditPanel({ client, versions }: { client: RpcClient; versions: string }) {
  const audit = useRpc<AuditReport>(client, 'cron.audit', { days: 7 });
  const health = useRpc<CronHealth>(client, 'cron.health');
  const first = useRef(versions);
  const { reload: reloadAudit } = audit;
  const { reload: reloadHealth } = health;
  useEffect(() => {
    if (versions === first.current) return;
    reloadAudit();
    reloadHealth();
  }, [versions, reloadAudit, reloadHealth]);
  const report = audit.data;
  return (
    <Panel title="Audit, last 7 days" id="cron-audit">
      {health.data && (
        <p>
          {health.data.total === 1 ? '1 job' : `${health.data.total} jobs`}: {health.data.healthy} healthy, {health.data.degraded} degraded, {health.data.disabled} disabled.
        </p>
      )}
      <Notice error={audit.error} loading={audit.loading && !report} empty={report?.jobs.length === 0 && 'No jobs to audit.'} />
      {report && report.jobs.length > 0 && (
        <Table
          label="Cron audit"
          rows={report.jobs}
          rowKey={(row) => row.id}
          columns={[
            { title: 'Job', cell: (row) => `${row.name}${row.enabled ? '' : ' (disabled)'}` },
            { title: 'Failure rate', cell: (row) => `${percent(row.failureRate)} (${row.errors} of ${row.runs})` },
            { title: 'Missed / skipped', cell: (row) => `${row.missed} / ${row.skipped}` },
            { title: 'Last success', cell: (row) => ago(row.lastSuccessAt) },
            { title: 'Late, average / max', cell: (row) => `${drift(row.driftAvgMs)} / ${drift(row.driftMaxMs)}` },
          ]}
        />
      )}
      {report?.duplicates.map((group) => (
        <p key={group.fingerprint} class="notice notice-error">
          Duplicates (same name, agent and schedule): {group.jobIds.join(', ')}. Remove the extra ones with <code>hearth cron rm &lt;id&gt;</code>.
        </p>
      ))}
    </Panel>
  );
}
