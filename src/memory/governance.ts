import { createHash } from 'node:crypto';

/** One operator rule: text matching `pattern` is redacted, tagged, or kept out of memory. */
export interface GovernanceRule {
  action: 'redact' | 'tag' | 'block';
  /** A regular expression, JavaScript syntax (Unicode mode). */
  pattern: string;
  reason?: string;
  tag?: string;
}

export interface GovernanceSettings {
  rules?: readonly GovernanceRule[];
  /** Redact the configured credentials (provider keys, channel tokens) wherever they appear. Default true. */
  secrets?: boolean;
  /** Redact text shaped like API keys, tokens and private keys. Default true. */
  apiKeys?: boolean;
  /** Workspace-relative paths (a trailing `/` for a folder, `*` for any characters) never indexed. */
  denyPaths?: readonly string[];
}

/** What governance did, as counts: never the text it redacted or blocked. */
export interface GovernanceCounts {
  redactions: number;
  blockedChunks: number;
  deniedFiles: number;
}

/** Shapes of credentials, each replaced by `[redacted:<kind>]`. */
const KEY_SHAPES: readonly [string, RegExp][] = [
  ['private-key', /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/gu],
  ['api-key', /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}/gu],
  ['api-key', /\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/gu],
  ['api-key', /\bxox[abprs]-[A-Za-z0-9-]{10,}/gu],
  ['api-key', /\bAKIA[0-9A-Z]{16}\b/gu],
  ['api-key', /\bAIza[0-9A-Za-z_-]{35}\b/gu],
  ['token', /\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/gu],
  ['token', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/gu],
  ['token', /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{20,}/gu],
];

/**
 * The governance pass every memory text goes through before it is indexed or written: the
 * built-in redaction of credentials (by shape, and the configured ones by value), the operator's
 * rules, and the path deny-list. Redactions keep the line structure (a redacted private key block
 * stays as many lines), so citations still point at the right lines of the file.
 */
export function createGovernance(settings: GovernanceSettings, secrets: () => readonly string[]) {
  const rules = (settings.rules ?? []).map((rule) => ({ ...rule, regex: new RegExp(rule.pattern, 'gu') }));
  const deny = (settings.denyPaths ?? []).map(pathPattern);
  return {
    /** Changes whenever a setting or a configured secret that changes the outcome changes. */
    fingerprint(): string {
      const hash = createHash('sha256').update(JSON.stringify({ settings, rules: settings.rules ?? [] }));
      if (settings.secrets !== false) for (const secret of secrets()) hash.update(createHash('sha256').update(secret).digest());
      return hash.digest('hex').slice(0, 16);
    },
    denies: (path: string): boolean => deny.some((pattern) => pattern.test(path)),
    /** The text with credentials and `redact` matches replaced; how many replacements. */
    redact(text: string): { text: string; redactions: number } {
      let redactions = 0;
      let result = text;
      const replace = (regex: RegExp, label: string) => {
        result = result.replace(regex, (match) => {
          redactions += 1;
          return match
            .split('\n')
            .map(() => `[redacted:${label}]`)
            .join('\n');
        });
      };
      if (settings.secrets !== false) {
        for (const secret of secrets()) if (secret.length >= 8) replace(new RegExp(escapeRegExp(secret), 'gu'), 'credential');
      }
      if (settings.apiKeys !== false) for (const [label, regex] of KEY_SHAPES) replace(regex, label);
      for (const rule of rules) if (rule.action === 'redact') replace(rule.regex, rule.reason ?? 'rule');
      return { text: result, redactions };
    },
    /** Whether a chunk may be indexed (the first matching `block` rule's reason if not), and its tags. */
    judge(text: string): { blocked: string | null; tags: string[] } {
      const tags: string[] = [];
      for (const rule of rules) {
        rule.regex.lastIndex = 0;
        if (!rule.regex.test(text)) continue;
        if (rule.action === 'block') return { blocked: rule.reason ?? `matches ${rule.pattern}`, tags: [] };
        if (rule.action === 'tag' && rule.tag && !tags.includes(rule.tag)) tags.push(rule.tag);
      }
      return { blocked: null, tags };
    },
  };
}

export type Governance = ReturnType<typeof createGovernance>;

function pathPattern(pattern: string): RegExp {
  const body = pattern.split('*').map(escapeRegExp).join('.*');
  return new RegExp(pattern.endsWith('/') ? `^${body}` : `^${body}$`, 'u');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}
