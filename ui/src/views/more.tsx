import { useState } from 'preact/hooks';
import { ago, Notice, Panel, Status, Table } from '../parts';
import type { RpcClient } from '../rpc';
import { useRpc } from '../use-rpc';

interface SkillRow {
  name: string;
  description: string;
  source: string;
  signedBy: string | null;
  version: string | null;
  capabilities: string[] | null;
  eligible: boolean;
  ineligible: string | null;
  disabled: string[] | null;
}

interface Finding {
  level: string;
  file: string;
  line: number;
  message: string;
  needs?: string;
  declared?: boolean;
}

interface AuditReport {
  skill: string | null;
  risk: string;
  findings: Finding[];
  filesScanned: number;
}

function signature(row: SkillRow): string {
  if (row.disabled) return `invalid: ${row.disabled.join('; ')}`;
  return row.signedBy ? `signed by ${row.signedBy} (version ${row.version})` : 'unsigned';
}

/** The default agent's skills: signature, capabilities, whether usable, and a risk report on demand. */
export function Skills({ client }: { client: RpcClient }) {
  const skills = useRpc<{ agentId: string; skills: SkillRow[] }>(client, 'skills.list');
  const [report, setReport] = useState<{ name: string; report: AuditReport | null; error: string | null } | null>(null);
  const audit = (name: string) => {
    setReport({ name, report: null, error: null });
    client.call<AuditReport>('skills.audit', { name }).then(
      (result) => setReport({ name, report: result, error: null }),
      (error: Error) => setReport({ name, report: null, error: error.message }),
    );
  };
  return (
    <div class="stack">
      <Panel title="Skills" id="skills">
        <Notice error={skills.error} loading={skills.loading && !skills.data} empty={skills.data?.skills.length === 0 && 'No skills yet: put one in the workspace\'s skills/<name>/SKILL.md, or install a signed one with hearth skills install (docs/skills.md).'} />
        {skills.data && skills.data.skills.length > 0 && (
          <Table
            label="Skills"
            rows={skills.data.skills}
            rowKey={(row) => `${row.source}:${row.name}`}
            columns={[
              { title: 'Skill', cell: (row) => <span title={row.description}>{row.name}</span> },
              { title: 'From', cell: (row) => row.source },
              { title: 'Signature', cell: (row) => <Status status={row.disabled ? 'down' : row.signedBy ? 'ok' : 'degraded'} label={signature(row)} /> },
              { title: 'Capabilities', cell: (row) => row.capabilities?.join(', ') || 'none declared' },
              { title: 'Usable', cell: (row) => (row.eligible ? 'yes' : `no: ${row.ineligible}`) },
              { title: 'Risk', cell: (row) => <button type="button" onClick={() => audit(row.name)}>Risk report for {row.name}</button> },
            ]}
          />
        )}
      </Panel>
      {report && <RiskReport name={report.name} report={report.report} error={report.error} />}
    </div>
  );
}

function RiskReport({ name, report, error }: { name: string; report: AuditReport | null; error: string | null }) {
  return (
    <Panel title={`Risk report: ${name}`} id="risk-report">
      <Notice error={error} loading={!report && !error} empty={report?.findings.length === 0 && `Nothing found in ${report.filesScanned} files.`} />
      {report && report.findings.length > 0 && (
        <>
          <p>
            <Status status={report.risk === 'high' ? 'down' : report.risk === 'medium' ? 'degraded' : 'ok'} label={`${report.risk} risk`} /> in {report.filesScanned} files
          </p>
          <Table
            label={`Findings for ${name}`}
            rows={report.findings}
            rowKey={(row) => `${row.file}:${row.line}:${row.message}`}
            columns={[
              { title: 'Level', cell: (row) => row.level },
              { title: 'Where', cell: (row) => <code>{row.line > 0 ? `${row.file}:${row.line}` : row.file}</code> },
              { title: 'Finding', cell: (row) => row.message },
              { title: 'Needs', cell: (row) => (row.needs ? `${row.needs}${row.declared === false ? ' (NOT declared)' : row.declared ? ' (declared)' : ''}` : '—') },
            ]}
          />
        </>
      )}
    </Panel>
  );
}

