import type { PathSegment } from './json5-locator.js';

/**
 * One problem with a config file, precise enough to fix without reading code: which file, where
 * (1-based line and column, when the file has that spot), which key (`agents.defaults.modle`,
 * `agents.defaults.fallbacks[0]`; `""` for the file as a whole), what is wrong, and, when Hearth
 * can guess, the fix (`did you mean "model"?`).
 */
export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  path: string;
  message: string;
  suggestion?: string;
}

/**
 * Renders issues as text for a terminal or a log, one line each:
 * `hearth.json5:12:5 agents.defaults.modle: unknown key — did you mean "model"?`, followed by one
 * line that says how to fix them. Returns `""` for no issues.
 */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  if (issues.length === 0) return '';
  const lines = issues.map((issue) => {
    const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
    const subject = issue.path === '' ? '' : ` ${issue.path}:`;
    const hint = issue.suggestion === undefined ? '' : ` — ${issue.suggestion}`;
    return `${where}${subject} ${issue.message}${hint}`;
  });
  const files = [...new Set(issues.map((issue) => issue.file))].join(', ');
  const count = issues.length === 1 ? 'this problem' : `these ${issues.length} problems`;
  lines.push(`Fix ${count} by editing ${files}, then check it with \`hearth config validate\`.`);
  return lines.join('\n');
}

/** Writes a key path the way issues show it: `agents.entries.main.fallbacks[0]`, `models.providers["a.b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_$-]+$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
