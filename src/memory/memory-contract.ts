import type { AgentProfile } from '../agent/agent-loop.js';
import type { ProviderConfig } from '../config/schema.js';
import { resolveEmbeddingIdentity } from './embeddings.js';
import { DEFAULT_INDEX_PATHS } from './memory-sources.js';

/** One governance rule as the contract shows it: what it does, to what, and why (or which tag). */
export interface ContractRule {
  action: 'redact' | 'tag' | 'block';
  pattern: string;
  reason?: string;
  tag?: string;
}

/**
 * An agent's memory contract as it is in effect: its `memory` settings after `agents.defaults`
 * are merged in and every default filled, and the embeddings resolved to the provider, base URL
 * and model requests go to (`hearth memory status --contract`, `memory.status {contract: true}`).
 */
export interface MemoryContract {
  embeddings: { provider: string; model: string; baseUrl: string | null } | null;
  /** Why the configured embeddings cannot work, or null. */
  embeddingsError: string | null;
  indexPaths: string[];
  extraPaths: string[];
  sessions: boolean;
  citations: 'on' | 'off' | 'auto';
  recordQuery: 'text' | 'hash';
  redaction: { secrets: boolean; apiKeys: boolean };
  governance: { rules: ContractRule[]; denyPaths: string[] };
  retentionPolicy: { kind: 'time'; maxAgeDays: number } | null;
}

/** The agent's memory contract, resolved against the configured providers. */
export function memoryContract(profile: AgentProfile, providers: Record<string, ProviderConfig>): MemoryContract {
  const memory = profile.memory ?? {};
  return {
    ...embeddingsOf(memory.embeddings, providers),
    indexPaths: memory.indexPaths ?? [...DEFAULT_INDEX_PATHS],
    extraPaths: memory.extraPaths ?? [],
    sessions: memory.sessions ?? false,
    citations: memory.citations ?? 'auto',
    recordQuery: memory.recordQuery ?? 'text',
    redaction: { secrets: memory.redaction?.secrets ?? true, apiKeys: memory.redaction?.apiKeys ?? true },
    governance: { rules: (memory.governance?.rules ?? []).map(contractRule), denyPaths: memory.governance?.denyPaths ?? [] },
    retentionPolicy: memory.retentionPolicy ?? null,
  };
}

function embeddingsOf(choice: { provider: string; model: string } | undefined, providers: Record<string, ProviderConfig>): Pick<MemoryContract, 'embeddings' | 'embeddingsError'> {
  if (!choice) return { embeddings: null, embeddingsError: null };
  const resolved = resolveEmbeddingIdentity(providers, choice);
  if ('error' in resolved) return { embeddings: { ...choice, baseUrl: null }, embeddingsError: resolved.error };
  return { embeddings: { provider: resolved.identity.providerId, model: resolved.identity.model, baseUrl: resolved.identity.baseUrl }, embeddingsError: null };
}

function contractRule(rule: ContractRule): ContractRule {
  return { action: rule.action, pattern: rule.pattern, ...(rule.reason !== undefined ? { reason: rule.reason } : {}), ...(rule.tag !== undefined ? { tag: rule.tag } : {}) };
}
