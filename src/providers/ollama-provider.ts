import type { ProviderConfig } from '../config/schema.js';
import type { ChatMessage, ToolCall, Usage } from '../contracts/messages.js';
import type { FinishReason, ModelEvent, ModelProvider, ModelRequest } from '../contracts/model-provider.js';
import { createConnectionPool, ProviderHttpError } from './sse-post.js';
import type { ProviderDeps } from './stream-support.js';
import { configSecrets, parsePayload, type StreamDecoder, streamWire, syntheticCallId } from './wire-stream.js';

import { ollamaRoot } from './ollama-root.js';

export { ollamaRoot };

interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  tool_calls?: { function: { name: string; arguments: unknown } }[];
  tool_name?: string;
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return {};
  }
}

export function toOllamaMessages(system: string | undefined, messages: readonly ChatMessage[]): OllamaMessage[] {
  const out: OllamaMessage[] = system ? [{ role: 'system', content: system }] : [];
  for (const message of messages) {
    if (message.role === 'user') out.push({ role: 'user', content: message.content });
    else if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      out.push({ role: 'assistant', content: message.content, ...(calls.length > 0 ? { tool_calls: calls.map((call) => ({ function: { name: call.name, arguments: parseArguments(call.arguments) } })) } : {}) });
    } else out.push({ role: 'tool', content: message.content, tool_name: message.name });
  }
  return out;
}

export function encodeOllamaRequest(request: ModelRequest): string {
  return JSON.stringify({
    model: request.model,
    messages: toOllamaMessages(request.system, request.messages),
    ...(request.tools && request.tools.length > 0
      ? { tools: request.tools.map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } })) }
      : {}),
    stream: true,
    ...(request.maxTokens === undefined ? {} : { options: { num_predict: request.maxTokens } }),
  });
}

interface OllamaLine {
  message?: { content?: string; thinking?: string; tool_calls?: { id?: string; function?: { name?: string; arguments?: unknown } }[] };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

/** Reads `/api/chat` NDJSON lines: message.content, message.tool_calls (whole), the final line's counts. */
export function createOllamaDecoder(providerId: string): StreamDecoder {
  const calls: ToolCall[] = [];
  let usage: Usage | undefined;
  let reason: FinishReason | undefined;
  return {
    push(data) {
      const line = parsePayload<OllamaLine>(providerId, data);
      if (line.error !== undefined) throw new ProviderHttpError(500, {}, { message: line.error });
      for (const call of line.message?.tool_calls ?? []) {
        const args = call.function?.arguments;
        calls.push({ id: call.id || syntheticCallId(calls.length), name: call.function?.name ?? '', arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) });
      }
      if (line.done) {
        reason = line.done_reason === 'length' ? 'length' : 'stop';
        usage = { inputTokens: line.prompt_eval_count ?? 0, outputTokens: line.eval_count ?? 0 };
      }
      return line.message?.content || undefined;
    },
    end() {
      if (reason === undefined) return 'the stream ended before the final line (done: true)';
      return { toolCalls: calls, reason, ...(usage ? { usage } : {}) };
    },
  };
}

/** A ModelProvider for Ollama's native API (`POST /api/chat`, newline-delimited JSON). */
export function createOllamaProvider(id: string, config: ProviderConfig, _deps: ProviderDeps = {}): ModelProvider {
  const root = ollamaRoot(config.baseUrl);
  const secrets = configSecrets(config);
  const pool = createConnectionPool();
  const url = new URL(`${root}/api/chat`);
  const headers: Record<string, string> = { ...config.headers, ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) };
  function stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    return streamWire(id, config, pool, request, secrets, root, () => ({ url, headers, body: encodeOllamaRequest(request), format: 'ndjson' }), createOllamaDecoder(id));
  }
  return { id, api: config.api, stream, close: () => pool.destroy() };
}
