import type { ProviderConfig } from '../config/schema.js';
import type { ChatMessage, ToolCall, Usage } from '../contracts/messages.js';
import type { FinishReason, ModelEvent, ModelProvider, ModelRequest } from '../contracts/model-provider.js';
import { createConnectionPool, ProviderHttpError } from './sse-post.js';
import type { ProviderDeps } from './stream-support.js';
import { configSecrets, parsePayload, type StreamDecoder, streamWire, syntheticCallId } from './wire-stream.js';

const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';
/** Separates a call id from the thought signature Gemini asks to be sent back with the call. */
const SIGNATURE_MARK = '~sig~';

type GeminiPart =
  | { text: string }
  | { functionCall: { name: string; args: unknown; id?: string }; thoughtSignature?: string }
  | { functionResponse: { name: string; response: Record<string, unknown>; id?: string } };

interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** Schema keywords Gemini's OpenAPI-subset `Schema` accepts; the others (`$schema`, `additionalProperties`…) are dropped. */
const SCHEMA_KEYS: readonly string[] = ['type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'anyOf', 'items', 'minimum', 'maximum', 'default'];

/** A JSON Schema cut down to what Gemini's function declarations accept. */
export function toGeminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toGeminiSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!SCHEMA_KEYS.includes(key)) continue;
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, toGeminiSchema(inner)]));
    } else if (key === 'type' && Array.isArray(value)) {
      // ["string", "null"] → type string, nullable
      const types = value.filter((entry) => entry !== 'null');
      out.type = types[0] ?? 'string';
      if (types.length < value.length) out.nullable = true;
    } else out[key] = key === 'items' || key === 'anyOf' ? toGeminiSchema(value) : value;
  }
  return out;
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return {};
  }
}

/** Translates our transcript to Gemini `contents`; consecutive tool results share one user turn. */
export function toGeminiContents(messages: readonly ChatMessage[]): GeminiContent[] {
  const contents: GeminiContent[] = [];
  for (const message of messages) {
    if (message.role === 'user') contents.push({ role: 'user', parts: [{ text: message.content }] });
    else if (message.role === 'assistant') {
      const parts: GeminiPart[] = message.content === '' ? [] : [{ text: message.content }];
      for (const call of message.toolCalls ?? []) {
        const mark = call.id.indexOf(SIGNATURE_MARK);
        const signature = mark === -1 ? undefined : call.id.slice(mark + SIGNATURE_MARK.length);
        parts.push({ functionCall: { name: call.name, args: parseArguments(call.arguments) }, ...(signature ? { thoughtSignature: signature } : {}) });
      }
      contents.push({ role: 'model', parts: parts.length > 0 ? parts : [{ text: '' }] });
    } else {
      const parsed = parseArguments(message.content);
      const response = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && message.content.trim().startsWith('{') ? (parsed as Record<string, unknown>) : { content: message.content };
      const part: GeminiPart = { functionResponse: { name: message.name, response: message.isError ? { error: message.content } : response } };
      const last = contents[contents.length - 1];
      if (last?.role === 'user' && last.parts.every((entry) => 'functionResponse' in entry)) last.parts.push(part);
      else contents.push({ role: 'user', parts: [part] });
    }
  }
  return contents;
}

export function encodeGeminiRequest(request: ModelRequest): string {
  return JSON.stringify({
    contents: toGeminiContents(request.messages),
    ...(request.system ? { systemInstruction: { parts: [{ text: request.system }] } } : {}),
    ...(request.tools && request.tools.length > 0
      ? { tools: [{ functionDeclarations: request.tools.map((tool) => ({ name: tool.name, description: tool.description, parameters: toGeminiSchema(tool.parameters) })) }] }
      : {}),
    ...(request.maxTokens === undefined ? {} : { generationConfig: { maxOutputTokens: request.maxTokens } }),
  });
}