interface MemoryStatus {
  agentId: string;
  files: number;
  chunks: number;
  embeddings: unknown;
  embeddingsError: string | null;
  health: {
    status: string;
    problems: string[];
    indexLagMs: number | null;
    pendingEmbeddings: number;
    provider: { configured: string | null; indexBuiltWith: string | null; mismatch: boolean } | null;
  } | null;
}

interface MemoryAuditEntry {
  at: number;
  action: string;
  file?: string;
  provenance?: string;
  runId?: string;
}

interface Hit {
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  snippet: string;
  citation: string;
  provenance: string;
}

/** The default agent's memory: its index and health, and a search with citations and provenance. */
export function Memory({ client }: { client: RpcClient }) {
  const status = useRpc<MemoryStatus>(client, 'memory.status');
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<{ hits: Hit[]; mode: string; warning?: string } | { error: string } | null>(null);
  const search = (event: Event) => {
    event.preventDefault();
    if (!query.trim()) return;
    client.call<{ hits: Hit[]; mode: string; warning?: string }>('memory.search', { query: query.trim() }).then(setFound, (error: Error) => setFound({ error: error.message }));
  };
  const health = status.data?.health;
  return (
    <div class="stack">
      <Panel title="Index" id="memory-index">
        <Notice error={status.error} loading={status.loading && !status.data} />
        {status.data && (
          <dl class="figures">
            <div>
              <dt>Agent</dt>
              <dd>{status.data.agentId}</dd>
            </div>
            <div>
              <dt>Files / chunks indexed</dt>
              <dd>
                {status.data.files} / {status.data.chunks}
              </dd>
            </div>
            <div>
              <dt>Health</dt>
              <dd>{health ? <Status status={health.status} label={`${health.status}${health.problems.length ? `: ${health.problems.join('; ')}` : ''}`} /> : 'not used yet'}</dd>
            </div>
            {health?.provider && (
              <div>
                <dt>Embedding provider</dt>
                <dd>
                  {health.provider.mismatch ? (
                    <Status status="degraded" label={`the index was built with ${health.provider.indexBuiltWith ?? 'none'}, the config names ${health.provider.configured ?? 'none'}: re-index (hearth memory index --force)`} />
                  ) : (
                    `${health.provider.configured ?? 'none (keywords only)'}, as the index was built`
                  )}
                </dd>
              </div>
            )}
            <div>
              <dt>Embeddings</dt>
              <dd>{status.data.embeddingsError ?? (status.data.embeddings ? 'configured' : 'none: keyword search only (docs/memory.md)')}</dd>
            </div>
          </dl>
        )}
      </Panel>
      <MemoryAudit client={client} />
      <Panel title="Search" id="memory-search">
        <form class="inline-form" onSubmit={search}>
          <label for="memory-query">Search memory</label>
          <input id="memory-query" type="search" value={query} onInput={(event) => setQuery((event.target as HTMLInputElement).value)} />
          <button type="submit">Search</button>
        </form>
        {found && 'error' in found && <Notice error={found.error} />}
        {found && 'hits' in found && (
          <>
            {found.warning && <p class="notice">{found.warning}</p>}
            <Notice empty={found.hits.length === 0 && 'Nothing found.'} />
            <ol class="hits">
              {found.hits.map((hit) => (
                <li key={hit.citation}>
                  <code>{hit.citation}</code> <span class="detail">({hit.provenance}, score {hit.score.toFixed(2)})</span>
                  <pre>{hit.snippet}</pre>
                </li>
              ))}
            </ol>
          </>
        )}
      </Panel>
    </div>
  );
}

interface McpServer {
  name: string;
  transport: string;
  state: string;
  since: number;
  lastError: string | null;
  restarts: number;
  tools: number;
}

/** MCP servers with their connection state, tools and last error. */
export function McpServers({ client }: { client: RpcClient }) {
  const status = useRpc<{ mcp: { servers: McpServer[] } }>(client, 'status', {}, ['health']);
  const servers = status.data?.mcp.servers ?? [];
  return (
    <Panel title="MCP servers" id="mcp-servers">
      <Notice error={status.error} loading={status.loading && !status.data} empty={!!status.data && servers.length === 0 && 'No MCP servers are configured (mcp.servers in hearth.json5; docs/tools.md).'} />
      {servers.length > 0 && (
        <Table
          label="MCP servers"
          rows={servers}
          rowKey={(row) => row.name}
          columns={[
            { title: 'Server', cell: (row) => `${row.name} (${row.transport})` },
            { title: 'State', cell: (row) => <Status status={row.state === 'ready' ? 'ok' : row.state === 'restarting' ? 'degraded' : row.state === 'stopped' ? 'down' : 'starting'} label={`${row.state} ${ago(row.since)}`} /> },
            { title: 'Tools', cell: (row) => String(row.tools) },
            { title: 'Restarts', cell: (row) => String(row.restarts) },
            { title: 'Last error', cell: (row) => row.lastError ?? '—' },
          ]}
        />
      )}
    </Panel>
  );
}

