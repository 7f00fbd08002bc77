import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { HearthPaths } from '../config/paths.js';
import { loadCommonJs } from '../runtime/load-commonjs.js';

export interface Validation {
  ok: boolean;
  /** The state database's schema version now, and after the new version's migrations (on the copy). */
  schema: { before: number; after: number };
  /** Doctor's findings that are errors, as "check: message". */
  errors: string[];
  warnings: string[];
  /** Where the copy is kept when validation failed (removed when it passed). */
  copy?: string;
}

/** State files that belong to the running process, not to the state. */
const PROCESS_FILES: readonly string[] = ['gateway.json', 'service.json', 'service.sock', 'hearth.sqlite', 'hearth.sqlite-wal', 'hearth.sqlite-shm'];

/**
 * Tries a staged version against a copy of the state, never the state itself: the database is
 * copied with SQLite's online backup (consistent while the gateway writes), with the config,
 * credentials and the other state files; then the new version's own `hearth doctor --migrate`
 * applies its migrations to the copy and checks config, database, credentials and models.
 */
export async function validateVersion(pkg: string, paths: HearthPaths, env: Record<string, string | undefined>, versionsRoot: string): Promise<Validation> {
  const copy = mkdtempSync(join(versionsRoot, '.validate-'));
  const copyPaths = await copyState(paths, copy);
  const before = schemaVersion(join(paths.stateDir, 'hearth.sqlite'));
  const doctor = await runDoctor(pkg, { ...env, HEARTH_HOME: copy, HEARTH_CONFIG: copyPaths.config });
  const after = schemaVersion(join(copy, 'state', 'hearth.sqlite'));
  const ok = doctor.errors.length === 0;
  if (ok) rmSync(copy, { recursive: true, force: true });
  return { ok, schema: { before, after }, errors: doctor.errors, warnings: doctor.warnings, ...(ok ? {} : { copy }) };
}

async function copyState(paths: HearthPaths, copy: string): Promise<{ config: string }> {
  const state = join(copy, 'state');
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const database = join(paths.stateDir, 'hearth.sqlite');
  if (existsSync(database)) {
    const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(database, { readonly: true, fileMustExist: true });
    try {
      await db.backup(join(state, 'hearth.sqlite'));
    } finally {
      db.close();
    }
  }
  if (existsSync(paths.stateDir)) {
    for (const name of readdirSync(paths.stateDir)) {
      if (!PROCESS_FILES.includes(name)) cpSync(join(paths.stateDir, name), join(state, name), { recursive: true });
    }
  }
  if (existsSync(paths.credentialsDir)) cpSync(paths.credentialsDir, join(copy, 'credentials'), { recursive: true });
  const config = join(copy, basename(paths.configPath));
  if (existsSync(paths.configPath)) copyFileSync(paths.configPath, config);
  return { config };
}

function schemaVersion(path: string): number {
  if (!existsSync(path)) return 0;
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }).version ?? 0;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

interface Finding {
  check: string;
  status: 'ok' | 'warn' | 'error';
  message: string;
}

function runDoctor(pkg: string, env: Record<string, string | undefined>): Promise<{ errors: string[]; warnings: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(pkg, 'bin', 'hearth.js'), 'doctor', '--migrate', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        const findings = (JSON.parse(out) as { findings: Finding[] }).findings;
        const line = (finding: Finding) => `${finding.check}: ${finding.message}`;
        resolve({ errors: findings.filter((finding) => finding.status === 'error').map(line), warnings: findings.filter((finding) => finding.status === 'warn').map(line) });
      } catch {
        resolve({ errors: [`its doctor did not answer (exit ${code}): ${(err || out).trim().slice(0, 500)}`], warnings: [] });
      }
    });
  });
}
