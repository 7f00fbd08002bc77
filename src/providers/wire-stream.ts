import type { ProviderConfig } from '../config/schema.js';
import type { ToolCall, Usage } from '../contracts/messages.js';
import type { FinishReason, ModelEvent, ModelRequest } from '../contracts/model-provider.js';
import { type ErrorContext, providerBadResponseError } from './classify-error.js';
import { type ConnectionPool, isIdleTimeout, postForEvents } from './sse-post.js';
import { earlyFinish } from './stream-support.js';

/** How a call ended, as read from the wire. */
export interface DecodedEnd {
  toolCalls: ToolCall[];
  reason: FinishReason;
  usage?: Usage;
}

/**
 * Reads one provider's streamed payloads. `push` takes one payload (an SSE `data:` or an NDJSON
 * line) and returns the text to stream, if any; it throws (a ProviderHttpError for an error sent
 * in the stream) to fail the call. `end` returns how the call ended, or a string explaining why
 * what arrived is not a complete answer.
 */
export interface StreamDecoder {
  push(data: string): string | undefined;
  end(): DecodedEnd | string;
}

export interface WireCall {
  url: URL;
  headers: Record<string, string>;
  body: string;
  format?: 'sse' | 'ndjson';
}

/** Parses a payload as JSON, or fails the call as a bad response. */
export function parsePayload<T>(providerId: string, data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch (error) {
    throw providerBadResponseError(providerId, `a stream chunk is not JSON: ${data.slice(0, 80)}`, error);
  }
}

/** A tool-call id for wires that have none (Ollama, older Gemini models). */
export function syntheticCallId(index: number): string {
  return `call_${index}_${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Streams one call over a keep-alive pool and turns the decoded payloads into ModelEvents: text
 * deltas as they come, then the tool calls, then exactly one `finish`. Never throws.
 */
export async function* streamWire(
  providerId: string,
  config: ProviderConfig,
  pool: ConnectionPool,
  request: ModelRequest,
  secrets: readonly string[],
  baseUrl: string,
  build: () => WireCall,
  decoder: StreamDecoder,
  /** Rewrites a wire's own way of saying something (Gemini's 400 for a bad key) before classification. */
  mapError: (error: unknown) => unknown = (error) => error,
): AsyncGenerator<ModelEvent, void, undefined> {
  const context: ErrorContext = { providerId, model: request.model, baseUrl, secrets };
  if (request.signal.aborted) {
    yield { type: 'finish', reason: 'aborted' };
    return;
  }
  const idleTimeoutMs = request.idleTimeoutMs ?? config.timeoutMs;
  const watchdog = { signal: request.signal, timedOut: false, touch() {}, pause() {}, resume() {}, dispose() {} };
  try {
    const call = build();
    for await (const data of postForEvents({ ...call, signal: request.signal, idleTimeoutMs, pool })) {
      const text = decoder.push(data);
      if (text) yield { type: 'text-delta', text };
    }
  } catch (error) {
    watchdog.timedOut = isIdleTimeout(error);
    yield earlyFinish(mapError(error), watchdog, request.signal, idleTimeoutMs, context);
    return;
  }
  if (request.signal.aborted) {
    yield earlyFinish(undefined, watchdog, request.signal, idleTimeoutMs, context);
    return;
  }
  const ended = decoder.end();
  if (typeof ended === 'string') {
    yield { type: 'finish', reason: 'error', error: providerBadResponseError(providerId, ended) };
    return;
  }
  for (const call of ended.toolCalls) yield { type: 'tool-call', ...call };
  yield { type: 'finish', reason: ended.toolCalls.length > 0 ? 'tool-calls' : ended.reason, ...(ended.usage ? { usage: ended.usage } : {}) };
}

/** The secrets of a provider config (key and header values), never to appear in messages. */
export function configSecrets(config: ProviderConfig): string[] {
  return [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((value) => value.length > 0);
}
