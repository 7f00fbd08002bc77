import { createRequire } from 'node:module';
import { createWorkerRequests } from '../runtime/worker-requests.js';

const READER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const reader = { db: new Database(workerData.path, { readonly: true, fileMustExist: true }), statements: new Map() };
reader.db.pragma('mmap_size = ' + workerData.mmapBytes);
for (const extension of workerData.extensions) require(extension).load(reader.db);
parentPort.on('message', ({ id, body: { sql, params } }) => {
  const { db, statements } = reader;
  try {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= 16) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    parentPort.postMessage({ id, result: statement.all(...params) });
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
  const thread = createWorkerRequests<{ sql: string; params: readonly unknown[] }, unknown[]>(
    READER_WORKER,
    { path, module, mmapBytes: options.mmapBytes, extensions: options.extensions ?? [] },
    { name: 'the memory index reader', timeoutMs: READ_TIMEOUT_MS },
  );
  return {
    all: <T>(sql: string, params: readonly unknown[]) => thread.request({ sql, params }) as Promise<T[]>,
    close: () => thread.close(),
  };
}
