import { z } from 'zod';
import { type ChatMessage, compactionSummaryMessage } from '../../contracts/messages.js';
import { HearthError } from '../../contracts/errors.js';
import type { RunRecord, RunStep, TranscriptEntry } from '../../contracts/store.js';
import { redactSecrets } from '../../providers/classify-error.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';
import { submitAndWait } from './submit-and-wait.js';

/** Replaces anything that looks like a credential in a run record's strings before it leaves the gateway. */
function redact<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return redactSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((item) => redact(item, secrets)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = /^(api[-_]?key|token|password|secret|authorization)$/iu.test(key) && typeof item === 'string' ? '[redacted]' : redact(item, secrets);
    }
    return out as T;
  }
  return value;
}

/** The model and provider a run actually used: the provider is the part of the model ref before the slash. */
function modelOf(run: RunRecord) {
  if (!run.modelRef) return { model: null, provider: null };
  const slash = run.modelRef.indexOf('/');
  return slash < 0 ? { model: run.modelRef, provider: null } : { provider: run.modelRef.slice(0, slash), model: run.modelRef.slice(slash + 1) };
}

function summary(run: RunRecord) {
  return {
    runId: run.runId,
    sessionKey: run.sessionKey,
    agentId: run.agentId,
    trigger: run.source,
    status: run.status,
    ...modelOf(run),
    usage: run.usage,
    costUsd: run.costUsd,
    error: run.error,
    attempts: run.attempts,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    toolCalls: run.toolCalls.length,
    /** The turn's OpenTelemetry trace id when it was traced (docs/agents.md, Traces). */
    traceId: run.options?.trace?.traceId ?? null,
  };
}

/** `runs.list` and `runs.get`: what each run did, step by step, with secrets redacted. */
export const runMethods: Record<string, RpcMethod> = {
  'runs.list': defineMethod(
    { description: 'Recent runs, newest first (default limit 50): trigger, status, model, tokens, cost, duration, tool calls, error.', returns: '{runs:[{runId, sessionKey, agentId, trigger, status, provider, model, usage, costUsd, error, attempts, createdAt, startedAt, finishedAt, durationMs, toolCalls, traceId}]}' },
    z.strictObject({ limit: z.number().int().min(1).max(1000).optional(), sessionKey: z.string().min(1).max(512).optional() }).optional(),
    async (params, _connection, context) => {
      const runs = await context.store.listRuns({ limit: params?.limit ?? 50, ...(params?.sessionKey ? { sessionKey: params.sessionKey } : {}) });
      return { runs: redact(runs.map(summary), context.secrets()) };
    },
  ),
  'runs.get': defineMethod({ description: 'One run step by step: each model call and tool call with timings, arguments, results and errors; a structured run\'s plan with each step\'s status, attempts and verification; credentials redacted.', returns: '{…the fields of runs.list, reply, toolCalls:[…], steps:[…], plan:{plan, status, reason, steps:[…], resumeOf}|null}' }, z.strictObject({ runId: z.string().min(1).max(200) }), async (params, _connection, context) => {
    const run = await context.store.getRun(params.runId);
    if (!run) throw new HearthError('NOT_FOUND', `No run ${params.runId}. \`hearth runs list\` shows recent runs.`);
    const steps: RunStep[] = await context.store.listRunSteps(params.runId);
    const plan = await context.store.getRunPlan(params.runId);
    return redact({ ...summary(run), reply: run.reply, toolCalls: run.toolCalls, steps, plan }, context.secrets());
  }),
  'runs.replay': defineMethod(
    { description: 'Runs a recorded run again from the same context with the same agent and model, side-effecting tools withheld; nothing is delivered and no session is changed.', returns: '{replayOf, runId, finished, status, reply, error}' },
    z.strictObject({ runId: z.string().min(1).max(200), timeoutMs: z.number().int().min(1).max(3_600_000).optional() }),
    async (params, _connection, context) => {
      const original = await context.store.getRun(params.runId);
      if (!original) throw new HearthError('NOT_FOUND', `No run ${params.runId}. \`hearth runs list\` shows recent runs.`);
      if (!context.agents().get(original.agentId)) throw new HearthError('NOT_FOUND', `The agent "${original.agentId}" of run ${params.runId} is no longer configured.`);
      if (original.status === 'queued' || original.status === 'running') {
        throw new HearthError('BAD_REQUEST', `Run ${params.runId} has not finished yet; replay it once it has.`);
      }
      let messages: ChatMessage[];
      if (original.context) {
        messages = original.context.messages;
      } else {
        messages = [...modelContext(await context.store.transcriptBeforeRun(original.runId, 400)), { role: 'user', content: original.text }];
      }
      const run = await submitAndWait(
        context.turns,
        (runId) => ({
          sessionKey: `replay:${original.runId}:${runId}`,
          agentId: original.agentId,
          source: 'replay',
          text: original.text,
          context: { messages, ...(original.context?.system ? { system: original.context.system } : {}) },
          replyTo: null,
          options: { readOnly: true, replayOf: original.runId, ...(original.options?.model ? { model: original.options.model } : {}) },
        }),
        params.timeoutMs ?? 600_000,
      );
      return redact({ replayOf: original.runId, ...run }, context.secrets());
    },
  ),
};

/** The lines as a model saw them: from the last compaction on, its summary first, without error lines. */
function modelContext(entries: readonly TranscriptEntry[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const entry of entries) {
    const { message } = entry;
    if (message.role === 'compaction') {
      messages.length = 0;
      messages.push(compactionSummaryMessage(message.content));
      for (const kept of entries) {
        if (kept.id >= message.firstKeptId && kept.id < entry.id && kept.message.role !== 'error' && kept.message.role !== 'compaction') messages.push(kept.message);
      }
    } else if (message.role !== 'error') messages.push(message);
  }
  return messages;
}
