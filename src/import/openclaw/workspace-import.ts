import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { listFiles } from './source-readers.js';

/**
 * Which files of an OpenClaw workspace Hearth uses, and where they go. Pure planning: the
 * caller copies what `planWorkspace` says.
 */

/** Files and folders of a workspace Hearth reads (the rest is reported, not copied). */
const KEPT_FILES: readonly string[] = ['AGENTS.md', 'SOUL.md', 'USER.md', 'MEMORY.md', 'HEARTBEAT.md'];
const KEPT_FOLDERS = ['memory/', 'skills/'];
const WHY_NOT: Record<string, string> = {
  'TOOLS.md': 'legacy OpenClaw file; Hearth reads tool notes from AGENTS.md (move its text there)',
  'IDENTITY.md': 'Hearth has no identity file; put the name in agents.entries.<id>.name or SOUL.md',
  'BOOTSTRAP.md': 'a first-run ritual of OpenClaw; Hearth has none',
  'BOOT.md': 'a startup checklist run by an OpenClaw hook; Hearth has no such hook',
};

export interface WorkspaceFilePlan {
  relative: string;
  from: string;
  to: string;
  /** `copy`: new; `same`: already there with these bytes; `conflict`: there with other bytes; `skip`: not used by Hearth. */
  action: 'copy' | 'same' | 'conflict' | 'skip';
  reason?: string;
}

/** Where an agent's OpenClaw workspace is: its configured path, else `workspace` (main) or `workspace-<id>`. */
export function sourceWorkspace(dir: string, agentId: string, configured: unknown, home: string): string {
  if (typeof configured === 'string' && configured.trim()) {
    const expanded = configured.replace(/^~(?=$|\/)/u, home);
    return isAbsolute(expanded) ? expanded : join(dir, expanded);
  }
  return join(dir, agentId === 'main' ? 'workspace' : `workspace-${agentId}`);
}

export function planWorkspace(from: string, to: string): WorkspaceFilePlan[] {
  const plans: WorkspaceFilePlan[] = [];
  for (const relative of listFiles(from)) {
    const source = join(from, relative);
    const target = join(to, relative);
    if (relative.startsWith('.git/')) continue;
    if (!KEPT_FILES.includes(relative) && !KEPT_FOLDERS.some((folder) => relative.startsWith(folder))) {
      plans.push({ relative, from: source, to: target, action: 'skip', reason: WHY_NOT[relative] ?? 'Hearth reads only AGENTS.md, SOUL.md, USER.md, MEMORY.md, HEARTBEAT.md, memory/ and skills/ of a workspace' });
      continue;
    }
    if (!existsSync(target)) plans.push({ relative, from: source, to: target, action: 'copy' });
    else if (readFileSync(target).equals(readFileSync(source))) plans.push({ relative, from: source, to: target, action: 'same' });
    else plans.push({ relative, from: source, to: target, action: 'conflict', reason: 'Hearth\'s workspace has this file with other content; it was left as it is' });
  }
  return plans;
}
