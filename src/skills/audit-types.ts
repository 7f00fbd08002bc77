/**
 * What the skill audit's entry point (`skill-audit.ts`) and its scanners (`audit-text-rules.ts`,
 * `audit-js-scanner.ts`) share: the risk levels, the draft finding every scanner returns, and two
 * small helpers for data parsed from the skill's YAML and JSON.
 */

export type RiskLevel = 'low' | 'medium' | 'high';

/** A finding before it is tied to a file and checked against the declared capabilities. */
export interface Draft {
  kind: string;
  level: RiskLevel;
  line: number;
  message: string;
  needs?: string;
  /** For exec uses: the command, when it is known, to check against sandbox allowlists. */
  command?: string;
}

/** A network use with a known host needs this prefix followed by the host. */
export const NETWORK_TOKEN = 'network:outbound:allowlist:';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parsed JSON, or undefined when the text is not JSON. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
