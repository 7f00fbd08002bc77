import type { ProviderConfig } from '../config/schema.js';
import { redactSecrets } from './classify-error.js';
import { deadlineSignal } from '../runtime/deadline.js';

/** What one look at a provider found. `reachable` means it answered with its model list. */
export interface ProviderProbe {
  provider: string;
  url: string;
  result: 'reachable' | 'answered' | 'key-refused' | 'refused' | 'timeout' | 'unreachable' | 'unsupported';
  detail: string;
  ms: number;
}

const DEFAULT_BASE_URLS: Record<string, string> = {
  'openai-chat': 'https://api.openai.com/v1',
  'openai-responses': 'https://api.openai.com/v1',
  ollama: 'http://127.0.0.1:11434',
  'google-gemini': 'https://generativelanguage.googleapis.com/v1beta',
  'anthropic-messages': 'https://api.anthropic.com/v1',
};

/** The model-list endpoint and headers of a provider, or null for an api Hearth does not speak yet. */
function modelsRequest(config: ProviderConfig): { url: string; headers: Record<string, string> } | null {
  const base = (config.baseUrl ?? DEFAULT_BASE_URLS[config.api])?.replace(/\/+$/, '');
  if (base === undefined) return null;
  if (config.api === 'anthropic-messages') {
    const root = base.endsWith('/v1') ? base : `${base}/v1`;
    return { url: `${root}/models`, headers: { ...config.headers, 'anthropic-version': '2023-06-01', ...(config.apiKey ? { 'x-api-key': config.apiKey } : {}) } };
  }
  if (config.api === 'ollama') return { url: `${base.replace(/\/v1$/, '')}/api/tags`, headers: { ...config.headers } };
  if (config.api === 'google-gemini') return { url: `${base}/models`, headers: { ...config.headers, ...(config.apiKey ? { 'x-goog-api-key': config.apiKey } : {}) } };
  return { url: `${base}/models`, headers: { ...config.headers, ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) } };
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Asks a provider for its model list (`GET …/models`) within `timeoutMs`: the cheapest call that
 * shows whether the server is up, refuses the connection, never answers, or refuses the key.
 * Never throws; the key never appears in `detail`.
 */
export async function probeProvider(id: string, config: ProviderConfig, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ProviderProbe> {
  const request = modelsRequest(config);
  const started = performance.now();
  const done = (result: ProviderProbe['result'], detail: string, url = request?.url ?? ''): ProviderProbe => ({
    provider: id,
    url,
    result,
    detail: redactSecrets(detail, [config.apiKey ?? '', ...Object.values(config.headers ?? {})]),
    ms: Math.round(performance.now() - started),
  });
  if (!request) return done('unsupported', `api '${config.api}' is not supported yet`);
  const deadline = deadlineSignal(options.timeoutMs, options.signal);
  try {
    const response = await fetch(request.url, { headers: request.headers, signal: deadline.signal });
    const text = await response.text();
    if (response.ok) {
      const listed = (() => {
        try {
          const body = JSON.parse(text) as { data?: unknown[]; models?: unknown[] };
          return (body.data ?? body.models)?.length;
        } catch {
          return undefined;
        }
      })();
      return done('reachable', listed === undefined ? `answered ${response.status}` : `answered with ${listed} model(s)`);
    }
    if (response.status === 401 || response.status === 403) return done('key-refused', `refused the API key (${response.status})`);
    return done('answered', `answered ${response.status} to GET /models (the server is up; it may not list models)`);
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError') return done('timeout', `did not answer within ${options.timeoutMs} ms`);
    const code = causeCode(error);
    if (code === 'ECONNREFUSED') return done('refused', 'refused the connection (nothing listens there)');
    return done('unreachable', `could not be reached (${code ?? (error instanceof Error ? error.message : String(error))})`);
  } finally {
    deadline.clear();
  }
}
