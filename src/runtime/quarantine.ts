import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * State files that failed validation when loaded are moved to `<home>/.quarantine/` (never
 * deleted, never half-loaded), each with a `.reason` file beside it; `status` and `hearth doctor`
 * list them from there.
 */

export interface QuarantinedFile {
  /** Where the file is now. */
  path: string;
  /** Where it was read from. */
  from: string;
  reason: string;
  at: number;
}

export const quarantineDir = (home: string) => join(home, '.quarantine');

/** Moves `file` into the quarantine with its reason; returns where it went. */
export function quarantineFile(home: string, file: string, reason: string, now: number = Date.now()): string {
  const dir = quarantineDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, `${basename(file)}-${new Date(now).toISOString().replace(/[:.]/gu, '-')}`);
  renameSync(file, target);
  writeFileSync(`${target}.reason`, `${JSON.stringify({ from: file, reason, at: now })}\n`, { mode: 0o600 });
  return target;
}

/** Every quarantined file with its reason, oldest first. */
export function listQuarantinedFiles(home: string): QuarantinedFile[] {
  const dir = quarantineDir(home);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: QuarantinedFile[] = [];
  for (const name of names) {
    if (!name.endsWith('.reason')) continue;
    const path = join(dir, name.slice(0, -'.reason'.length));
    const text = readFileSync(join(dir, name), 'utf8').trim();
    let parsed: Partial<QuarantinedFile> = {};
    try {
      parsed = JSON.parse(text) as Partial<QuarantinedFile>;
    } catch {
      parsed = { reason: text };
    }
    const at = typeof parsed.at === 'number' ? parsed.at : statSync(join(dir, name)).mtimeMs;
    found.push({ path, from: typeof parsed.from === 'string' ? parsed.from : path, reason: typeof parsed.reason === 'string' ? parsed.reason : text, at });
  }
  return found.sort((a, b) => a.at - b.at);
}
