import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson5File, readSqliteTable } from './source-readers.js';

/** A session found in an OpenClaw state directory (legacy sessions.json or the per-agent SQLite). */
export interface SourceSession {
  agentId: string;
  key: string;
  source: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function listSourceSessions(dir: string): SourceSession[] {
  const agentsDir = join(dir, 'agents');
  if (!existsSync(agentsDir)) return [];
  const found: SourceSession[] = [];
  for (const agentId of readdirSync(agentsDir).sort()) {
    const legacy = join(agentsDir, agentId, 'sessions', 'sessions.json');
    if (existsSync(legacy)) {
      const index = readJson5File(legacy);
      if (isObject(index)) for (const key of Object.keys(index)) found.push({ agentId, key, source: legacy });
    }
    const sqlite = join(agentsDir, agentId, 'agent', 'openclaw-agent.sqlite');
    for (const row of readSqliteTable(sqlite, 'sessions')) found.push({ agentId, key: String(row.session_key ?? row.key ?? row.id), source: `${sqlite}#sessions` });
  }
  return found;
}
