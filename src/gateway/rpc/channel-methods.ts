import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

/** One account: its platform and account id (default `default`). */
const accountParams = z.strictObject({ channel: z.string().min(1).max(64), account: z.string().min(1).max(64).optional() });

/** `channels.status|reload`, `channels.health.list|get|probe`, `pairing.list|approve`, `message.send`. */
export const channelMethods: Record<string, RpcMethod> = {
  'channels.status': defineMethod(z.strictObject({}).optional(), async (_params, _connection, context) => ({
    accounts: await context.channels.status(),
  })),
  'channels.health.list': defineMethod(z.strictObject({}).optional(), async (_params, _connection, context) => ({
    accounts: context.channelHealth.list(),
  })),
  'channels.health.get': defineMethod(accountParams, async (params, _connection, context) => context.channelHealth.get(params.channel, params.account ?? 'default')),
  /** Checks the account now (its probe included) and returns the result; recovery stays with the periodic check. */
  'channels.health.probe': defineMethod(accountParams, async (params, _connection, context) => context.channelHealth.probe(params.channel, params.account ?? 'default')),
  'channels.reload': defineMethod(z.strictObject({}).optional(), async (_params, _connection, context) => context.reloadChannels()),
  'pairing.list': defineMethod(z.strictObject({}).optional(), async (_params, _connection, context) => ({
    requests: await context.channels.listPairing(),
  })),
  'pairing.approve': defineMethod(z.strictObject({ code: z.string().min(4).max(32) }), async (params, _connection, context) => {
    const request = await context.channels.approvePairing(params.code);
    if (!request) {
      throw new HearthError('NOT_FOUND', `No pending pairing request has the code ${params.code.toUpperCase()}. Codes expire after an hour; \`hearth pairing list\` shows the live ones.`);
    }
    return { approved: request };
  }),
  'message.send': defineMethod(
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
