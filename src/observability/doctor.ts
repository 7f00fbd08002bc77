import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { channelCredentialsDir, validateChannelCredentials } from '../channels/channel-credentials.js';
import { jobFingerprint } from '../automation/cron-jobs.js';
import { formatConfigIssues, loadConfigFile } from '../config/load-config.js';
import type { HearthPaths } from '../config/paths.js';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { sqliteMigrations } from '../store/sqlite/migrations.js';
import { isDamageError } from '../store/sqlite/store-integrity.js';
import { approvedSenderRowSchema, checkCronJobRow, pairingRowSchema, rowProblem } from '../store/sqlite/stored-row-schemas.js';
import { listQuarantinedFiles, quarantineDir, quarantineFile } from '../runtime/quarantine.js';
import { salvageDatabase } from '../store/sqlite/store-salvage.js';
import { sqliteOnly, usesPostgres } from '../store/store-choice.js';

/** One thing the doctor looked at. Every problem names its fix; `safe` fixes are applied by `--fix`. */
export interface Finding {
  check: string;
  status: 'ok' | 'warn' | 'error';
  message: string;
  fix?: string;
  /** Set when `--fix` applied the fix. */
  fixed?: boolean;
}

export interface DoctorOptions {
  paths: HearthPaths;
  env: Record<string, string | undefined>;
  fix: boolean;
  now?: () => number;
  /** Set when our gateway answers on its port: the database is then in use and is not replaced. */
  gatewayRunning?: boolean;
}

const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * Offline checks of a Hearth home: config, database integrity and migrations, permissions,
 * channel credential files, orphan workspaces. Never changes anything without `fix`, and with it
 * only what is safe: permissions tightened, unreadable state files moved to `.quarantine/`.
 */
export function runDoctorChecks(options: DoctorOptions): Finding[] {
  const { paths, fix } = options;
  const now = options.now ?? Date.now;
  const findings: Finding[] = [];

  // Config.
  const loaded = loadConfigFile(paths.configPath, options.env);
  if (loaded.ok) findings.push({ check: 'config', status: 'ok', message: `${paths.configPath} is valid (${loaded.source})` });
  else {
    findings.push({
      check: 'config',
      status: 'error',
      message: `the config is invalid:\n${formatConfigIssues(loaded.issues)}`,
      fix: `edit ${paths.configPath} as each line says, then run \`hearth config validate\``,
    });
  }

  // Permissions: home and credentials/ 0700, every credential file 0600.
  const privateDir = (path: string, check: string) => {
    if (!existsSync(path)) return;
    const current = mode(path);
    if (current === 0o700) {
      findings.push({ check, status: 'ok', message: `${path} is private (0700)` });
      return;
    }
    const finding: Finding = { check, status: 'warn', message: `${path} is mode ${current.toString(8)}: other users can look inside`, fix: `chmod 700 ${path}` };
    if (fix) {
      chmodSync(path, 0o700);
      finding.fixed = true;
    }
    findings.push(finding);
  };
  privateDir(paths.home, 'home permissions');
  privateDir(paths.credentialsDir, 'credentials permissions');
  const credentialFiles = (dir: string): string[] => {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? credentialFiles(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [],
    );
  };
  for (const file of credentialFiles(paths.credentialsDir)) {
    const current = mode(file);
    if (current === 0o600) continue;
    const finding: Finding = { check: 'credentials permissions', status: 'warn', message: `${file} is mode ${current.toString(8)}: it holds a secret`, fix: `chmod 600 ${file}` };
    if (fix) {
      chmodSync(file, 0o600);
      finding.fixed = true;
    }
    findings.push(finding);
  }

  // Channel credential files saved by `hearth channels login` must pass their schema.
  const channelDir = channelCredentialsDir(paths.credentialsDir);
  if (existsSync(channelDir)) {
    for (const name of readdirSync(channelDir)) {
      const file = join(channelDir, name);
      const checked = validateChannelCredentials(name, readFileSync(file, 'utf8'));
      if (checked.ok) continue;
      const finding: Finding = {
        check: 'state files',
        status: 'error',
        message: `${file} cannot be used: ${checked.problem}`,
        fix: `move it to ${quarantineDir(paths.home)}/ and run \`hearth channels login\` again`,
      };
      if (fix) {
        finding.fix = `moved to ${quarantineFile(paths.home, file, checked.problem, now())}; run \`hearth channels login\` again`;
        finding.fixed = true;
      }
      findings.push(finding);
    }
  }
  for (const file of listQuarantinedFiles(paths.home)) {
    findings.push({
      check: 'quarantine',
      status: 'warn',
      message: `${file.from} was set aside on ${new Date(file.at).toISOString()} because ${file.reason}; it is kept at ${file.path}`,
      fix: `repair or replace it (for credentials: \`hearth channels login\`), then remove ${file.path} and its .reason file when you no longer need them`,
    });
  }

  // Database: integrity and migrations (a PostgreSQL store is checked by checkPostgresStore).
  const dbPath = join(paths.stateDir, 'hearth.sqlite');
  if (loaded.ok && usesPostgres(loaded.config, options.env)) {
    findings.push({ check: 'database', status: 'ok', message: `integrity check skipped: ${sqliteOnly('the integrity check and salvage (--fix)')}` });
  } else if (!existsSync(dbPath)) findings.push({ check: 'database', status: 'ok', message: 'no database yet (created at the first start)' });
  else findings.push(...checkDatabase(dbPath, { fix, gatewayRunning: options.gatewayRunning === true, now: now() }));

  // Workspaces without an agent.
  if (loaded.ok && existsSync(paths.workspacesDir)) {
    const agents = Object.keys(loaded.config.agents.entries);
    const known = new Set(agents.length > 0 ? agents : ['main']);
    for (const entry of readdirSync(paths.workspacesDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || known.has(entry.name)) continue;
      findings.push(orphanWorkspace(paths, entry.name, fix, now()));
    }
  }
  return findings;
}

