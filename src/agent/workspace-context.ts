import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Workspace files that shape the agent, in the order they appear in the system prompt. */
export const WORKSPACE_CONTEXT_FILES = ['AGENTS.md', 'SOUL.md', 'USER.md'] as const;

export interface WorkspaceContextOptions {
  /** Largest part of one file put into the prompt, in characters. */
  maxFileChars?: number;
  /** Largest total of all files, in characters. */
  maxTotalChars?: number;
  /** How long a workspace's prompt is reused before its files are checked again, in ms. */
  recheckMs?: number;
  now?: () => number;
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  text: string;
}

/**
 * Reads the workspace files into the system prompt, re-reading a file only when its size or
 * modification time changed. The cache holds one entry per workspace file and is dropped by
 * `clear()`; `forget(dir)` drops a workspace that no longer belongs to an agent.
 */
export function createWorkspaceContext(options: WorkspaceContextOptions = {}) {
  const maxFileChars = options.maxFileChars ?? 16_000;
  const maxTotalChars = options.maxTotalChars ?? 48_000;
  const recheckMs = options.recheckMs ?? 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedFile>();
  /** The assembled prompt per workspace, reused for `recheckMs` so a busy agent does not stat on every turn. */
  const prompts = new Map<string, { checkedAt: number; text: string }>();

  async function readOne(path: string): Promise<string | null> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      cache.delete(path);
      return null;
    }
    if (!info.isFile()) return null;
    const cached = cache.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.text;
    const raw = await readFile(path, 'utf8').catch(() => null);
    if (raw === null) return null;
    // HTML comments are notes for the person editing the file (the starter files are all comments).
    let text = raw.replace(/<!--[\s\S]*?(-->|$)/g, '');
    if (text.length > maxFileChars) {
      text = `${text.slice(0, maxFileChars)}\n\n[… truncated: the file has ${text.length} characters; only the first ${maxFileChars} are shown]`;
    }
    cache.set(path, { mtimeMs: info.mtimeMs, size: info.size, text });
    return text;
  }

  return {
    /** The workspace part of the system prompt (empty when the workspace has none of the files). */
    async load(workspaceDir: string): Promise<string> {
      const recent = prompts.get(workspaceDir);
      if (recent && now() - recent.checkedAt < recheckMs) return recent.text;
      const parts: string[] = [];
      let total = 0;
      for (const name of WORKSPACE_CONTEXT_FILES) {
        const text = await readOne(join(workspaceDir, name));
        if (text === null || text.trim() === '') continue;
        const room = maxTotalChars - total;
        if (room <= 0) break;
        const body = text.length > room ? `${text.slice(0, room)}\n[… truncated to fit the context budget]` : text;
        total += body.length;
        parts.push(`## ${name}\n\n${body.trim()}`);
      }
      const text = parts.join('\n\n');
      prompts.set(workspaceDir, { checkedAt: now(), text });
      return text;
    },
    forget(workspaceDir: string) {
      for (const key of cache.keys()) if (key.startsWith(workspaceDir)) cache.delete(key);
      prompts.delete(workspaceDir);
    },
    clear() {
      cache.clear();
      prompts.clear();
    },
  };
}

export type WorkspaceContext = ReturnType<typeof createWorkspaceContext>;
