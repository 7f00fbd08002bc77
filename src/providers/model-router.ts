import { unpackMessages } from '../contracts/packed-messages.js';
import type { ProviderConfig } from '../config/schema.js';
import { HearthError, isHearthError } from '../contracts/errors.js';
import type { ModelEvent, ModelProvider, ModelRequest } from '../contracts/model-provider.js';
import { type BreakerConfig, type CircuitBreakers, callOutcomeOf, createCircuitBreakers, type ProviderHealth } from './circuit-breaker.js';
import { classifyProviderError } from './classify-error.js';
import { createOpenAIChatProvider } from './openai-chat-provider.js';
import type { ProviderDeps, ProviderLogger } from './stream-support.js';

/** The longest the router waits before one retry, whatever the backoff or `retry-after` says. */
export const MAX_RETRY_WAIT_MS = 30_000;
const BASE_RETRY_WAIT_MS = 500;

/** A router event: a ModelEvent; the `finish` event carries the ref that produced the answer (or failed last). */
export type RoutedModelEvent = ModelEvent & { modelRef?: string };

/** Builds the adapter for one configured provider; injectable so tests can pass a fake. */
export type ProviderFactory = (id: string, config: ProviderConfig, deps: ProviderDeps) => ModelProvider;

export interface ModelRouterDeps {
  /** `models.providers` from the config snapshot. */
  providers: Record<string, ProviderConfig>;
  logger?: ProviderLogger;
  /** Waits `ms`, resolving early when `signal` aborts. Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Defaults to the built-in adapters by `api`. */
  createProvider?: ProviderFactory;
  /** `models.breaker`, read at each decision (defaults: 3 failures, 30 s open, 5 min at most). */
  breaker?: () => BreakerConfig;
  /** The breakers of the router this one replaces, so a config reload keeps what they learned. */
  breakers?: CircuitBreakers;
  /** Clock of the breakers (ms since the epoch). */
  now?: () => number;
}

/**
 * Streams a model call over an ordered list of model refs (`providerId/modelId`; the model id may
 * contain `/` or `:`). A retryable failure before any output is retried on the same model with
 * capped, jittered exponential backoff (honouring `retry-after`) up to the provider's `maxRetries`;
 * any other failure before output moves on to the next ref. A failure after output has been
 * streamed ends the stream (retrying would repeat text). Like a provider stream, it never throws
 * and ends with exactly one `finish` event, which carries `modelRef`.
 */
export interface ModelRouter {
  stream(modelRefs: string[], request: Omit<ModelRequest, 'model'>): AsyncIterable<RoutedModelEvent>;
  /** Whether the ref is well formed and names a configured provider. */
  has(ref: string): boolean;
  /** `providerId/modelId` for every model listed under `models.providers.<id>.models`. */
  list(): string[];
  /** Drops the adapters; later streams end with SHUTTING_DOWN. */
  close(): void;
  /** Each configured provider's breaker state and last success/failure. */
  providerHealth(): ProviderHealth[];
  /** The per-provider circuit breakers: after `failureThreshold` timeouts or connection failures in a row a provider is skipped (fallback or fast PROVIDER_UNAVAILABLE) until a probe call gets an answer. */
  readonly breakers: CircuitBreakers;
}

/** Splits `providerId/modelId` at the first `/`. */
export function parseModelRef(ref: string): { providerId: string; modelId: string } | undefined {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1) return undefined;
  return { providerId: ref.slice(0, slash), modelId: ref.slice(slash + 1) };
}

/**
 * An adapter whose module loads with its first call, so a gateway loads only the wire formats its
 * providers use. None of these reads packed history (only openai-chat does, loaded up front).
 */
function loadedOnFirstCall(id: string, api: string, load: () => Promise<ModelProvider>): ModelProvider {
  const state: { adapter?: Promise<ModelProvider>; loaded?: ModelProvider } = {};
  return {
    id,
    api,
    async *stream(request) {
      state.adapter ??= load().then((adapter) => (state.loaded = adapter));
      yield* (await state.adapter).stream(request);
    },
    close: () => state.loaded?.close?.(),
  };
}

