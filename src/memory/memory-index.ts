import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { MemoryHit, MemorySearchResult, Provenance } from '../contracts/memory.js';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { createTimeSlicer, type TimeSlicer } from '../runtime/time-slicer.js';
import { type ChunkOptions, chunkMarkdown, type MemoryChunk } from './markdown-chunker.js';
import type { EmbeddingClient, EmbeddingIdentity } from './embeddings.js';
import type { MemorySourceFile } from './memory-sources.js';
import { diversify, recencyFactor } from './ranking.js';
import { foldWord, snippetOf } from './snippet.js';
import { createIndexReader, type IndexReader } from './index-reader.js';
import { createVectorCopy } from './vector-copy.js';

export type { MemoryHit, Provenance } from '../contracts/memory.js';

export interface SearchOptions {
  maxResults?: number;
  minScore?: number;
}

export interface HybridOptions extends SearchOptions {
  /** Weight of vector similarity in the combined score. Default 0.7. */
  vectorWeight?: number;
  /** Weight of the keyword (BM25) score. Default 0.3. */
  textWeight?: number;
  /** Candidates taken from each side, as a multiple of maxResults. Default 4. */
  candidateMultiplier?: number;
  /** Days for a dated note's score to halve. Default 30; 0 turns decay off. */
  halfLifeDays?: number;
  /** Weight of relevance against diversity in the final pick (MMR). Default 0.7; 1 turns it off. */
  mmrLambda?: number;
  signal?: AbortSignal;
}

export type SearchResult = MemorySearchResult;

/** What the vectors of the index were built with, and how many chunks still wait for theirs. */
export interface VectorState {
  identity: EmbeddingIdentity | null;
  dimensions: number | null;
  pending: number;
}

/** Who wrote a chunk of a file, its tags, and whether it stays out of the index (by default: the owner's, kept). */
export type ChunkJudge = (file: MemorySourceFile, chunk: MemoryChunk) => { provenance: Provenance; tags?: readonly string[]; skip?: boolean };

export interface SyncResult {
  /** Chunks the judge kept out (governance `block` rules). */
  skippedChunks: number;
  indexed: number;
  unchanged: number;
  removed: number;
  chunks: number;
}

const SCHEMA_VERSION = 3;
const MMAP_BYTES = 1024 * 1024 * 1024;
const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE embedding_cache (
    sha256 TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (sha256, provider, model)
  ) WITHOUT ROWID;
  CREATE TABLE files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, mtime_ms REAL NOT NULL, size INTEGER NOT NULL, chunks INTEGER NOT NULL, indexed_at INTEGER NOT NULL);
  CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    text TEXT NOT NULL, sha256 TEXT NOT NULL, provenance TEXT NOT NULL, tags TEXT, embedded INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX chunks_by_path ON chunks (path);
  CREATE INDEX chunks_to_embed ON chunks (embedded) WHERE embedded = 0;
  CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
  CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text); END;
  CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