interface ApprovedSender {
  channel: string;
  accountId: string;
  senderId: string;
  senderName: string | null;
  approvedAt: number;
}

const PAIRING_EVENTS = ['health', 'pairing'] as const;

/** The people let in through pairing, each with a Revoke button. */
export function ApprovedSenders({ client }: { client: RpcClient }) {
  const senders = useRpc<{ senders: ApprovedSender[] }>(client, 'pairing.approved', {}, PAIRING_EVENTS);
  const [message, setMessage] = useState<string | null>(null);
  const revoke = (row: ApprovedSender) =>
    client.call('pairing.revoke', { channel: row.channel, accountId: row.accountId, senderId: row.senderId }).then(
      () => {
        setMessage(`Revoked ${row.senderName ?? row.senderId}: they must pair again.`);
        senders.reload();
      },
      (error: Error) => setMessage(error.message),
    );
  return (
    <Panel title="Approved senders" id="approved-senders">
      {message && <p class="notice" role="status">{message}</p>}
      <Notice error={senders.error} loading={senders.loading && !senders.data} empty={senders.data?.senders.length === 0 && 'No one has been let in through pairing yet.'} />
      {senders.data && senders.data.senders.length > 0 && (
        <Table
          label="Approved senders"
          rows={senders.data.senders}
          rowKey={(row) => `${row.channel}:${row.accountId}:${row.senderId}`}
          columns={[
            { title: 'Who', cell: (row) => `${row.senderName ?? row.senderId} (${row.senderId})` },
            { title: 'Account', cell: (row) => `${row.channel}:${row.accountId}` },
            { title: 'Since', cell: (row) => ago(row.approvedAt) },
            { title: 'Action', cell: (row) => <button type="button" onClick={() => revoke(row)}>Revoke {row.senderName ?? row.senderId}</button> },
          ]}
        />
      )}
    </Panel>
  );
}

interface AlertRow {
  id: number;
  event: string;
  payload: { channel?: string; account?: string; dimension?: string; status?: string; degradedSince?: number; detail?: string | null; recoveryAttempts?: number };
  status: string;
  createdAt: number;
}

/** Each account's degraded episodes: when they began, what was wrong, and when it was healthy again. */
export function HealthEpisodes({ client }: { client: RpcClient }) {
  const alerts = useRpc<{ alerts: AlertRow[] }>(client, 'alerts.list', { event: 'channel.health', limit: 100 }, ['health']);
  return (
    <Panel title="Health episodes" id="health-episodes">
      <Notice error={alerts.error} loading={alerts.loading && !alerts.data} empty={alerts.data?.alerts.length === 0 && 'No account has been unhealthy long enough to alert.'} />
      {alerts.data && alerts.data.alerts.length > 0 && (
        <Table
          label="Health episodes"
          rows={alerts.data.alerts}
          rowKey={(row) => String(row.id)}
          columns={[
            { title: 'When', cell: (row) => ago(row.createdAt) },
            { title: 'Account', cell: (row) => `${row.payload.channel ?? '?'}:${row.payload.account ?? '?'}` },
            {
              title: 'What',
              cell: (row) =>
                row.event === 'channel.health.recovered' ? (
                  <Status status="ok" label={`healthy again (unhealthy since ${ago(row.payload.degradedSince)})`} />
                ) : (
                  <Status status={row.payload.status ?? 'degraded'} label={`${row.payload.dimension ?? ''} ${row.payload.status ?? ''} after ${row.payload.recoveryAttempts ?? 0} reconnects`} />
                ),
            },
            { title: 'Detail', cell: (row) => row.payload.detail ?? '—' },
            { title: 'Alert', cell: (row) => row.status },
          ]}
        />
      )}
    </Panel>
  );
}

interface LoginPlatform {
  platform: string;
  fields: { key: string; prompt: string; optional: boolean }[];
  /** For a platform with no secrets to save (Signal): what to do instead. */
  guidance?: string;
}