/** The adapter for a provider's `api`. */
export function defaultProviderFactory(id: string, config: ProviderConfig, deps: ProviderDeps): ModelProvider {
  switch (config.api) {
    case 'openai-chat':
      return createOpenAIChatProvider(id, config, deps);
    case 'openai-responses':
      return loadedOnFirstCall(id, config.api, async () => (await import('./openai-responses-provider.js')).createOpenAIResponsesProvider(id, config, deps));
    case 'anthropic-messages':
      return loadedOnFirstCall(id, config.api, async () => (await import('./anthropic-messages-provider.js')).createAnthropicMessagesProvider(id, config, deps));
    case 'google-gemini':
      return loadedOnFirstCall(id, config.api, async () => (await import('./google-gemini-provider.js')).createGoogleGeminiProvider(id, config, deps));
    case 'ollama':
      return loadedOnFirstCall(id, config.api, async () => (await import('./ollama-provider.js')).createOllamaProvider(id, config, deps));
    default:
      throw new HearthError('NO_MODEL', `The provider '${id}' uses api '${String(config.api)}', which Hearth does not know.`, { details: { providerId: id, api: config.api } });
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createModelRouter(deps: ModelRouterDeps): ModelRouter {
  const sleep = deps.sleep ?? sleepUnlessAborted;
  const random = deps.random ?? Math.random;
  const createProvider = deps.createProvider ?? defaultProviderFactory;
  const adapters = new Map<string, ModelProvider>();
  const breakers = deps.breakers ?? createCircuitBreakers({ ...(deps.breaker ? { config: deps.breaker } : {}), ...(deps.now ? { now: deps.now } : {}) });
  breakers.retain(Object.keys(deps.providers));
  let closed = false;

  function noModel(message: string, ref: string): HearthError {
    return new HearthError('NO_MODEL', message, { details: { modelRef: ref } });
  }

  /** The adapter and model id for a ref, or the NO_MODEL error that explains what to configure. */
  function resolve(ref: string): { providerId: string; provider: ModelProvider; config: ProviderConfig; modelId: string } | HearthError {
    const parsed = parseModelRef(ref);
    if (!parsed) return noModel(`The model '${ref}' is not of the form 'provider/model' (for example 'local/qwen3:8b'). Fix agents.defaults.model or the agent's model/fallbacks.`, ref);
    const config = deps.providers[parsed.providerId];
    if (!config) {
      const known = Object.keys(deps.providers);
      const choices = known.length > 0 ? ` Configured providers: ${known.join(', ')}.` : ' No providers are configured.';
      return noModel(
        `The model '${ref}' names the provider '${parsed.providerId}', which is not configured. Add it under models.providers.${parsed.providerId} (for example { api: 'openai-chat', baseUrl: 'http://127.0.0.1:11434/v1' }) or use another provider.${choices}`,
        ref,
      );
    }
    let provider = adapters.get(parsed.providerId);
    if (!provider) {
      try {
        provider = createProvider(parsed.providerId, config, { logger: deps.logger });
      } catch (error) {
        return classifyProviderError(error, { providerId: parsed.providerId });
      }
      adapters.set(parsed.providerId, provider);
    }
    return { providerId: parsed.providerId, provider, config, modelId: parsed.modelId };
  }

  function retryWait(error: HearthError, attempt: number): number | undefined {
    if (error.retryAfterMs !== undefined) return error.retryAfterMs <= MAX_RETRY_WAIT_MS ? error.retryAfterMs : undefined;
    const exponential = Math.min(MAX_RETRY_WAIT_MS, BASE_RETRY_WAIT_MS * 2 ** attempt);
    return Math.round(exponential / 2 + (random() * exponential) / 2);
  }

  /** Runs one attempt; returns its finish event and whether any output was streamed. */
  async function* attempt(provider: ModelProvider, request: ModelRequest): AsyncGenerator<ModelEvent, { finish: Extract<ModelEvent, { type: 'finish' }>; emitted: boolean }, undefined> {
    let emitted = false;
    try {
      for await (const event of provider.stream(request)) {
        if (event.type === 'finish') return { finish: event, emitted };
        emitted = true;
        yield event;
      }
    } catch (error) {
      // Adapters must not throw; if one does, treat it like an error finish.
      return { finish: { type: 'finish', reason: 'error', error: classifyProviderError(error, { providerId: provider.id, model: request.model }) }, emitted };
    }
    const error = new HearthError('PROVIDER_BAD_RESPONSE', `The provider '${provider.id}' stream ended without a finish event.`, { retryable: true });
    return { finish: { type: 'finish', reason: 'error', error }, emitted };
  }

  /** The request as this provider takes it: packed history only for a provider that reads it. */
  function providerRequest(provider: ModelProvider, request: Omit<ModelRequest, 'model'>, model: string): ModelRequest {
    if (!request.history || provider.readsPackedHistory) return { ...request, model };
    const { history, ...rest } = request;
    return { ...rest, model, messages: [...unpackMessages(history), ...request.messages] };
  }

  async function* stream(modelRefs: string[], request: Omit<ModelRequest, 'model'>): AsyncGenerator<RoutedModelEvent, void, undefined> {
    if (closed) {
      yield { type: 'finish', reason: 'error', error: new HearthError('SHUTTING_DOWN', 'The model router is closed because the gateway is stopping.') };
      return;
    }
    if (modelRefs.length === 0) {
      const error = new HearthError('NO_MODEL', 'No model is configured. Set agents.defaults.model to a "provider/model" ref (for example "local/qwen3:8b") and configure that provider under models.providers.');
      yield { type: 'finish', reason: 'error', error };
      return;
    }
    const failures: { modelRef: string; code: string; message: string }[] = [];
    let lastError: HearthError | undefined;
    let lastRef: string | undefined;
    for (const ref of modelRefs) {
      if (request.signal.aborted) break;
      const target = resolve(ref);
      lastRef = ref;
      if (isHearthError(target)) {
        lastError = target;
        failures.push({ modelRef: ref, code: target.code, message: target.message });
        deps.logger?.warn({ modelRef: ref, code: target.code }, 'model unavailable; trying the next fallback');
        continue;
      }
      const breaker = breakers.get(target.providerId);
      for (let retry = 0; ; retry += 1) {
        const admission = breaker.admit();
        if (!admission.allowed) {
          lastError = admission.error;
          failures.push({ modelRef: ref, code: admission.error.code, message: admission.error.message });
          deps.logger?.warn({ modelRef: ref, code: admission.error.code }, 'provider is not answering (breaker open); trying the next fallback');
          break;
        }
        const { finish, emitted } = yield* attempt(target.provider, providerRequest(target.provider, request, target.modelId));
        breaker.settle(callOutcomeOf(finish.error, finish.reason === 'aborted' || request.signal.aborted), admission, finish.error);
        if (finish.reason !== 'error' || emitted || request.signal.aborted) {
          yield request.signal.aborted && finish.reason === 'error' ? { type: 'finish', reason: 'aborted', modelRef: ref } : { ...finish, modelRef: ref };
          return;
        }
        const error = finish.error ?? new HearthError('PROVIDER_ERROR', `The provider '${target.provider.id}' failed without saying why.`);
        lastError = error;
        failures.push({ modelRef: ref, code: error.code, message: error.message });
        const wait = error.retryable && retry < target.config.maxRetries ? retryWait(error, retry) : undefined;
        if (wait === undefined) {
          deps.logger?.warn({ modelRef: ref, code: error.code, attempts: retry + 1 }, 'model call failed; trying the next fallback');
          break;
        }
        deps.logger?.warn({ modelRef: ref, code: error.code, attempt: retry + 1, waitMs: wait }, 'model call failed; retrying');
        await sleep(wait, request.signal);
        if (request.signal.aborted) break;
      }
    }
    if (request.signal.aborted) {
      yield { type: 'finish', reason: 'aborted', ...(lastRef === undefined ? {} : { modelRef: lastRef }) };
      return;
    }
    const error = lastError ?? new HearthError('NO_MODEL', 'No model could be tried.');
    const triedRefs = [...new Set(failures.map((failure) => failure.modelRef))];
    const message = triedRefs.length > 1 ? `Every configured model failed (${triedRefs.join(', ')}). Last error: ${error.message}` : error.message;
    const final = new HearthError(error.code, message, { cause: error, retryable: error.retryable, retryAfterMs: error.retryAfterMs, details: { ...error.details, attempts: failures } });
    yield { type: 'finish', reason: 'error', error: final, ...(lastRef === undefined ? {} : { modelRef: lastRef }) };
  }

  return {
    stream,
    has(ref) {
      const parsed = parseModelRef(ref);
      return parsed !== undefined && deps.providers[parsed.providerId] !== undefined;
    },
    list() {
      return Object.entries(deps.providers).flatMap(([id, config]) => (config.models ?? []).map((model) => `${id}/${model}`));
    },
    breakers,
    providerHealth() {
      for (const id of Object.keys(deps.providers)) breakers.get(id);
      return breakers.list();
    },
    close() {
      closed = true;
      for (const adapter of adapters.values()) adapter.close?.();
      adapters.clear();
    },
  };
}
