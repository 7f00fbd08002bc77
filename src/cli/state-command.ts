import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fetchBackup, listBackups, runBackup } from '../backups/backup.js';
import { type HearthPaths, resolveHearthPaths } from '../config/paths.js';
import { readVersion } from '../runtime/gateway-base.js';
import { exportState, importState } from '../state/state-archive.js';
import { chooseStore, sqliteOnly, usesPostgres } from '../store/store-choice.js';
import { cliConfig, CliFailure, type CliRuntime } from './cli-context.js';

/** `hearth state export <file>`: a consistent snapshot, even while the gateway runs. */
export async function runStateExport(runtime: CliRuntime, file: string, options: { includeSecrets?: boolean }): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const target = resolve(file);
  const manifest = await exportState(paths, target, { includeSecrets: options.includeSecrets === true, hearthVersion: readVersion(), now: Date.now() }).catch((error: unknown) => {
    throw new CliFailure(`Exporting ${paths.home} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  runtime.io.out(`Exported ${paths.home} to ${target}${manifest.includesSecrets ? ' (with its secrets: keep the file private)' : ''}.\n`);
  for (const item of manifest.leftOut) runtime.io.out(`  left out: ${item}\n`);
  if (usesPostgres(cliConfig(paths, runtime.env), runtime.env)) runtime.io.out(`  left out: the state database. ${sqliteOnly('Exporting the database')}.\n`);
}

/** `hearth state import <file>`: into an empty home. */
export async function runStateImport(runtime: CliRuntime, file: string): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const manifest = await importState(paths, resolve(file)).catch((error: unknown) => {
    throw new CliFailure(`Importing ${file} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  runtime.io.out(`Imported the state exported from Hearth ${manifest.hearthVersion} on ${new Date(manifest.createdAt).toISOString()} into ${paths.home}.\n`);
  if (manifest.leftOut.length > 0) runtime.io.out(`The export left out (add them again):\n${manifest.leftOut.map((item) => `  ${item}`).join('\n')}\n`);
  const choice = chooseStore(cliConfig(paths, runtime.env), runtime.env, paths);
  if (choice.kind === 'postgres') await copyIntoPostgres(runtime, paths, choice.url);
  runtime.io.out('Start the gateway on it with `hearth gateway` (or `hearth service`); `hearth doctor` checks it first.\n');
}

/** An import into a home whose state lives in PostgreSQL: the exported SQLite database is copied into it, then kept aside. */
async function copyIntoPostgres(runtime: CliRuntime, paths: HearthPaths, url: string): Promise<void> {
  const sqlitePath = join(paths.stateDir, 'hearth.sqlite');
  if (!existsSync(sqlitePath)) {
    runtime.io.out('The export holds no state database: the PostgreSQL database is left as it is.\n');
    return;
  }
  const [{ copySqliteIntoPostgres }, { redactUrl }] = await Promise.all([import('../store/postgres/copy-from-sqlite.js'), import('../store/postgres/postgres-runner.js')]);
  const report = await copySqliteIntoPostgres(sqlitePath, url).catch((error: unknown) => {
    throw new CliFailure(`Copying the exported database into PostgreSQL at ${redactUrl(url)} failed, and nothing was written to it: ${error instanceof Error ? error.message : String(error)}. The files of the export are unpacked in ${paths.home}.`);
  });
  const aside = `${sqlitePath}.copied-to-postgres`;
  renameSync(sqlitePath, aside);
  const rows = Object.values(report.tables).reduce((sum, count) => sum + count, 0);
  runtime.io.out(`Copied the exported database into PostgreSQL at ${redactUrl(url)}: ${rows} rows in ${Object.keys(report.tables).length} tables; the SQLite file is kept as ${aside}.\n`);
  if (report.skipped.length > 0) runtime.io.out(`  not copied (SQLite only): ${report.skipped.join(', ')}\n`);
}

function backupsConfig(runtime: CliRuntime) {
  const paths = resolveHearthPaths(runtime.env);
  const config = cliConfig(paths, runtime.env).backups;
  if (!config) throw new CliFailure(`No backups are configured: add backups: { to: "/path/to/folder" } (or "s3://bucket/prefix") to ${paths.configPath}.`);
  return { paths, config };
}

/** `hearth state backup`: one backup now, to `backups.to`. */
export async function runStateBackup(runtime: CliRuntime): Promise<void> {
  const { paths, config } = backupsConfig(runtime);
  if (usesPostgres(cliConfig(paths, runtime.env), runtime.env)) runtime.io.out(`The backup holds the home's files, not the state database: ${sqliteOnly('Backing up the database')}.\n`);
  const result = await runBackup(paths, config, { hearthVersion: readVersion(), now: Date.now() }).catch((error: unknown) => {
    throw new CliFailure(`The backup to ${config.to} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  runtime.io.out(`Stored ${result.name} (${result.sizeBytes} bytes) in ${result.where}${result.removed.length ? `; removed ${result.removed.join(', ')} (keeping ${config.keep})` : ''}.\n`);
}

/** `hearth state backups`: what `backups.to` holds, oldest first. */
export async function runStateBackups(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const { config } = backupsConfig(runtime);
  const stored = await listBackups(config).catch((error: unknown) => {
    throw new CliFailure(`Listing the backups in ${config.to} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (options.json) runtime.io.out(`${JSON.stringify(stored, null, 2)}\n`);
  else if (stored.length === 0) runtime.io.out(`No backups in ${config.to} yet.\n`);
  else for (const item of stored) runtime.io.out(`${item.name}  ${item.sizeBytes} bytes\n`);
}

/** `hearth state restore <name|latest>`: a stored backup into an empty home. */
export async function runStateRestore(runtime: CliRuntime, name: string, options: { from?: string }): Promise<void> {
  const { config } = backupsConfig(options.from ? { ...runtime, env: { ...runtime.env, HEARTH_CONFIG: options.from } } : runtime);
  const work = mkdtempSync(join(tmpdir(), 'hearth-restore-'));
  try {
    const file = join(work, 'backup.tar.gz');
    const chosen = await fetchBackup(config, name, file).catch((error: unknown) => {
      throw new CliFailure(`Fetching ${name} from ${config.to} failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    runtime.io.out(`Fetched ${chosen} from ${config.to}.\n`);
    await runStateImport(runtime, file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
