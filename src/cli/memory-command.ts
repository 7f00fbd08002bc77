import type { MemoryIndexProgress } from '../memory/index-progress.js';
import type { MemoryAgentHealth } from '../memory/memory-health.js';
import type { MemoryContract } from '../memory/memory-contract.js';
import { type CliIo, type CliRuntime, CliFailure, withGateway } from './cli-context.js';
import type { GatewayClient } from './gateway-client.js';
import { createProgressLine } from './progress-line.js';
import { describeMemoryHealth } from './memory-health-view.js';

interface Hit {
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  snippet: string;
  citation: string;
  provenance: string;
}

interface Status {
  agentId: string;
  files: number;
  chunks: number;
  vectors: { identity: { providerId: string; baseUrl: string; model: string } | null; dimensions: number | null; pending: number };
  /** The 8-bit copy of the vectors that search by meaning scans (`loaded` false: it loads at the next such search). */
  vectorCopy?: { loaded: boolean; vectors: number; bytes: number };
  embeddings: { providerId: string; baseUrl: string; model: string } | null;
  embeddingsError: string | null;
  skipped: { path: string; reason: string }[];
  recentCalls?: { providerId: string; baseUrl: string; model: string; at: number; status: string; durationMs: number; texts: number; error?: string }[];
  governance?: { redactions: number; blockedChunks: number; deniedFiles: number };
  durationMs?: number;
  contract?: MemoryContract;
  health?: MemoryAgentHealth | null;
  healthCheck?: { checkedAt: number | null; intervalMs: number };
}

const agentParams = (agent?: string) => (agent ? { agentId: agent } : {});

