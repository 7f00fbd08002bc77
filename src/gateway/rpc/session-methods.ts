import { z } from 'zod';
import { isValidSessionKey } from '../../routing/session-keys.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

export const sessionMethods: Record<string, RpcMethod> = {
  'sessions.list': defineMethod(
    { description: 'Sessions, newest first (default limit 100).', returns: '{sessions:[{sessionKey, agentId, messageCount, lastMessage, updatedAt}]}' },
    z.strictObject({ limit: z.number().int().min(1).max(1000).optional(), agentId: z.string().optional() }).optional(),
    async (params, _connection, context) => ({
      sessions: await context.store.listSessions({ limit: params?.limit ?? 100, ...(params?.agentId ? { agentId: params.agentId } : {}) }),
    }),
  ),
  'sessions.reset': defineMethod(
    { description: 'Starts the session fresh; the old transcript is kept on disk.', returns: '{sessionKey, reset}' },
    z.strictObject({ sessionKey: z.string().refine(isValidSessionKey, 'must look like agent:<agentId>:<rest>') }),
    async (params, _connection, context) => ({ sessionKey: params.sessionKey, reset: await context.turns.resetSession(params.sessionKey) }),
  ),
};
