import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson5File, readSqliteTable } from './source-readers.js';

/**
 * Sessions of an OpenClaw state directory, both generations: the legacy
 * `agents/<id>/sessions/sessions.json` index with one `<sessionId>.jsonl` transcript each, and
 * the per-agent `agents/<id>/agent/openclaw-agent.sqlite` (tables `sessions` and
 * `transcript_entries`). Read only.
 */

/** A user or assistant text message of a transcript; other entries are counted, not kept. */
export interface SourceMessage {
  role: 'user' | 'assistant';
  text: string;
}

export interface SourceSession {
  agentId: string;
  key: string;
  source: string;
  messages: SourceMessage[];
  /** Entries that are not user or assistant text (tool calls and results, compaction markers…). */
  otherEntries: number;
  /** Why the transcript could not be read, when it could not. */
  problem?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The text of message content: a string, or the `text` parts of a content array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part): part is Json => isObject(part) && part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text as string)
    .join('\n');
}

/** Folds transcript entries (a JSONL line's object, or a row) into messages. */
export function collectMessages(entries: unknown[]): { messages: SourceMessage[]; otherEntries: number } {
  const messages: SourceMessage[] = [];
  let otherEntries = 0;
  for (const entry of entries) {
    const message = isObject(entry) && isObject(entry.message) ? entry.message : entry;
    const role = isObject(message) ? message.role : undefined;
    const text = isObject(message) ? contentText(message.content).trim() : '';
    if ((role === 'user' || role === 'assistant') && text) messages.push({ role, text });
    else if (!(isObject(entry) && entry.type === 'session')) otherEntries += 1;
  }
  return { messages, otherEntries };
}

function readJsonl(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as unknown);
}

function legacySessions(agentId: string, dir: string): SourceSession[] {
  const index = join(dir, 'sessions.json');
  if (!existsSync(index)) return [];
  const raw = readJson5File(index);
  if (!isObject(raw)) return [];
  return Object.entries(raw).map(([key, meta]) => {
    const sessionId = isObject(meta) && typeof meta.sessionId === 'string' ? meta.sessionId : null;
    const file = sessionId ? join(dir, `${sessionId}.jsonl`) : null;
    if (!file || !existsSync(file)) return { agentId, key, source: index, messages: [], otherEntries: 0, problem: 'its transcript file is missing' };
    try {
      return { agentId, key, source: file, ...collectMessages(readJsonl(file)) };
    } catch (error) {
      return { agentId, key, source: file, messages: [], otherEntries: 0, problem: `its transcript is not valid JSON lines (${error instanceof Error ? error.message : String(error)})` };
    }
  });
}

const JSON_COLUMNS = ['entry', 'data', 'json', 'message'];

function rowEntry(row: Json): unknown {
  for (const column of JSON_COLUMNS) {
    const value = row[column];
    if (typeof value === 'string' && value.startsWith('{')) return JSON.parse(value) as unknown;
  }
  return row;
}

function sqliteSessions(agentId: string, path: string): SourceSession[] {
  const entries = readSqliteTable(path, 'transcript_entries');
  return readSqliteTable(path, 'sessions').map((row) => {
    const key = String(row.session_key ?? row.key ?? row.id);
    const sessionId = row.session_id ?? row.id;
    const own = entries.filter((entry) => entry.session_id === sessionId || entry.session_key === key);
    try {
      return { agentId, key, source: `${path}#sessions`, ...collectMessages(own.map(rowEntry)) };
    } catch (error) {
      return { agentId, key, source: `${path}#sessions`, messages: [], otherEntries: 0, problem: `a transcript entry is not valid JSON (${error instanceof Error ? error.message : String(error)})` };
    }
  });
}

export function listSourceSessions(dir: string): SourceSession[] {
  const agentsDir = join(dir, 'agents');
  if (!existsSync(agentsDir)) return [];
  const found: SourceSession[] = [];
  for (const agentId of readdirSync(agentsDir).sort()) {
    found.push(...legacySessions(agentId, join(agentsDir, agentId, 'sessions')));
    found.push(...sqliteSessions(agentId, join(agentsDir, agentId, 'agent', 'openclaw-agent.sqlite')));
  }
  return found;
}

/** OpenClaw's session key as Hearth's: the legacy `:dm:` becomes `:direct:`; null when Hearth has no such session. */
export function hearthSessionKey(key: string): string | null {
  const mapped = key.replace(/^(agent:[a-z0-9_][a-z0-9_-]{0,63}:(?:[a-z0-9-]+:)?(?:[^:]+:)?)dm:/u, '$1direct:');
  if (/^agent:[a-z0-9_][a-z0-9_-]{0,63}:main$/u.test(mapped)) return mapped;
  if (/^agent:[a-z0-9_][a-z0-9_-]{0,63}:(?:[a-z0-9-]+:){0,2}(?:direct|group):[^:]+(?::thread:[^:]+)?$/u.test(mapped)) return mapped;
  return null;
}
