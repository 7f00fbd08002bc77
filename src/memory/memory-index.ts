import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { type ChunkOptions, chunkMarkdown } from './markdown-chunker.js';
import type { MemorySourceFile } from './memory-sources.js';

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
}

export interface SearchOptions {
  maxResults?: number;
  minScore?: number;
}

export interface SyncResult {
  indexed: number;
  unchanged: number;
  removed: number;
  chunks: number;
}

const SCHEMA_VERSION = 1;
const SCHEMA = `
  CREATE TABLE files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, mtime_ms REAL NOT NULL, chunks INTEGER NOT NULL, indexed_at INTEGER NOT NULL);
  CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    text TEXT NOT NULL, sha256 TEXT NOT NULL, provenance TEXT NOT NULL
  );
  CREATE INDEX chunks_by_path ON chunks (path);
  CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
  CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text); END;
  CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
`;

/**
 * An agent's memory index: derived state in its own SQLite file (deleting it loses nothing; the
 * next sync rebuilds it). Each file is chunked and written in its own transaction, so a large
 * re-index never holds the event loop for more than one file's chunks. Keyword search is SQLite's
 * FTS5 with BM25 ranking.
 */
export function openMemoryIndex(path: string, options: { chunking?: ChunkOptions; now?: () => number } = {}) {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -2000');
  if ((db.pragma('user_version', { simple: true }) as number) !== SCHEMA_VERSION) {
    db.exec('DROP TABLE IF EXISTS chunks_fts; DROP TABLE IF EXISTS chunks; DROP TABLE IF EXISTS files;');
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }
  const now = options.now ?? Date.now;
  const statements = prepare(db);

  const writeFile = db.transaction((file: MemorySourceFile, provenance: Provenance) => {
    statements.deleteChunks.run(file.path);
    const chunks = chunkMarkdown(file.text, options.chunking);
    for (const chunk of chunks) {
      statements.insertChunk.run(file.path, chunk.startLine, chunk.endLine, chunk.text, sha256(chunk.text), provenance);
    }
    statements.upsertFile.run(file.path, file.sha256, file.mtimeMs, chunks.length, now());
    return chunks.length;
  });
  const removeFile = db.transaction((filePath: string) => {
    statements.deleteChunks.run(filePath);
    statements.deleteFile.run(filePath);
  });

  return {
    /** Brings the index in line with `files`: changed files re-chunked, vanished ones removed. */
    sync(files: readonly MemorySourceFile[], provenanceOf: (path: string) => Provenance = () => 'owner'): SyncResult {
      const result: SyncResult = { indexed: 0, unchanged: 0, removed: 0, chunks: 0 };
      const present = new Set<string>();
      for (const file of files) {
        present.add(file.path);
        const known = statements.fileHash.get(file.path) as { sha256: string } | undefined;
        if (known?.sha256 === file.sha256) {
          result.unchanged += 1;
          continue;
        }
        result.chunks += writeFile(file, provenanceOf(file.path));
        result.indexed += 1;
      }
      for (const { path: filePath } of statements.allFiles.all() as { path: string }[]) {
        if (present.has(filePath)) continue;
        removeFile(filePath);
        result.removed += 1;
      }
      return result;
    },

    /** Keyword search (BM25 over every word of the query): the best chunks first. */
    searchKeyword(query: string, searchOptions: SearchOptions = {}): MemoryHit[] {
      const match = ftsQuery(query);
      if (!match) return [];
      const rows = statements.keyword.all(match, searchOptions.maxResults ?? 6) as KeywordRow[];
      return rows.map(toHit).filter((hit) => hit.score >= (searchOptions.minScore ?? 0));
    },

    stats(): { files: number; chunks: number } {
      return statements.counts.get() as { files: number; chunks: number };
    },

    close(): void {
      db.close();
    },
  };
}

export type MemoryIndex = ReturnType<typeof openMemoryIndex>;

interface KeywordRow {
  path: string;
  start_line: number;
  end_line: number;
  provenance: Provenance;
  rank: number;
  snippet: string;
}

function prepare(db: BetterSqlite3.Database) {
  return {
    fileHash: db.prepare('SELECT sha256 FROM files WHERE path = ?'),
    allFiles: db.prepare('SELECT path FROM files'),
    upsertFile: db.prepare(
      'INSERT INTO files (path, sha256, mtime_ms, chunks, indexed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, mtime_ms = excluded.mtime_ms, chunks = excluded.chunks, indexed_at = excluded.indexed_at',
    ),
    deleteFile: db.prepare('DELETE FROM files WHERE path = ?'),
    deleteChunks: db.prepare('DELETE FROM chunks WHERE path = ?'),
    insertChunk: db.prepare('INSERT INTO chunks (path, start_line, end_line, text, sha256, provenance) VALUES (?, ?, ?, ?, ?, ?)'),
    keyword: db.prepare(
      `SELECT c.path, c.start_line, c.end_line, c.provenance, bm25(chunks_fts) AS rank,
              snippet(chunks_fts, 0, '', '', '…', 32) AS snippet
         FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
        WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?`,
    ),
    counts: db.prepare('SELECT (SELECT COUNT(*) FROM files) AS files, (SELECT COUNT(*) FROM chunks) AS chunks'),
  };
}

/** Every word of the query, quoted (so FTS5 syntax in it is text), any of them matching. */
export function ftsQuery(query: string): string | null {
  const words = query.match(/[\p{L}\p{N}_]+/gu);
  if (!words || words.length === 0) return null;
  return [...new Set(words.map((word) => word.toLowerCase()))].map((word) => `"${word}"`).join(' OR ');
}

/** BM25 (lower is better, negative in FTS5) mapped onto 0–1, higher better. */
function toHit(row: KeywordRow): MemoryHit {
  const strength = Math.max(0, -row.rank);
  return {
    path: row.path,
    startLine: row.start_line,
    endLine: row.end_line,
    score: strength / (1 + strength),
    snippet: row.snippet,
    citation: `${row.path}#L${row.start_line}-L${row.end_line}`,
    provenance: row.provenance,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
