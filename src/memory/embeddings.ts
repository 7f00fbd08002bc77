import type { ProviderConfig } from '../config/schema.js';
import { ollamaRoot } from '../providers/ollama-root.js';
import { deadlineSignal } from '../runtime/deadline.js';

/**
 * Exactly which endpoint and model embed an agent's memory, resolved from `models.providers` and
 * carried unchanged into every request, every call record and the index itself, so a query is
 * never embedded by a different provider than the one the index was built with.
 */
export interface EmbeddingIdentity {
  providerId: string;
  baseUrl: string;
  model: string;
}

/** One embedding request, as `hearth memory provider-audit` lists it. */
export interface EmbeddingCall extends EmbeddingIdentity {
  at: number;
  texts: number;
  durationMs: number;
  status: 'ok' | 'error';
  error?: string;
}

export interface EmbeddingClient {
  readonly identity: EmbeddingIdentity;
  /** One vector per text, in order; rejects with a message naming the provider on any failure. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

const DEFAULT_BASE_URLS: Partial<Record<ProviderConfig['api'], string>> = {
  'openai-chat': 'https://api.openai.com/v1',
  'openai-responses': 'https://api.openai.com/v1',
  ollama: 'http://127.0.0.1:11434/v1',
};

/**
 * Resolves `memory.embeddings {provider, model}` against the configured providers: the OpenAI
 * APIs and Ollama serve `/embeddings` (OpenAI's wire format); the others have no embeddings
 * endpoint Hearth speaks, which is a configuration error naming the fix.
 */
export function resolveEmbeddingIdentity(
  providers: Record<string, ProviderConfig>,
  choice: { provider: string; model: string },
): { identity: EmbeddingIdentity; config: ProviderConfig } | { error: string } {
  const config = providers[choice.provider];
  if (!config) {
    const known = Object.keys(providers);
    return { error: `memory.embeddings.provider '${choice.provider}' is not configured under models.providers${known.length ? ` (configured: ${known.join(', ')})` : ''}` };
  }
  // Ollama's chat adapter speaks its native API at the server root; embeddings use its OpenAI-compatible /v1.
  const baseUrl = config.api === 'ollama' ? `${ollamaRoot(config.baseUrl)}/v1` : (config.baseUrl ?? DEFAULT_BASE_URLS[config.api]);
  if (!baseUrl) {
    return { error: `memory.embeddings.provider '${choice.provider}' uses the ${config.api} API, which has no embeddings endpoint Hearth speaks; use an openai-chat, openai-responses or ollama provider` };
  }
  return { identity: { providerId: choice.provider, baseUrl: baseUrl.replace(/\/+$/u, ''), model: choice.model }, config };
}

/** Calls `<baseUrl>/embeddings` with the resolved identity; `onCall` hears of every request. */
export function createEmbeddingClient(
  identity: EmbeddingIdentity,
  config: Pick<ProviderConfig, 'apiKey' | 'headers' | 'timeoutMs'>,
  options: { onCall?: (call: EmbeddingCall) => void; now?: () => number } = {},
): EmbeddingClient {
  const now = options.now ?? Date.now;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  return {
    identity,
    async embed(texts, signal) {
      if (texts.length === 0) return [];
      const started = now();
      const record = (status: 'ok' | 'error', error?: string) =>
        options.onCall?.({ ...identity, at: started, texts: texts.length, durationMs: now() - started, status, ...(error ? { error } : {}) });
      try {
        const deadline = deadlineSignal(config.timeoutMs ?? 60_000, signal);
        const vectors = await requestEmbeddings(identity, headers, texts, deadline.signal).finally(deadline.clear);
        record('ok');
        return vectors;
      } catch (error) {
        const message = `embedding through ${identity.providerId} (${identity.baseUrl}, model ${identity.model}) failed: ${error instanceof Error ? error.message : String(error)}`;
        record('error', message);
        throw new Error(message);
      }
    },
  };
}

async function requestEmbeddings(identity: EmbeddingIdentity, headers: Record<string, string>, texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
  const response = await fetch(`${identity.baseUrl}/embeddings`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: identity.model, input: texts, encoding_format: 'float' }),
    signal,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as { data?: { index?: number; embedding?: unknown }[] };
  if (!Array.isArray(body.data) || body.data.length !== texts.length) throw new Error(`expected ${texts.length} embeddings, got ${Array.isArray(body.data) ? body.data.length : 'none'}`);
  const vectors: Float32Array[] = new Array(texts.length);
  body.data.forEach((item, position) => {
    const index = typeof item.index === 'number' ? item.index : position;
    if (!Array.isArray(item.embedding) || item.embedding.some((value) => typeof value !== 'number')) throw new Error(`embedding ${index} is not a list of numbers`);
    vectors[index] = Float32Array.from(item.embedding as number[]);
  });
  const dimensions = vectors[0]?.length ?? 0;
  if (dimensions === 0 || vectors.some((vector) => vector?.length !== dimensions)) throw new Error('the embeddings differ in length');
  return vectors;
}
