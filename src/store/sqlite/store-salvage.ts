import { closeSync, copyFileSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../../runtime/load-commonjs.js';
import { NUMBER_SESSIONS_SQL } from './migrations.js';
import { createSqliteStore } from './sqlite-store.js';
import { quickCheck } from './store-integrity.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const MAX_ROWID = Number.MAX_SAFE_INTEGER;

export interface SalvagedTable {
  table: string;
  rows: number;
  /** True when part of the table could not be read (the rows there are lost). */
  damaged: boolean;
}

export interface SalvageResult {
  /** Where the damaged file now is (never deleted). */
  damagedPath: string;
  tables: SalvagedTable[];
  /** Tables of the current schema that could not be read at all. */
  unreadable: string[];
}

type Row = Record<string, unknown> & { __rowid: number };

const quote = (name: string) => `"${name.replace(/"/gu, '""')}"`;

/**
 * Reads every row of a table that can be read, in rowid order, stepping over damaged ranges: when
 * a read fails, it finds the first rowid from which reading works again (doubling, then bisecting).
 * Reads resume at a rowid (`>=`), not after the last one read: a seek past a damaged page's last
 * rowid is routed into that page, and would lose the first row of the readable page after it.
 */
function readTable(db: BetterSqlite3.Database, table: string, columns: string[], onRow: (row: Row) => void): { damaged: boolean } {
  const select = db.prepare(`SELECT rowid AS __rowid, ${columns.map(quote).join(', ')} FROM ${quote(table)} NOT INDEXED WHERE rowid >= ? ORDER BY rowid`);
  const probe = db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} NOT INDEXED WHERE rowid >= ? ORDER BY rowid LIMIT 1`);
  const readableFrom = (from: number): 'error' | 'end' | 'ok' => {
    try {
      return probe.get(from) === undefined ? 'end' : 'ok';
    } catch {
      return 'error';
    }
  };
  /** The first position after `from` (where reading failed) from which reading works again; null when none. */
  const skipDamage = (from: number): number | null => {
    let failed = from;
    // Rowids Hearth writes start at 1: doubling from the scan's start far below them would leap
    // over them all when the table's first page is the damaged one.
    const base = Math.max(from, 0);
    for (let step = 1; base + step < MAX_ROWID; step *= 2) {
      const state = readableFrom(base + step);
      if (state === 'end') return null;
      if (state === 'error') {
        failed = base + step;
        continue;
      }
      let low = failed;
      let high = base + step;
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (readableFrom(middle) === 'error') low = middle;
        else high = middle;
      }
      return high;
    }
    return null;
  };
  let from = -MAX_ROWID;
  let damaged = false;
  for (;;) {
    try {
      for (const row of select.iterate(from) as IterableIterator<Row>) {
        onRow(row);
        from = row.__rowid + 1;
      }
      return { damaged };
    } catch {
      damaged = true;
      const next = skipDamage(from);
      if (next === null) return { damaged };
      from = next;
    }
  }
}

/** A header as Hearth writes it (4096-byte pages, UTF-8, schema format 4) for a file whose own header is gone. */
function templateHeader(pages: number, hasWal: boolean): Buffer {
  const header = Buffer.alloc(100);
  SQLITE_MAGIC.copy(header, 0);
  header.writeUInt16BE(4096, 16);
  header[18] = hasWal ? 2 : 1;
  header[19] = hasWal ? 2 : 1;
  header[21] = 64;
  header[22] = 32;
  header[23] = 32;
  header.writeUInt32BE(1, 24);
  header.writeUInt32BE(pages, 28);
  header.writeUInt32BE(1, 40);
  header.writeUInt32BE(4, 44);
  header.writeUInt32BE(1, 56);
  header.writeUInt32BE(1, 92);
  header.writeUInt32BE(3_046_000, 96);
  return header;
}

/**
 * The 100-byte header with what SQLite needs to read the rest put back: a template when the magic
 * string is gone, else the page count cut to the file's size (a truncated file keeps the old
 * count, and SQLite then refuses even the schema). Null when nothing needed repair.
 */
function repairHeader(header: Buffer, fileSize: number, hasWal: boolean): Buffer | null {
  if (!header.subarray(0, 16).equals(SQLITE_MAGIC)) return templateHeader(Math.floor(fileSize / 4096), hasWal);
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return templateHeader(Math.floor(fileSize / 4096), hasWal);
  const pages = Math.floor(fileSize / pageSize);
  const counted = header.readUInt32BE(28);
  if (counted !== 0 && counted <= pages) return null;
  const fixed = Buffer.from(header);
  fixed.writeUInt32BE(pages, 28);
  return fixed;
}

/** A readable copy of a file whose header was damaged or that was truncated; null when the file can be read as it is. */
function withRepairedHeader(path: string): string | null {
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  readSync(fd, header, 0, 100, 0);
  const size = fstatSync(fd).size;
  closeSync(fd);
  const fixed = repairHeader(header, size, existsSync(`${path}-wal`));
  if (fixed === null) return null;
  const copy = `${path}.salvage-source`;
  copyFileSync(path, copy);
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${path}${suffix}`)) copyFileSync(`${path}${suffix}`, `${copy}${suffix}`);
  const out = openSync(copy, 'r+');
  writeSync(out, fixed, 0, 100, 0);
  closeSync(out);
  return copy;
}

