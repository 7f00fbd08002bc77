import { closeSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../src/runtime/load-commonjs.js';

/**
 * Damages a real SQLite file the ways disks and careless copies do: pages overwritten with
 * garbage, the file cut short, the header broken. The database must be closed (no WAL left).
 */

const Database = () => loadCommonJs('better-sqlite3') as typeof BetterSqlite3;

/** The page size and the leaf pages of one table or index, from SQLite's own `dbstat`. */
export function leafPages(path: string, name: string): { pageSize: number; pages: number[] } {
  const db = new (Database())(path, { readonly: true, fileMustExist: true });
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").pluck().all(name) as number[];
    return { pageSize, pages };
  } finally {
    db.close();
  }
}

/** Overwrites whole pages (1-based page numbers) with a garbage pattern. */
export function overwritePages(path: string, pageSize: number, pages: number[]): void {
  const garbage = Buffer.alloc(pageSize);
  for (let index = 0; index < pageSize; index++) garbage[index] = (index * 131 + 7) & 0xff;
  const fd = openSync(path, 'r+');
  try {
    for (const page of pages) writeSync(fd, garbage, 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

/** Cuts the file to `fraction` of its size (rounded down to a page). */
export function truncateDatabase(path: string, fraction: number, pageSize = 4096): void {
  const size = statSync(path).size;
  truncateSync(path, Math.floor((size * fraction) / pageSize) * pageSize);
}

/** Overwrites the 100-byte header with text, as a bad copy or a stray write would. */
export function breakHeader(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.from('this is not the header SQLite wrote; it was overwritten by a stray write!!'.padEnd(100, '#')), 0, 100, 0);
  } finally {
    closeSync(fd);
  }
}