interface Applied {
  started: string[];
  restarted: string[];
  stopped: string[];
}

const appliedText = (applied: Applied) =>
  [applied.started.length ? `started ${applied.started.join(', ')}` : '', applied.restarted.length ? `restarted ${applied.restarted.join(', ')}` : '', applied.stopped.length ? `stopped ${applied.stopped.join(', ')}` : '']
    .filter(Boolean)
    .join('; ') || 'nothing to restart';

/** Saves an account's secrets (as hearth channels login does) and starts it; or forgets them. */
export function ChannelLogin({ client }: { client: RpcClient }) {
  const logins = useRpc<{ platforms: LoginPlatform[] }>(client, 'channels.logins');
  const [platform, setPlatform] = useState('telegram');
  const [accountId, setAccountId] = useState('default');
  const [values, setValues] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const chosen = logins.data?.platforms.find((item) => item.platform === platform);
  const account = accountId.trim() || 'default';
  const done = (what: Promise<{ applied: Applied }>, verb: string) =>
    what.then(
      (result) => {
        setValues({});
        setMessage(`${verb} ${platform}:${account}: ${appliedText(result.applied)}.`);
        client.dispatch('pairing', null);
      },
      (error: Error) => setMessage(error.message),
    );
  const login = (event: Event) => {
    event.preventDefault();
    done(client.call('channels.login', { channel: platform, accountId: account, values }), 'Saved the login of');
  };
  return (
    <Panel title="Log in an account" id="channel-login">
      <Notice error={logins.error} loading={logins.loading && !logins.data} />
      {message && <p class="notice" role="status">{message}</p>}
      <form class="login-form" onSubmit={login}>
        <label for="login-platform">Platform</label>
        <select id="login-platform" value={platform} onChange={(event) => setPlatform((event.target as HTMLSelectElement).value)}>
          {logins.data?.platforms.map((item) => (
            <option key={item.platform} value={item.platform}>
              {item.platform}
            </option>
          ))}
        </select>
        <label for="login-account">Account id</label>
        <input id="login-account" value={accountId} onInput={(event) => setAccountId((event.target as HTMLInputElement).value)} />
        {chosen?.fields.map((field) => (
          <div key={field.key} class="login-field">
            <label for={`login-${field.key}`}>{field.prompt}</label>
            <input
              id={`login-${field.key}`}
              type="password"
              autocomplete="off"
              required={!field.optional}
              value={values[field.key] ?? ''}
              onInput={(event) => setValues({ ...values, [field.key]: (event.target as HTMLInputElement).value })}
            />
          </div>
        ))}
        {chosen?.guidance && <pre class="guidance">{chosen.guidance}</pre>}
        <div class="buttons">
          <button type="submit" disabled={chosen?.fields.length === 0}>
            Save and start
          </button>
          <button type="button" onClick={() => done(client.call('channels.logout', { channel: platform, accountId: account }), 'Logged out')}>
            Log out
          </button>
        </div>
      </form>
      <p class="detail">The secrets are saved on the gateway's machine, readable only by its user; values written in hearth.json5 win over them.</p>
    </Panel>
  );
}

/** The memory audit log: every memory write and re-index, newest first. */
function MemoryAudit({ client }: { client: RpcClient }) {
  const audit = useRpc<{ entries: MemoryAuditEntry[] }>(client, 'memory.audit', { limit: 50 });
  const entries = [...(audit.data?.entries ?? [])].reverse();
  return (
    <Panel title="Audit log" id="memory-audit">
      <Notice error={audit.error} loading={audit.loading && !audit.data} empty={!!audit.data && entries.length === 0 && 'Nothing written to memory or re-indexed yet.'} />
      {entries.length > 0 && (
        <Table
          label="Memory audit log"
          rows={entries}
          rowKey={(row) => `${row.at}:${row.action}:${row.file ?? ''}`}
          columns={[
            { title: 'When', cell: (row) => ago(row.at) },
            { title: 'What', cell: (row) => row.action },
            { title: 'File', cell: (row) => row.file ?? '—' },
            { title: 'Provenance', cell: (row) => row.provenance ?? '—' },
            { title: 'Run', cell: (row) => row.runId ?? '—' },
          ]}
        />
      )}
    </Panel>
  );
}