`;

/**
 * An agent's memory index: derived state in its own SQLite file (deleting it loses nothing; the
 * next sync rebuilds it). Each file is chunked and written in its own transaction, with turns of
 * the event loop in between (see `sync`). Keyword search is SQLite's FTS5 with BM25 ranking.
 */
export function openMemoryIndex(path: string, options: { chunking?: ChunkOptions; now?: () => number; onWarning?: (message: string, error: unknown) => void } = {}) {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -2000');
  // Vector search reads every vector of the index: mapped, the pages are read in place from the OS's
  // cache instead of copied through SQLite's small page cache (3× faster at 10,000 chunks). The
  // mapped pages are file cache the OS can drop at any time, not memory of the process's own.
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  if ((db.pragma('user_version', { simple: true }) as number) !== SCHEMA_VERSION) {
    for (const table of ['chunks_vec', 'chunks_fts', 'chunks', 'files', 'meta', 'embedding_cache']) db.exec(`DROP TABLE IF EXISTS ${table}`);
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }
  (loadCommonJs('sqlite-vec') as { load(db: BetterSqlite3.Database): void }).load(db);
  const now = options.now ?? Date.now;
  const statements = prepare(db);
  const reader = createIndexReader(path, { mmapBytes: MMAP_BYTES, extensions: [createRequire(import.meta.url).resolve('sqlite-vec')] });
  const warned = new Set<string>();
  /** Each kind of trouble logged once per index: the search goes on either way. */
  const warnOnce = (message: string, error: unknown) => {
    if (warned.has(message)) return;
    warned.add(message);
    options.onWarning?.(message, error);
  };
  const vectors = createVectorStore(db, reader, warnOnce);
  const vocabulary = createVocabulary(db);

  const writeFile = db.transaction((file: MemorySourceFile, judge: ChunkJudge) => {
    vocabulary.changed();
    vectors.deleteOfPath(file.path);
    statements.deleteChunks.run(file.path);
    let kept = 0;
    let skipped = 0;
    for (const chunk of chunkMarkdown(file.text, options.chunking)) {
      const verdict = judge(file, chunk);
      if (verdict.skip) {
        skipped += 1;
        continue;
      }
      const tags = verdict.tags && verdict.tags.length > 0 ? JSON.stringify(verdict.tags) : null;
      statements.insertChunk.run(file.path, chunk.startLine, chunk.endLine, chunk.text, sha256(chunk.text), verdict.provenance, tags);
      kept += 1;
    }
    statements.upsertFile.run(file.path, file.sha256, file.mtimeMs, file.size ?? file.text.length, kept, now());
    return { kept, skipped };
  });
  /** The best chunks for `words` by BM25, as hits with their rows and snippets. */
  const hitsOf = (ranked: readonly { id: number; rank: number }[], words: readonly string[], minScore = 0): IndexedHit[] =>
    ranked
      .flatMap(({ id, rank }) => {
        const row = statements.chunkById.get(id) as ChunkRow | undefined;
        return row ? [toHit({ ...row, rank, snippet: snippetOf(row.text, words) })] : [];
      })
      .filter((hit) => hit.score >= minScore);
  /** The words a keyword search looks for (common ones left out) and its FTS5 query; null when there is nothing to match. */
  const keywordMatch = (query: string): { words: string[]; match: string } | null => {
    const words = selectiveWords(queryWords(query), vocabulary);
    const match = ftsQuery(words);
    return match ? { words, match } : null;
  };
  const keywordHits = (query: string, searchOptions: SearchOptions): IndexedHit[] => {
    const found = keywordMatch(query);
    if (!found) return [];
    return hitsOf(statements.keyword.all(found.match, searchOptions.maxResults ?? 6) as { id: number; rank: number }[], found.words, searchOptions.minScore);
  };
  /** `keywordHits` with the FTS5 query on the reader's thread (on this one when the reader fails). */
  const keywordHitsAsync = async (query: string, limit: number): Promise<IndexedHit[]> => {
    const found = keywordMatch(query);
    if (!found) return [];
    let ranked: { id: number; rank: number }[];
    try {
      ranked = await reader.all<{ id: number; rank: number }>(KEYWORD_QUERY, [found.match, limit]);
    } catch (error) {
      warnOnce('the memory index reader failed; keyword search runs on the event loop', error);
      ranked = statements.keyword.all(found.match, limit) as { id: number; rank: number }[];
    }
    return hitsOf(ranked, found.words);
  };
  /** A chunk found by its vector alone: no keyword score, its snippet around any of `words` it has. */
  const vectorOnlyHit = (id: number, words: readonly string[]): IndexedHit | undefined => {
    const row = statements.chunkById.get(id) as ChunkRow | undefined;
    return row ? toHit({ ...row, rank: 0, snippet: snippetOf(row.text, words) }) : undefined;
  };
  const removeFile = db.transaction((filePath: string) => {
    vocabulary.changed();
    vectors.deleteOfPath(filePath);
    statements.deleteChunks.run(filePath);
    statements.deleteFile.run(filePath);
  });

  return {
    /**
     * Brings the index in line with `files`: changed files re-chunked, vanished ones removed. Each
     * file is written in its own transaction, and the event loop gets a turn between files once a
     * slice of work has run for `sliceMs` (default 10), so a large re-index never holds it for much
     * more than one file's chunks. Rejects at the next file once `signal` is aborted (what was
     * written stays, and the next sync goes on from there).
     */
    async sync(
      files: readonly MemorySourceFile[],
      judge: ChunkJudge = () => ({ provenance: 'owner' }),
      syncOptions: { slicer?: TimeSlicer; sliceMs?: number; signal?: AbortSignal } = {},
    ): Promise<SyncResult> {
      const slicer = syncOptions.slicer ?? createTimeSlicer(syncOptions);
      const result: SyncResult = { indexed: 0, unchanged: 0, removed: 0, chunks: 0, skippedChunks: 0 };
      const present = new Set<string>();
      for (const file of files) {
        present.add(file.path);
        const known = statements.fileHash.get(file.path) as { sha256: string } | undefined;
        if (known?.sha256 === file.sha256) {
          result.unchanged += 1;
          await slicer.pause();
          continue;
        }
        // Listed as unchanged on the index's own word, yet the index no longer has it (cleared meanwhile).
        if (file.unchanged) throw new Error(`${file.path} was not read again but the index does not have it; sync again with the file read`);
        const written = vectors.guard(() => writeFile(file, judge));
        result.chunks += written.kept;
        result.skippedChunks += written.skipped;
        result.indexed += 1;
        await slicer.pause();
      }
      for (const { path: filePath } of statements.allFiles.all() as { path: string }[]) {
        if (present.has(filePath)) continue;
        vectors.guard(() => removeFile(filePath));
        result.removed += 1;
        await slicer.pause();
      }
      return result;
    },

    /** Keyword search (BM25 over every word of the query): the best chunks first. */
    searchKeyword: (query: string, searchOptions: SearchOptions = {}): MemoryHit[] => keywordHits(query, searchOptions),

    /**
     * Embeds the chunks that have no vector yet, `batchSize` at a time, each batch in its own
     * transaction. Vectors already computed for the same text by the same provider and model come
     * from the cache. An index built with another provider or model is emptied of its vectors
     * first (never mixed). Rejects when the provider fails; what was stored stays.
     */
    async embedPending(client: EmbeddingClient, embedOptions: { batchSize?: number; signal?: AbortSignal } = {}): Promise<{ embedded: number; fromCache: number }> {
      vectors.adopt(client.identity);
      const done = { embedded: 0, fromCache: 0 };
      for (;;) {
        const batch = statements.toEmbed.all(embedOptions.batchSize ?? 32) as { id: number; text: string; sha256: string }[];
        if (batch.length === 0) return done;
        const cached = batch.map((chunk) => vectors.cached(chunk.sha256, client.identity));
        const missing = batch.filter((_, at) => cached[at] === undefined);
        const fresh = await client.embed(missing.map((chunk) => chunk.text), embedOptions.signal);
        vectors.guard(() => vectors.store(batch, cached, missing, fresh, client.identity));
        done.embedded += missing.length;
        done.fromCache += batch.length - missing.length;
      }
    },

    /**
     * Hybrid search: the query's vector against the chunks' (cosine), merged with keyword
     * candidates, weighted 0.7 / 0.3 by default. Without a client, or when the index has no vectors
     * from this client's provider and model, or when embedding the query fails, the keyword results
     * come back with a warning that says why: never an empty answer for a provider's failure.
     */
    async search(query: string, client: EmbeddingClient | null, searchOptions: HybridOptions = {}): Promise<SearchResult> {
      const maxResults = searchOptions.maxResults ?? 6;
      const candidates = maxResults * (searchOptions.candidateMultiplier ?? 4);
      const finish = (found: IndexedHit[], mode: SearchResult['mode'], warning?: string): SearchResult => ({
        hits: rank(found, maxResults, searchOptions, now()),
        mode,
        ...(warning ? { warning } : {}),
      });
      // The keyword side starts first, on the reader's thread, while the query is embedded and the vectors scanned.
      const keyword = keywordHitsAsync(query, candidates);
      keyword.catch(() => undefined);
      if (!client) return finish(await keyword, 'keyword');
      const mismatch = vectors.mismatch(client.identity);
      if (mismatch) return finish(await keyword, 'keyword', mismatch);
      let queryVector: Float32Array;
      try {
        [queryVector] = (await client.embed([query], searchOptions.signal)) as [Float32Array];
      } catch (error) {
        return finish(await keyword, 'keyword', `${error instanceof Error ? error.message : String(error)}; showing keyword results only`);
      }
      const near = await vectors.nearest(queryVector, candidates);
      const words = queryWords(query);
      return finish(mergeHybrid(await keyword, near, (id) => vectorOnlyHit(id, words), { vector: searchOptions.vectorWeight ?? 0.7, text: searchOptions.textWeight ?? 0.3 }), 'hybrid');
    },

    /** The 8-bit copy of the vectors that vector search scans: loaded yet, vectors held, bytes of memory. */
    vectorCopy: (): { loaded: boolean; vectors: number; bytes: number } => vectors.copyStats(),

    vectorState(): VectorState {
      return { ...vectors.state(), pending: (statements.pendingCount.get() as { pending: number }).pending };
    },

    /** The hash the index has for a file, when the file's size and modification time are the ones it was indexed with. */
    knownHash(path: string, size: number, mtimeMs: number): string | undefined {
      const row = statements.fileState.get(path) as { sha256: string; mtime_ms: number; size: number } | undefined;
      return row && row.size === size && row.mtime_ms === mtimeMs ? row.sha256 : undefined;
    },

    /** Forgets every file, chunk and vector (the embedding cache stays): the next sync indexes everything again. */
    clear(): void {
      vocabulary.changed();
      vectors.guard(() =>
        db.transaction(() => {
          vectors.drop();
          db.exec('DELETE FROM chunks; DELETE FROM files;');
        })(),
      );
    },

    stats(): { files: number; chunks: number } {
      return statements.counts.get() as { files: number; chunks: number };
    },

    close(): void {
      reader.close();
      vectors.close();
      db.close();
    },
  };
}

export type MemoryIndex = ReturnType<typeof openMemoryIndex>;

/** A hit with the chunk's row id, for merging keyword and vector candidates. */
type IndexedHit = MemoryHit & { id: number };

interface ChunkRow {
  id: number;
  path: string;
  start_line: number;
  end_line: number;
  provenance: Provenance;
  tags: string | null;
  text: string;
}

type KeywordRow = Omit<ChunkRow, 'text'> & { rank: number; snippet: string };

const KEYWORD_QUERY = 'SELECT rowid AS id, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?';
const KNN_QUERY = 'SELECT rowid AS id, distance FROM chunks_vec WHERE embedding MATCH ? AND k = ? ORDER BY distance';

function prepare(db: BetterSqlite3.Database) {
  return {
    fileHash: db.prepare('SELECT sha256 FROM files WHERE path = ?'),
    fileState: db.prepare('SELECT sha256, mtime_ms, size FROM files WHERE path = ?'),
    allFiles: db.prepare('SELECT path FROM files'),
    upsertFile: db.prepare(
      'INSERT INTO files (path, sha256, mtime_ms, size, chunks, indexed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, mtime_ms = excluded.mtime_ms, size = excluded.size, chunks = excluded.chunks, indexed_at = excluded.indexed_at',
    ),
    deleteFile: db.prepare('DELETE FROM files WHERE path = ?'),
    deleteChunks: db.prepare('DELETE FROM chunks WHERE path = ?'),
    insertChunk: db.prepare('INSERT INTO chunks (path, start_line, end_line, text, sha256, provenance, tags) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    // One pass over the matches, BM25 for each and the best `limit` kept by FTS5 itself; only
    // those are then read from `chunks` (their snippets are cut in JavaScript from the text).
    keyword: db.prepare(KEYWORD_QUERY),
    counts: db.prepare('SELECT (SELECT COUNT(*) FROM files) AS files, (SELECT COUNT(*) FROM chunks) AS chunks'),
    toEmbed: db.prepare('SELECT id, text, sha256 FROM chunks WHERE embedded = 0 ORDER BY id LIMIT ?'),
    pendingCount: db.prepare('SELECT COUNT(*) AS pending FROM chunks WHERE embedded = 0'),
    chunkById: db.prepare('SELECT id, path, start_line, end_line, provenance, tags, text FROM chunks WHERE id = ?'),
  };
}

/**
 * The chunks' vectors (a sqlite-vec `vec0` table, cosine distance) and the embedding cache, with
 * the identity they were built with kept in `meta`. Nearest-neighbour search finds the `k` nearest
 * in an 8-bit copy of the vectors scanned with SIMD (`vector-copy.ts`) and gives them their exact
 * distances from the table: the 8-bit similarity is within 0.01 of the exact one, so the best few
 * are the exact search's best few, and only the last of the `k` may differ. Until the copy is
 * loaded, sqlite-vec's exact scan answers.
 */
function createVectorStore(db: BetterSqlite3.Database, reader: IndexReader, warn: (message: string, error: unknown) => void) {
  const copy = createVectorCopy(db, { onError: (error) => warn('the memory index\'s 8-bit vector copy could not be loaded; vector search uses sqlite-vec\'s scan', error) });
  const idsOfPath = db.prepare('SELECT id FROM chunks WHERE path = ? AND embedded = 1').pluck();
  const getMeta = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const cacheGet = db.prepare('SELECT vector FROM embedding_cache WHERE sha256 = ? AND provider = ? AND model = ?').pluck();
  const cachePut = db.prepare('INSERT OR REPLACE INTO embedding_cache (sha256, provider, model, vector) VALUES (?, ?, ?, ?)');
  const markEmbedded = db.prepare('UPDATE chunks SET embedded = 1 WHERE id = ?');
  const tableQuery = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'chunks_vec'");
  const hasTable = () => tableQuery.get() !== undefined;
  // Prepared once the table exists; forgotten when it is dropped.
  let knn: BetterSqlite3.Statement | null = null;
  let distance: BetterSqlite3.Statement | null = null;
  const built = (): { identity: EmbeddingIdentity; dimensions: number } | null => {
    const raw = getMeta.get('vectors') as string | undefined;
    return raw ? (JSON.parse(raw) as { identity: EmbeddingIdentity; dimensions: number }) : null;
  };
  const sameIdentity = (a: EmbeddingIdentity, b: EmbeddingIdentity) => a.providerId === b.providerId && a.baseUrl === b.baseUrl && a.model === b.model;
  const providerKey = (identity: EmbeddingIdentity) => `${identity.providerId} ${identity.baseUrl}`;

  return {
    state: () => {
      const current = built();
      return { identity: current?.identity ?? null, dimensions: current?.dimensions ?? null };
    },
    /** Why this identity's query vectors cannot be compared with the index's, or null. */
    mismatch(identity: EmbeddingIdentity): string | null {
      const current = built();
      if (!current) return 'the memory index has no vectors yet; showing keyword results only';
      if (!sameIdentity(current.identity, identity)) {
        return `the memory index was built with ${current.identity.providerId}/${current.identity.model} and the configured embeddings are ${identity.providerId}/${identity.model}; it is being rebuilt, showing keyword results only`;
      }
      return null;
    },
    /** Makes the index this identity's: another identity's vectors are dropped and every chunk re-embedded. */
    adopt: db.transaction((identity: EmbeddingIdentity): void => {
      const current = built();
      if (current && sameIdentity(current.identity, identity)) return;
      // No vectors yet: no chunk is marked embedded, and a fresh large index skips a pass over every row.
      if (!current && !hasTable()) return;
      knn = null;
      distance = null;
      copy.reset();
      if (hasTable()) db.exec('DROP TABLE chunks_vec');
      db.exec('UPDATE chunks SET embedded = 0 WHERE embedded = 1');
      db.prepare("DELETE FROM meta WHERE key = 'vectors'").run();
    }),
    cached: (sha: string, identity: EmbeddingIdentity): Float32Array | undefined => {
      const blob = cacheGet.get(sha, providerKey(identity), identity.model) as Buffer | undefined;
      return blob ? new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength)) : undefined;
    },
    store: db.transaction(
      (batch: { id: number; sha256: string }[], cached: (Float32Array | undefined)[], missing: { id: number; sha256: string }[], fresh: Float32Array[], identity: EmbeddingIdentity) => {
        const byId = new Map<number, Float32Array>();
        missing.forEach((chunk, at) => {
          byId.set(chunk.id, fresh[at]!);
          cachePut.run(chunk.sha256, providerKey(identity), identity.model, Buffer.from(fresh[at]!.buffer, fresh[at]!.byteOffset, fresh[at]!.byteLength));
        });
        batch.forEach((chunk, at) => {
          const cachedVector = cached[at];
          if (cachedVector) byId.set(chunk.id, cachedVector);
        });
        const dimensions = byId.values().next().value?.length ?? 0;
        if (!hasTable()) {
          db.exec(`CREATE VIRTUAL TABLE chunks_vec USING vec0(embedding float[${dimensions}] distance_metric=cosine)`);
          setMeta.run('vectors', JSON.stringify({ identity, dimensions }));
        }
        const insert = db.prepare('INSERT OR REPLACE INTO chunks_vec (rowid, embedding) VALUES (?, ?)');
        for (const [id, vector] of byId) {
          if (vector.length !== dimensions) throw new Error(`${identity.providerId}/${identity.model} returned ${vector.length} dimensions where the index has ${dimensions}`);
          insert.run(BigInt(id), vector);
          markEmbedded.run(id);
          copy.put(id, vector);
        }
      },
    ),
    async nearest(vector: Float32Array, k: number): Promise<{ id: number; distance: number }[]> {
      if (!knn || !distance) {
        if (!hasTable()) return [];
        knn = db.prepare(KNN_QUERY);
        distance = db.prepare('SELECT vec_distance_cosine(embedding, ?) FROM chunks_vec WHERE rowid = ?').pluck();
      }
      const scan = copy.ready(vector.length);
      if (!scan) {
        // sqlite-vec's exact scan (~45 ms at 100,000 chunks) on the reader's thread while the copy loads.
        try {
          return await reader.all<{ id: number; distance: number }>(KNN_QUERY, [vector, k]);
        } catch (error) {
          warn('the memory index reader failed; vector search runs on the event loop', error);
          return knn.all(vector, k) as { id: number; distance: number }[];
        }
      }
      const exact = distance;
      return (await scan.nearestAsync(vector, k))
        .map((id) => ({ id, distance: exact.get(vector, id) as number | undefined }))
        .filter((hit): hit is { id: number; distance: number } => typeof hit.distance === 'number')
        .sort((a, b) => a.distance - b.distance)
        .slice(0, k);
    },
    /** Runs a write; when it throws (rolled back), the 8-bit copy no longer matches the table and loads again. */
    guard<T>(write: () => T): T {
      try {
        return write();
      } catch (error) {
        copy.reset();
        throw error;
      }
    },
    copyStats: () => copy.stats(),
    close: () => copy.reset(),
    drop(): void {
      knn = null;
      distance = null;
      copy.reset();
      if (hasTable()) db.exec('DROP TABLE chunks_vec');
      db.prepare("DELETE FROM meta WHERE key = 'vectors'").run();
    },
    deleteOfPath(path: string): void {
      if (!hasTable()) return;
      for (const id of idsOfPath.all(path) as number[]) copy.remove(id);
      db.prepare('DELETE FROM chunks_vec WHERE rowid IN (SELECT id FROM chunks WHERE path = ?)').run(path);
    },
  };
}

/** Recency decay, then the best `maxResults` by MMR, then the score floor. */
function rank(found: IndexedHit[], maxResults: number, options: HybridOptions, now: number): IndexedHit[] {
  const decayed = found
    .map((hit) => ({ ...hit, score: hit.score * recencyFactor(hit.path, now, options.halfLifeDays ?? 30) }))
    .sort((a, b) => b.score - a.score);
  return diversify(decayed, maxResults, options.mmrLambda ?? 0.7).filter((hit) => hit.score >= (options.minScore ?? 0));
}

/** Combines keyword and vector candidates by chunk: weighted sum of both scores (0 where absent). */
function mergeHybrid(
  text: IndexedHit[],
  near: { id: number; distance: number }[],
  hitOf: (id: number) => IndexedHit | undefined,
  weights: { vector: number; text: number },
): IndexedHit[] {
  const merged = new Map<number, { hit: IndexedHit; vector: number; text: number }>();
  for (const hit of text) merged.set(hit.id, { hit, vector: 0, text: hit.score });
  for (const { id, distance } of near) {
    const similarity = Math.max(0, 1 - distance);
    const entry = merged.get(id);
    if (entry) entry.vector = similarity;
    else {
      const hit = hitOf(id);
      if (hit) merged.set(id, { hit, vector: similarity, text: 0 });
    }
  }
  return [...merged.values()]
    .map(({ hit, vector, text: textScore }) => ({ ...hit, score: weights.vector * vector + weights.text * textScore }))
    .sort((a, b) => b.score - a.score);
}

/** The query's words, folded as the index folds them, each once. */
function queryWords(query: string): string[] {
  return [...new Set((query.match(/[\p{L}\p{N}_]+/gu) ?? []).map(foldWord))];
}

/** Every word of the query, quoted (so FTS5 syntax in it is text), any of them matching. */
export function ftsQuery(query: string | readonly string[]): string | null {
  const words = typeof query === 'string' ? queryWords(query) : query;
  if (words.length === 0) return null;
  return words.map((word) => `"${word}"`).join(' OR ');
}

/**
 * The words worth matching: a word in half the chunks or more adds nothing to a BM25 score (FTS5
 * gives it no weight), yet makes every chunk that has it a candidate to score ("the", a name on
 * every page), so it is left out when a rarer word of the index remains. Otherwise the query is kept whole.
 */
function selectiveWords(words: readonly string[], vocabulary: Vocabulary): string[] {
  if (words.length < 2) return [...words];
  const total = vocabulary.chunks();
  const counts = words.map((word) => vocabulary.chunksWith(word));
  if (!counts.some((count) => count > 0 && count * 2 < total)) return [...words];
  return words.filter((_, at) => counts[at]! * 2 < total);
}

/** Words whose chunk counts are kept between changes of the index. */
const VOCABULARY_CACHE_WORDS = 4096;

/**
 * How many chunks have a word (FTS5's own counts, through an `fts5vocab` table in the connection's
 * temp schema: nothing stored). FTS5 counts a word by reading its whole list of chunks (about 1 ms
 * for a word in 30,000 chunks), so counts are kept until the index changes, up to
 * `VOCABULARY_CACHE_WORDS` words (then the cache starts again).
 */
function createVocabulary(db: BetterSqlite3.Database) {
  db.exec('CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocabulary USING fts5vocab(main, chunks_fts, row)');
  const documents = db.prepare('SELECT doc FROM temp.chunks_vocabulary WHERE term = ?').pluck();
  const count = db.prepare('SELECT COUNT(*) FROM chunks').pluck();
  const counts = new Map<string, number>();
  let total: number | null = null;
  return {
    chunks: (): number => (total ??= count.get() as number),
    /** 0 for a word FTS5 would cut into several tokens or fold differently: such a word is kept. */
    chunksWith(word: string): number {
      let found = counts.get(word);
      if (found === undefined) {
        found = (documents.get(word) as number | undefined) ?? 0;
        if (counts.size >= VOCABULARY_CACHE_WORDS) counts.clear();
        counts.set(word, found);
      }
      return found;
    },
    changed(): void {
      total = null;
      counts.clear();
    },
  };
}

type Vocabulary = ReturnType<typeof createVocabulary>;

/** BM25 (lower is better, negative in FTS5) mapped onto 0–1, higher better. */
function toHit(row: KeywordRow): IndexedHit {
  const strength = Math.max(0, -row.rank);
  return {
    id: row.id,
    path: row.path,
    startLine: row.start_line,
    endLine: row.end_line,
    score: strength / (1 + strength),
    snippet: row.snippet,
    citation: `${row.path}#L${row.start_line}-L${row.end_line}`,
    provenance: row.provenance,
    ...(row.tags ? { tags: JSON.parse(row.tags) as string[] } : {}),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
