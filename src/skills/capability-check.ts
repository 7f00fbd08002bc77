import { PLUGIN_TOOL_PREFIX } from '../contracts/tool-groups.js';
import { matchesPattern, plainWords } from '../tools/exec-policy.js';
import type { Capability } from './capabilities.js';

/** Tools any skill may use: they read nothing of the user's and change nothing. */
const ALWAYS_ALLOWED: readonly string[] = ['current_time', 'skill'];

const argument = (args: unknown, key: string): unknown => (args !== null && typeof args === 'object' ? (args as Record<string, unknown>)[key] : undefined);

function hostOf(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function hostAllowed(host: string, allowed: string): boolean {
  const bare = allowed.replace(/:\d+$/u, '');
  return bare.startsWith('*.') ? host.endsWith(bare.slice(1)) : host === bare;
}

function commandNeed(granted: readonly Capability[], command: unknown, sandboxed: boolean): string | null {
  if (granted.some((capability) => capability.kind === 'exec-host')) return null;
  const words = typeof command === 'string' ? plainWords(command) : { ok: false as const };
  const matched = words.ok && granted.some((capability) => capability.kind === 'exec-sandboxed' && matchesPattern(capability.command, words.argv));
  if (matched && sandboxed) return null;
  if (matched) return 'exec:host (the command matches an exec:sandboxed token, but this agent runs commands without the sandbox: tools.exec.sandbox is "off")';
  return words.ok ? `exec:sandboxed:allowlist:${words.argv.join(' ')}` : 'exec:host';
}

/**
 * The capability token a call needs and the active skill did not declare, or null when its
 * tokens cover the call. Tools nobody mapped to a token are refused too: a skill does only what
 * it declared.
 */
export function missingCapability(granted: readonly Capability[], tool: string, args: unknown, options: { sandboxed: boolean }): string | null {
  if (ALWAYS_ALLOWED.includes(tool)) return null;
  const has = (test: (capability: Capability) => boolean) => granted.some(test);
  switch (tool) {
    case 'read':
    case 'list':
      return has((capability) => capability.kind === 'file') ? null : 'file:workspace:ro';
    case 'write':
    case 'edit':
      return has((capability) => capability.kind === 'file' && capability.access === 'rw') ? null : 'file:workspace:rw';
    case 'memory_search':
    case 'memory_get':
      return has((capability) => capability.kind === 'memory') ? null : 'memory:read';
    case 'memory_write':
      return has((capability) => capability.kind === 'memory' && capability.access === 'write') ? null : 'memory:write';
    case 'exec':
      return commandNeed(granted, argument(args, 'command'), options.sandboxed);
    case 'process': {
      if (argument(args, 'action') === 'start') return commandNeed(granted, argument(args, 'command'), options.sandboxed);
      return has((capability) => capability.kind === 'exec-host' || capability.kind === 'exec-sandboxed') ? null : 'exec:host';
    }
    case 'web_fetch': {
      const host = hostOf(argument(args, 'url'));
      if (host && has((capability) => capability.kind === 'network' && hostAllowed(host, capability.host))) return null;
      return `network:outbound:allowlist:${host ?? '<host>'}`;
    }
    default: {
      if (tool.startsWith(PLUGIN_TOOL_PREFIX)) return `a capability for the plugin tool "${tool}" (none of the vocabulary covers plugins' tools)`;
      const server = tool.includes('__') ? tool.slice(0, tool.indexOf('__')) : null;
      if (server !== null) return has((capability) => capability.kind === 'mcp' && capability.server === server) ? null : `mcp:${server}`;
      return `a capability for the tool "${tool}" (none of the vocabulary covers it)`;
    }
  }
}
