import { loadConfigFile } from '../config/load-config.js';
import type { ProviderHealth } from '../providers/circuit-breaker.js';
import { describeFailover, describeProvider, type FailoverStep } from '../providers/provider-status.js';
import { formatConfigIssues } from '../config/load-config.js';
import { CliFailure, type CliRuntime, gatewayTarget, withGateway } from './cli-context.js';
import { GatewayUnreachable } from './gateway-client.js';
import { describeMemoryLine } from './memory-health-view.js';
import { describeBackups, describeRetention } from './retention-status-view.js';
import type { BackupsStatus } from '../backups/backups-subsystem.js';
import type { RetentionStatus } from '../retention/retention-subsystem.js';
import type { MemoryHealthReport } from '../memory/memory-health.js';

interface StatusReport {
  version: string;
  pid: number;
  uptimeMs: number;
  config: { path: string; source: string; lastReload: { ok: boolean; error?: string; at: number } | null };
  gateway: { port: number; host: string; connections: number; eventLoop?: { p50Ms: number; p99Ms: number; maxMs: number; windowMs: number } };
  models: { status: string; detail?: string; source: string; providers?: ProviderHealth[] };
  agents: { id: string; default: boolean; models: string[]; failover?: FailoverStep[] }[];
  turns: { running: number; queued: number; active: unknown[]; perProvider?: number; providers?: Record<string, number> };
  channels?: { channel: string; accountId: string; state: string; botName: string | null; lastError: string | null; outbox: { pending: number; failed: number } }[];
  cron?: { total: number; healthy: number; degraded: number; disabled: number; problems: { id: string; name: string; reason: string }[] };
  spend?: { day: string; scopes: { scope: string; tokens: number; costUsd: number; budget: { dailyTokens?: number; dailyCostUsd?: number } | null; percent: number | null }[] };
  alerts?: { event: string; status: string; createdAt: number; lastError: string | null }[];
  store?: { kind: string; status?: string; detail?: string; lastError?: { at: number; action: string; message: string } | null };
  quarantine?: { files: { path: string; from: string; reason: string }[]; rows: { table: string; key: string; reason: string }[] };
  heartbeats?: { agentId: string; every: string; nextAt: number | null; lastRunAt: number | null; lastSkip: { at: number; reason: string } | null }[];
  memory?: MemoryHealthReport;
  approvals?: { pending: number };
  retention?: RetentionStatus;
  backups?: BackupsStatus;
  mcp?: { servers: { name: string; transport: string; state: string; tools: number; restarts: number; lastError: string | null; nextAttemptAt: number | null }[] };
}

