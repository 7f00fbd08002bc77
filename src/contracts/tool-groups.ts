/**
 * Named groups of tools for `tools.allow` and `tools.deny` (`group:fs`, …), and the profiles
 * `tools.profile` picks from. `group:mcp` is every tool an MCP server brings (`<server>__<tool>`),
 * `group:plugins` every tool a plugin registers (`plugin__<pluginId>__<tool>`).
 */
export const TOOL_GROUPS = {
  'group:fs': ['read', 'write', 'edit', 'list'],
  'group:runtime': ['exec', 'process'],
  'group:web': ['web_fetch'],
  'group:memory': ['memory_search', 'memory_get', 'memory_write'],
  'group:mcp': [],
  'group:plugins': [],
  'group:tasks': ['task'],
} as const satisfies Record<string, readonly string[]>;

export type ToolGroup = keyof typeof TOOL_GROUPS;

/** Plugins' tools are named `plugin__<pluginId>__<tool>` (`group:plugins`). */
export const PLUGIN_TOOL_PREFIX = 'plugin__';
export const TOOL_GROUP_NAMES = Object.keys(TOOL_GROUPS) as ToolGroup[];

/**
 * What each profile allows. `coding` (the default) is every tool that acts on the workspace and
 * memory, `exec` and `process` still under `tools.exec`; tools that reach out to other hosts
 * (`group:web`, `group:mcp`, `group:plugins`) need `full` or an explicit `tools.allow`.
 */
export const TOOL_PROFILES = {
  minimal: ['current_time', 'skill', 'read', 'list', 'memory_search', 'memory_get'],
  messaging: ['current_time', 'skill', 'group:memory', 'group:tasks'],
  coding: ['current_time', 'skill', 'group:fs', 'group:runtime', 'group:memory', 'group:tasks'],
  full: ['*'],
} as const satisfies Record<string, readonly string[]>;

export type ToolProfile = keyof typeof TOOL_PROFILES;
export const DEFAULT_TOOL_PROFILE: ToolProfile = 'coding';

/** Whether a tool name matches an entry of allow/deny or a profile: a name, `*`, a prefix ending in `*`, or a group. */
export function matchesToolPattern(pattern: string, name: string): boolean {
  if (pattern === 'group:plugins') return name.startsWith(PLUGIN_TOOL_PREFIX);
  if (pattern === 'group:mcp') return name.includes('__') && !name.startsWith(PLUGIN_TOOL_PREFIX);
  if (pattern in TOOL_GROUPS) return (TOOL_GROUPS[pattern as ToolGroup] as readonly string[]).includes(name);
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}
