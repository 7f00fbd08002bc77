import type { RpcClient } from '../rpc';
import { ago, Notice, Panel, Status } from '../parts';
import { useRpc } from '../use-rpc';

interface Health {
  ok: boolean;
  components: Record<string, { status: string; detail?: string }>;
}

interface Dimension {
  status: string;
  degradedSince: number | null;
  detail: string | null;
  suggestedAction: string | null;
}

interface ChannelReport {
  channel: string;
  account: string;
  status: string;
  dimensions: { transport: Dimension; application: Dimension; functional: Dimension };
}

interface StatusReport {
  gateway: { eventLoop?: { p99Ms: number; maxMs: number } };
  uptimeMs: number;
  version: string;
  turns: { queued?: number; running?: number; active?: unknown[] } & Record<string, unknown>;
  channels: { channel: string; accountId: string; outbox: { pending: number; failed: number } }[];
  spend: { day: string; scopes: { scope: string; tokens: number; costUsd: number; budget: unknown; percent: number | null }[] };
  approvals: { pending: number };
}

const LIVE = ['health', 'chat', 'approval'] as const;

/** Every component's light, today's spend and the queues, live. */
export function Overview({ client }: { client: RpcClient }) {
  const health = useRpc<Health>(client, 'health', {}, LIVE);
  const channels = useRpc<{ accounts: ChannelReport[] }>(client, 'channels.health.list', {}, LIVE);
  const status = useRpc<StatusReport>(client, 'status', {}, LIVE);
  const today = useRpc<{ totals: { runs: number; tokens: number; costUsd: number } }>(client, 'usage.summary', { days: 1 }, LIVE);
  return (
    <div class="grid">
      <Panel title="Components" id="components">
        <Notice error={health.error} loading={health.loading && !health.data} />
        {health.data && <Components health={health.data} />}
      </Panel>
      <Panel title="Channels" id="channel-health">
        <Notice error={channels.error} loading={channels.loading && !channels.data} empty={channels.data?.accounts.length === 0 && 'No channel accounts are configured. Add one under channels in hearth.json5 (docs/channels.md).'} />
        {channels.data?.accounts.map((report) => <ChannelCard key={`${report.channel}:${report.account}`} report={report} />)}
      </Panel>
      <Panel title="Today" id="today">
        <Notice error={status.error} loading={status.loading && !status.data} />
        {status.data && <Today status={status.data} today={today.data?.totals ?? null} />}
      </Panel>
    </div>
  );
}

function Components({ health }: { health: Health }) {
  return (
    <ul class="lights">
      {Object.entries(health.components).map(([name, component]) => (
        <li key={name} data-component={name}>
          <span class="light-name">{name}</span>
          <Status status={component.status} />
          {component.detail && <span class="detail">{component.detail}</span>}
        </li>
      ))}
    </ul>
  );
}

function ChannelCard({ report }: { report: ChannelReport }) {
  const name = `${report.channel}:${report.account}`;
  return (
    <article class="channel-card" data-channel={name} data-status={report.status} aria-label={`${name} ${report.status}`}>
      <h3>
        {name} <Status status={report.status} />
      </h3>
      <ul class="lights">
        {(['transport', 'application', 'functional'] as const).map((dimension) => {
          const value = report.dimensions[dimension];
          return (
            <li key={dimension} data-dimension={dimension}>
              <span class="light-name">{dimension}</span>
              <Status status={value.status} />
              {value.degradedSince !== null && <span class="detail">since {ago(value.degradedSince)}</span>}
              {value.detail && <span class="detail">{value.detail}</span>}
              {value.suggestedAction && <span class="action">What to do: {value.suggestedAction}</span>}
            </li>
          );
        })}
      </ul>
    </article>
  );
}

function Today({ status, today }: { status: StatusReport; today: { runs: number; tokens: number; costUsd: number } | null }) {
  const outbox = status.channels.reduce((sum, account) => sum + account.outbox.pending, 0);
  const failed = status.channels.reduce((sum, account) => sum + account.outbox.failed, 0);
  const turns = status.turns as Record<string, unknown>;
  return (
    <dl class="figures">
      {today && (
        <div>
          <dt>Turns today</dt>
          <dd>
            {today.runs} · {today.tokens.toLocaleString()} tokens · ${today.costUsd.toFixed(4)}
          </dd>
        </div>
      )}
      {status.spend.scopes.map((scope) => (
        <div key={scope.scope}>
          <dt>{scope.scope}</dt>
          <dd>
            {scope.tokens.toLocaleString()} tokens · ${scope.costUsd.toFixed(4)}
            {scope.percent !== null && ` · ${scope.percent} % of the daily budget`}
          </dd>
        </div>
      ))}
      <div>
        <dt>Turns queued / running</dt>
        <dd>
          {String(turns.queued ?? 0)} / {String(Array.isArray(turns.active) ? turns.active.length : (turns.running ?? 0))}
        </dd>
      </div>
      <div>
        <dt>Outbox pending / failed</dt>
        <dd>
          {outbox} / {failed}
        </dd>
      </div>
      <div>
        <dt>Approvals waiting</dt>
        <dd>{status.approvals.pending}</dd>
      </div>
      {status.gateway.eventLoop && (
        <div>
          <dt>Event-loop lag p99 / max</dt>
          <dd>
            {status.gateway.eventLoop.p99Ms} ms / {status.gateway.eventLoop.maxMs} ms
          </dd>
        </div>
      )}
      <div>
        <dt>Up for</dt>
        <dd>{ago(Date.now() - status.uptimeMs).replace(' ago', '')} (version {status.version})</dd>
      </div>
    </dl>
  );
}
