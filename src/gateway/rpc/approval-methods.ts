import { z } from 'zod';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const decision = z.strictObject({
  id: z.string().trim().min(1).max(32),
  always: z.boolean().optional(),
  /** Who answers, as the record shows it (`cli`, `webchat`); default the connection. */
  by: z.string().trim().min(1).max(64).optional(),
});

/** Exec approvals (docs/tools.md, "Approvals"): the commands waiting for the operator, and the answers. */
export const approvalMethods: Record<string, RpcMethod> = {
  'approvals.list': defineMethod(
    {
      description: 'Approval requests, newest first: the pending ones, or with `all` the decided ones too (default limit 100).',
      returns: '{approvals:[{id, runId, sessionKey, agentId, tool, command, cwd, canAlways, status, always, decidedBy, createdAt, expiresAt, decidedAt}]}',
    },
    z.strictObject({ all: z.boolean().optional(), limit: z.number().int().min(1).max(1000).optional() }).optional(),
    async (params, _connection, context) => ({
      approvals: (await context.approvals.list({ all: params?.all === true, limit: params?.limit ?? 100 })).map(({ replyTo: _replyTo, ...approval }) => approval),
    }),
  ),
  'approvals.approve': defineMethod(
    { description: 'Lets a waiting command run; with `always`, its words are also added to the agent\'s allowed commands (when the request offers it).', returns: '{approval}' },
    decision,
    async (params, connection, context) => ({ approval: await context.approvals.decide(params.id, { approve: true, always: params.always === true, by: params.by ?? `ws:${connection.id}` }) }),
  ),
  'approvals.deny': defineMethod(
    { description: 'Refuses a waiting command: the agent is told it was denied.', returns: '{approval}' },
    decision.omit({ always: true }),
    async (params, connection, context) => ({ approval: await context.approvals.decide(params.id, { approve: false, by: params.by ?? `ws:${connection.id}` }) }),
  ),
};
