import type { ToolSpec } from './model-provider.js';

export interface ToolContext {
  /** Absolute, real path of the agent's workspace. Tools that touch files stay inside it. */
  workspaceDir: string;
  agentId: string;
  sessionKey: string;
  runId: string;
  signal: AbortSignal;
  now: () => Date;
  /** What the run has taken in that its owner did not write (absent: trusted, e.g. in tests). */
  trust?: RunTrust;
}

/**
 * Whether a run has taken in text from outside: a message from someone other than the owner, or
 * a tool result marked untrusted. Once untrusted, a run stays so; memory it writes is `untrusted`.
 */
export interface RunTrust {
  /** Why the run is untrusted (the first reason), or null while it is not. */
  readonly untrusted: string | null;
  /** Marks the run untrusted; the first reason is kept. */
  markUntrusted(reason: string): void;
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
