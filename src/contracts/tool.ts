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
  /**
   * Asks the operator to allow something the policy leaves to them (exec approvals) and waits for
   * the answer; the turn's timeout does not run meanwhile. Absent when nobody can be asked.
   */
  askOperator?(question: OperatorQuestion): Promise<OperatorAnswer>;
}

export interface OperatorQuestion {
  tool: string;
  command: string;
  /** The folder it runs in, as the agent gave it (relative to the workspace). */
  cwd: string;
  /** Whether "allow always" may be offered: the command's words become an allowed pattern. */
  canAlways: boolean;
  /** How long to wait for an answer before it counts as denied, in ms. */
  waitMs: number;
}

export interface OperatorAnswer {
  id: string;
  decision: 'approved' | 'denied' | 'expired';
  always: boolean;
  by: string | null;
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
