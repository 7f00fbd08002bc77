import { LOGIN_FIELDS, LOGIN_GUIDANCE, removeChannelCredentials, writeChannelCredentials } from '../channels/channel-credentials.js';
import { CHANNEL_PLATFORMS, type ChannelPlatform } from '../config/channel-schema.js';
import type { ChannelAccountStatus, ChannelHealthDimension, ChannelHealthReport } from '../contracts/channel.js';
import type { ApprovedSender, PairingRequest } from '../contracts/store.js';
import { CliFailure, type CliRuntime, gatewayTarget, withGateway } from './cli-context.js';
import { GatewayUnreachable } from './gateway-client.js';

const ago = (at: number | null, now: number) => {
  if (at === null) return 'never';
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
};

export async function channelsStatus(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const { accounts } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ accounts: ChannelAccountStatus[] }>('channels.status'));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(accounts, null, 2)}\n`);
    return;
  }
  if (accounts.length === 0) {
    runtime.io.out('No channel accounts are configured. Add one under `channels` in hearth.json5 (see docs/channels.md).\n');
    return;
  }
  const now = Date.now();
  for (const account of accounts) {
    const lines = [
      `${account.channel}:${account.accountId}  ${account.state}${account.botName ? `  as ${account.botName}` : ''}`,
      `  connected ${account.connected ? 'yes' : 'no'}, authenticated ${account.authenticated ? 'yes' : 'no'}, reconnects ${account.reconnects}`,
      `  last inbound ${ago(account.lastInboundAt, now)}, last outbound ${ago(account.lastOutboundAt, now)}`,
      `  outbox: ${account.outbox.pending} waiting, ${account.outbox.failed} given up`,
    ];
    if (account.lastError) lines.push(`  last error: ${account.lastError}`);
    if (account.suggestedAction) lines.push(`  what to do: ${account.suggestedAction}`);
    runtime.io.out(`${lines.join('\n')}\n`);
  }
  if (accounts.some((account) => account.state === 'unhealthy')) process.exitCode = 1;
}

const DIMENSIONS: readonly ChannelHealthDimension[] = ['transport', 'application', 'functional'];

/** `hearth channels health`: the last check of every account (or one), or a new one with `--probe`. */
export async function channelsHealth(runtime: CliRuntime, options: { channel?: string; account?: string; probe?: boolean; json?: boolean }): Promise<void> {
  if (options.account && !options.channel) throw new CliFailure('--account needs --channel (for example --channel telegram --account work).');
  const reports = await withGateway(runtime.env, runtime.io, async (client) => {
    // A probe waits for the platform (bounded by channelHealth.probeTimeoutMs, at most 120 s).
    const probe = (channel: string, account: string) => client.call<ChannelHealthReport>('channels.health.probe', { channel, account }, 130_000);
    if (options.channel) {
      const account = accountOf(options.account);
      return [options.probe ? await probe(options.channel, account) : await client.call<ChannelHealthReport>('channels.health.get', { channel: options.channel, account })];
    }
    const { accounts } = await client.call<{ accounts: ChannelHealthReport[] }>('channels.health.list');
    return options.probe ? Promise.all(accounts.map((item) => probe(item.channel, item.account))) : accounts;
  });
  if (options.json) runtime.io.out(`${JSON.stringify(options.channel ? reports[0] : reports, null, 2)}\n`);
  else if (reports.length === 0) runtime.io.out('No channel accounts are configured. Add one under `channels` in hearth.json5 (see docs/channels.md).\n');
  else for (const report of reports) runtime.io.out(`${healthLines(report, Date.now()).join('\n')}\n`);
  if (reports.some((report) => report.status === 'degraded' || report.status === 'down')) process.exitCode = 1;
}

function healthLines(report: ChannelHealthReport, now: number): string[] {
  const lines = [`${report.channel}:${report.account}  ${report.status}  (checked ${ago(report.checkedAt, now)})`];
  for (const name of DIMENSIONS) {
    const dimension = report.dimensions[name];
    const since = dimension.degradedSince === null ? '' : ` since ${ago(dimension.degradedSince, now)}`;
    lines.push(`  ${name.padEnd(12)} ${dimension.status.padEnd(9)}${since}${dimension.detail ? `  ${dimension.detail}` : ''}`);
    if (dimension.suggestedAction) lines.push(`  ${''.padEnd(12)} what to do: ${dimension.suggestedAction}`);
  }
  const episode = report.episode;
  if (episode) {
    const alerted = episode.alertedAt === null ? 'operator not alerted yet' : `operator alerted ${ago(episode.alertedAt, now)}`;
    lines.push(`  recovery: ${episode.recoveryAttempts} of ${episode.maxRecoveryAttempts} reconnects tried; ${alerted}`);
  } else if (report.lastAlert) {
    lines.push(`  last alert ${ago(report.lastAlert.at, now)} (${report.lastAlert.dimension} ${report.lastAlert.status}); healthy again ${ago(report.recoveredAt, now)}`);
  }
  return lines;
}

export async function pairingList(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const { requests } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ requests: PairingRequest[] }>('pairing.list'));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(requests, null, 2)}\n`);
    return;
  }
  if (requests.length === 0) {
    runtime.io.out('No pending pairing requests.\n');
    return;
  }
  const now = Date.now();
  for (const request of requests) {
    const minutes = Math.max(0, Math.round((request.expiresAt - now) / 60_000));
    runtime.io.out(
      `${request.code}  ${request.channel}:${request.accountId}  from ${request.senderName ?? 'unknown'} (${request.senderId})  expires in ${minutes} min\n`,
    );
  }
  runtime.io.out('Approve one with `hearth pairing approve <code>`.\n');
}

