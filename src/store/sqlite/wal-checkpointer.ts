import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** What the worker answers to each request: SQLite's `wal_checkpoint` result, or why it failed. */
type CheckpointReply = { busy: number; log: number; checkpointed: number } | { error: string };

const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const connection = { db: null };
parentPort.on('message', (mode) => {
  try {
    connection.db ??= new Database(workerData.path, { fileMustExist: true });
    const [row] = connection.db.pragma(mode === 'truncate' ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(PASSIVE)');
    parentPort.postMessage(row);
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
});
parentPort.on('close', () => connection.db && connection.db.close());
`;

/** SQLite's own automatic checkpoint, in WAL pages: what the store falls back to. */
const AUTOCHECKPOINT_PAGES = 1000;
/** The WAL size past which the store's connection finishes a checkpoint the thread could not. */
const MAX_WAL_BYTES = 64 * 1024 * 1024;
/** The WAL size at which the thread starts: about where SQLite would checkpoint on its own. */
const START_WAL_BYTES = 4 * 1024 * 1024;

export interface WalCheckpointerOptions {
  /** Least time between two checkpoints while writes go on. Default 250 ms. */
  intervalMs?: number;
  /** WAL size that starts the thread. Default 4 MiB; a gateway writing a little never starts it. */
  startWalBytes?: number;
  /** The worker ends after this long without a checkpoint to do (emptying the WAL first). Default 5 s. */
  idleMs?: number;
  /** The better-sqlite3 module the worker loads (resolved from here by default). */
  module?: string;
  now?: () => number;
  /**
   * The WAL size past which, after the thread's checkpoint, the store's own connection copies the
   * few pages written meanwhile so the next write starts the WAL over. Default 64 MiB.
   */
  maxWalBytes?: number;
  /** Told once if the worker fails and the store goes back to checkpointing on its own connection. */
  onFallback?: (reason: string) => void;
}

/**
 * WAL checkpoints on another thread. SQLite's automatic checkpoint runs inside the commit that
 * takes the WAL past 1,000 pages, on the connection that commits, which for the gateway is the
 * event loop: ~4 MB copied into the database and synced, a stall of 10–30 ms every second or two
 * under load (bench/sessions.ts: p99 26 ms without it, 34–44 with). With this, the store's
 * connection does not checkpoint; after commits (at most every `intervalMs`) a worker thread with
 * its own connection runs a PASSIVE checkpoint, which never blocks the writer, and once the WAL
 * is copied the next write starts it over from the beginning. The worker starts once the WAL file
 * reaches `startWalBytes` and, after `idleMs` without commits, empties the WAL file (a TRUNCATE
 * checkpoint) and ends, so a quiet gateway holds no thread. If it fails,
 * the connection goes back to SQLite's automatic checkpoints and `onFallback` says why.
 */
function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

export function createWalCheckpointer(db: BetterSqlite3.Database, path: string, options: WalCheckpointerOptions = {}) {
  const intervalMs = options.intervalMs ?? 250;
  const idleMs = options.idleMs ?? 5000;
  const startWalBytes = options.startWalBytes ?? START_WAL_BYTES;
  const now = options.now ?? Date.now;
  const module = options.module ?? createRequire(import.meta.url).resolve('better-sqlite3');
  let worker: Worker | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let inFlight = false;
  let lastRequestAt = 0;
  let failed: string | null = null;
  let checkpoints = 0;
  let catchUps = 0;
  const maxWalBytes = options.maxWalBytes ?? MAX_WAL_BYTES;
  /** The last checkpoint (emptying the WAL file) was asked for; its reply ends the thread. */
  let ending = false;
  db.pragma('wal_autocheckpoint = 0');
  // When the WAL starts over, its file is cut back to this size instead of staying as large as it grew.
  db.pragma(`journal_size_limit = ${maxWalBytes}`);

  const fallBack = (reason: string) => {
    if (failed !== null) return;
    failed = reason;
    stopWorker();
    if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    options.onFallback?.(reason);
  };
  const stopWorker = () => {
    if (idleTimer) clearInterval(idleTimer);
    idleTimer = undefined;
    const stopping = worker;
    worker = undefined;
    inFlight = false;
    ending = false;
    return stopping ? stopping.terminate().then(() => undefined) : Promise.resolve();
  };
  /**
   * Under constant writes the thread's checkpoint never copies the whole WAL (frames arrive while it
   * copies), so the WAL never starts over and its file grows without end (380 MB after 20,000
   * turns in bench/soak.ts). Past `maxWalBytes`, the store's connection, between two of its own
   * transactions, copies what the thread had not: only the pages written during its checkpoint.
   */
  const catchUp = () => {
    if (!db.open || db.inTransaction || walBytes(path) <= maxWalBytes) return;
    db.pragma('wal_checkpoint(PASSIVE)');
    catchUps += 1;
  };
  const onReply = (reply: CheckpointReply) => {
    inFlight = false;
    if ('error' in reply) fallBack(`the checkpoint thread failed: ${reply.error}`);
    else {
      checkpoints += 1;
      catchUp();
    }
    if (ending) void stopWorker();
  };
  /** Quiet: the last checkpoint empties the WAL file, then the thread ends (see onReply). */
  const windDown = () => {
    if (!worker || inFlight || now() - lastRequestAt < idleMs) return;
    ending = true;
    inFlight = true;
    worker.postMessage('truncate');
  };
  const startWorker = (): Worker => {
    const started = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { path, module } });
    started.unref();
    started.on('message', onReply);
    started.once('error', (error) => fallBack(`the checkpoint thread stopped: ${error.message}`));
    started.once('exit', (code) => {
      if (worker === started) fallBack(`the checkpoint thread exited (code ${code})`);
    });
    idleTimer = setInterval(windDown, idleMs / 2);
    idleTimer.unref();
    return started;
  };

  return {
    /** Called after each commit: asks for a checkpoint when none ran for `intervalMs`. */
    noteCommit(): void {
      if (failed !== null || inFlight || now() - lastRequestAt < intervalMs) return;
      lastRequestAt = now();
      if (!worker && walBytes(path) < startWalBytes) return;
      inFlight = true;
      worker ??= startWorker();
      worker.postMessage('checkpoint');
    },
    stats: () => ({ running: worker !== undefined, checkpoints, catchUps, fallback: failed }),
    /** Ends the worker for good; the connection's own close then checkpoints what is left. */
    close: (): Promise<void> => {
      failed ??= 'closed';
      return stopWorker();
    },
  };
}
