import type { PathSegment } from './json5-locator.js';
import type { HearthConfig } from './schema.js';
import { closestMatch } from './suggest.js';

/** A rule broken across fields; positions are added by the caller. */
export interface CrossFieldProblem {
  path: PathSegment[];
  message: string;
  suggestion?: string;
}

/**
 * Checks what the schema cannot see field by field, on a config that passed the schema:
 * - at most one entry in `agents.entries` has `default: true`;
 * - when `models.providers` is not empty, every `model` and `fallbacks` entry (in
 *   `agents.defaults` and each agent) that is written `provider/model` names a configured provider.
 * - a channel account with `dmPolicy: "open"` lists "*" in `allowFrom` (open to everyone must be said twice);
 * - every binding names a configured agent (when agents are configured).
 * Never throws; returns problems in document order of the checks above.
 */
export function checkCrossFields(config: HearthConfig): CrossFieldProblem[] {
  return [...checkSingleDefaultAgent(config), ...checkModelProviders(config), ...checkOpenDmPolicy(config), ...checkBindings(config)];
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
  if (providers.length === 0) return [];
  const references: Array<{ path: PathSegment[]; model: string }> = [];
  const collect = (base: PathSegment[], agent: { model?: string | undefined; fallbacks?: string[] | undefined }) => {
    if (agent.model !== undefined) references.push({ path: [...base, 'model'], model: agent.model });
    (agent.fallbacks ?? []).forEach((model, index) => {
      references.push({ path: [...base, 'fallbacks', index], model });
    });
  };
  collect(['agents', 'defaults'], config.agents.defaults);
  for (const [id, agent] of Object.entries(config.agents.entries)) collect(['agents', 'entries', id], agent);

  const problems: CrossFieldProblem[] = [];
  for (const { path, model } of references) {
    const slash = model.indexOf('/');
    if (slash < 0) continue;
    const provider = model.slice(0, slash);
    if (providers.includes(provider)) continue;
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
