import { open, stat } from 'node:fs/promises';

/** pino's level names and numbers, lowest first. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

/** The component of a log line that names none: the gateway's own start, stop and edges. */
export const DEFAULT_LOG_COMPONENT = 'gateway';

/** The most bytes one read looks at: the tail of the file, or what follows a cursor. */
export const MAX_LOG_SCAN_BYTES = 4 * 1024 * 1024;
/** The most entries one read returns. */
export const MAX_LOG_ENTRIES = 1000;

export interface LogQuery {
  /** How many entries, the newest ones (default 100, at most 1,000). */
  limit?: number;
  /** Only this level and above. */
  level?: LogLevelName;
  /** Only lines of this component (`gateway` for lines that name none). */
  component?: string;
  /** A cursor from an earlier read: only lines written after it, oldest first. */
  after?: number;
}

export interface LogEntry {
  /** The JSON line as written (secrets are redacted when it is written). */
  line: string;
  record: Record<string, unknown>;
  time: number;
  level: LogLevelName;
  component: string;
  msg: string;
}

export interface LogPage {
  entries: LogEntry[];
  /** Pass as `after` to read what is written next. */
  cursor: number;
  /** True when more lines matched than were returned, or the scan stopped at its byte bound. */
  truncated: boolean;
}

/**
 * Reads the gateway's JSON log (`logs/gateway.log`) with a bound: without `after`, the newest
 * `limit` matching lines within the last 4 MiB; with `after`, matching lines written since that
 * cursor (4 MiB at most per read; a file that shrank since is read from its start). A missing file
 * is an empty page; lines that are not JSON are skipped. Throws only on other `fs` errors.
 */
export async function readLog(path: string, query: LogQuery = {}): Promise<LogPage> {
  const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 100)), MAX_LOG_ENTRIES);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], cursor: 0, truncated: false };
    throw error;
  }
  const following = query.after !== undefined;
  const from = following ? (query.after! <= size ? query.after! : 0) : Math.max(0, size - MAX_LOG_SCAN_BYTES);
  const to = Math.min(size, from + MAX_LOG_SCAN_BYTES);
  const lines = completeLines(await readRange(path, from, to), from, from > 0 && !following);
  const matching = lines.flatMap(({ text, end }) => {
    const entry = parseLogLine(text);
    return entry !== undefined && matches(entry, query) ? [{ entry, end }] : [];
  });
  const kept = following ? matching.slice(0, limit) : matching.slice(-limit);
  const lastLineEnd = lines.at(-1)?.end ?? from;
  // A follower that got only part of what matched resumes after the last entry it got.
  const cursor = following && matching.length > limit ? (kept.at(-1)?.end ?? from) : lastLineEnd;
  return {
    entries: kept.map(({ entry }) => entry),
    cursor,
    truncated: matching.length > limit || to < size || (!following && from > 0),
  };
}

/**
 * The whole lines of a chunk read at file offset `from`, each with the file offset just past its
 * newline. An unfinished last line is left for the next read; with `skipFirst`, so is a first line
 * that may have started before `from`.
 */
function completeLines(buffer: Buffer, from: number, skipFirst: boolean): Array<{ text: string; end: number }> {
  const lines: Array<{ text: string; end: number }> = [];
  let start = 0;
  let first = true;
  for (let newline = buffer.indexOf(10); newline >= 0; newline = buffer.indexOf(10, start)) {
    if (!(first && skipFirst)) lines.push({ text: buffer.subarray(start, newline).toString('utf8'), end: from + newline + 1 });
    first = false;
    start = newline + 1;
  }
  return lines;
}

/** Parses one JSON log line; undefined for blank or non-JSON lines. */
export function parseLogLine(line: string): LogEntry | undefined {
  if (line.trim() === '') return undefined;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const fields = record as Record<string, unknown>;
  return {
    line,
    record: fields,
    time: typeof fields.time === 'number' ? fields.time : 0,
    level: levelName(fields.level),
    component: typeof fields.component === 'string' ? fields.component : DEFAULT_LOG_COMPONENT,
    msg: typeof fields.msg === 'string' ? fields.msg : '',
  };
}

/** True for a level name `hearth logs --level` and `logs.tail` accept. */
export function isLogLevel(value: string): value is LogLevelName {
  return Object.hasOwn(LOG_LEVELS, value);
}

function matches(entry: LogEntry, query: LogQuery): boolean {
  if (query.level !== undefined && LOG_LEVELS[entry.level] < LOG_LEVELS[query.level]) return false;
  if (query.component !== undefined && entry.component !== query.component) return false;
  return true;
}

function levelName(level: unknown): LogLevelName {
  const number = typeof level === 'number' ? level : LOG_LEVELS.info;
  let name: LogLevelName = 'trace';
  for (const [candidate, value] of Object.entries(LOG_LEVELS) as [LogLevelName, number][]) if (number >= value) name = candidate;
  return name;
}

async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  if (to <= from) return Buffer.alloc(0);
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
