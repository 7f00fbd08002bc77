import type { PathSegment } from './json5-locator.js';
import type { HearthConfig } from './schema.js';
import { closestMatch } from './suggest.js';

/** A rule broken across fields; positions are added by the caller. */
export interface CrossFieldProblem {
  path: PathSegment[];
  message: string;
  suggestion?: string;
  /** A warning is reported but does not make the config invalid. */
  severity?: 'warning';
}

/**
 * Providers the gateway finds by itself when `models.providers` is empty, with what makes it find
 * each (see `detectProviders`). A model naming one of them is accepted with a warning.
 */
const DETECTED_PROVIDERS: Record<string, string> = {
  anthropic: 'ANTHROPIC_API_KEY is set',
  openai: 'OPENAI_API_KEY is set',
  ollama: 'Ollama is running on 127.0.0.1:11434',
};

/**
 * Checks what the schema cannot see field by field, on a config that passed the schema:
 * - at most one entry in `agents.entries` has `default: true`;
 * - every `model` and `fallbacks` entry (in `agents.defaults` and each agent) that is written
 *   `provider/model` names a configured provider; when `models.providers` is empty, a provider
 *   found at run time (`anthropic`, `openai`, `ollama`) is a warning and any other an error.
 * - every `memory.embeddings.provider` names a configured provider with an embeddings endpoint;
 * - a channel account with `dmPolicy: "open"` lists "*" in `allowFrom` (open to everyone must be said twice);
 * - every binding names a configured agent (when agents are configured);
 * - every agent in `tasks.take` is a configured agent (`main` when none are).
 * Never throws; returns problems in document order of the checks above.
 */
export function checkCrossFields(config: HearthConfig): CrossFieldProblem[] {
  return [...checkSingleDefaultAgent(config), ...checkModelProviders(config), ...checkMemoryEmbeddings(config), ...checkOpenDmPolicy(config), ...checkBindings(config), ...checkTaskTakers(config)];
}

const EMBEDDING_APIS: readonly string[] = ['openai-chat', 'openai-responses', 'ollama'];

/** Each `memory.embeddings.provider` names a configured provider whose API has an embeddings endpoint. */
function checkMemoryEmbeddings(config: HearthConfig): CrossFieldProblem[] {
  const problems: CrossFieldProblem[] = [];
  const agents: [PathSegment[], (typeof config.agents.defaults)['memory']][] = [
    [['agents', 'defaults'], config.agents.defaults.memory],
    ...Object.entries(config.agents.entries).map(([id, agent]): [PathSegment[], typeof agent.memory] => [['agents', 'entries', id], agent.memory]),
  ];
  for (const [base, memory] of agents) {
    const provider = memory?.embeddings?.provider;
    if (provider === undefined) continue;
    const path = [...base, 'memory', 'embeddings', 'provider'];
    const configured = config.models.providers[provider];
    if (!configured) {
      const names = Object.keys(config.models.providers);
      problems.push({
        path,
        message: `memory embeddings name provider "${provider}", which is not in models.providers`,
        suggestion: names.length ? `configured providers: ${names.map((name) => `"${name}"`).join(', ')}` : 'add it under models.providers, e.g. { api: "ollama" }',
      });
    } else if (!EMBEDDING_APIS.includes(configured.api)) {
      problems.push({
        path,
        message: `provider "${provider}" uses the ${configured.api} API, which has no embeddings endpoint Hearth speaks`,
        suggestion: 'name an openai-chat, openai-responses or ollama provider',
      });
    }
  }
  return problems;
}

function checkSingleDefaultAgent(config: HearthConfig): CrossFieldProblem[] {
  const defaults = Object.entries(config.agents.entries)
    .filter(([, agent]) => agent.default === true)
    .map(([id]) => id);
  const first = defaults[0];
  return defaults.slice(1).map((id) => ({
    path: ['agents', 'entries', id, 'default'],
    message: `only one agent can be the default, and "${first}" already is`,
    suggestion: `keep \`default: true\` on one of ${defaults.map((name) => `"${name}"`).join(', ')} and remove it from the others`,
  }));
}

function checkModelProviders(config: HearthConfig): CrossFieldProblem[] {
  const providers = Object.keys(config.models.providers);
  const problems: CrossFieldProblem[] = [];
  for (const { path, model } of modelReferences(config)) {
    const slash = model.indexOf('/');
    if (slash < 0) continue;
    const provider = model.slice(0, slash);
    if (providers.includes(provider)) continue;
    if (providers.length === 0) {
      problems.push(unconfiguredProvider(path, model, provider));
      continue;
    }
    const near = closestMatch(provider, providers);
    const configured = providers.map((name) => `"${name}"`).join(', ');
    problems.push({
      path,
      message: `model "${model}" names provider "${provider}", which is not in models.providers`,
      suggestion:
        near === undefined
          ? `configured providers: ${configured}`
          : `did you mean "${near}/${model.slice(slash + 1)}"? (configured providers: ${configured})`,
    });
  }
  return problems;
}

