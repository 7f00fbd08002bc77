import { resolveHearthPaths } from '../config/paths.js';
import { isLogLevel, LOG_LEVELS, type LogEntry, type LogQuery, MAX_LOG_ENTRIES, readLog } from '../observability/log-reader.js';
import { gatewayLogPath } from '../observability/logger.js';
import { CliFailure, type CliRuntime } from './cli-context.js';

export interface LogsOptions {
  follow?: boolean;
  level?: string;
  component?: string;
  json?: boolean;
  limit: string;
}

/** How often `--follow` looks for new lines. */
const FOLLOW_INTERVAL_MS = 500;
const OMITTED_FIELDS: readonly string[] = ['level', 'time', 'msg', 'component', 'pid', 'hostname'];

/**
 * `hearth logs`: the gateway's own log, read from `logs/gateway.log` (so it works while the gateway
 * is down), newest lines last; `--follow` keeps printing new lines until Ctrl-C.
 */
export async function runLogs(runtime: CliRuntime, options: LogsOptions): Promise<void> {
  const query = logQuery(options);
  const path = gatewayLogPath(resolveHearthPaths(runtime.env).logsDir);
  const print = (entries: LogEntry[]) => {
    if (entries.length > 0) runtime.io.out(entries.map((entry) => (options.json ? `${entry.line}\n` : formatLogEntry(entry))).join(''));
  };
  const first = await readLog(path, query);
  if (first.cursor === 0 && !options.follow) {
    runtime.io.err(`No gateway log at ${path} yet. Start the gateway with \`hearth gateway\`; it writes there.\n`);
    return;
  }
  print(first.entries);
  if (options.follow) await follow(path, query, first.cursor, print);
}

function logQuery(options: LogsOptions): LogQuery {
  if (options.level !== undefined && !isLogLevel(options.level)) {
    throw new CliFailure(`--level must be one of ${Object.keys(LOG_LEVELS).join(', ')}, not "${options.level}".`);
  }
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOG_ENTRIES) {
    throw new CliFailure(`--limit must be a whole number from 1 to ${MAX_LOG_ENTRIES}, not "${options.limit}".`);
  }
  return {
    limit,
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(options.component === undefined ? {} : { component: options.component }),
  };
}

/** Prints lines as they are written, until SIGINT or SIGTERM; each read is bounded (see readLog). */
async function follow(path: string, query: LogQuery, start: number, print: (entries: LogEntry[]) => void): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let cursor = start;
  try {
    while (!stop.signal.aborted) {
      await delay(FOLLOW_INTERVAL_MS, stop.signal);
      if (stop.signal.aborted) break;
      const page = await readLog(path, { ...query, limit: MAX_LOG_ENTRIES, after: cursor });
      print(page.entries);
      cursor = page.cursor;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One line for a person: `2026-12-04 17:35:42.120 WARN  turns     message  key=value …`. */
export function formatLogEntry(entry: LogEntry): string {
  const date = new Date(entry.time);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const time = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  const fields = Object.entries(entry.record)
    .filter(([key]) => !OMITTED_FIELDS.includes(key))
    .map(([key, value]) => {
      if (value && typeof value === 'object' && 'message' in value) return `${key}=${JSON.stringify((value as { message: unknown }).message)}`;
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    });
  return `${time} ${entry.level.toUpperCase().padEnd(5)} ${entry.component.padEnd(9)} ${entry.msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}
