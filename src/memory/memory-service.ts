import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { AgentProfile } from '../agent/agent-loop.js';
import type { ProviderConfig } from '../config/schema.js';
import { HearthError } from '../contracts/errors.js';
import { createTimeSlicer } from '../runtime/time-slicer.js';
import type { Store, TranscriptEntry } from '../contracts/store.js';
import type { MemoryExcerpt, MemoryPort, MemorySearchResult, MemoryWriteResult, Provenance } from '../contracts/memory.js';
import { createEmbeddingClient, type EmbeddingCall, type EmbeddingClient, resolveEmbeddingIdentity } from './embeddings.js';
import type { MemoryChunk } from './markdown-chunker.js';
import { createGovernance, type Governance, type GovernanceCounts } from './governance.js';
import { memoryContract, type MemoryContract } from './memory-contract.js';
import { countingSlicer, type ProgressListener, throttleProgress } from './index-progress.js';
import { type ChunkJudge, type MemoryIndex, openMemoryIndex } from './memory-index.js';
import { DEFAULT_INDEX_PATHS, type MemorySourceFile, readMemorySources, readMemorySourcesInSlices, type SkippedSource } from './memory-sources.js';
import { watchMemory } from './memory-watcher.js';

export interface MemoryServiceDeps {
  /** `<home>/state/memory`: each agent's index and audit log. */
  directory: string;
  /** The configured credentials, redacted from memory wherever they appear. */
  secrets?: () => readonly string[];
  /** The agents' conversations, indexed when `memory.sessions` is on. */
  transcripts?: Pick<Store, 'listSessions' | 'readTranscript'>;
  agent(agentId: string): AgentProfile | undefined;
  providers(): Record<string, ProviderConfig>;
  logger: { warn(object: object, message: string): void; debug?(object: object, message: string): void };
  now?: () => Date;
  /** How often a search re-reads the memory files at most (an edit is found within this). Default 1 s. */
  freshnessMs?: number;
  /** Watch the files of an agent's memory once it is open, and re-index on change. Default true. */
  watch?: boolean;
}

/** A memory_write, as the audit log keeps it; also what marks its lines as the agent's. */
interface WriteRecord {
  at: string;
  action: 'write';
  path: string;
  startLine: number;
  endLine: number;
  sha256: string;
  runId: string;
  sessionKey: string;
  provenance: Provenance;
  /** Why the write is untrusted (the run took in outside input). */
  untrustedBecause?: string;
}

interface AgentMemory {
  index: MemoryIndex;
  client: EmbeddingClient | null;
  /** What the client was built from (identity and credentials), to notice a config change. */
  clientKey: string | null;
  clientError: string | null;
  syncedAt: number;
  skipped: SkippedSource[];
  writes: WriteRecord[];
  calls: EmbeddingCall[];
  /** The governance fingerprint the index was last synced under; another one re-reads every file. */
  fingerprint: string;
  governed: GovernanceCounts;
  watcher: { close(): void; watching(): string[] } | null;
  /** A memory folder could not be watched: searches re-check the files themselves before they run. */
  watchFailed: boolean;
  /** The memory paths the watcher was started with (`watchedPathsOf`). */
  watchedPaths: string;
  /** When a file change was first noticed and not yet indexed (0: none waiting). */
  changedAt: number;
  /** How long the last noticed change took to be indexed (and embedded), in ms. */
  lastLagMs: number | null;
  refreshing: Promise<void> | null;
  /** The background embedding run, if one is going. */
  embedding: Promise<void> | null;
  stopped: boolean;
  /** Aborts the embedding request in flight when the gateway stops. */
  abort: AbortController;
  embeddingFailures: number;
  /** The last searches' durations, newest last (bounded). */
  searchMs: number[];
}