/** `hearth pairing deny <code> [--json]` */
export async function pairingDeny(runtime: CliRuntime, code: string, options: { json?: boolean }): Promise<void> {
  const { denied } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ denied: PairingRequest }>('pairing.deny', { code }));
  if (options.json) runtime.io.out(`${JSON.stringify(denied, null, 2)}\n`);
  else runtime.io.out(`Denied ${denied.senderName ?? denied.senderId} on ${denied.channel}:${denied.accountId}.\n`);
}

/** `hearth pairing approved [--json]` */
export async function pairingApproved(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const { senders } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ senders: ApprovedSender[] }>('pairing.approved'));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(senders, null, 2)}\n`);
    return;
  }
  if (senders.length === 0) {
    runtime.io.out('No one has been approved through pairing.\n');
    return;
  }
  for (const sender of senders) {
    runtime.io.out(`${sender.channel}:${sender.accountId}  ${sender.senderName ?? 'unknown'} (${sender.senderId})  since ${new Date(sender.approvedAt).toISOString()}\n`);
  }
  runtime.io.out('Take one back with `hearth pairing revoke --channel <platform> [--account <id>] --sender <id>`.\n');
}

/** `hearth pairing revoke --channel <c> [--account <id>] --sender <id> [--json]` */
export async function pairingRevoke(runtime: CliRuntime, options: { channel: string; account?: string; sender: string; json?: boolean }): Promise<void> {
  const params = { channel: options.channel, accountId: options.account ?? 'default', senderId: options.sender };
  const result = await withGateway(runtime.env, runtime.io, (client) => client.call<{ revoked: boolean }>('pairing.revoke', params));
  if (options.json) runtime.io.out(`${JSON.stringify(result)}\n`);
  else runtime.io.out(`Revoked ${options.sender} on ${options.channel}:${params.accountId}: they must pair again before the bot answers them.\n`);
}

export async function pairingApprove(runtime: CliRuntime, code: string, options: { json?: boolean }): Promise<void> {
  const { approved } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ approved: PairingRequest }>('pairing.approve', { code }));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(approved, null, 2)}\n`);
    return;
  }
  runtime.io.out(`Approved ${approved.senderName ?? approved.senderId} (${approved.senderId}) on ${approved.channel}:${approved.accountId}. They have been told.\n`);
}

export async function messageSend(
  runtime: CliRuntime,
  text: string,
  options: { channel: string; account?: string; to: string; thread?: string; json?: boolean; timeout: string },
): Promise<void> {
  const timeoutMs = Math.min(120_000, Math.max(0, Number(options.timeout) * 1000 || 30_000));
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ outboxId: number; delivered: boolean; pending: boolean; error: string | null }>(
      'message.send',
      {
        channel: options.channel,
        ...(options.account ? { accountId: options.account } : {}),
        to: options.to,
        ...(options.thread ? { threadId: options.thread } : {}),
        text,
        timeoutMs,
      },
      timeoutMs + 10_000,
    ),
  );
  if (options.json) runtime.io.out(`${JSON.stringify(result, null, 2)}\n`);
  if (result.delivered) {
    if (!options.json) runtime.io.out(`Delivered to ${options.to} on ${options.channel}${options.account ? `:${options.account}` : ''}.\n`);
    return;
  }
  if (result.pending) {
    throw new CliFailure(`Not delivered yet; the message is queued (outbox ${result.outboxId}) and will be retried. \`hearth channels status\` shows why.`);
  }
  throw new CliFailure(`Not delivered: ${result.error ?? 'the channel refused it'}.`);
}

