import { z } from 'zod';
import { isValidSessionKey } from '../../routing/session-keys.js';
import { MAX_FOCUS_CHARS } from '../../sessions/compaction.js';
import { describeCompaction } from '../../sessions/turn-service.js';
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
  'sessions.compact': defineMethod(
    {
      description: 'Summarises the session\'s older turns now (after the turns queued before), keeping what `focus` names; the full history stays on disk.',
      returns: '{sessionKey, compacted, why?, compactedLines?, keptLines?, tokensBefore?, tokensAfter?, flushed?, message}',
    },
    z.strictObject({
      sessionKey: z.string().refine(isValidSessionKey, 'must look like agent:<agentId>:<rest>'),
      focus: z.string().max(MAX_FOCUS_CHARS).optional(),
    }),
    async (params, _connection, context) => {
      const outcome = await context.turns.compactSession(params.sessionKey, params.focus ? { focus: params.focus } : {});
      const message = describeCompaction(outcome);
      if (outcome.status === 'skipped') return { sessionKey: params.sessionKey, compacted: false, why: outcome.why, message };
      const { status: _status, usage: _usage, id: _id, ...figures } = outcome;
      return { sessionKey: params.sessionKey, compacted: true, ...figures, message };
    },
  ),
};