const removeDatabaseFiles = (path: string) => {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
};

/**
 * Salvages a damaged database: builds a new one with the current schema, copies every row that
 * can still be read into it table by table, then moves the damaged file (and its WAL) aside as
 * `<path>.damaged-<time>` and puts the new one in its place. Nothing is deleted. The gateway must
 * not be running.
 */
export function salvageDatabase(path: string, now: number = Date.now()): SalvageResult {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const stamp = new Date(now).toISOString().replace(/[:.]/gu, '-');
  const target = `${path}.salvage-${stamp}`;
  removeDatabaseFiles(target);
  void createSqliteStore({ path: target }).close();
  const repaired = withRepairedHeader(path);
  const fresh = new Database(target);
  const tables: SalvagedTable[] = [];
  const unreadable: string[] = [];
  let source: BetterSqlite3.Database | undefined;
  try {
    const names = fresh.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name").pluck().all() as string[];
    try {
      source = new Database(repaired ?? path, { readonly: true, fileMustExist: true });
    } catch {
      source = undefined;
    }
    for (const table of names) {
      const copied = source ? copyTable(source, fresh, table) : null;
      if (copied === null) unreadable.push(table);
      else tables.push(copied);
    }
    // Lines whose session row was lost, and sessions or lines copied from a database older than
    // integer session ids, get their ids here.
    fresh.exec(NUMBER_SESSIONS_SQL);
    const problems = quickCheck(fresh);
    if (problems.length > 0) throw new Error(`the salvaged database fails quick_check: ${problems.join('; ')}`);
  } catch (error) {
    fresh.close();
    source?.close();
    removeDatabaseFiles(target);
    if (repaired) removeDatabaseFiles(repaired);
    throw error;
  }
  fresh.pragma('wal_checkpoint(TRUNCATE)');
  fresh.close();
  source?.close();
  if (repaired) removeDatabaseFiles(repaired);
  const damagedPath = `${path}.damaged-${stamp}`;
  for (const suffix of ['-wal', '-shm', '-journal']) if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${damagedPath}${suffix}`);
  renameSync(path, damagedPath);
  renameSync(target, path);
  for (const suffix of ['-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
  return { damagedPath, tables, unreadable };
}

/** Copies what can be read of one table; null when the damaged file does not have it readable at all. */
function copyTable(source: BetterSqlite3.Database, fresh: BetterSqlite3.Database, table: string): SalvagedTable | null {
  let sourceColumns: string[];
  try {
    sourceColumns = (source.prepare(`PRAGMA table_info(${quote(table)})`).all() as { name: string }[]).map((column) => column.name);
  } catch {
    return null;
  }
  if (sourceColumns.length === 0) return null;
  const freshColumns = new Set((fresh.prepare(`PRAGMA table_info(${quote(table)})`).all() as { name: string }[]).map((column) => column.name));
  const columns = sourceColumns.filter((name) => freshColumns.has(name));
  const insert = fresh.prepare(
    `INSERT OR IGNORE INTO ${quote(table)} (rowid, ${columns.map(quote).join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`,
  );
  let rows = 0;
  let result: { damaged: boolean } = { damaged: false };
  fresh.transaction(() => {
    result = readTable(source, table, columns, (row) => {
      rows += insert.run(row.__rowid, ...columns.map((name) => row[name])).changes;
    });
  })();
  return { table, rows, damaged: result.damaged };
}
