import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveHearthPaths } from '../config/paths.js';
import { readGatewayAddress } from '../gateway/gateway-address-file.js';
import { formatImportReport } from '../import/openclaw/import-report.js';
import { importOpenClaw } from '../import/openclaw/openclaw-import.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { CliFailure, type CliRuntime } from './cli-context.js';

/** `hearth import openclaw [--from <dir>] [--dry-run]`: see src/import/openclaw/openclaw-import.ts. */
export async function runImportOpenClaw(runtime: CliRuntime, options: { from?: string; dryRun?: boolean }): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const home = runtime.env.HOME ?? homedir();
  const from = resolve((options.from ?? '~/.openclaw').replace(/^~(?=$|\/)/u, home));
  if (!existsSync(from)) throw new CliFailure(`No OpenClaw state directory at ${from}; name it with --from <dir>.`);
  const dryRun = options.dryRun === true;
  if (!dryRun && readGatewayAddress(paths.stateDir)) throw new CliFailure('A gateway is running on this home: stop it first (the import writes cron jobs and approved senders into its database), or look with --dry-run.');
  const report = await importOpenClaw({
    from,
    paths,
    dryRun,
    home,
    now: Date.now(),
    openStore: () => createSqliteStore({ path: join(paths.stateDir, 'hearth.sqlite') }),
  }).catch((error: unknown) => {
    throw new CliFailure(`Importing from ${from} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  runtime.io.out(formatImportReport(report.items, dryRun));
  if (!dryRun) runtime.io.out('Check the result with `hearth doctor`, then start the gateway.\n');
}
