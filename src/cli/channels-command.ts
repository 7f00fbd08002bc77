import type { ChannelAccountStatus } from '../contracts/channel.js';
import type { PairingRequest } from '../contracts/store.js';
import { withGateway } from './cli-context.js';
import type { CliRuntime } from './main.js';
import { CliFailure } from './main.js';

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
