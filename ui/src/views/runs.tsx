import { useState } from 'preact/hooks';
import type { RpcClient } from '../rpc';
import { ago, Notice, Panel, Table } from '../parts';
import { useFragmentParam } from '../routes';
import { useRpc } from '../use-rpc';
import { RunDetail } from './run-detail';
import { duration, money, type RunSummary, runLight } from './run-format';

const STATUSES = ['ok', 'error', 'aborted', 'running', 'queued'];
const TRIGGERS = ['webchat', 'cli', 'openai', 'ws', 'channel', 'cron', 'heartbeat', 'replay'];

interface Filter {
  status: string;
  trigger: string;
  session: string;
}

function matches(run: RunSummary & { toolCalls: number }, filter: Filter): boolean {
  if (filter.status && run.status !== filter.status) return false;
  if (filter.trigger && run.trigger !== filter.trigger) return false;
  return !filter.session || run.sessionKey.toLowerCase().includes(filter.session.trim().toLowerCase());
}

/** Recent runs, filtered in the page; choosing one shows its timeline below (`#/runs?run=<id>`). */
export function Runs({ client }: { client: RpcClient }) {
  const runs = useRpc<{ runs: (RunSummary & { toolCalls: number })[] }>(client, 'runs.list', { limit: 200 }, ['chat']);
  const [selected, select] = useFragmentParam('run');
  const [filter, setFilter] = useState<Filter>({ status: '', trigger: '', session: '' });
  const shown = runs.data?.runs.filter((run) => matches(run, filter)) ?? [];
  const field = (key: keyof Filter) => (event: Event) => setFilter({ ...filter, [key]: (event.target as HTMLInputElement).value });
  return (
    <div class="stack">
      <Panel title="Recent runs" id="runs">
        <form class="filters" aria-label="Filter runs" onSubmit={(event) => event.preventDefault()}>
          <label>
            Status{' '}
            <select value={filter.status} onChange={field('status')}>
              <option value="">any</option>
              {STATUSES.map((status) => (
                <option key={status}>{status}</option>
              ))}
            </select>
          </label>
          <label>
            Trigger{' '}
            <select value={filter.trigger} onChange={field('trigger')}>
              <option value="">any</option>
              {TRIGGERS.map((trigger) => (
                <option key={trigger}>{trigger}</option>
              ))}
            </select>
          </label>
          <label>
            Session <input type="search" value={filter.session} onInput={field('session')} placeholder="part of a session key" />
          </label>
          <button type="button" onClick={runs.reload}>
            Refresh
          </button>
        </form>
        <Notice error={runs.error} loading={runs.loading && !runs.data} empty={!!runs.data && shown.length === 0 && (runs.data.runs.length === 0 ? 'No runs yet.' : 'No run matches the filter.')} />
        {shown.length > 0 && (
          <Table
            label="Runs"
            rows={shown}
            rowKey={(row) => row.runId}
            columns={[
              {
                title: 'Run',
                cell: (row) => (
                  <a href={`#/runs?run=${encodeURIComponent(row.runId)}`} aria-current={row.runId === selected ? 'true' : undefined} title={row.runId}>
                    {ago(row.createdAt)}
                  </a>
                ),
              },
              { title: 'Session', cell: (row) => row.sessionKey },
              { title: 'Trigger', cell: (row) => row.trigger },
              { title: 'Status', cell: (row) => runLight(row.status) },
              { title: 'Model', cell: (row) => row.model ?? '—' },
              { title: 'Tools', cell: (row) => String(row.toolCalls) },
              { title: 'Time', cell: (row) => duration(row.durationMs) },
              { title: 'Cost', cell: (row) => money(row.costUsd) },
            ]}
          />
        )}
      </Panel>
      {selected && <RunDetail key={selected} client={client} runId={selected} onClose={() => select(null)} />}
    </div>
  );
}
