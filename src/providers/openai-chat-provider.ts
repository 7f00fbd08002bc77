import type {
  ChatCompletionChunk,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ProviderConfig } from '../config/schema.js';
import type { ChatMessage, ToolCall, Usage } from '../contracts/messages.js';
import type { FinishReason, ModelEvent, ModelProvider, ModelRequest, ToolSpec } from '../contracts/model-provider.js';
import { unpackMessages } from '../contracts/packed-messages.js';
import { type ErrorContext, providerBadResponseError } from './classify-error.js';
import { createConnectionPool, isIdleTimeout, postForEvents, ProviderHttpError } from './sse-post.js';
import { earlyFinish, type ProviderDeps } from './stream-support.js';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';
const OLLAMA_BASE_URL = 'http://127.0.0.1:11434/v1';
/** Sent when no key is configured: local OpenAI-compatible servers ignore it, the SDK needs one. */
const PLACEHOLDER_KEY = 'hearth-no-api-key';

/** Translates our transcript (system prompt, tool calls, tool results) to Chat Completions messages. */
export function toOpenAIMessages(request: Pick<ModelRequest, 'system' | 'messages'>): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  for (const message of request.messages) {
    if (message.role === 'user') {
      messages.push({ role: 'user', content: message.content });
    } else if (message.role === 'assistant') {
      const toolCalls = message.toolCalls ?? [];
      messages.push({
        role: 'assistant',
        content: message.content === '' && toolCalls.length > 0 ? null : message.content,
        ...(toolCalls.length > 0
          ? { tool_calls: toolCalls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments || '{}' } })) }
          : {}),
      });
    } else {
      messages.push({ role: 'tool', tool_call_id: message.toolCallId, content: message.content });
    }
  }
  return messages;
}

function mapFinishReason(reason: string | null, hasToolCalls: boolean): FinishReason {
  if (hasToolCalls) return 'tool-calls';
  return reason === 'length' ? 'length' : 'stop';
}

/** Collects streamed tool-call fragments (keyed by `index`) into complete calls. */
function createToolCallAssembler() {
  const calls: { id: string; name: string; arguments: string }[] = [];
  return {
    add(fragments: ChatCompletionChunk.Choice.Delta.ToolCall[]): void {
      for (const fragment of fragments) {
        const index = fragment.index ?? calls.length;
        const call = calls[index] ?? { id: '', name: '', arguments: '' };
        calls[index] = call;
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name && call.name === '') call.name = fragment.function.name;
        if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
      }
    },
    complete(): ToolCall[] {
      return calls
        .filter((call) => call !== undefined)
        .map((call, index) => ({ id: call.id || `call_${index}_${crypto.randomUUID().slice(0, 8)}`, name: call.name, arguments: call.arguments || '{}' }));
    },
    get size(): number {
      return calls.length;
    },
  };
}

/**
 * A ModelProvider for the OpenAI Chat Completions API and every server that imitates it (OpenAI,
 * Ollama's `/v1`, vLLM, LM Studio, llama.cpp). The SDK is loaded on first use; its own retries are
 * off (the model router retries). The stream ends with a `finish` event and never throws.
 */
/** The wire JSON of a message, kept on the message itself (not enumerable, not copied). */
const ENCODED_JSON = Symbol('openai-chat message JSON');
type EncodedMessage = ChatMessage & { [ENCODED_JSON]?: string };