/** Every `model` and `fallbacks` entry of `agents.defaults` and each agent, with its key path. */
function modelReferences(config: HearthConfig): Array<{ path: PathSegment[]; model: string }> {
  const references: Array<{ path: PathSegment[]; model: string }> = [];
  const collect = (base: PathSegment[], agent: { model?: string | undefined; fallbacks?: string[] | undefined }) => {
    if (agent.model !== undefined) references.push({ path: [...base, 'model'], model: agent.model });
    (agent.fallbacks ?? []).forEach((model, index) => {
      references.push({ path: [...base, 'fallbacks', index], model });
    });
  };
  collect(['agents', 'defaults'], config.agents.defaults);
  for (const [id, agent] of Object.entries(config.agents.entries)) collect(['agents', 'entries', id], agent);
  return references;
}

/** With no `models.providers`: a provider the gateway may detect is a warning, any other an error. */
function unconfiguredProvider(path: PathSegment[], model: string, provider: string): CrossFieldProblem {
  const detectedWhen = DETECTED_PROVIDERS[provider];
  if (detectedWhen !== undefined) {
    return {
      path,
      severity: 'warning',
      message: `model "${model}" names provider "${provider}", which is not in models.providers; it works only when the gateway detects it at start (${detectedWhen})`,
      suggestion: `add models.providers.${provider} to be sure it is there`,
    };
  }
  const near = closestMatch(provider, Object.keys(DETECTED_PROVIDERS));
  return {
    path,
    message: `model "${model}" names provider "${provider}", which is not in models.providers (there are none) and is not one the gateway detects (${Object.keys(DETECTED_PROVIDERS).join(', ')})`,
    suggestion:
      near === undefined
        ? `add models.providers.${provider} with its api and baseUrl, or name a provider that exists`
        : `did you mean "${near}/${model.slice(model.indexOf('/') + 1)}"? Otherwise add models.providers.${provider}`,
  };
}

function checkOpenDmPolicy(config: HearthConfig): CrossFieldProblem[] {
  const problems: CrossFieldProblem[] = [];
  for (const [platform, block] of Object.entries(config.channels)) {
    if (!block) continue;
    const { accounts, ...shared } = block as { accounts?: Record<string, { dmPolicy?: string; allowFrom?: string[] }>; dmPolicy?: string; allowFrom?: string[] };
    const entries: Array<[PathSegment[], { dmPolicy?: string | undefined; allowFrom?: string[] | undefined }]> = accounts
      ? Object.entries(accounts).map(([id, own]) => [['channels', platform, 'accounts', id], { ...shared, ...own }])
      : [[['channels', platform], shared]];
    for (const [path, account] of entries) {
      if (account.dmPolicy === 'open' && !(account.allowFrom ?? []).includes('*')) {
        problems.push({
          path: [...path, 'dmPolicy'],
          message: 'dmPolicy "open" lets anyone on the platform use your agent, so it also needs "*" in allowFrom',
          suggestion: 'add allowFrom: ["*"] to confirm, or use dmPolicy "pairing" (the default) or "allowlist"',
        });
      }
    }
  }
  return problems;
}

function checkBindings(config: HearthConfig): CrossFieldProblem[] {
  const agents = Object.keys(config.agents.entries);
  if (agents.length === 0) return [];
  const problems: CrossFieldProblem[] = [];
  config.bindings.forEach((binding, index) => {
    if (agents.includes(binding.agentId)) return;
    const near = closestMatch(binding.agentId, agents);
    problems.push({
      path: ['bindings', index, 'agentId'],
      message: `binding names agent "${binding.agentId}", which is not in agents.entries`,
      suggestion: near === undefined ? `configured agents: ${agents.join(', ')}` : `did you mean "${near}"?`,
    });
  });
  return problems;
}

function checkTaskTakers(config: HearthConfig): CrossFieldProblem[] {
  const agents = Object.keys(config.agents.entries);
  if (agents.length === 0) agents.push('main');
  const problems: CrossFieldProblem[] = [];
  config.tasks.take.forEach((agentId, index) => {
    if (agents.includes(agentId)) return;
    const near = closestMatch(agentId, agents);
    problems.push({
      path: ['tasks', 'take', index],
      message: `tasks.take names agent "${agentId}", which is not a configured agent`,
      suggestion: near === undefined ? `configured agents: ${agents.join(', ')}` : `did you mean "${near}"?`,
    });
  });
  return problems;
}