export async function runStatus(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const target = gatewayTarget(runtime.env);
  const file = loadConfigFile(target.paths.configPath, runtime.env);
  let report: StatusReport;
  try {
    report = await withGateway(runtime.env, runtime.io, (client) => client.call<StatusReport>('status'));
  } catch (error) {
    if (error instanceof GatewayUnreachable) {
      if (options.json) runtime.io.out(`${JSON.stringify({ running: false, url: target.url, message: error.message })}\n`);
      throw new CliFailure(error.message);
    }
    throw error;
  }
  if (options.json) {
    runtime.io.out(`${JSON.stringify({ running: true, url: target.url, ...report, configFileValid: file.ok }, null, 2)}\n`);
    return;
  }
  const lines = [
    `Gateway   running at ${target.url} (pid ${report.pid}, version ${report.version}, up ${Math.round(report.uptimeMs / 1000)} s)`,
    `Config    ${report.config.path} (${report.config.source})`,
  ];
  if (report.config.lastReload && !report.config.lastReload.ok) {
    lines.push(`          last edit REJECTED, the previous config is still in force: ${report.config.lastReload.error ?? ''}`);
  }
  if (!file.ok) lines.push(`          the file on disk is invalid:\n${formatConfigIssues(file.issues).replace(/^/gm, '            ')}`);
  if (report.store) {
    const store = report.store;
    lines.push(`Store     ${store.kind} ${store.status ?? 'ok'}${store.status && store.status !== 'ok' && store.detail ? `: ${store.detail}` : ''}`);
    if (store.status === 'ok' && store.lastError) {
      lines.push(`          recovered from: ${store.lastError.action}: ${store.lastError.message} (${new Date(store.lastError.at).toISOString()})`);
    }
  }
  for (const file of report.quarantine?.files ?? []) lines.push(`Quarantined ${file.from} → ${file.path}: ${file.reason}`);
  for (const row of report.quarantine?.rows ?? []) lines.push(`Quarantined row ${row.key} of ${row.table} in the state database (skipped): ${row.reason}`);
  lines.push(`Models    ${report.models.status}${report.models.detail ? `: ${report.models.detail}` : ''}`);
  for (const provider of report.models.providers ?? []) lines.push(`Provider  ${describeProvider(provider, Date.now())}`);
  for (const agent of report.agents) {
    lines.push(`Agent     ${agent.id}${agent.default ? ' (default)' : ''}: ${agent.models.length > 0 ? (agent.failover ? describeFailover(agent.failover) : agent.models.join(' → ')) : 'no model'}`);
  }
  const perProvider = Object.entries(report.turns.providers ?? {}).map(([provider, running]) => `${provider} ${running}/${report.turns.perProvider ?? '-'}`);
  lines.push(`Turns     ${report.turns.running} running, ${report.turns.queued} queued${perProvider.length > 0 ? ` (by provider: ${perProvider.join(', ')})` : ''}`);
  lines.push(`Clients   ${report.gateway.connections} connected`);
  const loop = report.gateway.eventLoop;
  if (loop) lines.push(`Loop lag  p50 ${loop.p50Ms} ms, p99 ${loop.p99Ms} ms, max ${loop.maxMs} ms (last ${Math.round(loop.windowMs / 1000)} s)`);
  for (const agent of report.memory?.agents ?? []) lines.push(describeMemoryLine(agent));
  for (const server of report.mcp?.servers ?? []) {
    const retry = server.state === 'restarting' && server.nextAttemptAt ? `, next try in ${Math.max(0, Math.round((server.nextAttemptAt - Date.now()) / 1000))} s` : '';
    const problem = server.state !== 'ready' && server.lastError ? ` (${server.lastError.split('\n')[0]})` : '';
    lines.push(`MCP       ${server.name} (${server.transport}) ${server.state}, ${server.tools} tools, ${server.restarts} restarts${retry}${problem}`);
  }
  if (report.approvals && report.approvals.pending > 0) lines.push(`Approvals ${report.approvals.pending} commands waiting: hearth approvals list`);
  for (const account of report.channels ?? []) {
    const outbox = account.outbox.pending + account.outbox.failed > 0 ? `, outbox ${account.outbox.pending} waiting / ${account.outbox.failed} given up` : '';
    const problem = account.state === 'connected' || !account.lastError ? '' : ` (${account.lastError})`;
    lines.push(`Channel   ${account.channel}:${account.accountId} ${account.state}${account.botName ? ` as ${account.botName}` : ''}${outbox}${problem}`);
  }
  if (report.spend) {
    const parts = report.spend.scopes.map((scope) => {
      const name = scope.scope.replace(/^agent:/u, '');
      const limit = scope.budget ? ` (${scope.percent}% of ${[scope.budget.dailyTokens ? `${scope.budget.dailyTokens.toLocaleString('en-US')} tokens` : '', scope.budget.dailyCostUsd ? `$${scope.budget.dailyCostUsd}` : ''].filter(Boolean).join(' / ')})` : '';
      return `${name}: ${scope.tokens.toLocaleString('en-US')} tokens, $${scope.costUsd.toFixed(4)}${limit}`;
    });
    lines.push(`Spend today (${report.spend.day})  ${parts.join('; ')}`);
  }
  if (report.cron && report.cron.total > 0) {
    lines.push(`Cron      ${report.cron.total} jobs: ${report.cron.healthy} healthy, ${report.cron.degraded} degraded, ${report.cron.disabled} disabled`);
    for (const problem of report.cron.problems) lines.push(`          ${problem.id} ${problem.name}: ${problem.reason}`);
  }
  if (report.retention) lines.push(...describeRetention(report.retention));
  if (report.backups) lines.push(describeBackups(report.backups));
  for (const beat of report.heartbeats ?? []) {
    const last = beat.lastRunAt ? `last ran ${new Date(beat.lastRunAt).toISOString()}` : 'not run yet';
    const skipped = beat.lastSkip && (!beat.lastRunAt || beat.lastSkip.at > beat.lastRunAt) ? `; last skipped: ${beat.lastSkip.reason}` : '';
    lines.push(`Heartbeat ${beat.agentId} every ${beat.every}, next ${beat.nextAt ? new Date(beat.nextAt).toISOString() : '-'}, ${last}${skipped}`);
  }
  for (const alert of report.alerts ?? []) {
    lines.push(`Alert     ${new Date(alert.createdAt).toISOString()} ${alert.event} (${alert.status}${alert.lastError ? `: ${alert.lastError}` : ''})`);
  }
  runtime.io.out(`${lines.join('\n')}\n`);
}
