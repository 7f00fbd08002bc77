import { formatConfigIssues, loadConfigFile } from '../config/load-config.js';
import { resolveHearthPaths } from '../config/paths.js';
import { CliFailure, type CliRuntime, EXIT_CONFIG } from './cli-context.js';

export function validateConfig(runtime: CliRuntime, options: { json?: boolean }): void {
  const paths = resolveHearthPaths(runtime.env);
  const result = loadConfigFile(paths.configPath, runtime.env);
  if (options.json) {
    runtime.io.out(`${JSON.stringify(result.ok ? { ok: true, path: paths.configPath, source: result.source } : { ok: false, path: paths.configPath, issues: result.issues }, null, 2)}\n`);
    if (!result.ok) process.exitCode = EXIT_CONFIG;
    return;
  }
  if (!result.ok) throw new CliFailure(formatConfigIssues(result.issues), EXIT_CONFIG);
  runtime.io.out(result.source === 'defaults' ? `No config file at ${paths.configPath}; the defaults are in force and valid.\n` : `${paths.configPath} is valid.\n`);
}
