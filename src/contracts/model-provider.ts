import type { HearthError } from './errors.js';
import type { ChatMessage, Usage } from './messages.js';
import type { PackedMessages } from './packed-messages.js';

/** A tool as described to a model: name, description and a JSON Schema for its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  /** The provider's own model id (without the `provider/` prefix). */
  model: string;
  system?: string;
  /**
   * The session's history before `messages`, packed. Only a provider that says
   * `readsPackedHistory` receives it; for the others the router unpacks it in front of `messages`.
   */
  history?: PackedMessages;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxTokens?: number;
  /** Aborts the request; the stream then ends with a `finish` event whose reason is `aborted`. */
  signal: AbortSignal;
  /** Gives up when no byte arrives for this long (a stalled stream), in milliseconds. */
  idleTimeoutMs?: number;
}

export type FinishReason = 'stop' | 'tool-calls' | 'length' | 'error' | 'aborted';

/**
 * Events of one model call. A stream never throws once iteration begins: it always ends with
 * exactly one `finish` event, carrying a classified `error` when the reason is `error`.
 * `tool-call` events carry complete calls (arguments fully assembled).
 */
export type ModelEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call'; id: string; name: string; arguments: string }
  | { type: 'finish'; reason: FinishReason; usage?: Usage; error?: HearthError };

/** One configured provider endpoint (`models.providers.<id>`). */
export interface ModelProvider {
  readonly id: string;
  readonly api: string;
  /** The provider sends `request.history` itself (see ModelRequest.history). */
  readonly readsPackedHistory?: boolean;
  stream(request: ModelRequest): AsyncIterable<ModelEvent>;
  /** Releases connections the provider keeps open. */
  close?(): void;
}

/** A model event as the router yields it: the finish event names the model actually used. */
export type RoutedModelEvent = ModelEvent & { modelRef?: string };

/**
 * Picks a provider by model ref (`provider/model`), retries retryable failures that happen before
 * any output, and falls back along the list of refs. Like a provider stream, it never throws
 * once iteration begins.
 */
export interface ModelRouter {
  stream(modelRefs: string[], request: Omit<ModelRequest, 'model'>): AsyncIterable<RoutedModelEvent>;
  has(modelRef: string): boolean;
  list(): string[];
}
