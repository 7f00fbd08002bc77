import { useState } from 'preact/hooks';
import type { RpcClient } from '../rpc';
import { ago, Notice, Panel, Status, Table, when } from '../parts';
import { useRpc } from '../use-rpc';

interface AccountStatus {
  channel: string;
  accountId: string;
  state: string;
  botName: string | null;
  lastInboundAt: number | null;
  lastError: string | null;
  suggestedAction: string | null;
  outbox: { pending: number; failed: number };
}

interface PairingRequest {
  code: string;
  channel: string;
  accountId: string;
  senderId: string;
  senderName: string | null;
  expiresAt: number;
}

/** The outcome of the last button pressed in a view, said where the owner looks. */
function useAction(after: () => void) {
  const [message, setMessage] = useState<string | null>(null);
  const run = (what: Promise<unknown>, done: string) =>
    what.then(
      () => {
        setMessage(done);
        after();
      },
      (error: Error) => setMessage(error.message),
    );
  return { message, run };
}

export function Channels({ client }: { client: RpcClient }) {
  const accounts = useRpc<{ accounts: AccountStatus[] }>(client, 'channels.status', {}, ['health']);
  const pairing = useRpc<{ requests: PairingRequest[] }>(client, 'pairing.list', {}, ['health']);
  const action = useAction(() => {
    pairing.reload();
    accounts.reload();
  });
  return (
    <div class="stack">
      <Panel title="Accounts" id="accounts">
        <Notice error={accounts.error} loading={accounts.loading && !accounts.data} empty={accounts.data?.accounts.length === 0 && 'No channel accounts are configured (docs/channels.md).'} />
        {accounts.data && accounts.data.accounts.length > 0 && (
          <Table
            label="Channel accounts"
            rows={accounts.data.accounts}
            rowKey={(row) => `${row.channel}:${row.accountId}`}
            columns={[
              { title: 'Account', cell: (row) => `${row.channel}:${row.accountId}` },
              { title: 'State', cell: (row) => <Status status={row.state === 'connected' ? 'ok' : row.state === 'unhealthy' ? 'down' : 'degraded'} label={row.state} /> },
              { title: 'Bot', cell: (row) => row.botName ?? '—' },
              { title: 'Last message', cell: (row) => ago(row.lastInboundAt) },
              { title: 'Outbox', cell: (row) => `${row.outbox.pending} pending, ${row.outbox.failed} failed` },
              { title: 'Problem', cell: (row) => (row.lastError ? `${row.lastError}${row.suggestedAction ? ` — ${row.suggestedAction}` : ''}` : '—') },
            ]}
          />
        )}
      </Panel>
      <Panel title="Pairing requests" id="pairing">
        {action.message && <p class="notice" role="status">{action.message}</p>}
        <Notice error={pairing.error} loading={pairing.loading && !pairing.data} empty={pairing.data?.requests.length === 0 && 'No one is waiting to be let in.'} />
        {pairing.data && pairing.data.requests.length > 0 && (
          <Table
            label="Pairing requests"
            rows={pairing.data.requests}
            rowKey={(row) => row.code}
            columns={[
              { title: 'Who', cell: (row) => `${row.senderName ?? row.senderId} (${row.channel}:${row.accountId})` },
              { title: 'Code', cell: (row) => <code>{row.code}</code> },
              { title: 'Expires', cell: (row) => ago(row.expiresAt) },
              {
                title: 'Action',
                cell: (row) => (
                  <button type="button" onClick={() => action.run(client.call('pairing.approve', { code: row.code }), `Approved ${row.senderName ?? row.senderId}.`)}>
                    Approve {row.code}
                  </button>
                ),
              },
            ]}
          />
        )}
      </Panel>
    </div>
  );
}

interface CronJob {
  id: string;
  name: string;
  agentId: string;
  spec: string;
  enabled: boolean;
  disabledReason: string | null;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastStatus: string | null;
  lastError: string | null;
  consecutiveErrors: number;
}

