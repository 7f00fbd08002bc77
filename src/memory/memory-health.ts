import type { EmbeddingIdentity } from './embeddings.js';

/** Default period of the memory health check. */
export const MEMORY_HEALTH_INTERVAL_MS = 60_000;
/** A change noticed on disk and still not indexed after this long means indexing is stuck. */
const STALE_CHANGE_MS = 30_000;

/** What the memory service reports of one open agent memory (MemoryService.health()). */
export interface MemoryHealthInput {
  agentId: string;
  files: number;
  chunks: number;
  pending: number;
  builtWith: EmbeddingIdentity | null;
  embeddings: EmbeddingIdentity | null;
  embeddingsError: string | null;
  embeddingFailures: number;
  lastEmbeddingError: string | null;
  waitingSinceMs: number;
  lastIndexLagMs: number | null;
  searchSeconds: number[];
}

/**
 * One agent's memory health: index freshness, embedding readiness, search latency and provider
 * identity, with the problems that make it `degraded` (never down: keyword search still answers).
 */
export interface MemoryAgentHealth {
  agentId: string;
  status: 'ok' | 'degraded';
  problems: string[];
  files: number;
  chunks: number;
  /** The age of the oldest change not yet indexed, else how long the last one took (ms); null before any. */
  indexLagMs: number | null;
  /** Chunks waiting for their vector, and the last embedding error (null when the last call went well). */
  pendingEmbeddings: number;
  lastEmbeddingError: string | null;
  embeddingFailures: number;
  /** Over the last searches (at most 200); null before the first. */
  searchMs: { p50: number; p99: number; count: number } | null;
  provider: { configured: EmbeddingIdentity | null; indexBuiltWith: EmbeddingIdentity | null; mismatch: boolean; error: string | null };
}

export interface MemoryHealthReport {
  /** When the periodic check last ran (ms since the epoch), or null before its first run. */
  checkedAt: number | null;
  intervalMs: number;
  agents: MemoryAgentHealth[];
}

/** An agent's memory health from what the service reports. */
export function agentHealth(input: MemoryHealthInput): MemoryAgentHealth {
  const indexLagMs = input.waitingSinceMs > 0 ? Math.max(input.waitingSinceMs, input.lastIndexLagMs ?? 0) : input.lastIndexLagMs;
  const mismatch = input.embeddings !== null && input.builtWith !== null && !sameIdentity(input.embeddings, input.builtWith);
  // Without embeddings configured no chunk waits for a vector: search is by keyword by design.
  const pending = input.embeddings ? input.pending : 0;
  const lastEmbeddingError = pending > 0 ? input.lastEmbeddingError : null;
  const health: Omit<MemoryAgentHealth, 'status' | 'problems'> = {
    agentId: input.agentId,
    files: input.files,
    chunks: input.chunks,
    indexLagMs,
    pendingEmbeddings: pending,
    lastEmbeddingError,
    embeddingFailures: input.embeddingFailures,
    searchMs: percentiles(input.searchSeconds),
    provider: { configured: input.embeddings, indexBuiltWith: input.builtWith, mismatch, error: input.embeddingsError },
  };
  const problems = problemsOf(health, input.waitingSinceMs);
  return { ...health, status: problems.length > 0 ? 'degraded' : 'ok', problems };
}

/** The wording /readyz has always used for the first two; hearth status and memory status show them all. */
function problemsOf(health: Omit<MemoryAgentHealth, 'status' | 'problems'>, waitingSinceMs: number): string[] {
  const problems: string[] = [];
  if (health.provider.error) problems.push(health.provider.error);
  if (health.pendingEmbeddings > 0 && health.lastEmbeddingError) problems.push(`${health.pendingEmbeddings} chunks without vectors (${health.lastEmbeddingError})`);
  if (health.provider.mismatch && health.provider.indexBuiltWith && health.provider.configured) {
    problems.push(`the index was built with ${named(health.provider.indexBuiltWith)}, not the configured ${named(health.provider.configured)} (being re-embedded; keyword search until then)`);
  }
  if (waitingSinceMs > STALE_CHANGE_MS) problems.push(`a change on disk has waited ${Math.round(waitingSinceMs / 1000)} s to be indexed`);
  return problems;
}

function percentiles(seconds: readonly number[]): MemoryAgentHealth['searchMs'] {
  if (seconds.length === 0) return null;
  const sorted = [...seconds].sort((a, b) => a - b);
  const at = (quantile: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]! * 1_000_000) / 1000;
  return { p50: at(0.5), p99: at(0.99), count: sorted.length };
}

const sameIdentity = (a: EmbeddingIdentity, b: EmbeddingIdentity) => a.providerId === b.providerId && a.baseUrl === b.baseUrl && a.model === b.model;
const named = (identity: EmbeddingIdentity) => `${identity.providerId}/${identity.model} at ${identity.baseUrl}`;

export interface MemoryHealthCheckDeps {
  /** The service's raw view of every open agent memory. */
  health(): MemoryHealthInput[];
  /** Retries stuck indexing and embedding (MemoryService.catchUp). */
  catchUp(): void;
  logger: { warn(object: object, message: string): void; info(object: object, message: string): void };
  intervalMs?: number;
  now?: () => number;
}

/**
 * The periodic memory health check: every `intervalMs` (default 60 s, timer unref'd) it retries
 * stuck work, records when it ran, and logs each agent's memory turning degraded or ok again
 * (once a change, not every period). `report()` is computed at the time of asking.
 */
export function createMemoryHealthCheck(deps: MemoryHealthCheckDeps) {
  const intervalMs = Math.max(1000, deps.intervalMs ?? MEMORY_HEALTH_INTERVAL_MS);
  const now = deps.now ?? Date.now;
  const state = { checkedAt: null as number | null, degraded: new Map<string, string>(), timer: null as NodeJS.Timeout | null };

  const report = (): MemoryHealthReport => ({ checkedAt: state.checkedAt, intervalMs, agents: deps.health().map(agentHealth) });

  function check(): MemoryHealthReport {
    deps.catchUp();
    const current = report();
    state.checkedAt = now();
    for (const agent of current.agents) logChange(agent);
    return { ...current, checkedAt: state.checkedAt };
  }

  function logChange(agent: MemoryAgentHealth): void {
    const before = state.degraded.get(agent.agentId);
    const problems = agent.problems.join('; ');
    if (agent.status === 'degraded' && before !== problems) deps.logger.warn({ agentId: agent.agentId, problems: agent.problems }, `memory of ${agent.agentId} is degraded: ${problems}`);
    if (agent.status === 'ok' && before !== undefined) deps.logger.info({ agentId: agent.agentId }, `memory of ${agent.agentId} is healthy again`);
    if (agent.status === 'degraded') state.degraded.set(agent.agentId, problems);
    else state.degraded.delete(agent.agentId);
  }

  return {
    report,
    /** Runs one check now (also what the timer runs). */
    check,
    start(): void {
      if (state.timer) return;
      state.timer = setInterval(() => {
        try {
          check();
        } catch (error) {
          deps.logger.warn({ err: error }, 'the memory health check failed');
        }
      }, intervalMs);
      state.timer.unref();
    },
    stop(): void {
      if (state.timer) clearInterval(state.timer);
      state.timer = null;
    },
  };
}

export type MemoryHealthCheck = ReturnType<typeof createMemoryHealthCheck>;
