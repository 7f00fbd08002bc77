import type { ProviderConfig } from '../config/schema.js';
import type { ChatMessage, ToolCall, Usage } from '../contracts/messages.js';
import type { FinishReason, ModelEvent, ModelProvider, ModelRequest } from '../contracts/model-provider.js';
import { createConnectionPool, ProviderHttpError } from './sse-post.js';
import type { ProviderDeps } from './stream-support.js';
import { configSecrets, parsePayload, type StreamDecoder, streamWire, syntheticCallId } from './wire-stream.js';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** One input item of the Responses API. */
type ResponsesInputItem =
  | { role: 'user' | 'assistant'; content: string }
  | { type: 'function_call'; call_id: string; name: string; arguments: string }
  | { type: 'function_call_output'; call_id: string; output: string };

/** Translates our transcript to Responses API input items (tool calls and results are items of their own). */
export function toResponsesInput(messages: readonly ChatMessage[]): ResponsesInputItem[] {
  const items: ResponsesInputItem[] = [];
  for (const message of messages) {
    if (message.role === 'user') items.push({ role: 'user', content: message.content });
    else if (message.role === 'assistant') {
      if (message.content !== '') items.push({ role: 'assistant', content: message.content });
      for (const call of message.toolCalls ?? []) items.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: call.arguments || '{}' });
    } else items.push({ type: 'function_call_output', call_id: message.toolCallId, output: message.content });
  }
  return items;
}

/** The HTTP status an error sent inside the stream stands for, so it classifies like a refused request. */
const STREAM_ERROR_STATUS: Record<string, number> = {
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  context_length_exceeded: 400,
  invalid_prompt: 400,
  invalid_request_error: 400,
  server_error: 500,
  overloaded: 503,
  invalid_api_key: 401,
};

function streamError(error: { code?: unknown; message?: unknown; type?: unknown } | undefined): ProviderHttpError {
  const code = typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : 'server_error';
  return new ProviderHttpError(STREAM_ERROR_STATUS[code] ?? 500, {}, { message: typeof error?.message === 'string' ? error.message : 'the response failed', code });
}

interface ResponsesEvent {
  type?: string;
  delta?: string;
  output_index?: number;
  item_id?: string;
  arguments?: string;
  item?: { type?: string; id?: string; call_id?: string; name?: string; arguments?: string };
  response?: {
    status?: string;
    usage?: { input_tokens?: number; output_tokens?: number } | null;
    incomplete_details?: { reason?: string } | null;
    error?: { code?: string; message?: string } | null;
  };
  code?: string;
  message?: string;
}

/** Reads the Responses API's SSE events: output text deltas, function calls with streamed arguments, the completed response's usage. */
export function createResponsesDecoder(providerId: string): StreamDecoder {
  const calls = new Map<number, { id: string; name: string; arguments: string; itemId: string; done: boolean }>();
  let usage: Usage | undefined;
  let reason: FinishReason | undefined;
  return {
    push(data) {
      const event = parsePayload<ResponsesEvent>(providerId, data);
      switch (event.type) {
        case 'response.output_text.delta':
          return event.delta;
        case 'response.output_item.added':
          if (event.item?.type === 'function_call') {
            calls.set(event.output_index ?? calls.size, { id: event.item.call_id ?? '', name: event.item.name ?? '', arguments: event.item.arguments ?? '', itemId: event.item.id ?? '', done: false });
          }
          return undefined;
        case 'response.function_call_arguments.delta': {
          const call = calls.get(event.output_index ?? -1) ?? [...calls.values()].find((entry) => entry.itemId === event.item_id);
          if (call && !call.done) call.arguments += event.delta ?? '';
          return undefined;
        }
        case 'response.function_call_arguments.done': {
          const call = calls.get(event.output_index ?? -1) ?? [...calls.values()].find((entry) => entry.itemId === event.item_id);
          if (call && typeof event.arguments === 'string') {
            call.arguments = event.arguments;
            call.done = true;
          }
          return undefined;
        }
        case 'response.output_item.done':
          if (event.item?.type === 'function_call') {
            const call = calls.get(event.output_index ?? -1);
            if (call) {
              if (event.item.call_id) call.id = event.item.call_id;
              if (event.item.name) call.name = event.item.name;
              if (typeof event.item.arguments === 'string') call.arguments = event.item.arguments;
              call.done = true;
            }
          }
          return undefined;
        case 'response.completed':
        case 'response.incomplete': {
          const used = event.response?.usage;
          if (used) usage = { inputTokens: used.input_tokens ?? 0, outputTokens: used.output_tokens ?? 0 };
          reason = event.type === 'response.incomplete' && event.response?.incomplete_details?.reason === 'max_output_tokens' ? 'length' : 'stop';
          return undefined;
        }
        case 'response.failed':
          throw streamError(event.response?.error ?? undefined);
        case 'error':
          throw streamError(event);
        default:
          return undefined;
      }
    },
    end() {
      if (reason === undefined) return 'the stream ended before response.completed';
      const toolCalls: ToolCall[] = [...calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, call], index) => ({ id: call.id || syntheticCallId(index), name: call.name, arguments: call.arguments || '{}' }));
      return { toolCalls, reason, ...(usage ? { usage } : {}) };
    },
  };
}

/** The JSON body of a streamed Responses API call (stateless: `store: false`, the whole transcript each time). */
export function encodeResponsesRequest(request: ModelRequest): string {
  return JSON.stringify({
    model: request.model,
    ...(request.system ? { instructions: request.system } : {}),
    input: toResponsesInput(request.messages),
    ...(request.tools && request.tools.length > 0
      ? { tools: request.tools.map((tool) => ({ type: 'function', name: tool.name, description: tool.description, parameters: tool.parameters, strict: false })) }
      : {}),
    ...(request.maxTokens === undefined ? {} : { max_output_tokens: request.maxTokens }),
    store: false,
    stream: true,
  });
}

/** A ModelProvider for OpenAI's Responses API (`POST /v1/responses`, server-sent events). */
export function createOpenAIResponsesProvider(id: string, config: ProviderConfig, _deps: ProviderDeps = {}): ModelProvider {
  const baseUrl = (config.baseUrl ?? OPENAI_BASE_URL).replace(/\/+$/, '');
  const secrets = configSecrets(config);
  const pool = createConnectionPool();
  const url = new URL(`${baseUrl}/responses`);
  const headers: Record<string, string> = { ...config.headers, ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) };
  function stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    return streamWire(id, config, pool, request, secrets, baseUrl, () => ({ url, headers, body: encodeResponsesRequest(request) }), createResponsesDecoder(id));
  }
  return { id, api: config.api, stream, close: () => pool.destroy() };
}
