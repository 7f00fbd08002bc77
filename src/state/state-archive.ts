import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type JSON5Module from 'json5';
import type { HearthPaths } from '../config/paths.js';
import { loadCommonJs } from '../runtime/load-commonjs.js';

/** What `hearth state export` writes first in the archive. */
export interface StateManifest {
  format: 'hearth-state';
  formatVersion: 1;
  hearthVersion: string;
  createdAt: number;
  includesSecrets: boolean;
  /** What was left out, and why (secrets without --include-secrets). */
  leftOut: string[];
}

/** Folders and files of a home that are the running process's, not state: never exported. */
const NOT_STATE = ['logs', 'versions', 'tmp'];
const PROCESS_FILES = ['gateway.json', 'service.json', 'service.sock', 'hearth.sqlite', 'hearth.sqlite-wal', 'hearth.sqlite-shm'];
/** Config keys that hold secrets when their value is written out (not a ${VARIABLE} reference). */
const SECRET_KEYS = /^(apiKey|token|botToken|appToken|accessToken|appSecret|password|signingSecret|verifyToken|verificationToken|encryptKey|webhookSecret|secretAccessKey|imapPassword|smtpPassword)$/u;

const JSON5 = () => loadCommonJs('json5') as typeof JSON5Module;

/** Removes secret values from a parsed config, returning the paths removed. */
function redact(value: unknown, path: string[], removed: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (SECRET_KEYS.test(key) && typeof child === 'string' && !/^\$\{[A-Z0-9_]+\}$/u.test(child)) {
      delete (value as Record<string, unknown>)[key];
      removed.push(`config ${[...path, key].join('.')} (a secret; export with --include-secrets to keep it)`);
    } else redact(child, [...path, key], removed);
  }
}

/** Copies the home's state into `into`: the database through SQLite's online backup, the rest as files. */
async function collect(paths: HearthPaths, into: string, includeSecrets: boolean, leftOut: string[]): Promise<void> {
  mkdirSync(join(into, 'state'), { recursive: true });
  const database = join(paths.stateDir, 'hearth.sqlite');
  if (existsSync(database)) {
    const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(database, { readonly: true, fileMustExist: true });
    try {
      await db.backup(join(into, 'state', 'hearth.sqlite'));
    } finally {
      db.close();
    }
  }
  for (const name of readdirSync(paths.home)) {
    const source = join(paths.home, name);
    if (NOT_STATE.includes(name) || source === paths.configPath || name.endsWith('.tmp')) continue;
    if (source === paths.credentialsDir && !includeSecrets) {
      leftOut.push('credentials/ (gateway token, channel logins; export with --include-secrets to keep them)');
      continue;
    }
    cpSync(source, join(into, name), { recursive: true, filter: (file) => !(file.startsWith(paths.stateDir) && PROCESS_FILES.includes(basename(file))) });
  }
  if (!existsSync(paths.configPath)) return;
  const text = readFileSync(paths.configPath, 'utf8');
  if (includeSecrets) {
    writeFileSync(join(into, 'hearth.json5'), text);
    return;
  }
  const parsed = JSON5().parse(text) as unknown;
  redact(parsed, [], leftOut);
  writeFileSync(join(into, 'hearth.json5'), `${JSON.stringify(parsed, null, 2)}\n`);
}

/**
 * `hearth state export`: one .tar.gz of the home's state, consistent while the gateway runs (the
 * database is copied with SQLite's online backup API): the database, workspaces, skills, media,
 * archives and the config; credentials and secret config values only with `includeSecrets`.
 */
export async function exportState(paths: HearthPaths, file: string, options: { includeSecrets: boolean; hearthVersion: string; now: number }): Promise<StateManifest> {
  const work = mkdtempSync(join(tmpdir(), 'hearth-export-'));
  try {
    const leftOut: string[] = [];
    await collect(paths, work, options.includeSecrets, leftOut);
    const manifest: StateManifest = { format: 'hearth-state', formatVersion: 1, hearthVersion: options.hearthVersion, createdAt: options.now, includesSecrets: options.includeSecrets, leftOut };
    writeFileSync(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const { c } = await import('tar');
    await c({ gzip: true, file, cwd: work, portable: true }, readdirSync(work));
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What in a home would be overwritten by an import: a config, a database, or any workspace. */
export function homeContents(paths: HearthPaths): string[] {
  const found: string[] = [];
  if (existsSync(paths.configPath)) found.push(paths.configPath);
  if (existsSync(join(paths.stateDir, 'hearth.sqlite'))) found.push(join(paths.stateDir, 'hearth.sqlite'));
  if (existsSync(paths.workspacesDir) && readdirSync(paths.workspacesDir).length > 0) found.push(`${paths.workspacesDir}/`);
  return found;
}

/**
 * `hearth state import`: unpacks an export into an empty home (refusing one that holds a config,
 * a database or workspaces, naming them) after checking it is Hearth's. Links and paths outside
 * the home are never unpacked.
 */
export async function importState(paths: HearthPaths, file: string): Promise<StateManifest> {
  const present = homeContents(paths);
  if (present.length > 0) throw new Error(`${paths.home} is not empty (${present.join(', ')}): import into a new home (HEARTH_HOME=/path/to/new hearth state import …), or move these aside first.`);
  const { t, x } = await import('tar');
  const names: string[] = [];
  await t({ file, onReadEntry: (entry) => names.push(entry.path) });
  if (!names.includes('manifest.json')) throw new Error(`${file} is not a Hearth state export (no manifest.json): make one with hearth state export.`);
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(paths.home, '.import-'));
  try {
    await x({ file, cwd: staging, filter: (_path, entry) => (entry as { type?: string }).type === 'File' || (entry as { type?: string }).type === 'Directory' });
    const manifest = JSON.parse(readFileSync(join(staging, 'manifest.json'), 'utf8')) as StateManifest;
    if (manifest.format !== 'hearth-state') throw new Error(`${file} is not a Hearth state export (format ${String(manifest.format)}).`);
    for (const name of readdirSync(staging)) {
      if (name === 'manifest.json') continue;
      const target = name === 'hearth.json5' ? paths.configPath : join(paths.home, name);
      cpSync(join(staging, name), target, { recursive: true });
    }
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
