import { resolve } from 'node:path';
import { resolveHearthPaths } from '../config/paths.js';
import { readVersion } from '../runtime/gateway-base.js';
import { exportState, importState } from '../state/state-archive.js';
import { CliFailure, type CliRuntime } from './cli-context.js';

/** `hearth state export <file>`: a consistent snapshot, even while the gateway runs. */
export async function runStateExport(runtime: CliRuntime, file: string, options: { includeSecrets?: boolean }): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const target = resolve(file);
  const manifest = await exportState(paths, target, { includeSecrets: options.includeSecrets === true, hearthVersion: readVersion(), now: Date.now() }).catch((error: unknown) => {
    throw new CliFailure(`Exporting ${paths.home} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  runtime.io.out(`Exported ${paths.home} to ${target}${manifest.includesSecrets ? ' (with its secrets: keep the file private)' : ''}.\n`);
  for (const item of manifest.leftOut) runtime.io.out(`  left out: ${item}\n`);
}

/** `hearth state import <file>`: into an empty home. */
export async function runStateImport(runtime: CliRuntime, file: string): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const manifest = await importState(paths, resolve(file)).catch((error: unknown) => {
    throw new CliFailure(`Importing ${file} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  runtime.io.out(`Imported the state exported from Hearth ${manifest.hearthVersion} on ${new Date(manifest.createdAt).toISOString()} into ${paths.home}.\n`);
  if (manifest.leftOut.length > 0) runtime.io.out(`The export left out (add them again):\n${manifest.leftOut.map((item) => `  ${item}`).join('\n')}\n`);
  runtime.io.out('Start the gateway on it with `hearth gateway` (or `hearth service`); `hearth doctor` checks it first.\n');
}