async function readLines(stdin: NodeJS.ReadableStream, count: number, prompts: string[], io: CliRuntime['io']): Promise<string[]> {
  const { createInterface } = await import('node:readline');
  const lines: string[] = [];
  const reader = createInterface({ input: stdin, terminal: false });
  const interactive = (stdin as { isTTY?: boolean }).isTTY === true;
  if (interactive) io.err(`${prompts[0]}: `);
  for await (const line of reader) {
    lines.push(line.trim());
    if (lines.length >= count) break;
    if (interactive) io.err(`${prompts[lines.length]}: `);
  }
  reader.close();
  return lines;
}

async function reloadIfRunning(runtime: CliRuntime): Promise<string> {
  try {
    const changed = await withGateway(runtime.env, runtime.io, (client) =>
      client.call<{ started: string[]; restarted: string[]; stopped: string[] }>('channels.reload'),
    );
    const parts = [
      changed.started.length > 0 ? `started ${changed.started.join(', ')}` : '',
      changed.restarted.length > 0 ? `restarted ${changed.restarted.join(', ')}` : '',
      changed.stopped.length > 0 ? `stopped ${changed.stopped.join(', ')}` : '',
    ].filter((part) => part !== '');
    return parts.length > 0 ? `The running gateway ${parts.join('; ')}.` : 'The running gateway is up to date.';
  } catch (error) {
    if (error instanceof GatewayUnreachable) return 'The gateway is not running; it uses this at its next start.';
    throw error;
  }
}

function platformOf(name: string): ChannelPlatform {
  if ((CHANNEL_PLATFORMS as readonly string[]).includes(name)) return name as ChannelPlatform;
  throw new CliFailure(`Unknown channel "${name}". Choose one of: ${CHANNEL_PLATFORMS.join(', ')}.`);
}

function accountOf(name: string | undefined): string {
  const id = name ?? 'default';
  if (!/^[a-z0-9_][a-z0-9_-]{0,63}$/u.test(id)) throw new CliFailure(`Account ids are lowercase letters, digits, _ and -; "${id}" is not one.`);
  return id;
}

/** `hearth channels login`: saves an account's secrets (read from stdin, never from arguments) and applies them. */
export async function channelsLogin(runtime: CliRuntime, options: { channel: string; account?: string; json?: boolean }): Promise<void> {
  const platform = platformOf(options.channel);
  const accountId = accountOf(options.account);
  const fields = LOGIN_FIELDS[platform];
  const guidance = LOGIN_GUIDANCE[platform];
  if (fields.length === 0 && guidance) {
    // Nothing to save (Signal): say how the account is set up instead.
    if (options.json) runtime.io.out(`${JSON.stringify({ channel: platform, accountId, saved: null, guidance })}\n`);
    else runtime.io.out(`${guidance}\n`);
    return;
  }
  const lines = await readLines(runtime.stdin, fields.length, fields.map((field) => field.prompt), runtime.io);
  const values: Record<string, string> = {};
  fields.forEach((field, index) => {
    const value = lines[index] ?? '';
    if (value === '' && !field.optional) throw new CliFailure(`No ${field.prompt.toLowerCase()} given. Paste it on standard input, one value per line.`);
    if (value !== '') values[field.key] = value;
  });
  const path = writeChannelCredentials(gatewayTarget(runtime.env).paths.credentialsDir, platform, accountId, values);
  const applied = await reloadIfRunning(runtime);
  if (options.json) runtime.io.out(`${JSON.stringify({ channel: platform, accountId, saved: path, applied })}\n`);
  else runtime.io.out(`Saved the ${platform}:${accountId} credentials in ${path} (readable only by you). ${applied}\n`);
}

/** `hearth channels logout`: forgets an account's saved secrets and stops it. */
export async function channelsLogout(runtime: CliRuntime, options: { channel: string; account?: string; json?: boolean }): Promise<void> {
  const platform = platformOf(options.channel);
  const accountId = accountOf(options.account);
  const removed = removeChannelCredentials(gatewayTarget(runtime.env).paths.credentialsDir, platform, accountId);
  if (!removed) throw new CliFailure(`No saved credentials for ${platform}:${accountId}. (Credentials written in hearth.json5 are removed by editing it.)`);
  const applied = await reloadIfRunning(runtime);
  if (options.json) runtime.io.out(`${JSON.stringify({ channel: platform, accountId, removed: true, applied })}\n`);
  else runtime.io.out(`Removed the saved ${platform}:${accountId} credentials. ${applied}\n`);
}