/**
 * A workspace no configured agent owns. With `fix` it is moved (never deleted) to
 * `archive/workspaces/<name>-<time>`, where adding the agent back and moving it home restores it.
 */
function orphanWorkspace(paths: HearthPaths, name: string, fix: boolean, now: number): Finding {
  const finding: Finding = {
    check: 'workspaces',
    status: 'warn',
    message: `workspaces/${name} belongs to no configured agent`,
    fix: `add "${name}" to agents.entries, or run \`hearth doctor --fix\` to move it to archive/workspaces/ (never deleted)`,
  };
  if (!fix) return finding;
  const target = join(paths.home, 'archive', 'workspaces', `${name}-${new Date(now).toISOString().replace(/[:.]/gu, '-')}`);
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  renameSync(join(paths.workspacesDir, name), target);
  return { ...finding, fixed: true, message: `${finding.message}: moved to ${target}` };
}

function checkDatabase(dbPath: string, options: { fix: boolean; gatewayRunning: boolean; now: number }): Finding[] {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  let db: BetterSqlite3.Database | undefined;
  let damage: string[] = [];
  const findings: Finding[] = [];
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
    damage = integrity.map((row) => row.integrity_check).filter((text) => text !== 'ok');
    if (damage.length === 0) {
      findings.push({ check: 'database', status: 'ok', message: `${dbPath} passes integrity_check` });
      findings.push(checkMigrations(db));
      findings.push(...checkCronJobs(db, Date.now()));
      findings.push(...checkStoredRows(db, dbPath));
    }
  } catch (error) {
    if (!isDamageError(error)) {
      return [
        {
          check: 'database',
          status: 'error',
          message: `${dbPath} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
          fix: `check that ${dbPath} is a file you can read and write, and that no other program holds it`,
        },
      ];
    }
    damage = [error instanceof Error ? error.message : String(error)];
  } finally {
    db?.close();
  }
  if (damage.length === 0) return findings;
  return [damagedDatabase(dbPath, damage, options)];
}

/** A damaged database: reported, and with `--fix` (gateway stopped) salvaged into a new one. */
function damagedDatabase(dbPath: string, damage: string[], options: { fix: boolean; gatewayRunning: boolean; now: number }): Finding {
  const finding: Finding = {
    check: 'database',
    status: 'error',
    message: `${dbPath} is damaged: ${damage.slice(0, 3).join('; ')}`,
    fix: options.gatewayRunning
      ? 'stop the gateway, then run `hearth doctor --fix`: it copies what can be read into a new database and keeps the damaged file beside it'
      : `\`hearth doctor --fix\` copies what can be read into a new database and keeps the damaged file as ${dbPath}.damaged-<time>`,
  };
  if (!options.fix || options.gatewayRunning) return finding;
  try {
    const result = salvageDatabase(dbPath, options.now);
    const rows = result.tables.reduce((sum, table) => sum + table.rows, 0);
    const partial = result.tables.filter((table) => table.damaged).map((table) => table.table);
    const lost = [...partial.map((table) => `${table} (part)`), ...result.unreadable.map((table) => `${table} (all)`)];
    finding.fix = `salvaged ${rows} rows into a new ${dbPath}${lost.length > 0 ? `; unreadable: ${lost.join(', ')}` : '; every row was readable'}; the damaged file is kept as ${result.damagedPath}`;
    finding.fixed = true;
  } catch (error) {
    finding.fix = `salvage failed (${error instanceof Error ? error.message : String(error)}); the database was left as it was. Restore a backup of ${dbPath}, or move it aside (keep it) to start with a fresh one`;
  }
  return finding;
}

function checkMigrations(db: BetterSqlite3.Database): Finding {
  const latest = Math.max(...sqliteMigrations.map((migration) => migration.version));
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  const applied = row.version ?? 0;
  if (applied === latest) return { check: 'migrations', status: 'ok', message: `schema version ${applied} is current` };
  if (applied < latest) return { check: 'migrations', status: 'warn', message: `schema version ${applied}; ${latest} is current`, fix: 'start the gateway: it applies pending migrations first' };
  return { check: 'migrations', status: 'error', message: `schema version ${applied} is newer than this Hearth knows (${latest})`, fix: 'run the Hearth version that wrote this database, or restore a backup' };
}

/** Cron jobs as stored: unreadable rows, disabled jobs, jobs failing in a row, and runs that are overdue. */
function checkCronJobs(db: BetterSqlite3.Database, now: number): Finding[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cron_jobs'").get();
  if (!exists) return [];
  const rows = db.prepare('SELECT id, spec, state FROM cron_jobs ORDER BY created_at').all() as { id: string; spec: string; state: string }[];
  const findings: Finding[] = [];
  let healthy = 0;
  const twins = new Map<string, string[]>();
  for (const row of rows) {
    const checked = checkCronJobRow(row);
    if (checked.ok) {
      const fingerprint = jobFingerprint(checked.spec);
      twins.set(fingerprint, [...(twins.get(fingerprint) ?? []), row.id]);
    }
    if (!checked.ok) {
      findings.push({
        check: 'cron',
        status: 'error',
        message: `cron job ${row.id} cannot be read (${checked.problem}); the scheduler skips it`,
        fix: `remove it with \`hearth cron rm ${row.id}\` and add it again`,
      });
      continue;
    }
    const { spec, state } = checked;
    const name = `cron job "${spec.name}" (${row.id})`;
    if (!state.enabled) {
      findings.push({ check: 'cron', status: 'warn', message: `${name} is disabled: ${state.disabledReason ?? 'by its owner'}`, fix: `fix the cause, then \`hearth cron edit ${row.id} --enable\`` });
    } else if (state.consecutiveErrors > 0) {
      findings.push({ check: 'cron', status: 'warn', message: `${name} failed ${state.consecutiveErrors} times in a row: ${state.lastError ?? ''}`, fix: `see \`hearth cron runs ${row.id}\` and \`hearth runs show <turn>\`` });
    } else if (state.nextRunAt !== null && state.nextRunAt < now - 5 * 60_000) {
      findings.push({
        check: 'cron',
        status: 'warn',
        message: `${name} was due at ${new Date(state.nextRunAt).toISOString()} and has not run`,
        fix: 'start the gateway: the job\'s misfire policy decides whether it runs late or is recorded as missed',
      });
    } else healthy++;
  }
  for (const ids of twins.values()) {
    if (ids.length < 2) continue;
    findings.push({ check: 'cron', status: 'warn', message: `cron jobs ${ids.join(', ')} have the same name, agent and schedule: each run happens ${ids.length} times`, fix: `keep one: \`hearth cron rm <id>\` for the others` });
  }
  if (rows.length > 0 && healthy === rows.length && findings.length === 0) findings.push({ check: 'cron', status: 'ok', message: `${rows.length} cron jobs healthy` });
  return findings;
}

/** Pairing requests and approved senders that fail their schema, and rows the gateway already set aside. */
function checkStoredRows(db: BetterSqlite3.Database, dbPath: string): Finding[] {
  const findings: Finding[] = [];
  const has = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
  const tables = [
    { table: 'pairing_requests', schema: pairingRowSchema, key: (row: Record<string, unknown>) => String(row.code) },
    { table: 'approved_senders', schema: approvedSenderRowSchema, key: (row: Record<string, unknown>) => `${row.channel}:${row.account_id}:${row.sender_id}` },
  ];
  for (const { table, schema, key } of tables) {
    if (!has(table)) continue;
    for (const row of db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]) {
      const problem = rowProblem(row, schema);
      if (problem === null) continue;
      findings.push({
        check: 'stored rows',
        status: 'error',
        message: `row ${key(row)} of ${table} in ${dbPath} cannot be used (${problem}); the gateway skips it`,
        fix: table === 'pairing_requests' ? 'the sender can ask again: a new request replaces it' : 'approve the sender again with `hearth pairing approve`',
      });
    }
  }
  if (has('quarantined_rows')) {
    const marked = db.prepare('SELECT table_name, row_key, reason, quarantined_at FROM quarantined_rows ORDER BY quarantined_at').all() as {
      table_name: string;
      row_key: string;
      reason: string;
      quarantined_at: number;
    }[];
    for (const row of marked) {
      findings.push({
        check: 'quarantine',
        status: 'warn',
        message: `row ${row.row_key} of ${row.table_name} in ${dbPath} has been skipped since ${new Date(row.quarantined_at).toISOString()}: ${row.reason}`,
        fix: row.table_name === 'cron_jobs' ? `remove it with \`hearth cron rm ${row.row_key}\` and add it again` : 'it is kept as it was; a new request or approval replaces it',
      });
    }
  }
  return findings;
}
