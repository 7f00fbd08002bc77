import { HearthError } from '../contracts/errors.js';
import { matchesToolPattern, TOOL_PROFILES, type ToolProfile } from '../contracts/tool-groups.js';
import type { ToolSpec } from '../contracts/model-provider.js';
import type { Tool } from '../contracts/tool.js';
import { createCurrentTimeTool } from './current-time-tool.js';
import { createEditTool } from './edit-tool.js';
import { createListTool } from './list-tool.js';
import { createReadTool } from './read-tool.js';
import { createWriteTool } from './write-tool.js';

/**
 * Which tools an agent may use (the shape of `agents.*.tools` in the config). Entries are tool
 * names, `*` (every tool), a prefix ending in `*` (`fs_*`) or a group (`group:fs`). `deny` wins
 * over `allow`; `allow` replaces the profile; with an empty `allow` no tool is allowed.
 */
export interface ToolPolicy {
  profile?: ToolProfile;
  allow?: readonly string[];
  deny?: readonly string[];
  /** Tools another setting takes away, with that setting's name (exec and process under `tools.exec.security: "deny"`). */
  withheld?: Readonly<Record<string, string>>;
}

/**
 * The tools known to one agent runtime: a fixed set, plus those a source brings and changes while
 * the gateway runs (each MCP server's tools). A fixed tool wins over a source's of the same name.
 */
export interface ToolRegistry {
  /** The tool with this name, whatever the policy says; `undefined` if none. */
  get(name: string): Tool | undefined;
  /** Specs of the tools the policy allows, in registration order (all tools without a policy). */
  specs(policy?: ToolPolicy): ToolSpec[];
  /** True when a tool with this name is registered and the policy allows it. */
  isAllowed(name: string, policy?: ToolPolicy): boolean;
  /** Names of the tools that change something (hidden from read-only turns). */
  sideEffectNames(): string[];
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Builds a registry from tools. Throws a `HearthError` (`INTERNAL`) on a duplicate name or a name
 * providers would reject (letters, digits, `_` and `-`, at most 64): both are wiring bugs.
 */
export function createToolRegistry(tools: readonly Tool[], options: { sources?: readonly (() => readonly Tool[])[] } = {}): ToolRegistry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    const name = tool.spec.name;
    if (!TOOL_NAME.test(name)) {
      throw new HearthError('INTERNAL', `Tool name ${JSON.stringify(name)} is invalid: use letters, digits, "_" or "-" (at most 64).`);
    }
    if (byName.has(name)) throw new HearthError('INTERNAL', `Two tools are named ${JSON.stringify(name)}; tool names must be unique.`);
    byName.set(name, tool);
  }
  const sources = options.sources ?? [];
  const sourced = (name: string) => {
    for (const source of sources) {
      const found = source().find((tool) => tool.spec.name === name);
      if (found) return found;
    }
    return undefined;
  };
  const all = (): Tool[] => {
    if (sources.length === 0) return [...byName.values()];
    const extra = sources.flatMap((source) => source()).filter((tool) => !byName.has(tool.spec.name));
    return [...byName.values(), ...extra];
  };
  return {
    get: (name) => byName.get(name) ?? sourced(name),
    specs: (policy) => all().filter((tool) => isToolAllowed(tool.spec.name, policy)).map((tool) => tool.spec),
    isAllowed: (name, policy) => (byName.has(name) || sourced(name) !== undefined) && isToolAllowed(name, policy),
    sideEffectNames: () => all().filter((tool) => tool.sideEffects).map((tool) => tool.spec.name),
  };
}

/**
 * Applies a policy to a tool name alone, registered or not: `deny` first; then `allow` when it is
 * given (exactly the tools it lists, whatever the profile); else the profile's tools; with
 * neither, every tool.
 */
export function isToolAllowed(name: string, policy: ToolPolicy = {}): boolean {
  return refusingRule(name, policy) === null;
}

/** The setting that takes a tool away from the agent (`tools.deny`, `tools.allow`, `tools.profile`, or a `withheld` one), or null when it is allowed. */
export function refusingRule(name: string, policy: ToolPolicy = {}): string | null {
  const withheld = policy.withheld?.[name];
  if (withheld !== undefined && Object.hasOwn(policy.withheld!, name)) return withheld;
  if (policy.deny?.some((pattern) => matchesToolPattern(pattern, name)) === true) return 'tools.deny';
  if (policy.allow !== undefined) return policy.allow.some((pattern) => matchesToolPattern(pattern, name)) ? null : 'tools.allow';
  if (policy.profile !== undefined) return TOOL_PROFILES[policy.profile].some((pattern) => matchesToolPattern(pattern, name)) ? null : 'tools.profile';
  return null;
}

/** The built-in tools: `read`, `write`, `edit`, `list` and `current_time`, freshly created. */
export function createBuiltinTools(): Tool[] {
  return [createReadTool(), createWriteTool(), createEditTool(), createListTool(), createCurrentTimeTool()];
}
