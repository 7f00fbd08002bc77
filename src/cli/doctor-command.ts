import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type HearthPaths, resolveHearthPaths } from '../config/paths.js';
import { readGatewayAddress } from '../gateway/gateway-address-file.js';
import { type Finding, runDoctorChecks } from '../observability/doctor.js';
import { checkModels } from '../observability/doctor-models.js';
import { usesPostgres } from '../store/store-choice.js';
import { cliConfig, type CliRuntime, gatewayTarget, withGateway } from './cli-context.js';
import { GatewayUnreachable } from './gateway-client.js';

/** The gateway's port: free, served by our gateway (with its health), or taken by something else. */
async function checkGateway(runtime: CliRuntime): Promise<{ findings: Finding[]; running: boolean }> {
  const target = gatewayTarget(runtime.env);
  let health: Response | null = null;
  try {
    health = await fetch(`${target.url}/health`, { signal: AbortSignal.timeout(3000) });
  } catch {
    return { findings: [{ check: 'port', status: 'ok', message: `${target.url} is free (no gateway running)` }], running: false };
  }
  const body = (await health.json().catch(() => null)) as { ok?: unknown } | null;
  if (!health.ok || body?.ok !== true) {
    return {
      findings: [{ check: 'port', status: 'error', message: `something other than Hearth answers at ${target.url}`, fix: 'stop that program, or set gateway.port to a free port' }],
      running: false,
    };
  }
  const findings: Finding[] = [{ check: 'port', status: 'ok', message: `our gateway runs at ${target.url}` }];
  try {
    const report = await withGateway(runtime.env, runtime.io, (client) =>
      client.call<{ components: Record<string, { status: string; detail?: string }> }>('health'),
    );
    for (const [name, component] of Object.entries(report.components)) {
      if (component.status === 'ok') continue;
      findings.push({
        check: name === 'channels' ? 'channel health' : name === 'cron' ? 'cron health' : `gateway ${name}`,
        status: 'warn',
        message: `${name} is ${component.status}${component.detail ? `: ${component.detail}` : ''}`,
        fix: name === 'channels' ? '`hearth channels status` names the fix for each account' : '`hearth status` shows the details',
      });
    }
  } catch (error) {
    if (!(error instanceof GatewayUnreachable)) throw error;
    findings.push({ check: 'gateway', status: 'warn', message: error.message, fix: 'check the gateway token in credentials/gateway-token' });
  }
  return { findings, running: true };
}

/**
 * Applies the state database's pending migrations (what the gateway does first at start), so an
 * upgrade can try them on a copy of the state before the real one. Refused while a gateway runs
 * on this home: two processes must not migrate one database.
 */
async function migrate(paths: HearthPaths, env: Record<string, string | undefined>): Promise<Finding> {
  const postgres = postgresUrl(paths, env);
  if (postgres) {
    const { openPostgresStore } = await import('../store/postgres/postgres-store.js');
    try {
      const store = await openPostgresStore({ url: postgres });
      await store.close();
      return { check: 'migrate', status: 'ok', message: 'migrations applied to the PostgreSQL state database (under its advisory lock)' };
    } catch (error) {
      return { check: 'migrate', status: 'error', message: error instanceof Error ? error.message : String(error), fix: 'check store.url (or HEARTH_DATABASE_URL) and the server' };
    }
  }
  if (readGatewayAddress(paths.stateDir)) {
    return { check: 'migrate', status: 'error', message: 'a gateway is running on this home', fix: 'stop it first (`hearth doctor --migrate` is for a stopped gateway or a copy of the state)' };
  }
  const path = join(paths.stateDir, 'hearth.sqlite');
  if (!existsSync(path)) return { check: 'migrate', status: 'ok', message: 'no state database yet: the first start creates it' };
  const { createSqliteStore } = await import('../store/sqlite/sqlite-store.js');
  try {
    await createSqliteStore({ path }).close();
    return { check: 'migrate', status: 'ok', message: `migrations applied to ${path}` };
  } catch (error) {
    return { check: 'migrate', status: 'error', message: `migrating ${path} failed: ${error instanceof Error ? error.message : String(error)}`, fix: 'restore a backup, or report the message' };
  }
}

/** The PostgreSQL URL when the state lives there (store.kind / HEARTH_DATABASE_URL), else null. */
function postgresUrl(paths: HearthPaths, env: Record<string, string | undefined>): string | null {
  const config = cliConfig(paths, env);
  if (!usesPostgres(config, env)) return null;
  return env.HEARTH_DATABASE_URL?.trim() || config.store.url || null;
}

export async function runDoctor(runtime: CliRuntime, options: { fix?: boolean; json?: boolean; migrate?: boolean }): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const migrated = options.migrate ? [await migrate(paths, runtime.env)] : [];
  const postgres = postgresUrl(paths, runtime.env);
  const gateway = await checkGateway(runtime);
  const findings = [
    ...migrated,
    ...runDoctorChecks({ paths, env: runtime.env, fix: options.fix === true, gatewayRunning: gateway.running }),
    ...(postgres ? await import('../observability/doctor-postgres.js').then(({ checkPostgresStore }) => checkPostgresStore(postgres)) : []),
    ...(await checkModels({ paths, env: runtime.env })),
    ...gateway.findings,
  ];
  const unresolved = findings.filter((finding) => finding.status === 'error' && !finding.fixed);
  if (options.json) runtime.io.out(`${JSON.stringify({ ok: unresolved.length === 0, findings }, null, 2)}\n`);
  else {
    const mark = { ok: 'ok  ', warn: 'WARN', error: 'FAIL' } as const;
    for (const finding of findings) {
      runtime.io.out(`${mark[finding.status]}  ${finding.check}: ${finding.message.replace(/\n/gu, '\n      ')}\n`);
      if (finding.fix) runtime.io.out(`      ${finding.fixed ? 'fixed' : 'fix'}: ${finding.fix}\n`);
    }
    const fixable = findings.filter((finding) => finding.fix && !finding.fixed && finding.status !== 'ok').length;
    runtime.io.out(unresolved.length === 0 ? 'No errors.\n' : `${unresolved.length} error(s).\n`);
    if (!options.fix && fixable > 0) runtime.io.out('`hearth doctor --fix` applies the safe fixes (permissions, quarantining unreadable files, salvaging a damaged database).\n');
  }
  if (unresolved.length > 0) process.exitCode = 1;
}