export async function memoryStatus(runtime: CliRuntime, options: { agent?: string; json?: boolean; contract?: boolean }): Promise<void> {
  const status = await withGateway(runtime.env, runtime.io, (client) => client.call<Status>('memory.status', { ...agentParams(options.agent), ...(options.contract ? { contract: true } : {}) }));
  if (options.contract && status.contract) {
    printContract(runtime, status.agentId, status.contract, options.json === true);
    return;
  }
  if (options.json) {
    runtime.io.out(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  const health = status.health && status.healthCheck ? describeMemoryHealth(status.health, status.healthCheck, Date.now()) : [];
  runtime.io.out(`${[...describeStatus(status), ...health].join('\n')}\n`);
  if (status.embeddingsError) throw new CliFailure(`Memory embeddings are misconfigured: ${status.embeddingsError}`);
}

function printContract(runtime: CliRuntime, agentId: string, contract: MemoryContract, json: boolean): void {
  runtime.io.out(json ? `${JSON.stringify({ agentId, contract }, null, 2)}\n` : `${describeContract(agentId, contract).join('\n')}\n`);
  if (contract.embeddingsError) throw new CliFailure(`Memory embeddings are misconfigured: ${contract.embeddingsError}`);
}

const CITATIONS = { on: 'on (path#L citations in every conversation)', off: 'off', auto: 'auto (in direct conversations, not in group chats)' } as const;
const onOff = (value: boolean) => (value ? 'on' : 'off');

/** The memory contract as people read it: one setting a line, the rules numbered. */
export function describeContract(agentId: string, contract: MemoryContract): string[] {
  const { embeddings, governance, retentionPolicy } = contract;
  const lines = [
    `Memory contract of agent ${agentId} (as in effect)`,
    `Embeddings   ${embeddings ? `${embeddings.provider}/${embeddings.model} at ${embeddings.baseUrl ?? '?'}` : 'none: keyword search only'}${contract.embeddingsError ? ` (cannot work: ${contract.embeddingsError})` : ''}`,
    `Index paths  ${contract.indexPaths.join(', ')}`,
    `Extra paths  ${contract.extraPaths.length > 0 ? contract.extraPaths.join(', ') : 'none'}`,
    `Sessions     ${contract.sessions ? 'on (conversations indexed as untrusted)' : 'off'}`,
    `Citations    ${CITATIONS[contract.citations]}`,
    `Queries      kept in run records ${contract.recordQuery === 'hash' ? 'as their SHA-256 only' : 'as written'}`,
    `Redaction    configured credentials ${onOff(contract.redaction.secrets)}, API-key shapes ${onOff(contract.redaction.apiKeys)}`,
    `Rules        ${governance.rules.length === 0 ? 'none' : governance.rules.length}`,
    ...governance.rules.map((rule, index) => `  ${index + 1}. ${rule.action} /${rule.pattern}/${rule.tag !== undefined ? `  tag: ${rule.tag}` : ''}${rule.reason !== undefined ? `  reason: ${rule.reason}` : ''}`),
    `Deny-list    ${governance.denyPaths.length > 0 ? governance.denyPaths.join(', ') : 'none'}`,
    `Retention    ${retentionPolicy ? `dated notes older than ${retentionPolicy.maxAgeDays} days leave the index` : 'none (dated notes stay searchable)'}`,
  ];
  return lines;
}

export function describeStatus(status: Status): string[] {
  const lines = [`Agent       ${status.agentId}`, `Indexed     ${status.files} files, ${status.chunks} chunks`];
  if (status.embeddingsError) lines.push(`Search      keyword only: ${status.embeddingsError}`);
  else if (!status.embeddings) lines.push('Search      keyword only (no memory.embeddings configured; see docs/memory.md)');
  else {
    const built = status.vectors.identity;
    lines.push(`Embeddings  ${status.embeddings.providerId}/${status.embeddings.model} at ${status.embeddings.baseUrl}`);
    lines.push(
      built
        ? `Vectors     ${status.vectors.dimensions} dimensions, built with ${built.providerId}/${built.model}; ${status.vectors.pending} chunks waiting`
        : `Vectors     none yet; ${status.vectors.pending} chunks waiting`,
    );
    if (built && status.vectorCopy) {
      const copy = status.vectorCopy;
      lines.push(copy.loaded ? `Scan copy   ${copy.vectors} vectors in memory (${(copy.bytes / 1024 / 1024).toFixed(1)} MB)` : 'Scan copy   not loaded (loads in the background at the next search by meaning)');
    }
    const failed = (status.recentCalls ?? []).filter((call) => call.status === 'error').at(-1);
    if (failed) lines.push(`Last error  ${failed.error ?? 'unknown'}`);
  }
  if (status.governance) {
    const { redactions, blockedChunks, deniedFiles } = status.governance;
    lines.push(`Governance  ${redactions} redaction${redactions === 1 ? '' : 's'}, ${blockedChunks} chunk${blockedChunks === 1 ? '' : 's'} blocked, ${deniedFiles} file${deniedFiles === 1 ? '' : 's'} denied (since the gateway started)`);
  }
  if (status.skipped.length > 0) {
    lines.push(`Skipped     ${status.skipped.length} file${status.skipped.length === 1 ? '' : 's'}:`);
    for (const entry of status.skipped) lines.push(`  ${entry.path}: ${entry.reason}`);
  }
  return lines;
}

/** A rebuild of a large memory takes minutes: `memory.index` may take this long to answer. */
const INDEX_TIMEOUT_MS = 30 * 60_000;

export async function memoryIndex(runtime: CliRuntime, options: { agent?: string; force?: boolean; json?: boolean }): Promise<void> {
  const params = { ...agentParams(options.agent), ...(options.force ? { force: true } : {}) };
  const showProgress = options.json !== true && runtime.io.outIsTerminal === true;
  const status = await withGateway(runtime.env, runtime.io, (client) => indexWithProgress(client, runtime.io, params, showProgress));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  runtime.io.out(`${describeStatus(status).join('\n')}\nTook        ${status.durationMs ?? 0} ms\n`);
  if (status.vectors.pending > 0 && status.embeddings) throw new CliFailure(`${status.vectors.pending} chunks could not be embedded; \`hearth memory status\` shows the last error.`);
}

/**
 * Calls `memory.index`; with `showProgress` (a terminal, not --json) it asks for progress events
 * and keeps one line up to date with them, cleared before the answer is printed.
 */
export async function indexWithProgress(client: Pick<GatewayClient, 'call' | 'onEvent'>, io: CliIo, params: Record<string, unknown>, showProgress: boolean): Promise<Status> {
  if (!showProgress) return client.call<Status>('memory.index', params, INDEX_TIMEOUT_MS);
  const line = createProgressLine(io);
  const unsubscribe = client.onEvent((event, payload) => {
    if (event === 'memory.index.progress') line.show(describeProgress(payload as MemoryIndexProgress));
  });
  try {
    return await client.call<Status>('memory.index', { ...params, progress: true }, INDEX_TIMEOUT_MS);
  } finally {
    unsubscribe();
    line.clear();
  }
}

/** One progress line: the phase and how far it is. */
export function describeProgress(progress: MemoryIndexProgress): string {
  const of = progress.total === null ? `${progress.done}` : `${progress.done}/${progress.total}`;
  const percent = progress.total ? ` (${Math.floor((progress.done / progress.total) * 100)}%)` : '';
  if (progress.phase === 'reading') return `Reading memory files… ${of}`;
  if (progress.phase === 'indexing') return `Indexing files ${of}${percent}`;
  if (progress.phase === 'embedding') return `Embedding chunks ${of}${percent}`;
  return `Indexed ${progress.done} files`;
}

export async function memorySearch(runtime: CliRuntime, query: string, options: { agent?: string; maxResults?: string; json?: boolean }): Promise<void> {
  const maxResults = options.maxResults === undefined ? undefined : Number(options.maxResults);
  if (maxResults !== undefined && !(Number.isInteger(maxResults) && maxResults >= 1 && maxResults <= 50)) {
    throw new CliFailure(`--max-results must be a whole number from 1 to 50 (got "${options.maxResults}").`);
  }
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ agentId: string; mode: string; warning?: string; hits: Hit[] }>('memory.search', { query, ...agentParams(options.agent), ...(maxResults ? { maxResults } : {}) }),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  if (result.warning) runtime.io.err(`warning: ${result.warning}\n`);
  if (result.hits.length === 0) {
    runtime.io.out(`No memory matches "${query}".\n`);
    return;
  }
  for (const hit of result.hits) {
    runtime.io.out(`${hit.citation}  score ${hit.score.toFixed(2)}  ${hit.provenance}\n`);
    for (const line of hit.snippet.split('\n')) runtime.io.out(`  ${line}\n`);
  }
}

interface Identity {
  providerId: string;
  baseUrl: string;
  model: string;
}

const same = (a: Identity, b: Identity) => a.providerId === b.providerId && a.baseUrl === b.baseUrl && a.model === b.model;
const named = (identity: Identity) => `${identity.providerId}/${identity.model} at ${identity.baseUrl}`;

/** Every way an agent's embeddings can disagree with its config: the incumbent's silent misrouting, made loud. */
export function embeddingMismatches(status: Status): string[] {
  const problems: string[] = [];
  if (status.embeddingsError) problems.push(`embeddings cannot work: ${status.embeddingsError}`);
  const configured = status.embeddings;
  const built = status.vectors.identity;
  if (configured && built && !same(configured, built)) problems.push(`the index was built with ${named(built)} but ${named(configured)} is configured (it is re-embedded at the next search or \`hearth memory index\`)`);
  if (!configured && built) problems.push(`the index has vectors from ${named(built)} but no embeddings are configured`);
  for (const call of status.recentCalls ?? []) {
    if (configured && !same(configured, call)) problems.push(`an embedding call at ${new Date(call.at).toISOString()} went to ${named(call)}, not the configured ${named(configured)}`);
  }
  return problems;
}

export async function memoryProviderAudit(runtime: CliRuntime, options: { json?: boolean; calls?: string }): Promise<void> {
  const limit = Math.max(0, Math.min(50, Number(options.calls ?? 10) || 0));
  const reports = await withGateway(runtime.env, runtime.io, async (client) => {
    const { agents } = await client.call<{ agents: { id: string }[] }>('status', {});
    const statuses: Status[] = [];
    for (const agent of agents) statuses.push(await client.call<Status>('memory.status', { agentId: agent.id }));
    return statuses.map((status) => ({ agentId: status.agentId, configured: status.embeddings, index: { builtWith: status.vectors.identity, dimensions: status.vectors.dimensions, pending: status.vectors.pending }, mismatches: embeddingMismatches(status), recentCalls: (status.recentCalls ?? []).slice(-limit) }));
  });
  const mismatches = reports.reduce((count, report) => count + report.mismatches.length, 0);
  if (options.json) runtime.io.out(`${JSON.stringify({ agents: reports, mismatches }, null, 2)}\n`);
  else {
    for (const report of reports) {
      runtime.io.out(`Agent ${report.agentId}\n`);
      runtime.io.out(`  configured  ${report.configured ? named(report.configured) : 'none (keyword search only)'}\n`);
      runtime.io.out(`  index       ${report.index.builtWith ? `${named(report.index.builtWith)}, ${report.index.dimensions} dimensions` : 'no vectors'}${report.index.pending ? `, ${report.index.pending} chunks waiting` : ''}\n`);
      for (const problem of report.mismatches) runtime.io.out(`  MISMATCH    ${problem}\n`);
      for (const call of report.recentCalls) {
        runtime.io.out(`  call        ${new Date(call.at).toISOString()}  ${named(call)}  ${call.texts} texts  ${call.durationMs} ms  ${call.status}${call.error ? `: ${call.error}` : ''}\n`);
      }
    }
  }
  if (mismatches > 0) throw new CliFailure(`${mismatches} embedding provider mismatch${mismatches === 1 ? '' : 'es'}: memory is not embedded by what the config says.`);
}

export async function memoryAudit(runtime: CliRuntime, options: { agent?: string; limit?: string; json?: boolean }): Promise<void> {
  const limit = Math.max(1, Math.min(10_000, Number(options.limit ?? 100) || 100));
  const { agentId, entries } = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ agentId: string; entries: Record<string, unknown>[] }>('memory.audit', { ...agentParams(options.agent), limit }),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify({ agentId, entries }, null, 2)}\n`);
    return;
  }
  if (entries.length === 0) {
    runtime.io.out(`No memory writes or re-indexes recorded for ${agentId} yet.\n`);
    return;
  }
  for (const entry of entries) {
    const detail =
      entry.action === 'write'
        ? `${String(entry.path)}#L${String(entry.startLine)}-L${String(entry.endLine)}  ${String(entry.provenance)}${entry.untrustedBecause ? ` (${String(entry.untrustedBecause)})` : ''}  run ${String(entry.runId)}  ${String(entry.sessionKey)}`
        : `${String(entry.files)} files, ${String(entry.chunks)} chunks  by ${String(entry.by)}${entry.provider ? `  ${named(entry.provider as Identity)}` : ''}`;
    runtime.io.out(`${String(entry.at)}  ${String(entry.action)}  ${detail}\n`);
  }
}
