/**
 * Conversation values shared by the agent loop, the store, providers and the control plane.
 */

/** A tool call the model asked for. `arguments` is the raw JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** One message of a transcript or of a model request. */
export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

/** Token counts reported by a provider for one model call. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What a tool call did, as shown to API clients and stored in the run record. */
export interface ToolCallRecord {
  name: string;
  arguments: unknown;
  result: string;
  durationMs: number;
  error?: string;
  /** How the call ended: it ran (`ok` or `error`), a rule refused it (`refusedBy` names the rule), or it ran past its time. */
  outcome?: 'ok' | 'error' | 'refused' | 'timeout' | 'denied';
  refusedBy?: string;
  /** The operator's decision when the call waited for one (exec approvals): `denied` and `expired` calls did not run. */
  approval?: { id: string; decision: 'approved' | 'denied' | 'expired'; by: string | null };
  /** Set when the active skill's capabilities refused the call: the skill and the token it lacked. */
  capabilityDenied?: { skill: string; needs: string };
}

/** Where a turn came from. */
export type TurnSource = 'webchat' | 'cli' | 'openai' | 'ws' | 'channel' | 'cron' | 'heartbeat' | 'replay' | 'task';

/**
 * How the summary of a compacted history is given to the model: a user message at the start of
 * the history, saying what it is.
 */
export function compactionSummaryMessage(summary: string): ChatMessage {
  return {
    role: 'user',
    content: `[Summary of the earlier part of this conversation, written when it was compacted to fit the context; the full history is kept on disk.]\n\n${summary}`,
  };
}