const MAX_CALLS_KEPT = 50;
/** How often `memory index` reports embedding progress. */
const EMBEDDING_PROGRESS_MS = 200;
const MAX_SEARCH_TIMES = 200;
/** How long a search waits for chunks being embedded before it answers with what has vectors. */
const SEARCH_WAITS_FOR_EMBEDDING_MS = 2000;
/** Writes whose provenance is remembered (the newest); older agent lines count as the owner's. */
const MAX_WRITES_KEPT = 10_000;
const MAX_WRITE_BYTES = 64 * 1024;

/**
 * Each agent's memory: its index opened on first use (a gateway whose agents never search pays
 * nothing), brought up to date with the files before a search (at most every `freshnessMs`), new
 * chunks embedded through the agent's configured provider, and memory_write appended to the
 * files with its provenance kept in the agent's audit log.
 */
export function createMemoryService(deps: MemoryServiceDeps) {
  const agents = new Map<string, AgentMemory>();
  const now = deps.now ?? (() => new Date());
  const freshnessMs = deps.freshnessMs ?? 1000;

  const profileOf = (agentId: string): AgentProfile => {
    const profile = deps.agent(agentId);
    if (!profile) throw new HearthError('NOT_FOUND', `There is no agent "${agentId}".`);
    return profile;
  };

  function open(agentId: string): AgentMemory {
    const existing = agents.get(agentId);
    if (existing) return existing;
    const profile = profileOf(agentId);
    mkdirSync(deps.directory, { recursive: true, mode: 0o700 });
    const memory: AgentMemory = {
      index: openMemoryIndex(join(deps.directory, `${safeName(agentId)}.sqlite`), {
        now: () => now().getTime(),
        onWarning: (message, error) => deps.logger.warn({ agentId, err: error }, message),
      }),
      client: null,
      clientKey: null,
      clientError: null,
      syncedAt: 0,
      skipped: [],
      writes: readWrites(auditPath(agentId)),
      calls: [],
      fingerprint: '',
      governed: { redactions: 0, blockedChunks: 0, deniedFiles: 0 },
      watcher: null,
      watchFailed: false,
      watchedPaths: '',
      changedAt: 0,
      lastLagMs: null,
      refreshing: null,
      embedding: null,
      stopped: false,
      abort: new AbortController(),
      embeddingFailures: 0,
      searchMs: [],
    };
    if (deps.watch !== false) {
      memory.watchedPaths = watchedPathsOf(profile);
      memory.watcher = watchMemory({
        workspace: profile.workspaceDir,
        paths: [...sourceOptions(profile).indexPaths, ...(profile.memory?.extraPaths ?? [])],
        onChange: () => {
          if (memory.changedAt === 0) memory.changedAt = Date.now();
          refresh(agentId, memory, true).catch((error) => {
            if (!memory.stopped) deps.logger.warn({ agentId, err: error }, 'memory could not be re-indexed after a change');
          });
        },
        onError: (error, path) => {
          memory.watchFailed = true;
          deps.logger.warn({ agentId, path, err: error }, 'a memory folder cannot be watched; changes there are found at the next search');
        },
      });
    }
    useEmbeddings(agentId, memory, profile);
    agents.set(agentId, memory);
    return memory;
  }

  /**
   * Points the agent's memory at the embeddings its config names now (a reload may have changed
   * them): the client is rebuilt only when the resolved provider, URL, model or key changed.
   */
  function useEmbeddings(agentId: string, memory: AgentMemory, profile: AgentProfile): void {
    const choice = profile.memory?.embeddings;
    const resolved = choice ? resolveEmbeddingIdentity(deps.providers(), choice) : null;
    const key = JSON.stringify(resolved === null ? null : 'error' in resolved ? { error: resolved.error } : [resolved.identity, resolved.config.apiKey ?? null, resolved.config.headers ?? null]);
    if (key === memory.clientKey) return;
    memory.clientKey = key;
    memory.client = null;
    memory.clientError = resolved && 'error' in resolved ? resolved.error : null;
    if (!resolved || 'error' in resolved) return;
    memory.client = createEmbeddingClient(resolved.identity, resolved.config, {
      onCall: (call) => {
        memory.calls.push(call);
        if (memory.calls.length > MAX_CALLS_KEPT) memory.calls.shift();
        deps.logger.debug?.({ agentId, ...call }, 'memory embedding call');
      },
    });
  }

  const auditPath = (agentId: string) => join(deps.directory, `${safeName(agentId)}.audit.jsonl`);

  /** Runs one sync at a time per agent; a request during a sync runs once more after it. */
  async function refresh(agentId: string, memory: AgentMemory, force = false, onProgress?: ProgressListener): Promise<void> {
    if (!force && Date.now() - memory.syncedAt < freshnessMs) return;
    while (memory.refreshing) await memory.refreshing;
    if (!force && Date.now() - memory.syncedAt < freshnessMs) return;
    const noticed = memory.changedAt;
    memory.refreshing = syncNow(agentId, memory, onProgress).finally(() => {
      memory.refreshing = null;
    });
    await memory.refreshing;
    if (noticed !== 0 && memory.changedAt === noticed) {
      memory.lastLagMs = Date.now() - noticed;
      memory.changedAt = 0;
    }
  }

  /**
   * Brings the index up to date for a search. Once it has been synced and every memory folder is
   * watched, a change reaches the index through the watcher within a second, so the search does not
   * wait for the periodic re-check of every file (7,945 files: tens of ms): that runs behind it.
   * Conversations (`memory.sessions`) are not files to watch, so with them on the search waits, as
   * it does after a change of the memory paths or of the governance rules (the config, not a file).
   */
  async function beforeSearch(agentId: string, memory: AgentMemory): Promise<void> {
    const profile = profileOf(agentId);
    const watched =
      memory.watcher !== null &&
      !memory.watchFailed &&
      memory.syncedAt !== 0 &&
      !profile.memory?.sessions &&
      memory.watchedPaths === watchedPathsOf(profile) &&
      governanceOf(profile).fingerprint() === memory.fingerprint;
    if (!watched) return refresh(agentId, memory);
    refresh(agentId, memory).catch((error) => {
      if (!memory.stopped) deps.logger.warn({ agentId, err: error }, 'memory could not be re-checked after a search');
    });
  }

  async function syncNow(agentId: string, memory: AgentMemory, onProgress?: ProgressListener): Promise<void> {
    const profile = profileOf(agentId);
    useEmbeddings(agentId, memory, profile);
    const governance = governanceOf(profile);
    const fingerprint = governance.fingerprint();
    const reuse = fingerprint === memory.fingerprint;
    // Reading, redacting and indexing a large memory takes a while: the event loop gets a turn every 10 ms of it.
    const slicer = createTimeSlicer({ signal: memory.abort.signal });
    const { files, skipped } = await readMemorySourcesInSlices(
      profile.workspaceDir,
      { ...sourceOptions(profile), ...(reuse ? { knownHash: (path: string, size: number, mtimeMs: number) => memory.index.knownHash(path, size, mtimeMs) } : {}) },
      onProgress ? countingSlicer(slicer, (done) => onProgress({ agentId, phase: 'reading', done, total: null })) : slicer,
    );
    if (profile.memory?.sessions && deps.transcripts) files.push(...(await sessionSources(agentId, deps.transcripts, reuse ? memory.index : null)));
    const allowed: MemorySourceFile[] = [];
    const expired = expiredBefore(profile, now());
    for (const file of files) {
      if (governance.denies(file.path)) skipped.push({ path: file.path, reason: 'on the deny-list (memory.governance.denyPaths)' });
      else if (expired && datedBefore(file.path, expired)) skipped.push({ path: file.path, reason: `older than memory.retentionPolicy.maxAgeDays (${profile.memory?.retentionPolicy?.maxAgeDays} days)` });
      else allowed.push(file.unchanged ? file : governed(file, governance, fingerprint, memory.governed));
      await slicer.pause();
    }
    memory.governed.deniedFiles = files.length - allowed.length;
    memory.skipped = skipped;
    const indexing = onProgress ? countingSlicer(slicer, (done) => onProgress({ agentId, phase: 'indexing', done: Math.min(done, allowed.length), total: allowed.length })) : slicer;
    const result = await memory.index.sync(allowed, judgeChunks(memory.writes, governance), { slicer: indexing });
    memory.governed.blockedChunks += result.skippedChunks;
    memory.fingerprint = fingerprint;
    memory.syncedAt = Date.now();
    startEmbedding(agentId, memory);
  }

  /**
   * Embeds the chunks waiting for vectors in the background, one run at a time per agent (a
   * provider change re-embeds everything: search answers by keyword meanwhile, and `memory status`
   * shows the chunks still waiting).
   */
  function startEmbedding(agentId: string, memory: AgentMemory): void {
    const client = memory.client;
    if (!client || memory.embedding || memory.stopped || memory.index.vectorState().pending === 0) return;
    let succeeded = false;
    memory.embedding = memory.index
      .embedPending(client, { signal: memory.abort.signal })
      .then(
        () => {
          succeeded = true;
        },
        (error: unknown) => {
          if (memory.stopped) return;
          memory.embeddingFailures += 1;
          deps.logger.warn({ agentId, err: error }, 'memory chunks could not be embedded; search uses keywords for them');
        },
      )
      .finally(() => {
        memory.embedding = null;
        // Chunks that arrived during a successful run get theirs now; after a failure, the next change or search retries.
        if (succeeded && memory.client === client) startEmbedding(agentId, memory);
      });
  }

  /** Waits until no embedding run is going, telling `onProgress` how many of the chunks waiting at the start have their vector. */
  async function embeddingDone(agentId: string, memory: AgentMemory, onProgress?: ProgressListener): Promise<void> {
    const total = memory.index.vectorState().pending;
    while (memory.embedding) {
      if (onProgress) {
        onProgress({ agentId, phase: 'embedding', done: Math.max(0, total - memory.index.vectorState().pending), total });
        await settle(memory, EMBEDDING_PROGRESS_MS);
      } else await memory.embedding;
    }
  }

  /** Waits for embedding in progress, at most `ms` (a small memory is searched complete; a large rebuild is not waited for). */
  async function settle(memory: AgentMemory, ms: number): Promise<void> {
    if (!memory.embedding) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([memory.embedding, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  const watchedPathsOf = (profile: AgentProfile) => JSON.stringify([profile.workspaceDir, sourceOptions(profile).indexPaths, profile.memory?.extraPaths ?? []]);

  const governanceOf = (profile: AgentProfile) =>
    createGovernance({ ...profile.memory?.redaction, ...profile.memory?.governance }, deps.secrets ?? (() => []));

  const port: MemoryPort = {
    async search(agentId, query, options = {}): Promise<MemorySearchResult> {
      const memory = open(agentId);
      await beforeSearch(agentId, memory);
      await settle(memory, SEARCH_WAITS_FOR_EMBEDDING_MS);
      const search = profileOf(agentId).memory?.search ?? {};
      const started = performance.now();
      const result = await memory.index.search(query, memory.client, { ...search, ...(options.maxResults ? { maxResults: options.maxResults } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      memory.searchMs.push(performance.now() - started);
      if (memory.searchMs.length > MAX_SEARCH_TIMES) memory.searchMs.shift();
      const profile = profileOf(agentId);
      const annotated: MemorySearchResult = {
        ...result,
        ...(result.mode === 'hybrid' && memory.client ? { provider: memory.client.identity } : {}),
        recordQuery: profile.memory?.recordQuery ?? 'text',
        citations: profile.memory?.citations ?? 'auto',
      };
      return memory.clientError ? { ...annotated, warning: [memory.clientError, result.warning].filter(Boolean).join('; ') } : annotated;
    },

    async get(agentId, path, options = {}): Promise<MemoryExcerpt> {
      const memory = open(agentId);
      await refresh(agentId, memory);
      const profile = profileOf(agentId);
      const conversation = path.startsWith(SESSIONS_PREFIX);
      const file = conversation ? await sessionFile(agentId, profile, path, deps.transcripts, governanceOf(profile)) : memorySourceFile(profile, path);
      const lines = file.text.replace(/\r\n?/gu, '\n').split('\n');
      if (lines.at(-1) === '') lines.pop();
      const from = Math.max(1, options.from ?? 1);
      const to = Math.min(lines.length, from + Math.max(1, options.lines ?? 200) - 1);
      return { path: file.path, from, to, totalLines: lines.length, text: lines.slice(from - 1, to).join('\n'), ...(conversation ? { provenance: 'untrusted' as const } : {}) };
    },

    async write(agentId, text, options): Promise<MemoryWriteResult> {
      const memory = open(agentId);
      const profile = profileOf(agentId);
      const relative = options.file ?? `memory/${localDate(now())}.md`;
      const target = writableMemoryPath(profile, relative);
      const governance = governanceOf(profile);
      const verdict = governance.judge(text);
      if (verdict.blocked) {
        memory.governed.blockedChunks += 1;
        throw new HearthError('BAD_REQUEST', `memory_write refused by a governance rule: ${verdict.blocked}.`);
      }
      const redacted = governance.redact(text);
      memory.governed.redactions += redacted.redactions;
      const body = redacted.text.replace(/\r\n?/gu, '\n').trimEnd();
      if (body.trim() === '') throw new HearthError('BAD_REQUEST', 'memory_write needs some text to write.');
      if (Buffer.byteLength(body) > MAX_WRITE_BYTES) throw new HearthError('BAD_REQUEST', `memory_write takes at most ${MAX_WRITE_BYTES / 1024} KiB at a time.`);
      mkdirSync(dirname(target.absolute), { recursive: true });
      const before = existsSync(target.absolute) ? readFileSync(target.absolute, 'utf8') : '';
      const separator = before === '' ? '' : before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
      const startLine = lineCount(before + separator) + 1;
      appendFileSync(target.absolute, `${separator}${body}\n`);
      const endLine = startLine + body.split('\n').length - 1;
      const provenance: Provenance = options.untrusted ? 'untrusted' : 'agent';
      const record: WriteRecord = { at: now().toISOString(), action: 'write', path: target.path, startLine, endLine, sha256: sha256(body), runId: options.runId, sessionKey: options.sessionKey, provenance, ...(options.untrusted ? { untrustedBecause: options.untrusted } : {}) };
      appendFileSync(auditPath(agentId), `${JSON.stringify(record)}\n`, { mode: 0o600 });
      memory.writes.push(record);
      if (memory.writes.length > MAX_WRITES_KEPT) memory.writes.splice(0, memory.writes.length - MAX_WRITES_KEPT);
      await refresh(agentId, memory, true);
      return { path: target.path, startLine, endLine, provenance };
    },
  };

  return {
    port,
    /** What the agent's memory is made of now (for `hearth memory status`). */
    async status(agentId: string) {
      const memory = open(agentId);
      await refresh(agentId, memory, true);
      return {
        agentId,
        ...memory.index.stats(),
        vectors: memory.index.vectorState(),
        vectorCopy: memory.index.vectorCopy(),
        embeddings: memory.client ? memory.client.identity : null,
        embeddingsError: memory.clientError,
        skipped: memory.skipped,
        recentCalls: [...memory.calls],
        governance: { ...memory.governed },
        watching: memory.watcher?.watching() ?? [],
        lastIndexLagMs: memory.lastLagMs,
      };
    },
    /** The agent's memory contract as in effect (config merged, defaults filled, embeddings resolved); opens nothing. */
    contract(agentId: string): MemoryContract {
      return memoryContract(profileOf(agentId), deps.providers());
    },
    /** Brings the agent's index up to date now; `force` rebuilds it from the files (the embedding cache stays). */
    async index(agentId: string, options: { force?: boolean; by?: string; onProgress?: ProgressListener } = {}) {
      const memory = open(agentId);
      const onProgress = options.onProgress ? throttleProgress(options.onProgress) : undefined;
      // A sync under way (it pauses between files) finishes before the index is cleared under it.
      while (memory.refreshing) await memory.refreshing;
      if (options.force) memory.index.clear();
      const started = Date.now();
      memory.syncedAt = 0;
      await refresh(agentId, memory, true, onProgress);
      await embeddingDone(agentId, memory, onProgress);
      const stats = memory.index.stats();
      onProgress?.({ agentId, phase: 'done', done: stats.files, total: stats.files });
      const record = { at: now().toISOString(), action: options.force ? 'reindex' : 'index', by: options.by ?? 'operator', files: stats.files, chunks: stats.chunks, provider: memory.client?.identity ?? null };
      appendFileSync(auditPath(agentId), `${JSON.stringify(record)}\n`, { mode: 0o600 });
      return { agentId, ...stats, vectors: memory.index.vectorState(), embeddings: memory.client?.identity ?? null, embeddingsError: memory.clientError, durationMs: Date.now() - started, skipped: memory.skipped };
    },
    /** The agents whose memory is open: size, freshness, embedding failures, search latency (for status, /readyz and /metrics). */
    health() {
      return [...agents.entries()].map(([agentId, memory]) => ({
        agentId,
        ...memory.index.stats(),
        ...pendingAndBuiltWith(memory.index),
        embeddings: memory.client?.identity ?? null,
        embeddingsError: memory.clientError,
        embeddingFailures: memory.embeddingFailures,
        lastEmbeddingError: memory.calls.findLast((call) => call.status === 'error')?.error ?? null,
        waitingSinceMs: memory.changedAt === 0 ? 0 : Date.now() - memory.changedAt,
        lastIndexLagMs: memory.lastLagMs,
        searchSeconds: memory.searchMs.map((ms) => ms / 1000),
      }));
    },
    /**
     * Retries what is stuck for each open agent: a noticed change not yet indexed (its re-index
     * failed) is indexed again, and chunks still without vectors are embedded again when nothing
     * is embedding them. Does nothing when all is current (the periodic health check calls it).
     */
    catchUp(): void {
      for (const [agentId, memory] of agents) {
        if (memory.stopped) continue;
        if (memory.changedAt !== 0 && !memory.refreshing) {
          refresh(agentId, memory, true).catch((error) => deps.logger.warn({ agentId, err: error }, 'memory could not be re-indexed after a change'));
        } else if (!memory.refreshing) startEmbedding(agentId, memory);
      }
    },
    /** The newest `limit` entries of the agent's memory audit log (writes and re-indexes), oldest first. */
    audit(agentId: string, limit = 100): Record<string, unknown>[] {
      profileOf(agentId);
      return readAudit(auditPath(agentId)).slice(-limit);
    },
    stop(): void {
      for (const memory of agents.values()) {
        memory.stopped = true;
        memory.abort.abort();
        memory.watcher?.close();
        memory.index.close();
      }
      agents.clear();
    },
  };
}

export type MemoryService = ReturnType<typeof createMemoryService>;

function pendingAndBuiltWith(index: MemoryIndex) {
  const vectors = index.vectorState();
  return { pending: vectors.pending, builtWith: vectors.identity };
}

function sourceOptions(profile: AgentProfile) {
  return {
    indexPaths: profile.memory?.indexPaths ?? [...DEFAULT_INDEX_PATHS],
    ...(profile.memory?.extraPaths ? { extraPaths: profile.memory.extraPaths } : {}),
  };
}

/** A file among the agent's memory sources, by the path search results give. */
function memorySourceFile(profile: AgentProfile, path: string): MemorySourceFile {
  const { files } = readMemorySources(profile.workspaceDir, sourceOptions(profile));
  const wanted = path.replace(/#L\d+(?:-L\d+)?$/u, '');
  const file = files.find((candidate) => candidate.path === wanted);
  if (!file) throw new HearthError('NOT_FOUND', `"${path}" is not one of the memory files (${files.map((candidate) => candidate.path).slice(0, 10).join(', ') || 'none yet'}). memory_get reads only memory files; use a path from memory_search.`);
  return file;
}

/** Where memory_write may write: MEMORY.md, USER.md or a .md file under memory/, inside the workspace. */
function writableMemoryPath(profile: AgentProfile, relative: string): { path: string; absolute: string } {
  const clean = normalize(relative).split(sep).join('/');
  const allowed = clean === 'MEMORY.md' || clean === 'USER.md' || (clean.startsWith('memory/') && /\.md$/iu.test(clean));
  if (isAbsolute(relative) || clean.startsWith('..') || !allowed) {
    throw new HearthError('BAD_REQUEST', `memory_write writes only to MEMORY.md, USER.md or a .md file under memory/ (got "${relative}").`);
  }
  return { path: clean, absolute: join(profile.workspaceDir, clean) };
}

/** The file's text after governance, with a hash that changes when the governance settings do. */
function governed(file: MemorySourceFile, governance: Governance, fingerprint: string, counts: GovernanceCounts): MemorySourceFile {
  const { text, redactions } = governance.redact(file.text);
  counts.redactions += redactions;
  return { ...file, text, sha256: sha256(`${file.sha256}:${fingerprint}`) };
}

/**
 * Each chunk's verdict: kept out when a `block` rule matches, tagged by `tag` rules, and the
 * agent's when all its lines are lines a memory_write put there and nobody has changed since.
 */
function judgeChunks(writes: readonly WriteRecord[], governance: Governance): ChunkJudge {
  return (file, chunk) => {
    const verdict = governance.judge(chunk.text);
    if (verdict.blocked) return { provenance: 'owner', skip: true };
    return { provenance: agentProvenance(writes, file, chunk), tags: verdict.tags };
  };
}

/**
 * A chunk holding any line of an untrusted write (unchanged since) is `untrusted`, whoever wrote
 * the rest; otherwise it is the agent's when every line is from the agent's writes, else the owner's.
 */
function agentProvenance(writes: readonly WriteRecord[], file: MemorySourceFile, chunk: MemoryChunk): Provenance {
  if (file.path.startsWith(SESSIONS_PREFIX)) return 'untrusted';
  const ours = writes.filter((write) => write.path === file.path);
  if (ours.length === 0) return 'owner';
  const lines = file.text.replace(/\r\n?/gu, '\n').split('\n');
  const written = new Map<number, Provenance>();
  for (const write of ours) {
    if (sha256(lines.slice(write.startLine - 1, write.endLine).join('\n')) !== write.sha256) continue;
    for (let line = write.startLine; line <= write.endLine; line++) written.set(line, write.provenance);
  }
  let owner = false;
  for (let line = chunk.startLine; line <= chunk.endLine; line++) {
    if (written.get(line) === 'untrusted') return 'untrusted';
    if ((lines[line - 1] ?? '').trim() !== '' && !written.has(line)) owner = true;
  }
  return owner ? 'owner' : 'agent';
}

function readAudit(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const entries: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      if (line.trim() !== '') entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A torn last line after a crash.
    }
  }
  return entries;
}

function readWrites(path: string): WriteRecord[] {
  if (!existsSync(path)) return [];
  const records: WriteRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      const record = JSON.parse(line) as WriteRecord;
      if (record.action === 'write') records.push(record);
      if (records.length > MAX_WRITES_KEPT) records.shift();
    } catch {
      // A torn last line after a crash: the write it described is simply the owner's.
    }
  }
  return records;
}

const SESSIONS_PREFIX = 'sessions/';
/** Conversations indexed at most (the most recently active), and lines of each. */
const MAX_SESSIONS_INDEXED = 200;
const MAX_SESSION_LINES = 400;

/**
 * The agent's conversations as memory files `sessions/<session key>.md`: each user and assistant
 * message a paragraph. A conversation whose message count and last activity are the ones already
 * indexed is not read again.
 */
async function sessionSources(agentId: string, transcripts: NonNullable<MemoryServiceDeps['transcripts']>, index: MemoryIndex | null): Promise<MemorySourceFile[]> {
  const sessions = await transcripts.listSessions({ limit: MAX_SESSIONS_INDEXED, agentId });
  const files: MemorySourceFile[] = [];
  for (const session of sessions) {
    if (session.sessionKey.startsWith('replay:')) continue;
    const path = sessionPath(session.sessionKey);
    const known = index?.knownHash(path, session.messageCount, session.updatedAt);
    if (known !== undefined) {
      files.push({ path, absolutePath: path, text: '', sha256: known, mtimeMs: session.updatedAt, size: session.messageCount, unchanged: true });
      continue;
    }
    const text = sessionText(await transcripts.readTranscript(session.sessionKey, MAX_SESSION_LINES));
    files.push({ path, absolutePath: path, text: text === '' ? '' : `${text}\n`, sha256: sha256(text), mtimeMs: session.updatedAt, size: session.messageCount });
  }
  return files;
}

/** A conversation's memory path: `sessions/<session key>.md`, odd characters replaced. */
function sessionPath(sessionKey: string): string {
  return `${SESSIONS_PREFIX}${sessionKey.replace(/[^A-Za-z0-9_.:-]/gu, '_')}.md`;
}

/** A conversation as memory text: each user and assistant message one line, without a final newline. */
function sessionText(entries: readonly TranscriptEntry[]): string {
  return entries
    .filter((entry) => entry.message.role === 'user' || (entry.message.role === 'assistant' && entry.message.content !== ''))
    .map((entry) => `**${entry.message.role}** (${new Date(entry.createdAt).toISOString().slice(0, 16)}): ${entry.message.content.replace(/\s*\n\s*/gu, ' ')}`)
    .join('\n');
}

/**
 * One indexed conversation, by its `sessions/` path, as memory_get reads it: redacted like the
 * index, and only when `memory.sessions` is on and the path is not on the deny-list.
 */
async function sessionFile(agentId: string, profile: AgentProfile, path: string, transcripts: MemoryServiceDeps['transcripts'], governance: Governance): Promise<MemorySourceFile> {
  const wanted = path.replace(/#L\d+(?:-L\d+)?$/u, '');
  if (!profile.memory?.sessions || !transcripts) throw new HearthError('NOT_FOUND', `"${path}" is a conversation, and conversations are not part of this agent's memory (memory.sessions is off).`);
  if (governance.denies(wanted)) throw new HearthError('NOT_FOUND', `"${path}" is on the memory deny-list (memory.governance.denyPaths).`);
  const sessions = await transcripts.listSessions({ limit: MAX_SESSIONS_INDEXED, agentId });
  const session = sessions.find((candidate) => !candidate.sessionKey.startsWith('replay:') && sessionPath(candidate.sessionKey) === wanted);
  if (!session) throw new HearthError('NOT_FOUND', `"${path}" is not one of the agent's indexed conversations; use a path from memory_search.`);
  const text = governance.redact(sessionText(await transcripts.readTranscript(session.sessionKey, MAX_SESSION_LINES))).text;
  return { path: wanted, absolutePath: wanted, text, sha256: sha256(text), mtimeMs: session.updatedAt, size: session.messageCount };
}

/** The date before which dated notes are out of the index (memory.retentionPolicy), as YYYY-MM-DD, or null. */
function expiredBefore(profile: AgentProfile, today: Date): string | null {
  const days = profile.memory?.retentionPolicy?.maxAgeDays;
  return days ? localDate(new Date(today.getTime() - days * 86_400_000)) : null;
}

function datedBefore(path: string, date: string): boolean {
  const match = /(?:^|\/)(\d{4}-\d{2}-\d{2})\.md$/u.exec(path);
  return match !== null && match[1]! < date;
}

function localDate(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function safeName(agentId: string): string {
  return agentId.replace(/[^A-Za-z0-9_-]/gu, '_');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
