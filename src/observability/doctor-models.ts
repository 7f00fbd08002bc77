import { createAgentDirectory } from '../agent/agent-directory.js';
import { loadConfigFile } from '../config/load-config.js';
import type { HearthPaths } from '../config/paths.js';
import { detectProviders } from '../providers/detect-providers.js';
import { probeProvider } from '../providers/probe-provider.js';
import type { Finding } from './doctor.js';

/** The longest a provider probe may take, whatever the provider's own `timeoutMs`. */
const MAX_PROBE_MS = 5000;

export interface ModelCheckOptions {
  paths: HearthPaths;
  env: Record<string, string | undefined>;
  /** Defaults to the provider's `timeoutMs`, at most 5 s. */
  probeTimeoutMs?: number;
}

/**
 * The models the gateway would use, as the config and the environment give them (the same
 * detection as the gateway: configured providers, else ANTHROPIC_API_KEY, OPENAI_API_KEY or a local
 * Ollama): an agent without a model is an error, and every provider an agent uses is probed
 * (`GET …/models`): reachable, refusing the key, refusing the connection or never answering.
 */
export async function checkModels(options: ModelCheckOptions): Promise<Finding[]> {
  const loaded = loadConfigFile(options.paths.configPath, options.env);
  if (!loaded.ok) return [];
  const config = loaded.config;
  const configured = Object.keys(config.models.providers).length > 0;
  const detected = configured ? null : await detectProviders(options.env).catch(() => null);
  const providers = configured ? config.models.providers : (detected?.providers ?? {});
  const directory = createAgentDirectory(config, {
    workspacesDir: options.paths.workspacesDir,
    home: options.paths.home,
    ...(detected?.defaultModel ? { detectedModel: detected.defaultModel } : {}),
  });
  const findings: Finding[] = [];
  const withoutModel = directory.list().filter((agent) => agent.modelRefs.length === 0);
  if (withoutModel.length > 0) {
    findings.push({
      check: 'models',
      status: 'error',
      message: `no model is configured for ${withoutModel.map((agent) => `agent "${agent.id}"`).join(', ')}: its turns cannot be answered`,
      fix: `add a provider under models.providers and agents.defaults.model ("provider/model") to ${options.paths.configPath}, set OPENAI_API_KEY or ANTHROPIC_API_KEY, or start Ollama on 127.0.0.1:11434`,
    });
  }
  const used = new Set(directory.list().flatMap((agent) => agent.modelRefs.map((ref) => ref.slice(0, Math.max(0, ref.indexOf('/'))))));
  const probes = await Promise.all(
    [...used].flatMap((id) => {
      const provider = providers[id];
      return provider ? [probeProvider(id, provider, { timeoutMs: options.probeTimeoutMs ?? Math.min(provider.timeoutMs, MAX_PROBE_MS) })] : [];
    }),
  );
  for (const probe of probes) {
    const where = `provider '${probe.provider}' at ${probe.url}`;
    if (probe.result === 'reachable' || probe.result === 'answered') {
      findings.push({ check: 'models', status: 'ok', message: `${where} ${probe.detail} in ${probe.ms} ms` });
    } else if (probe.result === 'key-refused') {
      findings.push({ check: 'models', status: 'error', message: `${where} ${probe.detail}`, fix: `check models.providers.${probe.provider}.apiKey` });
    } else if (probe.result === 'unsupported') {
      findings.push({ check: 'models', status: 'error', message: `${where}: ${probe.detail}`, fix: `set models.providers.${probe.provider}.api to openai-chat, openai-responses, anthropic-messages, google-gemini or ollama` });
    } else {
      findings.push({
        check: 'models',
        status: 'error',
        message: `${where} ${probe.detail}`,
        fix: `start the model server or fix models.providers.${probe.provider}.baseUrl; until then its turns fail (or go to agents.defaults.fallbacks)`,
      });
    }
  }
  return findings;
}
