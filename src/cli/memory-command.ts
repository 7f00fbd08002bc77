import { type CliRuntime, CliFailure, withGateway } from './cli-context.js';

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
  embeddings: { providerId: string; baseUrl: string; model: string } | null;
  embeddingsError: string | null;
  skipped: { path: string; reason: string }[];
  recentCalls?: { at: number; status: string; durationMs: number; texts: number; error?: string }[];
  governance?: { redactions: number; blockedChunks: number; deniedFiles: number };
  durationMs?: number;
}

const agentParams = (agent?: string) => (agent ? { agentId: agent } : {});

export async function memoryStatus(runtime: CliRuntime, options: { agent?: string; json?: boolean }): Promise<void> {
  const status = await withGateway(runtime.env, runtime.io, (client) => client.call<Status>('memory.status', agentParams(options.agent)));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  runtime.io.out(`${describeStatus(status).join('\n')}\n`);
  if (status.embeddingsError) throw new CliFailure(`Memory embeddings are misconfigured: ${status.embeddingsError}`);
}

function describeStatus(status: Status): string[] {
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

export async function memoryIndex(runtime: CliRuntime, options: { agent?: string; force?: boolean; json?: boolean }): Promise<void> {
  const status = await withGateway(runtime.env, runtime.io, (client) => client.call<Status>('memory.index', { ...agentParams(options.agent), ...(options.force ? { force: true } : {}) }));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  runtime.io.out(`${describeStatus(status).join('\n')}\nTook        ${status.durationMs ?? 0} ms\n`);
  if (status.vectors.pending > 0 && status.embeddings) throw new CliFailure(`${status.vectors.pending} chunks could not be embedded; \`hearth memory status\` shows the last error.`);
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
