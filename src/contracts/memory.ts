/**
 * What the agent loop, the CLI and the gateway may ask of memory, whatever indexes it (a port:
 * the memory subsystem implements it).
 */

/** Who a chunk's text comes from: the user's own file, the agent's memory_write, outside input, Hearth. */
export type Provenance = 'owner' | 'agent' | 'untrusted' | 'system';

/** One search hit: where it is, how well it matched, and the text to show or cite. */
export interface MemoryHit {
  path: string;
  startLine: number;
  endLine: number;
  /** 0–1, higher is better. */
  score: number;
  snippet: string;
  /** `path#L<start>-L<end>`. */
  citation: string;
  provenance: Provenance;
  /** Tags the operator's governance rules gave the chunk. */
  tags?: string[];
}

/** What a search found, how, and what went wrong on the way (a provider that failed). */
export interface MemorySearchResult {
  hits: MemoryHit[];
  mode: 'hybrid' | 'keyword';
  warning?: string;
  /** The embeddings provider the query went to (hybrid search), as resolved from the config. */
  provider?: { providerId: string; baseUrl: string; model: string };
  /** How the run record keeps the query: as written, or only its SHA-256 (`memory.recordQuery`). */
  recordQuery?: 'text' | 'hash';
  /** The agent's `memory.citations` setting. */
  citations?: 'on' | 'off' | 'auto';
}

/** Lines of a memory file. */
export interface MemoryExcerpt {
  path: string;
  from: number;
  to: number;
  totalLines: number;
  text: string;
  /** `untrusted` when the file holds outside input (a conversation under `sessions/`); absent otherwise. */
  provenance?: Provenance;
}

/** Where a memory_write put its text. */
export interface MemoryWriteResult {
  path: string;
  startLine: number;
  endLine: number;
  provenance: Provenance;
}

export interface MemoryPort {
  search(agentId: string, query: string, options?: { maxResults?: number; signal?: AbortSignal }): Promise<MemorySearchResult>;
  /** Lines of a file among the agent's memory sources; rejects with a message the model can act on. */
  get(agentId: string, path: string, options?: { from?: number; lines?: number }): Promise<MemoryExcerpt>;
  /**
   * Appends to today's dated note, or to a named memory file, recording who wrote it: `agent`
   * (the default), or `untrusted` with the reason when the run took in outside input.
   */
  write(agentId: string, text: string, options: { file?: string; runId: string; sessionKey: string; untrusted?: string }): Promise<MemoryWriteResult>;
}
