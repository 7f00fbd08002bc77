import type Anthropic from '@anthropic-ai/sdk';
import type { ProviderConfig } from '../config/schema.js';
import type { Usage } from '../contracts/messages.js';
import type { FinishReason, ModelEvent, ModelProvider, ModelRequest } from '../contracts/model-provider.js';
import { classifyProviderError, type ErrorContext, providerBadResponseError } from './classify-error.js';
import { createIdleWatchdog, earlyFinish, type ProviderDeps } from './stream-support.js';

const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
const DEFAULT_MAX_TOKENS = 4096;
/** Sent when no key is configured, so the API answers 401 with a clear message instead of the SDK guessing credentials. */
const PLACEHOLDER_KEY = 'hearth-no-api-key';

type ContentBlock = Anthropic.ContentBlockParam;

function parseInput(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Translates our transcript to Messages API turns. Consecutive messages of one role are merged
 * into one turn (so consecutive tool results become one user message, results first), and empty
 * text is dropped because the API rejects empty content blocks.
 */
export function toAnthropicMessages(messages: ModelRequest['messages']): Anthropic.MessageParam[] {
  const turns: { role: 'user' | 'assistant'; content: ContentBlock[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    if (message.role === 'user') {
      push('user', message.content === '' ? [] : [{ type: 'text', text: message.content }]);
    } else if (message.role === 'assistant') {
      const blocks: ContentBlock[] = message.content === '' ? [] : [{ type: 'text', text: message.content }];
      for (const call of message.toolCalls ?? []) blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: parseInput(call.arguments) });
      push('assistant', blocks);
    } else {
      push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content, ...(message.isError ? { is_error: true } : {}) }]);
    }
  }
  return turns;
}

function mapStopReason(reason: string | null | undefined): FinishReason {
  if (reason === 'tool_use') return 'tool-calls';
  if (reason === 'max_tokens' || reason === 'model_context_window_exceeded') return 'length';
  return 'stop';
}

/** Anthropic's base URL is the host; accept a configured `…/v1` too, since the SDK appends it. */
function normalizeBaseUrl(baseUrl: string | undefined): string {
  return (baseUrl ?? ANTHROPIC_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
}

/**
 * A ModelProvider for the Anthropic Messages API. The SDK is loaded on first use; its own retries
 * are off (the model router retries). `maxTokens` defaults to 4096. The stream ends with a
 * `finish` event and never throws.
 */
export function createAnthropicMessagesProvider(id: string, config: ProviderConfig, deps: ProviderDeps = {}): ModelProvider {
  const baseUrl = normalizeBaseUrl(config.baseUrl);
  const secrets = [config.apiKey ?? '', ...Object.values(config.headers ?? {})].filter((value) => value.length > 0);
  let client: Promise<Anthropic> | undefined;

  function getClient(): Promise<Anthropic> {
    client ??= import('@anthropic-ai/sdk').then(
      ({ default: AnthropicClient }) =>
        new AnthropicClient({
          apiKey: config.apiKey ?? PLACEHOLDER_KEY,
          baseURL: baseUrl,
          defaultHeaders: config.headers,
          maxRetries: 0,
          timeout: config.timeoutMs,
          logLevel: 'off',
        }),
    );
    return client;
  }

  async function* stream(request: ModelRequest): AsyncGenerator<ModelEvent, void, undefined> {
    const context: ErrorContext = { providerId: id, model: request.model, baseUrl, secrets };
    if (request.signal.aborted) {
      yield { type: 'finish', reason: 'aborted' };
      return;
    }
    const idleTimeoutMs = request.idleTimeoutMs ?? config.timeoutMs;
    // Load the SDK before the idle clock starts: the first import must not count as server silence.
    let anthropic: Anthropic;
    try {
      anthropic = await getClient();
    } catch (error) {
      yield { type: 'finish', reason: 'error', error: classifyProviderError(error, context) };
      return;
    }
    if (request.signal.aborted) {
      yield { type: 'finish', reason: 'aborted' };
      return;
    }
    const watchdog = createIdleWatchdog(request.signal, idleTimeoutMs);
    const toolBlocks: Record<number, { id: string; name: string; json: string }> = {};
    const usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let stopReason: string | null | undefined;
    let stopped = false;
    try {
      const body: Anthropic.MessageCreateParamsStreaming = {
        model: request.model,
        max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
        messages: toAnthropicMessages(request.messages),
        stream: true,
        ...(request.system ? { system: request.system } : {}),
        ...(request.tools?.length
          ? {
              tools: request.tools.map((tool) => ({
                name: tool.name,
                description: tool.description,
                input_schema: { ...tool.parameters, type: 'object' as const },
              })),
            }
          : {}),
      };
      const events = await anthropic.messages.create(body, { signal: watchdog.signal });
      for await (const event of events) {
        watchdog.touch();
        let text: string | undefined;
        let toolCall: ModelEvent | undefined;
        switch (event.type) {
          case 'message_start': {
            const start = event.message.usage;
            usage.inputTokens = start.input_tokens + (start.cache_creation_input_tokens ?? 0) + (start.cache_read_input_tokens ?? 0);
            usage.outputTokens = start.output_tokens;
            break;
          }
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              toolBlocks[event.index] = { id: event.content_block.id, name: event.content_block.name, json: '' };
            } else if (event.content_block.type === 'text' && event.content_block.text) {
              text = event.content_block.text;
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') text = event.delta.text;
            else if (event.delta.type === 'input_json_delta') {
              const block = toolBlocks[event.index];
              if (block) block.json += event.delta.partial_json;
            }
            break;
          case 'content_block_stop': {
            const block = toolBlocks[event.index];
            if (block) {
              delete toolBlocks[event.index];
              toolCall = { type: 'tool-call', id: block.id, name: block.name, arguments: block.json || '{}' };
            }
            break;
          }
          case 'message_delta':
            stopReason = event.delta.stop_reason;
            usage.outputTokens = event.usage.output_tokens;
            if (typeof event.usage.input_tokens === 'number') {
              usage.inputTokens = event.usage.input_tokens + (event.usage.cache_creation_input_tokens ?? 0) + (event.usage.cache_read_input_tokens ?? 0);
            }
            break;
          case 'message_stop':
            stopped = true;
            break;
        }
        const out: ModelEvent | undefined = text ? { type: 'text-delta', text } : toolCall;
        if (out) {
          watchdog.pause();
          yield out;
          watchdog.resume();
        }
      }
    } catch (error) {
      yield earlyFinish(error, watchdog, request.signal, idleTimeoutMs, context);
      return;
    } finally {
      watchdog.dispose();
    }
    // The SDK ends iteration quietly when its signal aborts, so check why the loop ended.
    if (watchdog.timedOut || request.signal.aborted) {
      yield earlyFinish(undefined, watchdog, request.signal, idleTimeoutMs, context);
      return;
    }
    if (!stopped && stopReason === undefined) {
      yield { type: 'finish', reason: 'error', error: providerBadResponseError(id, 'the stream ended before message_stop') };
      return;
    }
    if (!stopped) deps.logger?.warn({ providerId: id, model: request.model }, 'model stream ended without message_stop');
    yield { type: 'finish', reason: mapStopReason(stopReason), usage };
  }

  return { id, api: config.api, stream };
}