interface GeminiChunk {
  candidates?: { content?: { parts?: { text?: string; thought?: boolean; functionCall?: { name?: string; args?: unknown; id?: string }; thoughtSignature?: string }[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
  promptFeedback?: { blockReason?: string };
  error?: { code?: number; message?: string; status?: string };
}

/** Reads `streamGenerateContent?alt=sse` chunks: text parts, whole function calls, usageMetadata, finishReason. */
export function createGeminiDecoder(providerId: string): StreamDecoder {
  const calls: ToolCall[] = [];
  let usage: Usage | undefined;
  let reason: FinishReason | undefined;
  let sawChunk = false;
  let emitted = false;
  return {
    push(data) {
      const chunk = parsePayload<GeminiChunk>(providerId, data);
      if (chunk.error) throw new ProviderHttpError(chunk.error.code ?? 500, {}, { message: chunk.error.message, status: chunk.error.status });
      sawChunk = true;
      if (chunk.usageMetadata) {
        usage = { inputTokens: chunk.usageMetadata.promptTokenCount ?? 0, outputTokens: (chunk.usageMetadata.candidatesTokenCount ?? 0) + (chunk.usageMetadata.thoughtsTokenCount ?? 0) };
      }
      if (chunk.promptFeedback?.blockReason) throw new ProviderHttpError(400, {}, { message: `the prompt was blocked (${chunk.promptFeedback.blockReason})` });
      const candidate = chunk.candidates?.[0];
      if (!candidate) return undefined;
      let text = '';
      for (const part of candidate.content?.parts ?? []) {
        if (part.functionCall) {
          const base = part.functionCall.id || syntheticCallId(calls.length);
          const id = part.thoughtSignature ? `${base}${SIGNATURE_MARK}${part.thoughtSignature}` : base;
          calls.push({ id, name: part.functionCall.name ?? '', arguments: JSON.stringify(part.functionCall.args ?? {}) });
        } else if (typeof part.text === 'string' && part.thought !== true) text += part.text;
      }
      if (text !== '') emitted = true;
      if (candidate.finishReason) {
        reason = candidate.finishReason === 'MAX_TOKENS' ? 'length' : 'stop';
        // Blocked before saying anything (SAFETY, RECITATION, PROHIBITED_CONTENT…): a refusal, not an empty answer.
        if (!emitted && calls.length === 0 && !['STOP', 'MAX_TOKENS', 'FINISH_REASON_UNSPECIFIED'].includes(candidate.finishReason)) {
          throw new ProviderHttpError(400, {}, { message: `the model stopped without answering (finishReason ${candidate.finishReason})` });
        }
      }
      return text === '' ? undefined : text;
    },
    end() {
      if (!sawChunk) return 'the stream ended without any data';
      return { toolCalls: calls, reason: reason ?? 'stop', ...(usage ? { usage } : {}) };
    },
  };
}

/** Gemini refuses a wrong key with a 400 (reason API_KEY_INVALID); it is an authentication failure. */
export function geminiAuthError(error: unknown): unknown {
  if (!(error instanceof ProviderHttpError) || error.status !== 400) return error;
  const text = JSON.stringify(error.error ?? '');
  return /API_KEY_INVALID|API key not valid/.test(text) ? new ProviderHttpError(401, error.headers, error.error) : error;
}

/** A ModelProvider for the Gemini API (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, `x-goog-api-key`). */
export function createGoogleGeminiProvider(id: string, config: ProviderConfig, _deps: ProviderDeps = {}): ModelProvider {
  const baseUrl = (config.baseUrl ?? GEMINI_BASE_URL).replace(/\/+$/, '');
  const secrets = configSecrets(config);
  const pool = createConnectionPool();
  const headers: Record<string, string> = { ...config.headers, ...(config.apiKey ? { 'x-goog-api-key': config.apiKey } : {}) };
  function stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    const model = request.model.startsWith('models/') ? request.model.slice('models/'.length) : request.model;
    const url = new URL(`${baseUrl}/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`);
    return streamWire(id, config, pool, request, secrets, baseUrl, () => ({ url, headers, body: encodeGeminiRequest(request) }), createGeminiDecoder(id), geminiAuthError);
  }
  return { id, api: config.api, stream, close: () => pool.destroy() };
}
