import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const READER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const reader = { db: new Database(workerData.path, { readonly: true, fileMustExist: true }), statements: new Map() };
reader.db.pragma('mmap_size = ' + workerData.mmapBytes);
for (const extension of workerData.extensions) require(extension).load(reader.db);
parentPort.on('message', ({ id, sql, params }) => {
  const { db, statements } = reader;
  try {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= 16) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    parentPort.postMessage({ id, rows: statement.all(...params) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
parentPort.on('close', () => reader.db.close());
`;

/** A query on the reader's thread that takes longer than this is given up (and answered on the caller's thread). */
const READ_TIMEOUT_MS = 5000;

export interface IndexReader {
  /** The rows of a read-only statement, run on the reader's own connection and thread. Rejects when the reader fails. */
  all<T>(sql: string, params: readonly unknown[]): Promise<T[]>;
  close(): void;
}

/**
 * A second, read-only connection to a memory index on a thread of its own, started on the first
 * query: a search's FTS5 query runs there while the event loop's thread takes the vector side, and
 * a long query (keyword search, sqlite-vec's exact scan) no longer holds the event loop. It sees
 * what the index's connection has committed (WAL). `extensions` are modules whose `load(db)` adds
 * to its connection (sqlite-vec). An idle reader never keeps the process alive; `close()` ends it.
 */
export function createIndexReader(path: string, options: { mmapBytes: number; module?: string; extensions?: readonly string[] }): IndexReader {
  const module = options.module ?? createRequire(import.meta.url).resolve('better-sqlite3');
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  const state = { worker: null as Worker | null, nextId: 0, broken: null as Error | null };

  const failAll = (error: Error) => {
    for (const [id, request] of pending) {
      clearTimeout(request.timer);
      request.reject(error);
      pending.delete(id);
    }
  };

  const start = (): Worker => {
    const worker = new Worker(READER_WORKER, { eval: true, workerData: { path, module, mmapBytes: options.mmapBytes, extensions: options.extensions ?? [] } });
    worker.on('message', (reply: { id: number; rows?: unknown[]; error?: string }) => {
      const request = pending.get(reply.id);
      if (!request) return;
      pending.delete(reply.id);
      clearTimeout(request.timer);
      if (reply.error !== undefined) request.reject(new Error(reply.error));
      else request.resolve(reply.rows ?? []);
    });
    const broke = (error: Error) => {
      state.broken = error;
      state.worker = null;
      failAll(error);
    };
    worker.on('error', broke);
    worker.on('exit', (code) => broke(new Error(`the memory index reader thread ended (exit code ${code})`)));
    // After the listeners (a 'message' listener holds the process again): only a query in flight, through its timer, does.
    worker.unref();
    return worker;
  };

  return {
    all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
      if (state.broken) return Promise.reject(state.broken);
      state.worker ??= start();
      const worker = state.worker;
      const id = state.nextId++;
      return new Promise<T[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the memory index reader did not answer within ${READ_TIMEOUT_MS} ms`));
        }, READ_TIMEOUT_MS);
        pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject, timer });
        worker.postMessage({ id, sql, params });
      });
    },
    close() {
      failAll(new Error('the memory index reader was closed'));
      const worker = state.worker;
      state.worker = null;
      state.broken = new Error('the memory index reader was closed');
      if (worker) void worker.terminate();
    },
  };
}
