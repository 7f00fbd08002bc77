import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type JSON5Module from 'json5';
import { loadCommonJs } from '../../runtime/load-commonjs.js';

/**
 * Readers of an OpenClaw state directory. They only read: SQLite files are read from a
 * temporary copy, so the source stays byte-for-byte as it was.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value read from the source, with where it came from (for the report). */
export interface Sourced<T> {
  value: T;
  source: string;
}

export function readJson5File(path: string): unknown {
  const JSON5 = loadCommonJs('json5') as typeof JSON5Module;
  return JSON5.parse(readFileSync(path, 'utf8'));
}

/** `openclaw.json`, or null when there is none. */
export function readOpenClawConfig(dir: string): Sourced<unknown> | null {
  const path = join(dir, 'openclaw.json');
  return existsSync(path) ? { value: readJson5File(path), source: path } : null;
}

/**
 * Rows of one table of a SQLite file; [] when the file or table is missing. The file (with its
 * WAL, if any) is copied to a temporary folder and the copy opened read-only: even a read-only
 * open of a WAL database creates or touches its `-shm` file, and the source must stay as it was.
 */
export function readSqliteTable(path: string, table: string): Json[] {
  if (!existsSync(path)) return [];
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const work = mkdtempSync(join(tmpdir(), 'hearth-openclaw-'));
  try {
    const copy = join(work, 'source.sqlite');
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    const db = new Database(copy, { fileMustExist: true });
    try {
      const found = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      return found ? (db.prepare(`SELECT * FROM "${table}"`).all() as Json[]) : [];
    } finally {
      db.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A column holding JSON text becomes its value; other columns stay as they are. */
function parseJsonColumns(row: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === 'string' && /^[[{]/u.test(value)) {
      try {
        out[key] = JSON.parse(value);
        continue;
      } catch {
        // not JSON after all: kept as text
      }
    }
    out[key] = value;
  }
  return out;
}

/** A row of OpenClaw's SQLite cron table: the whole job in a JSON column, or spread over columns. */
function cronRowToJob(row: Json): Json {
  const parsed = parseJsonColumns(row);
  for (const key of ['job', 'data', 'json', 'definition']) if (isObject(parsed[key])) return { id: parsed.id, ...(parsed[key] as Json) };
  return { ...parsed, enabled: parsed.enabled === undefined ? undefined : parsed.enabled === true || parsed.enabled === 1 };
}

/** Cron jobs from `state/openclaw.sqlite` (table cron_jobs) and the legacy `cron/jobs.json`. */
export function readCronJobs(dir: string): Sourced<Json>[] {
  const found: Sourced<Json>[] = [];
  const sqlitePath = join(dir, 'state', 'openclaw.sqlite');
  for (const row of readSqliteTable(sqlitePath, 'cron_jobs')) found.push({ value: cronRowToJob(row), source: `${sqlitePath}#cron_jobs` });
  const legacyPath = join(dir, 'cron', 'jobs.json');
  if (existsSync(legacyPath)) {
    const raw = readJson5File(legacyPath);
    const jobs = Array.isArray(raw) ? raw : isObject(raw) && Array.isArray(raw.jobs) ? raw.jobs : [];
    for (const job of jobs.filter(isObject)) found.push({ value: job, source: legacyPath });
  }
  return found;
}

/** An approved sender from OpenClaw's pairing allowlists (`credentials/<channel>[-<account>]-allowFrom.json`). */
export interface SourceSender {
  channel: string;
  accountId: string;
  senderId: string;
  source: string;
}

export function readPairingAllowlists(dir: string): SourceSender[] {
  const credentials = join(dir, 'credentials');
  if (!existsSync(credentials)) return [];
  const senders: SourceSender[] = [];
  for (const name of readdirSync(credentials).sort()) {
    const match = /^([a-z][a-z0-9]*)(?:-(.+))?-allowFrom\.json$/u.exec(name);
    if (!match?.[1]) continue;
    const path = join(credentials, name);
    const raw = readJson5File(path);
    const list = Array.isArray(raw) ? raw : isObject(raw) && Array.isArray(raw.allowFrom) ? raw.allowFrom : [];
    for (const id of list) if (typeof id === 'string' || typeof id === 'number') senders.push({ channel: match[1], accountId: match[2] ?? 'default', senderId: String(id), source: path });
  }
  return senders;
}

/** Every file under `dir`, as paths relative to it (sorted; [] when it is missing). */
export function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(join(dir, entry.name), relative));
    else if (entry.isFile()) out.push(relative);
  }
  return out;
}
