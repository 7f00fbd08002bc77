import { readFileSync } from 'node:fs';
import { type ConfigIssue, formatConfigIssues, loadConfigFile } from '../config/load-config.js';
import { resolveHearthPaths } from '../config/paths.js';
import { CliFailure, type CliRuntime, EXIT_CONFIG, withGateway } from './cli-context.js';

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

interface EditIssue {
  path: string;
  line: number | null;
  column: number | null;
  message: string;
  suggestion?: string;
}

interface ConfigFileView {
  path: string;
  exists: boolean;
  text: string;
  effective: unknown;
  hash: string;
  lastRejected: { at: number; text?: string; issues: EditIssue[] } | null;
}

function describeIssue(file: string, issue: EditIssue): string {
  const where = issue.line === null ? file : `${file}:${issue.line}:${issue.column ?? 1}`;
  return `${where}${issue.path === '' ? '' : ` ${issue.path}:`} ${issue.message}${issue.suggestion === undefined ? '' : ` — ${issue.suggestion}`}`;
}

/** `hearth config get`: the running gateway's config file with secrets masked (`config.get`). */
export async function getConfig(runtime: CliRuntime, options: { json?: boolean; effective?: boolean }): Promise<void> {
  const view = await withGateway(runtime.env, runtime.io, (client) => client.call<ConfigFileView>('config.get', {}));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(options.effective ? view.effective : view, null, 2)}\n`);
    return;
  }
  if (options.effective) {
    runtime.io.out(`${JSON.stringify(view.effective, null, 2)}\n`);
    return;
  }
  runtime.io.out(view.exists ? (view.text.endsWith('\n') ? view.text : `${view.text}\n`) : `// No config file at ${view.path}; the defaults are in force (hearth config get --effective shows them).\n`);
}

async function readSource(runtime: CliRuntime, file: string): Promise<string> {
  if (file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new CliFailure(`Cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  let text = '';
  for await (const chunk of runtime.stdin) text += String(chunk);
  return text;
}

/**
 * `hearth config apply <file>`: the running gateway checks the text and, when valid, writes it as
 * its config file and puts it in force (`config.apply`); with --dry-run it only checks it
 * (`config.validate`). Exits 78 with every problem when the text is refused.
 */
export async function applyConfig(runtime: CliRuntime, file: string, options: { json?: boolean; dryRun?: boolean }): Promise<void> {
  const text = await readSource(runtime, file);
  const label = file === '-' ? 'stdin' : file;
  const outcome = await withGateway(runtime.env, runtime.io, async (client) => {
    if (options.dryRun) {
      const checked = await client.call<{ ok: boolean; issues: EditIssue[]; warnings: EditIssue[] }>('config.validate', { text });
      return { applied: false, ok: checked.ok, issues: checked.issues, warnings: checked.warnings, path: '' };
    }
    const { hash, path } = await client.call<ConfigFileView>('config.get', {});
    const applied = await client.call<{ applied: boolean; hash: string; issues: EditIssue[]; warnings: EditIssue[] }>('config.apply', { text, baseHash: hash });
    return { ...applied, ok: applied.applied, path };
  });
  if (options.json) runtime.io.out(`${JSON.stringify(outcome, null, 2)}\n`);
  if (!outcome.ok) {
    process.exitCode = EXIT_CONFIG;
    if (!options.json) throw new CliFailure([...outcome.issues.map((issue) => describeIssue(label, issue)), 'Nothing was changed; the config in force stays as it was.'].join('\n'), EXIT_CONFIG);
    return;
  }
  if (options.json) return;
  for (const warning of outcome.warnings) runtime.io.err(`warning: ${describeIssue(label, warning)}\n`);
  runtime.io.out(options.dryRun ? `${label} is valid.\n` : `Applied ${label} as ${outcome.path}; it is in force now (the previous file is ${outcome.path}.bak).\n`);
}
