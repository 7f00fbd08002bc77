import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

/** One account: its platform and account id (default `default`). */
const accountParams = z.strictObject({ channel: z.string().min(1).max(64), account: z.string().min(1).max(64).optional() });

/** `channels.status|reload`, `channels.health.list|get|probe`, `pairing.list|approve`, `message.send`. */
export const channelMethods: Record<string, RpcMethod> = {
  'channels.status': defineMethod({ description: 'Per channel account: state, connection, authentication, last inbound and outbound traffic, last error, what to do, reconnects and outbox counts.', returns: '{accounts:[{channel, accountId, state, connected, authenticated, lastInboundAt, lastOutboundAt, lastError, …, outbox:{pending, failed}}]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    accounts: await context.channels.status(),
  })),
  'channels.health.list': defineMethod({ description: 'The last health report of every channel account.', returns: '{accounts:[report]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    accounts: context.channelHealth.list(),
  })),
  'channels.health.get': defineMethod({ description: 'The last health report of one account (`account` defaults to `default`).', returns: 'report' }, accountParams, async (params, _connection, context) => context.channelHealth.get(params.channel, params.account ?? 'default')),
  'channels.health.probe': defineMethod({ description: 'Checks the account now, its probe included; recovery stays with the periodic check.', returns: 'report' }, accountParams, async (params, _connection, context) => context.channelHealth.probe(params.channel, params.account ?? 'default')),
  'channels.reload': defineMethod({ description: 'Re-reads channel accounts and saved logins, restarting only the accounts whose settings changed.', returns: '{started, restarted, stopped} (account keys like telegram:default)' }, z.strictObject({}).optional(), async (_params, _connection, context) => context.reloadChannels()),
  'pairing.list': defineMethod({ description: 'Pending pairing requests (codes expire after an hour).', returns: '{requests:[{code, channel, accountId, senderId, senderName, chatId, createdAt, expiresAt}]}' }, z.strictObject({}).optional(), async (_params, _connection, context) => ({
    requests: await context.channels.listPairing(),
  })),
  'pairing.approve': defineMethod({ description: 'Approves the sender who received this code (kept across restarts) and tells them so.', returns: '{approved:request}' }, z.strictObject({ code: z.string().min(4).max(32) }), async (params, _connection, context) => {
    const request = await context.channels.approvePairing(params.code);
    if (!request) {
      throw new HearthError('NOT_FOUND', `No pending pairing request has the code ${params.code.toUpperCase()}. Codes expire after an hour; \`hearth pairing list\` shows the live ones.`);
    }
    return { approved: request };
  }),
  'pairing.approved': defineMethod(
    { description: 'The senders approved through pairing, newest first.', returns: '{senders:[{channel, accountId, senderId, senderName, approvedAt}]}' },
    z.strictObject({}).optional(),
    async (_params, _connection, context) => ({ senders: await context.store.listApprovedSenders() }),
  ),
  'pairing.revoke': defineMethod(
    { description: 'Takes back an approval: the sender must pair again before the bot answers them.', returns: '{revoked}' },
    z.strictObject({ channel: z.string().min(1).max(64), accountId: z.string().min(1).max(64).optional(), senderId: z.string().min(1).max(256) }),
    async (params, _connection, context) => {
      const accountId = params.accountId ?? 'default';
      const revoked = await context.store.revokeApprovedSender(params.channel, accountId, params.senderId);
      if (!revoked) throw new HearthError('NOT_FOUND', `${params.senderId} is not an approved sender of ${params.channel}:${accountId}; \`hearth pairing approved\` lists them.`);
      context.logger.info({ channel: `${params.channel}:${accountId}`, sender: params.senderId }, 'approved sender revoked');
      return { revoked: true };
    },
  ),
  'message.send': defineMethod(
    { description: 'Sends Markdown to a chat through the outbox and waits up to `timeoutMs` (default 30 s) for delivery.', returns: '{outboxId, delivered, pending, error} (`pending` when not delivered in time; it stays queued)' },
    z.strictObject({
      channel: z.string().min(1),
      accountId: z.string().min(1).optional(),
      to: z.string().min(1).max(256),
      threadId: z.string().min(1).max(256).optional(),
      text: z.string().min(1).max(100_000),
      timeoutMs: z.number().int().min(0).max(120_000).optional(),
    }),
    async (params, _connection, context) =>
      context.channels.send({
        channel: params.channel,
        ...(params.accountId ? { accountId: params.accountId } : {}),
        to: params.to,
        ...(params.threadId ? { threadId: params.threadId } : {}),
        text: params.text,
        timeoutMs: params.timeoutMs ?? 30_000,
      }),
  ),
};
