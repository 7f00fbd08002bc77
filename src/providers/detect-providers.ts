import { type ProviderConfig, providerSchema } from '../config/schema.js';
import { HearthError } from '../contracts/errors.js';

/** The local Ollama server detection looks for. */
export const OLLAMA_URL = 'http://127.0.0.1:11434';
const DEFAULT_PROBE_TIMEOUT_MS = 300;

/** Lists the models of a running Ollama server, or null when none answers. Must honour `signal`. */
export type OllamaProbe = (signal: AbortSignal) => Promise<string[] | null>;

export interface DetectOptions {
  /** Defaults to `createOllamaProbe()` (GET http://127.0.0.1:11434/api/tags). */
  probeOllama?: OllamaProbe;
  /** How long the Ollama probe may take (default 300 ms). */
  timeoutMs?: number;
}

/** Providers found without a config file; `source` says where they came from. */
export interface DetectedProviders {
  providers: Record<string, ProviderConfig>;
  defaultModel?: string;
  /** `env:ANTHROPIC_API_KEY`, `env:OPENAI_API_KEY`, `ollama` or `none`. */
  source: string;
}

/** A probe that asks an Ollama server for its models (`GET <baseUrl>/api/tags`). Never throws. */
export function createOllamaProbe(baseUrl: string = OLLAMA_URL): OllamaProbe {
  return async (signal) => {
    try {
      const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/api/tags`, { signal });
      if (!response.ok) return null;
      const body: unknown = await response.json();
      const models = typeof body === 'object' && body !== null ? (body as { models?: unknown }).models : undefined;
      if (!Array.isArray(models)) return null;
      return models.flatMap((model: unknown) => {
        const name = typeof model === 'object' && model !== null ? (model as { name?: unknown }).name : undefined;
        return typeof name === 'string' ? [name] : [];
      });
    } catch {
      return null;
    }
  };
}

/** Runs the probe, giving up (null) after `timeoutMs` even if the probe ignores its signal. */
async function probeWithTimeout(probe: OllamaProbe, timeoutMs: number): Promise<string[] | null> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(null);
    }, timeoutMs);
  });
  try {
    return await Promise.race([probe(controller.signal).catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Finds a model provider when no config names one: ANTHROPIC_API_KEY, else OPENAI_API_KEY (with
 * OPENAI_BASE_URL), else a local Ollama server. `env` is passed in (only main.ts reads
 * process.env). Throws CONFIG_INVALID only when OPENAI_BASE_URL is not a URL.
 */
export async function detectProviders(env: Record<string, string | undefined>, options: DetectOptions = {}): Promise<DetectedProviders> {
  const anthropicKey = nonEmpty(env.ANTHROPIC_API_KEY);
  if (anthropicKey) {
    return {
      providers: { anthropic: providerSchema().parse({ api: 'anthropic-messages', apiKey: anthropicKey, models: ['claude-sonnet-4-5'] }) },
      defaultModel: 'anthropic/claude-sonnet-4-5',
      source: 'env:ANTHROPIC_API_KEY',
    };
  }
  const openaiKey = nonEmpty(env.OPENAI_API_KEY);
  if (openaiKey) {
    const baseUrl = nonEmpty(env.OPENAI_BASE_URL);
    const parsed = providerSchema().safeParse({ api: 'openai-chat', apiKey: openaiKey, models: ['gpt-4o-mini'], ...(baseUrl ? { baseUrl } : {}) });
    if (!parsed.success) {
      throw new HearthError('CONFIG_INVALID', 'OPENAI_BASE_URL is not a valid URL. Set it to the API root, for example https://api.openai.com/v1, or unset it.');
    }
    return { providers: { openai: parsed.data }, defaultModel: 'openai/gpt-4o-mini', source: 'env:OPENAI_API_KEY' };
  }
  const models = await probeWithTimeout(options.probeOllama ?? createOllamaProbe(), options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
  if (models) {
    const first = models[0];
    return {
      providers: { ollama: providerSchema().parse({ api: 'ollama', baseUrl: `${OLLAMA_URL}/v1`, models }) },
      ...(first === undefined ? {} : { defaultModel: `ollama/${first}` }),
      source: 'ollama',
    };
  }
  return { providers: {}, source: 'none' };
}
