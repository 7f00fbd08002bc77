import { type ConfigIssue, formatConfigIssues, loadConfigFile } from '../config/load-config.js';
import { resolveHearthPaths } from '../config/paths.js';
import { CliFailure, type CliRuntime, EXIT_CONFIG } from './cli-context.js';

/** Checks the config file: exit 0 when valid (warnings printed), EXIT_CONFIG with every issue otherwise. */
export function validateConfig(runtime: CliRuntime, options: { json?: boolean }): void {
  const paths = resolveHearthPaths(runtime.env);
  const result = loadConfigFile(paths.configPath, runtime.env);
  if (options.json) {
    const report = result.ok
      ? { ok: true, path: paths.configPath, source: result.source, ...(result.warnings ? { warnings: result.warnings } : {}) }
      : { ok: false, path: paths.configPath, issues: result.issues };
    runtime.io.out(`${JSON.stringify(report, null, 2)}\n`);
    if (!result.ok) process.exitCode = EXIT_CONFIG;
    return;
  }
  if (!result.ok) throw new CliFailure(formatConfigIssues(result.issues), EXIT_CONFIG);
  for (const warning of result.warnings ?? []) runtime.io.err(`warning: ${formatWarning(warning)}\n`);
  runtime.io.out(result.source === 'defaults' ? `No config file at ${paths.configPath}; the defaults are in force and valid.\n` : `${paths.configPath} is valid.\n`);
}

function formatWarning(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return `${where} ${issue.path}: ${issue.message}${issue.suggestion === undefined ? '' : ` — ${issue.suggestion}`}`;
}
