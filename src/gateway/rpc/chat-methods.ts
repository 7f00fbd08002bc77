import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import type { TranscriptEntry } from '../../contracts/store.js';
import { agentIdOfSessionKey, isValidSessionKey, mainSessionKey } from '../../routing/session-keys.js';
import type { GatewayContext } from '../gateway-context.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const sessionKey = z.string().refine(isValidSessionKey, 'must look like agent:<agentId>:<rest>');

function resolveSession(context: GatewayContext, params: { sessionKey?: string | undefined; agentId?: string | undefined }) {
  const directory = context.agents();
  const agentId = params.agentId ?? (params.sessionKey ? agentIdOfSessionKey(params.sessionKey) : null) ?? directory.defaultAgentId;
  if (!directory.get(agentId)) {
    throw new HearthError('NOT_FOUND', `There is no agent "${agentId}". Configured agents: ${directory.list().map((agent) => agent.id).join(', ')}.`);
  }
  return { agentId, sessionKey: params.sessionKey ?? mainSessionKey(agentId) };
}

/** `model` when it is one of the agent's models (its primary or a fallback); otherwise a clear refusal. */
function agentModel(context: GatewayContext, agentId: string, model: string): string {
  const refs = context.agents().get(agentId)?.modelRefs ?? [];
  if (refs.includes(model)) return model;
  throw new HearthError('BAD_REQUEST', `Agent "${agentId}" does not use the model "${model}"; its models are ${refs.join(', ') || 'none'} (agents.*.model in hearth.json5).`);
}

/** A transcript entry as clients see it. */
export function presentEntry(entry: TranscriptEntry) {
  const message = entry.message;
  return {
    id: entry.id,
    runId: entry.runId,
    createdAt: entry.createdAt,
    role: message.role,
    content: message.content,
    ...(message.role === 'assistant' && message.toolCalls ? { toolCalls: message.toolCalls } : {}),
    ...(message.role === 'tool' ? { toolCallId: message.toolCallId, name: message.name, isError: message.isError ?? false } : {}),
    ...(message.role === 'error' ? { code: message.code } : {}),
    ...(message.role === 'compaction'
      ? { compaction: { compactedLines: message.compactedLines, firstKeptId: message.firstKeptId, tokensBefore: message.tokensBefore, tokensAfter: message.tokensAfter, reason: message.reason, ...(message.focus ? { focus: message.focus } : {}) } }
      : {}),
  };
}

export const chatMethods: Record<string, RpcMethod> = {
  'chat.send': defineMethod(
    { description: 'Queues a message for an agent (default: the default agent\'s main session) and subscribes to the session\'s `chat` events; `model` picks one of the agent\'s models for this turn; the same `idempotencyKey` again returns the first run with `duplicate: true`.', returns: '{runId, sessionKey, duplicate, status} once the message is on disk' },
    z.strictObject({
      sessionKey: sessionKey.optional(),
      agentId: z.string().min(1).max(64).optional(),
      text: z.string().min(1, 'cannot be empty').max(100_000),
      idempotencyKey: z.string().min(1).max(200),
      model: z.string().min(3).max(200).optional(),
    }),
    async (params, connection, context) => {
      const { agentId, sessionKey: key } = resolveSession(context, params);
      const model = params.model === undefined ? undefined : agentModel(context, agentId, params.model);
      connection.watch(key);
      const accepted = await context.turns.submit({
        sessionKey: key,
        agentId,
        source: 'ws',
        text: params.text,
        // WebChat and WS clients read replies from `chat` events and the transcript, which the
        // turn's own transaction writes; no outbox entry is needed.
        replyTo: null,
        idempotency: { scope: `ws:${key}`, key: params.idempotencyKey },
        ...(model === undefined ? {} : { options: { model } }),
      });
      return { runId: accepted.runId, sessionKey: accepted.sessionKey, duplicate: accepted.duplicate, status: accepted.status };
    },
  ),
  'chat.history': defineMethod(
    { description: 'A session\'s transcript, with messages still queued shown as pending, and subscribes to its `chat` events.', returns: '{sessionKey, messages:[{id, runId, role, content, createdAt, …}], running, queued}' },
    z.strictObject({ sessionKey: sessionKey.optional(), agentId: z.string().optional(), limit: z.number().int().min(1).max(1000).optional() }),
    async (params, connection, context) => {
      const { sessionKey: key } = resolveSession(context, params);
      connection.watch(key);
      const entries = await context.store.readTranscript(key, params.limit ?? 200);
      // A message enters the transcript with its reply; until then it is shown from the inbox.
      const unfinished = (await context.store.unfinishedTurns()).filter((turn) => turn.sessionKey === key);
      const running = context.turns.activeRuns().filter((run) => run.sessionKey === key);
      const isRunning = new Set(running.map((run) => run.runId));
      return {
        sessionKey: key,
        messages: [
          ...entries.map(presentEntry),
          ...unfinished.map((turn) => ({ id: null, runId: turn.runId, createdAt: turn.createdAt, role: 'user', content: turn.text, pending: true })),
        ],
        running,
        queued: unfinished
          .filter((turn) => !isRunning.has(turn.runId))
          .map((turn) => ({ runId: turn.runId, text: turn.text, createdAt: turn.createdAt })),
      };
    },
  ),
  'chat.abort': defineMethod({ description: 'Stops a running turn.', returns: '{runId, aborted}' }, z.strictObject({ runId: z.string().min(1).max(200) }), async (params, _connection, context) => {
    return { runId: params.runId, aborted: context.turns.abort(params.runId) };
  }),
};