export function Cron({ client }: { client: RpcClient }) {
  const jobs = useRpc<{ jobs: CronJob[] }>(client, 'cron.list');
  const action = useAction(() => jobs.reload());
  return (
    <Panel title="Jobs" id="cron-jobs">
      {action.message && <p class="notice" role="status">{action.message}</p>}
      <Notice error={jobs.error} loading={jobs.loading && !jobs.data} empty={jobs.data?.jobs.length === 0 && 'No cron jobs yet: add one with hearth cron add (docs/cron.md).'} />
      {jobs.data && jobs.data.jobs.length > 0 && (
        <Table
          label="Cron jobs"
          rows={jobs.data.jobs}
          rowKey={(row) => row.id}
          columns={[
            { title: 'Job', cell: (row) => `${row.name} (${row.agentId})` },
            { title: 'Schedule', cell: (row) => <code>{row.spec}</code> },
            { title: 'State', cell: (row) => <Status status={!row.enabled ? 'down' : row.consecutiveErrors > 0 ? 'degraded' : 'ok'} label={row.enabled ? (row.consecutiveErrors > 0 ? `${row.consecutiveErrors} errors in a row` : 'enabled') : `disabled${row.disabledReason ? `: ${row.disabledReason}` : ''}`} /> },
            { title: 'Next run', cell: (row) => when(row.nextRunAt) },
            { title: 'Last run', cell: (row) => `${row.lastStatus ?? '—'} ${ago(row.lastRunAt)}${row.lastError ? ` — ${row.lastError}` : ''}` },
            {
              title: 'Action',
              cell: (row) => (
                <button type="button" onClick={() => action.run(client.call('cron.run', { id: row.id, wait: false }), `Started ${row.name}.`)}>
                  Run {row.name} now
                </button>
              ),
            },
          ]}
        />
      )}
    </Panel>
  );
}

interface RunRow {
  runId: string;
  sessionKey: string;
  trigger: string;
  status: string;
  model: string | null;
  costUsd: number | null;
  durationMs: number | null;
  toolCalls: number | unknown[];
  createdAt: number;
  error: string | null;
}

export function Runs({ client }: { client: RpcClient }) {
  const runs = useRpc<{ runs: RunRow[] }>(client, 'runs.list', { limit: 100 }, ['chat']);
  return (
    <Panel title="Recent runs" id="runs">
      <Notice error={runs.error} loading={runs.loading && !runs.data} empty={runs.data?.runs.length === 0 && 'No runs yet.'} />
      {runs.data && runs.data.runs.length > 0 && (
        <Table
          label="Runs"
          rows={runs.data.runs}
          rowKey={(row) => row.runId}
          columns={[
            { title: 'When', cell: (row) => ago(row.createdAt) },
            { title: 'Session', cell: (row) => row.sessionKey },
            { title: 'Trigger', cell: (row) => row.trigger },
            { title: 'Status', cell: (row) => <Status status={row.status === 'ok' ? 'ok' : row.status === 'error' ? 'down' : 'degraded'} label={row.status} /> },
            { title: 'Model', cell: (row) => row.model ?? '—' },
            { title: 'Tools', cell: (row) => String(Array.isArray(row.toolCalls) ? row.toolCalls.length : row.toolCalls) },
            { title: 'Time', cell: (row) => (row.durationMs === null ? '—' : `${row.durationMs} ms`) },
            { title: 'Cost', cell: (row) => (row.costUsd === null ? '—' : `$${row.costUsd.toFixed(4)}`) },
          ]}
        />
      )}
    </Panel>
  );
}

interface PluginRow {
  id: string;
  version: string;
  state: string;
  lastError: string | null;
  restarts: number;
  registered: { tools: string[]; hooks: string[]; routes?: string[]; channels?: string[] };
}