export function createOpenAIChatProvider(id: string, config: ProviderConfig, deps: ProviderDeps = {}): ModelProvider {
  const baseUrl = config.baseUrl ?? (config.api === 'ollama' ? OLLAMA_BASE_URL : OPENAI_BASE_URL);
  const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((value) => value.length > 0);
  // OpenAI's own reasoning models refuse `max_tokens`; compatible servers mostly only know it.
  const maxTokensField = baseUrl.startsWith(OPENAI_BASE_URL) ? 'max_completion_tokens' : 'max_tokens';
  // Chat Completions is plain JSON over HTTP with server-sent events; speaking it directly over a
  // keep-alive pool costs a third of the official SDK's CPU per call and none of its memory.
  const pool = createConnectionPool();
  const endpoint = new URL(`${baseUrl.replace(/\/+$/, '')}/chat/completions`);
  const headers: Record<string, string> = { ...config.headers, authorization: `Bearer ${config.apiKey ?? PLACEHOLDER_KEY}` };

  /**
   * The JSON of each tool spec (and, on the message itself, of each message), kept while the
   * object lives: a session's history is the same objects turn after turn, so a request re-encodes
   * only what is new.
   */
  const encodedTools = new WeakMap<ToolSpec, string>();
  let encodedSystem: { text: string; json: string } | undefined;

  function encodeRequest(request: ModelRequest): string {
    const parts: string[] = [];
    if (request.system) {
      if (encodedSystem?.text !== request.system) {
        encodedSystem = { text: request.system, json: JSON.stringify({ role: 'system', content: request.system }) };
      }
      parts.push(encodedSystem.json);
    }
    if (request.history && request.history.ends.length > 0) {
      // A plain history's stored JSON is already Chat Completions JSON.
      if (request.history.plain) parts.push(request.history.json);
      else for (const message of unpackMessages(request.history)) parts.push(JSON.stringify(toOpenAIMessages({ messages: [message] })[0]));
    }
    for (const message of request.messages) {
      let json = (message as EncodedMessage)[ENCODED_JSON];
      if (json === undefined) {
        json = JSON.stringify(toOpenAIMessages({ messages: [message] })[0]);
        // A hidden property rather than a WeakMap: with a thousand sessions in rotation a WeakMap
        // holds hundreds of thousands of entries whose every GC must trace them as ephemerons.
        if (Object.isExtensible(message)) Object.defineProperty(message, ENCODED_JSON, { value: json });
      }
      parts.push(json);
    }
    const tools: string[] = [];
    for (const tool of request.tools ?? []) {
      let json = encodedTools.get(tool);
      if (json === undefined) {
        const wire: ChatCompletionFunctionTool = { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
        json = JSON.stringify(wire);
        encodedTools.set(tool, json);
      }
      tools.push(json);
    }
    return (
      `{"model":${JSON.stringify(request.model)},"messages":[${parts.join(',')}],"stream":true,"stream_options":{"include_usage":true}` +
      (tools.length > 0 ? `,"tools":[${tools.join(',')}]` : '') +
      (request.maxTokens === undefined ? '' : `,"${maxTokensField}":${request.maxTokens}`) +
      '}'
    );
  }

  async function* stream(request: ModelRequest): AsyncGenerator<ModelEvent, void, undefined> {
    const context: ErrorContext = { providerId: id, model: request.model, baseUrl, secrets };
    if (request.signal.aborted) {
      yield { type: 'finish', reason: 'aborted' };
      return;
    }
    const idleTimeoutMs = request.idleTimeoutMs ?? config.timeoutMs;
    // The connection pool enforces the idle timeout (no headers, or no body bytes, for
    // `idleTimeoutMs`), so a call needs no abort controller and timer of its own.
    const watchdog = { signal: request.signal, timedOut: false, touch() {}, pause() {}, resume() {}, dispose() {} };
    const toolCalls = createToolCallAssembler();
    let usage: Usage | undefined;
    let finishReason: string | null = null;
    let sawChunk = false;
    try {
      const body = encodeRequest(request);
      for await (const data of postForEvents({ url: endpoint, headers, body, signal: request.signal, idleTimeoutMs, pool })) {
        watchdog.touch();
        let chunk: ChatCompletionChunk & { error?: unknown };
        try {
          chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
        } catch (error) {
          throw providerBadResponseError(id, `a stream chunk is not JSON: ${data.slice(0, 80)}`, error);
        }
        if (chunk.error !== undefined) throw new ProviderHttpError(200, {}, chunk.error);
        sawChunk = true;
        if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens ?? 0, outputTokens: chunk.usage.completion_tokens ?? 0 };
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        if (choice.delta?.tool_calls) toolCalls.add(choice.delta.tool_calls);
        if (choice.finish_reason) finishReason = choice.finish_reason;
        const text = choice.delta?.content;
        if (text) {
          watchdog.pause();
          yield { type: 'text-delta', text };
          watchdog.resume();
        }
      }
    } catch (error) {
      watchdog.timedOut = isIdleTimeout(error);
      yield earlyFinish(error, watchdog, request.signal, idleTimeoutMs, context);
      return;
    }
    // An abort can end the response quietly, so check why the loop ended.
    if (watchdog.timedOut || request.signal.aborted) {
      yield earlyFinish(undefined, watchdog, request.signal, idleTimeoutMs, context);
      return;
    }
    if (!sawChunk) {
      yield { type: 'finish', reason: 'error', error: providerBadResponseError(id, 'the stream ended without any data') };
      return;
    }
    if (finishReason === null) deps.logger?.warn({ providerId: id, model: request.model }, 'model stream ended without a finish_reason');
    for (const call of toolCalls.complete()) yield { type: 'tool-call', ...call };
    yield { type: 'finish', reason: mapFinishReason(finishReason, toolCalls.size > 0), ...(usage ? { usage } : {}) };
  }

  return { id, api: config.api, readsPackedHistory: true, stream, close: () => pool.destroy() };
}
