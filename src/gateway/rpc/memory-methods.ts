import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import type { GatewayContext } from '../gateway-context.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const agentParam = z.string().min(1).max(200).optional();

/** The agent named, or the default one; an unknown id is NOT_FOUND with the known ones. */
function agentOf(context: GatewayContext, agentId: string | undefined): string {
  const directory = context.agents();
  const id = agentId ?? directory.defaultAgentId;
  if (!directory.get(id)) throw new HearthError('NOT_FOUND', `There is no agent "${id}" (agents: ${directory.list().map((agent) => agent.id).join(', ')}).`);
  return id;
}

/** The agent's memory health now, and when the periodic check last ran. */
function healthOf(context: GatewayContext, agentId: string) {
  const report = context.memoryHealth();
  return { health: report.agents.find((agent) => agent.agentId === agentId) ?? null, healthCheck: { checkedAt: report.checkedAt, intervalMs: report.intervalMs } };
}

/** `memory.status`, `memory.search` and `memory.index` (docs/memory.md). */
export const memoryMethods: Record<string, RpcMethod> = {
  'memory.status': defineMethod(
    {
      description:
        "An agent's memory (default: the default agent): files and chunks indexed, the embeddings configured and what the vectors were built with, chunks waiting for vectors, files skipped and why, the last embedding calls, its health (index lag, embeddings waiting and the last error, search p50/p99, configured provider against the index's); with contract: true also its memory contract as in effect (embeddings with the resolved base URL, paths, sessions, citations, redaction, governance rules, deny-list, retention).",
      returns: '{agentId, files, chunks, vectors:{identity, dimensions, pending}, embeddings, embeddingsError, skipped:[{path, reason}], recentCalls:[…], health:{status, problems, indexLagMs, pendingEmbeddings, lastEmbeddingError, searchMs:{p50, p99, count}, provider:{configured, indexBuiltWith, mismatch}}, healthCheck:{checkedAt, intervalMs}, contract?:{embeddings, indexPaths, extraPaths, sessions, citations, recordQuery, redaction, governance:{rules, denyPaths}, retentionPolicy}}',
    },
    z.strictObject({ agentId: agentParam, contract: z.boolean().optional() }).optional(),
    async (params, _connection, context) => {
      const agentId = agentOf(context, params?.agentId);
      const status = { ...(await context.memory.status(agentId)), ...healthOf(context, agentId) };
      return params?.contract ? { ...status, contract: context.memory.contract(agentId) } : status;
    },
  ),
  'memory.search': defineMethod(
    {
      description: "Searches an agent's memory as its memory_search tool does: hybrid (meaning and keywords) when embeddings are configured, else keywords; a provider failure gives keyword results and a warning.",
      returns: '{agentId, mode, warning?, hits:[{path, startLine, endLine, score, snippet, citation, provenance}]}',
    },
    z.strictObject({ query: z.string().min(1).max(2000), agentId: agentParam, maxResults: z.number().int().min(1).max(50).optional() }),
    async (params, _connection, context) => {
      const agentId = agentOf(context, params.agentId);
      const result = await context.memory.port.search(agentId, params.query, params.maxResults ? { maxResults: params.maxResults } : {});
      return { agentId, ...result, hits: result.hits.map(({ path, startLine, endLine, score, snippet, citation, provenance }) => ({ path, startLine, endLine, score, snippet, citation, provenance })) };
    },
  ),
  'memory.index': defineMethod(
    {
      description:
        "Brings an agent's memory index up to date with its files now; force rebuilds it from scratch (vectors of unchanged text come from the embedding cache). With progress: true the calling connection gets `memory.index.progress` events {agentId, phase: reading|indexing|embedding|done, done, total} (at most every 100 ms a phase) until the answer.",
      returns: '{agentId, files, chunks, vectors, durationMs, skipped}',
    },
    z.strictObject({ agentId: agentParam, force: z.boolean().optional(), progress: z.boolean().optional() }).optional(),
    async (params, connection, context) =>
      context.memory.index(agentOf(context, params?.agentId), {
        force: params?.force === true,
        ...(params?.progress ? { onProgress: (progress) => connection.notify('memory.index.progress', progress) } : {}),
      }),
  ),
  'memory.audit': defineMethod(
    { description: "An agent's memory audit log, oldest first (default the last 100): every memory_write (time, run, session, file, lines, provenance) and every re-index (who, files, chunks, provider).", returns: '{agentId, entries:[{at, action, …}]}' },
    z.strictObject({ agentId: agentParam, limit: z.number().int().min(1).max(10_000).optional() }).optional(),
    async (params, _connection, context) => {
      const agentId = agentOf(context, params?.agentId);
      return { agentId, entries: context.memory.audit(agentId, params?.limit ?? 100) };
    },
  ),
};