export function Plugins({ client }: { client: RpcClient }) {
  const plugins = useRpc<{ plugins: PluginRow[] }>(client, 'plugins.list', {}, ['health']);
  return (
    <Panel title="Plugins" id="plugins">
      <Notice error={plugins.error} loading={plugins.loading && !plugins.data} empty={plugins.data?.plugins.length === 0 && 'No plugins are installed. Put one in $HEARTH_HOME/plugins/<id>/ (docs/plugins.md).'} />
      {plugins.data && plugins.data.plugins.length > 0 && (
        <Table
          label="Plugins"
          rows={plugins.data.plugins}
          rowKey={(row) => row.id}
          columns={[
            { title: 'Plugin', cell: (row) => `${row.id} ${row.version}` },
            { title: 'State', cell: (row) => <Status status={row.state === 'running' ? 'ok' : row.state === 'quarantined' ? 'down' : 'degraded'} label={row.state} /> },
            { title: 'Registers', cell: (row) => [...row.registered.tools, ...row.registered.hooks, ...(row.registered.routes ?? []), ...(row.registered.channels ?? [])].join(', ') || '—' },
            { title: 'Restarts', cell: (row) => String(row.restarts) },
            { title: 'Last error', cell: (row) => row.lastError ?? '—' },
          ]}
        />
      )}
    </Panel>
  );
}

interface Approval {
  id: string;
  tool: string;
  command: string;
  sessionKey: string;
  status: string;
  canAlways: boolean;
  createdAt: number;
}

export function Tools({ client }: { client: RpcClient }) {
  const approvals = useRpc<{ approvals: Approval[] }>(client, 'approvals.list', { all: true, limit: 100 }, ['approval']);
  const action = useAction(() => approvals.reload());
  return (
    <Panel title="Exec approvals" id="approvals">
      {action.message && <p class="notice" role="status">{action.message}</p>}
      <Notice error={approvals.error} loading={approvals.loading && !approvals.data} empty={approvals.data?.approvals.length === 0 && 'No command has asked for approval (tools.exec.ask, docs/tools.md).'} />
      {approvals.data && approvals.data.approvals.length > 0 && (
        <Table
          label="Exec approvals"
          rows={approvals.data.approvals}
          rowKey={(row) => row.id}
          columns={[
            { title: 'When', cell: (row) => ago(row.createdAt) },
            { title: 'Command', cell: (row) => <code>{row.command}</code> },
            { title: 'Session', cell: (row) => row.sessionKey },
            { title: 'Status', cell: (row) => row.status },
            {
              title: 'Action',
              cell: (row) =>
                row.status === 'pending' ? (
                  <span class="buttons">
                    <button type="button" onClick={() => action.run(client.call('approvals.approve', { id: row.id, by: 'control-ui' }), `Approved ${row.id}.`)}>Approve once</button>
                    {row.canAlways && <button type="button" onClick={() => action.run(client.call('approvals.approve', { id: row.id, always: true, by: 'control-ui' }), `Approved ${row.id} always.`)}>Always</button>}
                    <button type="button" onClick={() => action.run(client.call('approvals.deny', { id: row.id, by: 'control-ui' }), `Denied ${row.id}.`)}>Deny</button>
                  </span>
                ) : (
                  '—'
                ),
            },
          ]}
        />
      )}
    </Panel>
  );
}

interface LogEntry {
  level: string;
  time: number | string;
  msg: string;
  component?: string;
}

export function Logs({ client }: { client: RpcClient }) {
  const logs = useRpc<{ entries: LogEntry[] }>(client, 'logs.tail', { limit: 200 });
  return (
    <Panel title="Recent log lines" id="logs">
      <p>
        <button type="button" onClick={logs.reload}>
          Refresh
        </button>
      </p>
      <Notice error={logs.error} loading={logs.loading && !logs.data} empty={logs.data?.entries.length === 0 && 'The log is empty.'} />
      <ol class="log">
        {logs.data?.entries.map((entry, index) => (
          <li key={`${index}-${String(entry.time)}`} data-level={entry.level}>
            <span class="log-level">{entry.level}</span> <span class="log-time">{new Date(entry.time).toLocaleTimeString()}</span> {entry.component && <span class="log-component">{entry.component}</span>} {entry.msg}
          </li>
        ))}
      </ol>
    </Panel>
  );
}

/** A view whose page is not built yet: what it will show, and the command that shows it today. */
export function Later({ title, command }: { title: string; command: string }) {
  return (
    <Panel title={title} id="later">
      <p>
        This page is not in the Control UI yet. Meanwhile <code>{command}</code> shows the same from a terminal.
      </p>
    </Panel>
  );
}
