import type { AcceptTurnInput, RunStepInput, TurnResult } from '../contracts/store.js';

/**
 * What the Store's writes bind, in column order, shared by the SQLite and PostgreSQL adapters so
 * both store the same values (JSON as text, absent as NULL) for the same input.
 */

/** `runs (id, session_key, agent_id, source, text, context, reply_to, options, …, created_at)` of an accepted turn. */
export function acceptedRunValues(input: AcceptTurnInput): unknown[] {
  return [
    input.runId,
    input.sessionKey,
    input.agentId,
    input.source,
    input.text,
    input.context ? JSON.stringify(input.context) : null,
    input.replyTo ? JSON.stringify(input.replyTo) : null,
    input.options ? JSON.stringify(input.options) : null,
    input.now,
  ];
}

/** `status, started_at (if unset), model_ref, reply, tool_calls, input_tokens, output_tokens, error_code, error_message, finished_at, cost_usd` of a finished run. */
export function finishedRunValues(result: TurnResult): unknown[] {
  return [
    result.status,
    result.now,
    result.modelRef ?? null,
    result.reply,
    JSON.stringify(result.toolCalls),
    result.usage?.inputTokens ?? null,
    result.usage?.outputTokens ?? null,
    result.error?.code ?? null,
    result.error?.message ?? null,
    result.now,
    result.costUsd ?? null,
  ];
}

/** `kind, name, input, output, error, started_at, duration_ms, input_tokens, output_tokens` of a run step. */
export function stepValues(step: RunStepInput): unknown[] {
  return [
    step.kind,
    step.name,
    step.input === undefined ? null : JSON.stringify(step.input),
    step.output === undefined ? null : JSON.stringify(step.output),
    step.error ?? null,
    step.startedAt,
    step.durationMs,
    step.usage?.inputTokens ?? null,
    step.usage?.outputTokens ?? null,
  ];
}

/** What a finished turn delivers: its reply, or its error's message when it has none ('' for nothing). */
export function deliveredText(result: TurnResult): string {
  return result.reply !== '' ? result.reply : (result.error?.message ?? '');
}
