// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the report tells users to write literal ${VAR} references
import { LOGIN_FIELDS } from '../../channels/channel-credentials.js';
import { BUILTIN_PLATFORMS } from '../../contracts/channel.js';
import { TOOL_GROUP_NAMES, TOOL_PROFILES } from '../../contracts/tool-groups.js';
import type { ReportItem } from './import-report.js';

/** A literal channel secret found in the OpenClaw config, to be saved as Hearth's channel credentials. */
export interface ChannelSecret {
  platform: (typeof BUILTIN_PLATFORMS)[number];
  accountId: string;
  values: Record<string, string>;
  source: string;
}

/** The Hearth config fragment mapped from an OpenClaw config, with what could not be mapped. */
export interface MappedConfig {
  config: Record<string, unknown>;
  secrets: ChannelSecret[];
  items: ReportItem[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const AGENT_ID = /^[a-z0-9_][a-z0-9_-]{0,63}$/;
const PROVIDER_APIS: Record<string, string> = {
  'openai-completions': 'openai-chat',
  'openai-chat': 'openai-chat',
  'openai-responses': 'openai-responses',
  'anthropic-messages': 'anthropic-messages',
  'google-generative-ai': 'google-gemini',
  'google-gemini': 'google-gemini',
  ollama: 'ollama',
};
const ROUTING_KEYS = ['enabled', 'dmPolicy', 'allowFrom', 'groupPolicy', 'requireMention', 'textChunkLimit'];
/** Top-level OpenClaw keys this importer maps; every other key present is reported as skipped. */
const MAPPED_TOP: readonly string[] = ['$schema', 'meta', 'models', 'agents', 'tools', 'channels', 'bindings', 'session'];
const DM_SCOPES: readonly string[] = ['main', 'per-peer', 'per-channel-peer', 'per-account-channel-peer'];

/** `${VAR}` stays as it is; an env SecretRef becomes `${VAR}`; other SecretRefs cannot be mapped. */
export function mapSecretValue(value: unknown): { value: string; literal: boolean } | null {
  if (typeof value === 'string') return { value, literal: !/^\$\{[A-Z_][A-Z0-9_]*\}$/u.test(value.trim()) };
  if (isObject(value) && value.source === 'env' && typeof value.id === 'string') return { value: `\${${value.id}}`, literal: false };
  return null;
}

/** Maps `openclaw.json` (already parsed) to a Hearth config fragment. Pure: reads nothing, writes nothing. */
export function mapOpenClawConfig(raw: unknown, source: string): MappedConfig {
  const out: MappedConfig = { config: {}, secrets: [], items: [] };
  if (!isObject(raw)) return out;
  for (const key of Object.keys(raw)) {
    if (!MAPPED_TOP.includes(key)) out.items.push({ status: 'skipped', what: `config ${key}`, source: `${source}#${key}`, reason: 'Hearth has no equivalent setting; configure it by hand if you need it' });
  }
  mapProviders(raw.models, source, out);
  mapAgents(raw.agents, raw.tools, source, out);
  mapChannels(raw.channels, source, out);
  mapBindings(raw.bindings, source, out);
  mapSession(raw.session, source, out);
  return out;
}

/** `session.dmScope` has the same values in both; OpenClaw's default (main) is written out, as Hearth's differs. */
function mapSession(session: unknown, source: string, out: MappedConfig): void {
  const block = isObject(session) ? session : {};
  const scope = block.dmScope ?? 'main';
  if (typeof scope === 'string' && DM_SCOPES.includes(scope)) {
    out.config.session = { dmScope: scope };
    out.items.push({ status: 'imported', what: `session.dmScope ${scope}`, source: `${source}#session.dmScope`, reason: block.dmScope === undefined ? 'OpenClaw\'s default, written out so direct messages keep sharing one session as they did (Hearth\'s default is per-channel-peer)' : undefined });
  } else out.items.push({ status: 'skipped', what: `session.dmScope ${String(scope)}`, source: `${source}#session.dmScope`, reason: `Hearth's dmScope is one of ${DM_SCOPES.join(', ')}` });
  for (const key of Object.keys(block).filter((name) => name !== 'dmScope')) out.items.push({ status: 'skipped', what: `session setting ${key}`, source: `${source}#session.${key}`, reason: 'Hearth has no equivalent session setting (resets, maintenance and identity links are not configurable)' });
}

function mapProviders(models: unknown, source: string, out: MappedConfig): void {
  const providers = isObject(models) && isObject(models.providers) ? models.providers : {};
  const mapped: Json = {};
  for (const [id, provider] of Object.entries(providers)) {
    const where = `${source}#models.providers.${id}`;
    const api = isObject(provider) && typeof provider.api === 'string' ? PROVIDER_APIS[provider.api] : undefined;
    if (!isObject(provider) || !api) {
      out.items.push({ status: 'skipped', what: `provider ${id}`, source: where, reason: `api ${isObject(provider) ? JSON.stringify(provider.api) : '?'} has no Hearth equivalent (Hearth speaks ${[...new Set(Object.values(PROVIDER_APIS))].join(', ')})` });
      continue;
    }
    const entry: Json = { api };
    if (typeof provider.baseUrl === 'string') entry.baseUrl = provider.baseUrl;
    if (Array.isArray(provider.models)) entry.models = provider.models.map((model) => (isObject(model) ? model.id : model)).filter((model) => typeof model === 'string');
    const key = provider.apiKey === undefined ? undefined : mapSecretValue(provider.apiKey);
    if (key === null) out.items.push({ status: 'skipped', what: `provider ${id} apiKey`, source: `${where}.apiKey`, reason: 'a file/exec/store SecretRef cannot be resolved by Hearth; set apiKey to "${VAR}" by hand' });
    if (key) entry.apiKey = key.value;
    mapped[id] = entry;
    out.items.push({ status: 'imported', what: `provider ${id}`, source: where, reason: key?.literal ? 'its literal API key was written into hearth.json5, as Hearth keeps provider keys (better: replace it with a ${VAR} reference)' : undefined });
  }
  if (Object.keys(mapped).length > 0) out.config.models = { providers: mapped };
}

function mapModel(agent: Json, target: Json): void {
  if (typeof agent.model === 'string') target.model = agent.model;
  else if (isObject(agent.model)) {
    if (typeof agent.model.primary === 'string') target.model = agent.model.primary;
    if (Array.isArray(agent.model.fallbacks)) target.fallbacks = agent.model.fallbacks.filter((model) => typeof model === 'string');
  }
}

/** Agent keys mapped here or elsewhere (workspace: its files are copied; tools: by mapToolPolicy). */
const AGENT_KEYS: readonly string[] = ['id', 'model', 'name', 'default', 'tools', 'workspace', 'heartbeat'];
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/u;
const HEARTBEAT_KEYS: readonly string[] = ['every', 'model', 'prompt', 'activeHours'];

/** The model, heartbeat and the report of every agent key Hearth has no equivalent for. */
function mapAgentFields(agent: Json, target: Json, where: string, items: ReportItem[]): void {
  mapModel(agent, target);
  for (const key of Object.keys(agent).filter((name) => !AGENT_KEYS.includes(name))) items.push({ status: 'skipped', what: `agent setting ${key}`, source: `${where}.${key}`, reason: 'Hearth has no equivalent agent setting' });
  if (!isObject(agent.heartbeat)) return;
  const heartbeat: Json = {};
  const source = agent.heartbeat;
  if (typeof source.every === 'string' && DURATION.test(source.every)) heartbeat.every = source.every;
  if (typeof source.model === 'string') heartbeat.model = source.model;
  if (typeof source.prompt === 'string') heartbeat.prompt = source.prompt;
  const hours = source.activeHours;
  if (isObject(hours) && typeof hours.start === 'string' && typeof hours.end === 'string') heartbeat.activeHours = { start: hours.start, end: hours.end, ...(typeof hours.timezone === 'string' ? { timezone: hours.timezone } : {}) };
  for (const key of Object.keys(source).filter((name) => !HEARTBEAT_KEYS.includes(name) || (name === 'every' && !heartbeat.every))) {
    items.push({ status: 'skipped', what: `heartbeat setting ${key}`, source: `${where}.heartbeat.${key}`, reason: key === 'target' || key === 'to' ? 'Hearth\'s heartbeat target is one chat (<platform>:<account>:<chat>); set agents.defaults.heartbeat.target by hand' : 'Hearth has no equivalent heartbeat setting' });
  }
  if (Object.keys(heartbeat).length > 0) target.heartbeat = heartbeat;
}

/** OpenClaw's other names for tools Hearth has: a deny of `bash` must still deny exec. */
const TOOL_ALIASES: Readonly<Record<string, string>> = { bash: 'exec' };
/** OpenClaw's group:plugins holds MCP servers' tools too (bundle-mcp); Hearth keeps those in group:mcp. */
const GROUP_EXPANSIONS: Readonly<Record<string, readonly string[]>> = { 'group:plugins': ['group:plugins', 'group:mcp'] };
const TOOL_POLICY_KEYS: readonly string[] = ['profile', 'allow', 'deny', 'alsoAllow'];

/** One OpenClaw allow/deny list in Hearth's names; groups Hearth lacks are dropped and reported. */
function mapToolPatterns(list: unknown[], where: string, items: ReportItem[]): string[] {
  const mapped: string[] = [];
  for (const pattern of list) {
    if (typeof pattern !== 'string' || (pattern.startsWith('group:') && !(TOOL_GROUP_NAMES as string[]).includes(pattern))) {
      items.push({ status: 'skipped', what: `tool pattern ${String(pattern)}`, source: where, reason: `Hearth has no such tool group (it has ${TOOL_GROUP_NAMES.join(', ')})` });
      continue;
    }
    const name = Object.hasOwn(TOOL_ALIASES, pattern) ? (TOOL_ALIASES[pattern] as string) : pattern;
    for (const item of Object.hasOwn(GROUP_EXPANSIONS, name) ? (GROUP_EXPANSIONS[name] as readonly string[]) : [name]) if (!mapped.includes(item)) mapped.push(item);
  }
  return mapped;
}

/**
 * Hearth's tool policy from OpenClaw's profile/allow/deny/alsoAllow. `allow` is exactly the tools
 * listed in both; `alsoAllow` (added to the profile) becomes an `allow` of the profile's tools plus
 * those. Unknown groups are dropped and reported.
 */
export function mapToolPolicy(tools: unknown, where: string, items: ReportItem[]): Json | undefined {
  if (!isObject(tools)) return undefined;
  const policy: Json = {};
  let profile: keyof typeof TOOL_PROFILES | undefined;
  if (typeof tools.profile === 'string') {
    if (Object.hasOwn(TOOL_PROFILES, tools.profile)) {
      profile = tools.profile as keyof typeof TOOL_PROFILES;
      policy.profile = profile;
    } else items.push({ status: 'skipped', what: `tool profile ${tools.profile}`, source: `${where}.profile`, reason: `Hearth's profiles are ${Object.keys(TOOL_PROFILES).join(', ')}` });
  }
  const allow = Array.isArray(tools.allow) ? mapToolPatterns(tools.allow, `${where}.allow`, items) : undefined;
  const deny = Array.isArray(tools.deny) ? mapToolPatterns(tools.deny, `${where}.deny`, items) : undefined;
  const alsoAllow = Array.isArray(tools.alsoAllow) ? mapToolPatterns(tools.alsoAllow, `${where}.alsoAllow`, items) : undefined;
  if (allow) policy.allow = alsoAllow ? [...new Set([...allow, ...alsoAllow])] : allow;
  else if (alsoAllow && profile) policy.allow = [...new Set([...TOOL_PROFILES[profile], ...alsoAllow])];
  else if (alsoAllow) items.push({ status: 'skipped', what: 'tool setting alsoAllow', source: `${where}.alsoAllow`, reason: 'without tools.profile there is no profile to add to; set agents.defaults.tools.allow by hand' });
  if (deny) policy.deny = deny;
  for (const key of Object.keys(tools).filter((name) => !TOOL_POLICY_KEYS.includes(name))) items.push({ status: 'skipped', what: `tool setting ${key}`, source: `${where}.${key}`, reason: 'Hearth has no equivalent tool setting' });
  return Object.keys(policy).length > 0 ? policy : undefined;
}

function agentList(agents: Json): [string, Json, string][] {
  if (isObject(agents.entries)) return Object.entries(agents.entries).filter((entry): entry is [string, Json] => isObject(entry[1])).map(([id, agent]) => [id, agent, `agents.entries.${id}`]);
  if (Array.isArray(agents.list)) return agents.list.filter(isObject).map((agent, index) => [String(agent.id ?? ''), agent, `agents.list[${index}]`]);
  return [];
}

function mapAgents(agents: unknown, tools: unknown, source: string, out: MappedConfig): void {
  const defaults: Json = {};
  const entries: Json = {};
  if (isObject(agents) && isObject(agents.defaults)) mapAgentFields(agents.defaults, defaults, `${source}#agents.defaults`, out.items);
  const toolPolicy = mapToolPolicy(tools, `${source}#tools`, out.items);
  if (toolPolicy) defaults.tools = toolPolicy;
  for (const [id, agent, path] of isObject(agents) ? agentList(agents) : []) {
    if (!AGENT_ID.test(id)) {
      out.items.push({ status: 'skipped', what: `agent ${id || '(no id)'}`, source: `${source}#${path}`, reason: 'not a valid agent id (lowercase letters, digits, _ and -)' });
      continue;
    }
    const entry: Json = {};
    mapAgentFields(agent, entry, `${source}#${path}`, out.items);
    if (typeof agent.name === 'string') entry.name = agent.name;
    if (agent.default === true) entry.default = true;
    const policy = mapToolPolicy(agent.tools, `${source}#${path}.tools`, out.items);
    if (policy) entry.tools = policy;
    entries[id] = entry;
    out.items.push({ status: 'imported', what: `agent ${id}`, source: `${source}#${path}` });
  }
  const mapped: Json = {};
  if (Object.keys(defaults).length > 0) mapped.defaults = defaults;
  if (Object.keys(entries).length > 0) mapped.entries = entries;
  if (Object.keys(mapped).length > 0) out.config.agents = mapped;
}

function mapAccount(platform: ChannelSecret['platform'], accountId: string, block: Json, where: string, out: MappedConfig): Json {
  const account: Json = {};
  const secretKeys = LOGIN_FIELDS[platform].map((field) => field.key);
  const literal: Record<string, string> = {};
  for (const [key, value] of Object.entries(block)) {
    if (key === 'accounts') continue;
    if (ROUTING_KEYS.includes(key)) account[key] = value;
    else if (key === 'groups' && isObject(value)) account.groups = Object.keys(value);
    else if (key === 'groups' && Array.isArray(value)) account.groups = value;
    else if (secretKeys.includes(key)) {
      const secret = mapSecretValue(value);
      if (secret === null) out.items.push({ status: 'skipped', what: `${platform} ${key}`, source: `${where}.${key}`, reason: 'a file/exec/store SecretRef cannot be resolved by Hearth; run hearth channels login' });
      else if (secret.literal) literal[key] = secret.value;
      else account[key] = secret.value;
    } else out.items.push({ status: 'skipped', what: `${platform} setting ${key}`, source: `${where}.${key}`, reason: 'Hearth has no equivalent channel setting' });
  }
  if (Object.keys(literal).length > 0) out.secrets.push({ platform, accountId, values: literal, source: where });
  return account;
}

function mapChannels(channels: unknown, source: string, out: MappedConfig): void {
  if (!isObject(channels)) return;
  const mapped: Json = {};
  for (const [platform, block] of Object.entries(channels)) {
    const where = `${source}#channels.${platform}`;
    if (!(BUILTIN_PLATFORMS as readonly string[]).includes(platform) || !isObject(block)) {
      out.items.push({ status: 'skipped', what: `channel ${platform}`, source: where, reason: 'Hearth has no built-in channel of this name (a plugin may provide it)' });
      continue;
    }
    const known = platform as ChannelSecret['platform'];
    const account = mapAccount(known, 'default', block, where, out);
    if (isObject(block.accounts)) {
      const accounts: Json = {};
      for (const [accountId, accountBlock] of Object.entries(block.accounts)) if (isObject(accountBlock)) accounts[accountId] = mapAccount(known, accountId, accountBlock, `${where}.accounts.${accountId}`, out);
      account.accounts = accounts;
    }
    mapped[platform] = account;
    out.items.push({ status: 'imported', what: `channel ${platform}`, source: where });
  }
  if (Object.keys(mapped).length > 0) out.config.channels = mapped;
}

function mapBindings(bindings: unknown, source: string, out: MappedConfig): void {
  if (!Array.isArray(bindings)) return;
  const mapped: Json[] = [];
  bindings.forEach((binding, index) => {
    const where = `${source}#bindings[${index}]`;
    const match = isObject(binding) && isObject(binding.match) ? binding.match : null;
    const extra = match ? Object.keys(match).filter((key) => !['channel', 'accountId', 'peer'].includes(key)) : [];
    const peer = match && isObject(match.peer) ? match.peer : undefined;
    const peerKind = peer?.kind === 'direct' || peer?.kind === 'dm' ? 'direct' : peer?.kind === 'group' ? 'group' : null;
    if (!isObject(binding) || !match || typeof match.channel !== 'string' || typeof binding.agentId !== 'string' || extra.length > 0 || (peer && !peerKind) || match.accountId === '*') {
      out.items.push({ status: 'skipped', what: `binding ${index}`, source: where, reason: extra.length > 0 ? `Hearth bindings match only channel, accountId and peer (not ${extra.join(', ')})` : 'not a shape Hearth bindings have (channel, accountId, peer direct|group)' });
      return;
    }
    const hearthMatch: Json = { channel: match.channel };
    if (typeof match.accountId === 'string') hearthMatch.accountId = match.accountId;
    if (peer && peerKind) hearthMatch.peer = { kind: peerKind, id: String(peer.id) };
    mapped.push({ agentId: binding.agentId, match: hearthMatch });
    out.items.push({ status: 'imported', what: `binding ${binding.agentId} ← ${match.channel}`, source: where });
  });
  if (mapped.length > 0) out.config.bindings = mapped;
}
