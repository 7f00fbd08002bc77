import type { MemoryAgentHealth } from '../memory/memory-health.js';

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
const identity = (value: { providerId: string; model: string }) => `${value.providerId}/${value.model}`;

/** When the periodic check last ran, in words. */
export function describeCheck(check: { checkedAt: number | null; intervalMs: number }, now: number): string {
  const every = `every ${Math.round(check.intervalMs / 1000)} s`;
  return check.checkedAt === null ? `not checked yet; ${every}` : `checked ${seconds(Math.max(0, now - check.checkedAt))} ago; ${every}`;
}

/** One agent's memory health as the Health section of `hearth memory status` shows it. */
export function describeMemoryHealth(health: MemoryAgentHealth, check: { checkedAt: number | null; intervalMs: number }, now: number): string[] {
  const { provider, searchMs } = health;
  const lines = [
    `Health      ${health.status} (${describeCheck(check, now)})`,
    `  index lag   ${health.indexLagMs === null ? 'no change noticed since the start' : seconds(health.indexLagMs)}`,
    `  embeddings  ${health.pendingEmbeddings} chunks waiting, ${health.embeddingFailures} failed batches since the start${health.lastEmbeddingError ? `; last error: ${health.lastEmbeddingError}` : ''}`,
    `  search      ${searchMs ? `p50 ${searchMs.p50} ms, p99 ${searchMs.p99} ms over the last ${searchMs.count}` : 'no search yet'}`,
    `  provider    ${describeProvider(provider)}`,
  ];
  for (const problem of health.problems) lines.push(`  problem     ${problem}`);
  return lines;
}

function describeProvider(provider: MemoryAgentHealth['provider']): string {
  if (provider.error) return `cannot work: ${provider.error}`;
  if (!provider.configured) return provider.indexBuiltWith ? `none configured; the index has vectors from ${identity(provider.indexBuiltWith)}` : 'none configured (keyword search)';
  if (!provider.indexBuiltWith) return `${identity(provider.configured)}; no vectors yet`;
  return provider.mismatch ? `MISMATCH: configured ${identity(provider.configured)}, index built with ${identity(provider.indexBuiltWith)}` : `${identity(provider.configured)}, as the index was built`;
}

/** One line per agent for `hearth status`. */
export function describeMemoryLine(health: MemoryAgentHealth): string {
  const search = health.searchMs ? `, search p50 ${health.searchMs.p50} ms / p99 ${health.searchMs.p99} ms` : '';
  const lag = health.indexLagMs === null ? '' : `, index lag ${seconds(health.indexLagMs)}`;
  const waiting = health.pendingEmbeddings > 0 ? `, ${health.pendingEmbeddings} chunks waiting for vectors` : '';
  const problems = health.problems.length > 0 ? `: ${health.problems.join('; ')}` : '';
  return `Memory    ${health.agentId} ${health.status}, ${health.chunks} chunks${lag}${waiting}${search}${problems}`;
}
