import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import JSON5 from 'json5';
import { type ConfigIssue, formatPath } from './config-issues.js';
import { type CrossFieldProblem, checkCrossFields } from './cross-field-checks.js';
import { substituteEnv } from './env-substitution.js';
import { isBlankJson5, type Json5SourceMap, scanJson5 } from './json5-locator.js';
import { configSchema, type HearthConfig } from './schema.js';
import { describeZodIssue } from './zod-issues.js';


/**
 * A config is parsed once at start and once per edit: zod's compiled parser (code generated and
 * compiled for each object schema on its first parse) costs more to build than it saves on one
 * parse, so config parses go without it.
 */
const ONE_PARSE = { jitless: true } as const;

export { type ConfigIssue, formatConfigIssues } from './config-issues.js';

/**
 * The outcome of loading the config. On success, `config` is deeply frozen (every default filled
 * in), `source` says whether a file was read, and `hash` is the sha256 (hex) of the file text after
 * `${VAR}` substitution (of the string `"defaults"` when there was no file), so two loads with the
 * same hash produced the same config; `warnings` (when present) are problems that do not stop the
 * config from loading (a model whose provider is only detected at run time). On failure, `issues` lists every problem found (never empty).
 */
export type ConfigLoadResult =
  | { ok: true; config: Readonly<HearthConfig>; source: 'file' | 'defaults'; hash: string; warnings?: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

/** The raw text of a config file, or why there is none. */
export type ConfigTextRead = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'error'; issue: ConfigIssue };

/**
 * Reads and validates the config file at `path` (synchronously). A missing file is not an error:
 * the result is the defaults (`source: 'defaults'`). Never throws; unreadable files, syntax errors,
 * unset variables, schema violations and cross-field conflicts all come back as issues.
 * @param env the environment for `${VAR}` substitution (pass `process.env` from `main.ts`).
 */
export function loadConfigFile(path: string, env: Record<string, string | undefined>): ConfigLoadResult {
  const read = readConfigText(path);
  if (read.kind === 'missing') return defaultConfigResult();
  if (read.kind === 'error') return { ok: false, issues: [read.issue] };
  return parseConfigText(read.text, path, env);
}

/** Reads a config file's text; a file that does not exist is `missing`, other failures an issue. */
export function readConfigText(path: string): ConfigTextRead {
  try {
    return { kind: 'text', text: readFileSync(path, 'utf8') };
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return { kind: 'missing' };
    const reason = error instanceof Error ? error.message : String(error);
    return { kind: 'error', issue: { file: path, path: '', message: `cannot read the config file (${code ?? reason})` } };
  }
}

/** The result of loading with no config file: every field at its default. */
export function defaultConfigResult(): ConfigLoadResult {
  return { ok: true, config: snapshot(configSchema().parse({}, ONE_PARSE)), source: 'defaults', hash: sha256('defaults') };
}

/**
 * Parses and validates config text as if it had been read from `file` (used in issue positions).
 * Text with nothing but whitespace and comments is an empty config. `${VAR}` references in string
 * values are replaced from `env` before validation; an unset variable is an issue at that value.
 * Never throws.
 */
export function parseConfigText(text: string, file: string, env: Record<string, string | undefined>): ConfigLoadResult {
  if (isBlankJson5(text)) return validate({}, text, file, undefined, []);
  try {
    JSON5.parse(text);
  } catch (error) {
    return { ok: false, issues: [syntaxIssue(error, file)] };
  }
  let sourceMap: Json5SourceMap;
  try {
    sourceMap = scanJson5(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ file, path: '', message: `could not map the file's structure (${reason}); please report this` }] };
  }
  const substitution = substituteStrings(text, sourceMap, file, env);
  const value: unknown = JSON5.parse(substitution.text);
  return validate(value, substitution.text, file, sourceMap, substitution.issues);
}

