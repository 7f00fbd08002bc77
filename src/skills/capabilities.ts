/**
 * The capability tokens a skill declares in SKILL.md (`capabilities:`), from a fixed vocabulary.
 * While a skill is active in a turn, its tokens are all its tool calls may use; they only ever
 * narrow the agent's own policy.
 */
export type Capability =
  | { kind: 'file'; access: 'ro' | 'rw' }
  | { kind: 'exec-sandboxed'; command: string }
  | { kind: 'exec-host' }
  | { kind: 'network'; host: string }
  | { kind: 'memory'; access: 'read' | 'write' }
  | { kind: 'cron-self' }
  | { kind: 'sessions-list' }
  | { kind: 'mcp'; server: string };

/** The forms a token may take, as written in SKILL.md (for error messages and docs). */
export const CAPABILITY_FORMS = [
  'file:workspace:ro',
  'file:workspace:rw',
  'exec:sandboxed:allowlist:<cmd>',
  'exec:host',
  'network:outbound:allowlist:<host>',
  'memory:read',
  'memory:write',
  'cron:self-only',
  'sessions:list-only',
  'mcp:<server>',
] as const;

const FIXED: Readonly<Record<string, Capability>> = {
  'file:workspace:ro': { kind: 'file', access: 'ro' },
  'file:workspace:rw': { kind: 'file', access: 'rw' },
  'exec:host': { kind: 'exec-host' },
  'memory:read': { kind: 'memory', access: 'read' },
  'memory:write': { kind: 'memory', access: 'write' },
  'cron:self-only': { kind: 'cron-self' },
  'sessions:list-only': { kind: 'sessions-list' },
};

/** One token, or a message saying what is wrong with it. */
export function parseCapability(token: string): { ok: true; capability: Capability } | { ok: false; message: string } {
  const text = token.trim();
  const fixed = FIXED[text];
  if (fixed) return { ok: true, capability: fixed };
  const exec = /^exec:sandboxed:allowlist:(.+)$/u.exec(text);
  if (exec?.[1]?.trim()) return { ok: true, capability: { kind: 'exec-sandboxed', command: exec[1].trim() } };
  const network = /^network:outbound:allowlist:([A-Za-z0-9.*-]+(?::\d+)?)$/u.exec(text);
  if (network?.[1]) return { ok: true, capability: { kind: 'network', host: network[1].toLowerCase() } };
  const mcp = /^mcp:([A-Za-z0-9_-]{1,24})$/u.exec(text);
  if (mcp?.[1]) return { ok: true, capability: { kind: 'mcp', server: mcp[1] } };
  return { ok: false, message: `"${text}" is not a capability; use one of ${CAPABILITY_FORMS.join(', ')}` };
}

/** The token as written in SKILL.md. */
export function formatCapability(capability: Capability): string {
  switch (capability.kind) {
    case 'file':
      return `file:workspace:${capability.access}`;
    case 'exec-sandboxed':
      return `exec:sandboxed:allowlist:${capability.command}`;
    case 'exec-host':
      return 'exec:host';
    case 'network':
      return `network:outbound:allowlist:${capability.host}`;
    case 'memory':
      return `memory:${capability.access}`;
    case 'cron-self':
      return 'cron:self-only';
    case 'sessions-list':
      return 'sessions:list-only';
    case 'mcp':
      return `mcp:${capability.server}`;
  }
}
