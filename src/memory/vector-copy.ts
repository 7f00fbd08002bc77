import { setImmediate as nextTurn } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { createVectorScan, type VectorScan } from './vector-scan.js';

/** Vectors read from the index per turn of the event loop while the copy loads (~10 ms of work). */
const LOAD_PAGE = 1000;

export interface VectorCopyOptions {
  /** Called when loading fails (the searches go on with sqlite-vec's own scan). */
  onError?: (error: unknown) => void;
}

/**
 * The 8-bit scan (`vector-scan.ts`) kept in line with an index's `chunks_vec` table. It loads on
 * the first vector search, a page of vectors per turn of the event loop, and until it is complete
 * the searches use sqlite-vec's exact scan; from then on every vector the index stores or deletes
 * changes it too. A commit by another connection to the index file (`PRAGMA data_version`) makes it
 * load again, as does `reset()` (the vectors dropped, or a write that rolled back).
 */
export function createVectorCopy(db: BetterSqlite3.Database, options: VectorCopyOptions = {}) {
  const dataVersion = () => db.pragma('data_version', { simple: true }) as number;
  const state = { scan: null as VectorScan | null, loaded: false, generation: 0, failedGeneration: -1, version: dataVersion() };

  const reset = () => {
    state.generation += 1;
    state.scan?.clear();
    state.scan = null;
    state.loaded = false;
    state.version = dataVersion();
  };

  const load = async (generation: number, scan: VectorScan) => {
    // Prepared here: the table exists once the index has vectors.
    const page = db.prepare('SELECT c.id, v.embedding FROM chunks c JOIN chunks_vec v ON v.rowid = c.id WHERE c.id > ? AND c.embedded = 1 ORDER BY c.id LIMIT ?');
    let after = 0;
    for (;;) {
      await nextTurn();
      if (generation !== state.generation) return;
      const rows = page.all(after, LOAD_PAGE) as { id: number; embedding: Buffer }[];
      for (const row of rows) scan.put(row.id, floats(row.embedding));
      if (rows.length < LOAD_PAGE) break;
      after = rows.at(-1)!.id;
    }
    state.loaded = true;
  };

  return {
    put(id: number, vector: Float32Array): void {
      state.scan?.put(id, vector);
    },
    remove(id: number): void {
      state.scan?.remove(id);
    },
    reset,
    /** The scan when it is complete and current; otherwise null, with loading started. */
    ready(dimensions: number): VectorScan | null {
      if (dataVersion() !== state.version || (state.scan && state.scan.dimensions !== dimensions)) reset();
      if (state.loaded) return state.scan;
      // Loading, or it failed and nothing changed since: sqlite-vec's scan answers.
      if (state.scan || state.failedGeneration === state.generation) return null;
      const scan = createVectorScan(dimensions);
      state.scan = scan;
      const generation = state.generation;
      load(generation, scan).catch((error: unknown) => {
        if (generation !== state.generation) return;
        state.scan?.clear();
        state.scan = null;
        state.failedGeneration = generation;
        options.onError?.(error);
      });
      return null;
    },
    /** Vectors held and bytes of memory, for status. */
    stats: () => ({ loaded: state.loaded, vectors: state.scan?.size() ?? 0, bytes: state.scan?.bytes() ?? 0 }),
  };
}

export type VectorCopy = ReturnType<typeof createVectorCopy>;

function floats(blob: Buffer): Float32Array {
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}