function validate(
  value: unknown,
  substitutedText: string,
  file: string,
  sourceMap: Json5SourceMap | undefined,
  earlierIssues: ConfigIssue[],
): ConfigLoadResult {
  const toIssue = (problem: CrossFieldProblem): ConfigIssue => {
    const position = sourceMap?.locate(problem.path);
    return {
      file,
      ...(position === undefined ? {} : { line: position.line, column: position.column }),
      path: formatPath(problem.path),
      message: problem.message,
      ...(problem.suggestion === undefined ? {} : { suggestion: problem.suggestion }),
    };
  };
  const parsed = configSchema().safeParse(value, ONE_PARSE);
  if (!parsed.success) {
    // A value emptied by an unset variable is already reported; don't report it twice.
    const reported = new Set(earlierIssues.map((issue) => issue.path));
    const schemaIssues = parsed.error.issues
      .flatMap((issue) => describeZodIssue(issue, value, configSchema()))
      .map(toIssue)
      .filter((issue) => !reported.has(issue.path));
    return { ok: false, issues: sortByPosition([...earlierIssues, ...schemaIssues]) };
  }
  const problems = checkCrossFields(parsed.data);
  const issues = [...earlierIssues, ...problems.filter((problem) => problem.severity !== 'warning').map(toIssue)];
  if (issues.length > 0) return { ok: false, issues: sortByPosition(issues) };
  const warnings = problems.filter((problem) => problem.severity === 'warning').map(toIssue);
  return {
    ok: true,
    config: snapshot(parsed.data),
    source: 'file',
    hash: sha256(substitutedText),
    ...(warnings.length > 0 ? { warnings: sortByPosition(warnings) } : {}),
  };
}

/** Replaces `${VAR}` in every string value of the text, keeping it valid JSON5 and its line count. */
function substituteStrings(
  text: string,
  sourceMap: Json5SourceMap,
  file: string,
  env: Record<string, string | undefined>,
): { text: string; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const splices: Array<{ start: number; end: number; replacement: string }> = [];
  for (const node of sourceMap.nodes) {
    if (node.kind !== 'string') continue;
    const raw = text.slice(node.start, node.end);
    if (!raw.includes('$') && !raw.includes('\\')) continue;
    const decoded: unknown = JSON5.parse(raw);
    if (typeof decoded !== 'string') continue;
    const result = substituteEnv(decoded, env);
    const position = node.key ?? node.value;
    for (const name of result.missing) {
      issues.push({
        file,
        line: position.line,
        column: position.column,
        path: formatPath(node.path),
        message: `environment variable ${name} is not set`,
        suggestion: `set ${name} in the gateway's environment, or write $\${${name}} for a literal "\${${name}}"`,
      });
    }
    if (result.value !== decoded) splices.push({ start: node.start, end: node.end, replacement: toJson5String(result.value) });
  }
  let substituted = text;
  for (const splice of splices.reverse()) {
    substituted = substituted.slice(0, splice.start) + splice.replacement + substituted.slice(splice.end);
  }
  return { text: substituted, issues };
}

/**
 * A double-quoted literal for `value`. JSON.stringify escapes "\n" and "\r", so the text keeps its
 * line numbers; U+2028/U+2029 are escaped too, or JSON5 would print a warning for each.
 */
function toJson5String(value: string): string {
  return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function syntaxIssue(error: unknown, file: string): ConfigIssue {
  const record = error !== null && typeof error === 'object' ? (error as Record<string, unknown>) : {};
  const line = typeof record.lineNumber === 'number' ? record.lineNumber : undefined;
  const column = typeof record.columnNumber === 'number' ? record.columnNumber : undefined;
  const raw = error instanceof Error ? error.message : String(error);
  // "JSON5: invalid character 'x' at 3:5": the position is shown separately.
  const message = raw.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
  return {
    file,
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
    path: '',
    message: `syntax error: ${message}`,
  };
}

function sortByPosition(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.index - b.index)
    .map(({ issue }) => issue);
}

/** A deeply frozen copy: zod hands out its `.default()` objects shallow-cloned, so copy before freezing. */
function snapshot(config: HearthConfig): Readonly<HearthConfig> {
  return deepFreeze(structuredClone(config));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function errorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object' || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
