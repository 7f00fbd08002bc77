import type { ProviderConfig } from '../config/schema.js';
import type { ModelProvider } from '../contracts/model-provider.js';
import { classifyProviderError } from './classify-error.js';
import { defaultProviderFactory, parseModelRef, type ProviderFactory } from './model-router.js';
import { deadlineSignal } from '../runtime/deadline.js';

/** What one tiny request to a model found. */
export interface ModelProbe {
  ref: string;
  ok: boolean;
  /** Until the answer ended (or failed), in milliseconds. */
  latencyMs: number;
  /** Until the first streamed text, when there was any. */
  firstTextMs?: number;
  /** The start of the answer, at most 40 characters. */
  reply?: string;
  /** The error class (PROVIDER_AUTH, PROVIDER_RATE_LIMITED, PROVIDER_OVERLOADED, CONTEXT_OVERFLOW, PROVIDER_TIMEOUT, NO_MODEL…) and message. */
  error?: { code: string; message: string };
}

export interface ProbeModelsOptions {
  providers: Record<string, ProviderConfig>;
  /** The longest wait for each model. */
  timeoutMs: number;
  createProvider?: ProviderFactory;
  signal?: AbortSignal;
}

const PROBE_PROMPT = 'Reply with the single word OK.';

/**
 * Sends each model a tiny request (one short user message, a small output cap), all at once, and
 * reports latency or the classified error. No retries and no fallback: each ref answers for itself.
 */
export async function probeModels(refs: readonly string[], options: ProbeModelsOptions): Promise<ModelProbe[]> {
  const create = options.createProvider ?? defaultProviderFactory;
  const adapters = new Map<string, ModelProvider>();
  try {
    return await Promise.all(
      refs.map(async (ref): Promise<ModelProbe> => {
        const started = performance.now();
        const elapsed = () => Math.round(performance.now() - started);
        const parsed = parseModelRef(ref);
        const config = parsed ? options.providers[parsed.providerId] : undefined;
        if (!parsed || !config) {
          return { ref, ok: false, latencyMs: 0, error: { code: 'NO_MODEL', message: parsed ? `the provider '${parsed.providerId}' is not configured under models.providers` : `'${ref}' is not of the form provider/model` } };
        }
        let provider = adapters.get(parsed.providerId);
        if (!provider) {
          try {
            provider = create(parsed.providerId, config, {});
          } catch (error) {
            const classified = classifyProviderError(error, { providerId: parsed.providerId });
            return { ref, ok: false, latencyMs: 0, error: { code: classified.code, message: classified.message } };
          }
          adapters.set(parsed.providerId, provider);
        }
        const deadline = deadlineSignal(options.timeoutMs, options.signal);
        try {
          let reply = '';
          let firstTextMs: number | undefined;
          for await (const event of provider.stream({
            model: parsed.modelId,
            messages: [{ role: 'user', content: PROBE_PROMPT }],
            maxTokens: 32,
            signal: deadline.signal,
            idleTimeoutMs: options.timeoutMs,
          })) {
            if (event.type === 'text-delta') {
              firstTextMs ??= elapsed();
              if (reply.length < 40) reply += event.text;
            } else if (event.type === 'finish') {
              const base = { ref, latencyMs: elapsed(), ...(firstTextMs === undefined ? {} : { firstTextMs }) };
              if (event.reason === 'error' && event.error) return { ...base, ok: false, error: { code: event.error.code, message: event.error.message } };
              if (event.reason === 'aborted') return { ...base, ok: false, error: { code: 'PROVIDER_TIMEOUT', message: `no answer within ${options.timeoutMs} ms` } };
              return { ...base, ok: true, reply: reply.trim().slice(0, 40) };
            }
          }
          return { ref, ok: false, latencyMs: elapsed(), error: { code: 'PROVIDER_BAD_RESPONSE', message: 'the stream ended without a finish' } };
        } finally {
          deadline.clear();
        }
      }),
    );
  } finally {
    for (const adapter of adapters.values()) adapter.close?.();
  }
}
