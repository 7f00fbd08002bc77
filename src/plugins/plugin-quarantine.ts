import { cp, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from './plugin-protocol.js';

/** The name of the note left in a quarantined plugin's folder. */
export const REASON_FILE = 'reason.txt';

export interface QuarantineRequest {
  id: string;
  version: string;
  /** The plugin's folder, moved away. */
  dir: string;
  /** Where quarantined folders go (`$HEARTH_HOME/plugins/.quarantine`). */
  quarantineDir: string;
  reason: string;
  at: Date;
}

/**
 * Moves a plugin's folder to `<quarantineDir>/<id>-<ISO time, ":" as "-">/` and writes a
 * `reason.txt` there saying what happened, when, and how to bring it back. Renames when it can;
 * across devices it copies, then removes the original. Never throws: a folder that cannot be
 * moved comes back as an error, and stays where it was.
 */
export async function quarantineFolder(request: QuarantineRequest): Promise<{ to: string } | { error: string }> {
  const stamp = request.at.toISOString().replace(/:/g, '-');
  try {
    await mkdir(request.quarantineDir, { recursive: true });
    const target = await freeName(join(request.quarantineDir, `${safeName(request.id)}-${stamp}`));
    await move(request.dir, target);
    await writeFile(join(target, REASON_FILE), reasonText(request), 'utf8');
    return { to: target };
  } catch (error) {
    return { error: `its folder could not be moved to ${request.quarantineDir}: ${messageOf(error)}` };
  }
}

async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EXDEV') throw error;
    await cp(from, to, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true });
    await rm(from, { recursive: true, force: true });
  }
}

/** `path`, or `path-2`, `path-3`… if it is taken (two plugins quarantined in the same millisecond). */
async function freeName(path: string): Promise<string> {
  for (let suffix = 1; suffix <= 100; suffix += 1) {
    const candidate = suffix === 1 ? path : `${path}-${suffix}`;
    if (!(await exists(candidate))) return candidate;
  }
  throw new Error(`${path} and 99 variants of it already exist`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A folder name made of the id's safe characters (an invalid manifest's id is its folder name, which may hold anything). */
function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'plugin';
}

function reasonText(request: QuarantineRequest): string {
  return [
    `Hearth disabled the plugin "${request.id}" (version ${request.version}) at ${request.at.toISOString()}.`,
    '',
    `Reason: ${request.reason}`,
    '',
    `It was in: ${request.dir}`,
    `To try it again, fix the problem, move this folder back into the plugins folder as "${request.id}", delete this file and restart Hearth.`,
    '',
  ].join('\n');
}
