import type { ToolSpec } from './model-provider.js';

export interface ToolContext {
  /** Absolute, real path of the agent's workspace. Tools that touch files stay inside it. */
  workspaceDir: string;
  agentId: string;
  sessionKey: string;
  runId: string;
  signal: AbortSignal;
  now: () => Date;
}

/** What a tool returns. A failing tool returns `isError: true` with text the model can act on. */
export interface ToolResult {
  content: string;
  isError?: boolean;
  /** What the run record keeps besides the text the model saw (e.g. a memory retrieval's results and provider). */
  details?: Record<string, unknown>;
}

/**
 * A tool the agent can call. `execute` must not throw for expected failures (bad arguments,
 * missing files, paths outside the workspace): it returns an `isError` result instead.
 * `sideEffects` marks tools that change the world (used for policy and replays).
 */
export interface Tool {
  spec: ToolSpec;
  sideEffects: boolean;
  execute(args: unknown, context: ToolContext): Promise<ToolResult>;
}
