import type { RpcClient } from '../rpc';
import { ago, Notice, Panel, Status, Table } from '../parts';
import { useAction } from '../use-action';
import { useEvery } from '../use-every';
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

/** Health changes, and this page's own logins, pairings and revocations. */
const CHANNEL_EVENTS = ['health', 'pairing'] as const;

interface PairingRequest {
  code: string;
  channel: string;
  accountId: string;
  senderId: string;
  senderName: string | null;
  expiresAt: number;
}

export function Channels({ client }: { client: RpcClient }) {
  const accounts = useRpc<{ accounts: AccountStatus[] }>(client, 'channels.status', {}, CHANNEL_EVENTS);
  const pairing = useRpc<{ requests: PairingRequest[] }>(client, 'pairing.list', {}, ['health']);
  // New requests come from chats, not from health changes: look every few seconds while this view is open.
  useEvery(3000, true, () => {
    pairing.reload();
    return undefined;
  });
  const action = useAction(() => {
    pairing.reload();
    accounts.reload();
    // The approved senders' list (another panel) hears of it too.
    client.dispatch('pairing', null);
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
                  <span class="buttons">
                    <button type="button" onClick={() => action.run(client.call('pairing.approve', { code: row.code }), `Approved ${row.senderName ?? row.senderId}.`)}>
                      Approve {row.code}
                    </button>
                    <button type="button" onClick={() => action.run(client.call('pairing.deny', { code: row.code }), `Denied ${row.senderName ?? row.senderId}.`)}>
                      Deny {row.code}
                    </button>
                  </span>
                ),
              },
            ]}
          />
        )}
      </Panel>
    </div>
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
