import { existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quarantineFile } from '../runtime/quarantine.js';

/**
 * Where `hearth update` keeps versions, under `$HEARTH_HOME/versions/`:
 * - `<version>/`: a staged package (bin/, dist/, package.json, node_modules/), never changed once
 *   staged and never the files of the running process;
 * - `current` and `previous`: symlinks to package folders, switched atomically (a new link is
 *   renamed over the old one). Without `current`, the supervisor runs the package it was started
 *   from (the installed one);
 * - `switch.json`: the journal of the switch in progress, so a supervisor killed mid-switch finds
 *   it at its next start and finishes or undoes it;
 * - `snapshots/<time>/`: the state database as it was before a switch whose migrations ran.
 */
export interface VersionPaths {
  root: string;
  current: string;
  previous: string;
  journal: string;
  snapshots: string;
  lastReport: string;
}

export function versionPaths(home: string): VersionPaths {
  const root = join(home, 'versions');
  return {
    root,
    current: join(root, 'current'),
    previous: join(root, 'previous'),
    journal: join(root, 'switch.json'),
    snapshots: join(root, 'snapshots'),
    lastReport: join(root, 'last-update.json'),
  };
}

/** The package this code runs from (three folders above dist/src/service/ and dist/bundle/cli/). */
export function ownPackageRoot(): string {
  return resolve(fileURLToPath(new URL('../../../', import.meta.url)));
}

/** The package a symlink points at, or undefined when there is no such link or it is broken. */
export function linkTarget(link: string): string | undefined {
  try {
    readlinkSync(link);
    return realpathSync(link);
  } catch {
    return undefined;
  }
}

/** The package the supervisor runs: `current`, else the one it was started from. */
export function activePackage(paths: VersionPaths): string {
  return linkTarget(paths.current) ?? ownPackageRoot();
}

/** Points `link` at `target` atomically: readers see the old link or the new one, never none. */
export function pointAt(link: string, target: string): void {
  mkdirSync(dirname(link), { recursive: true });
  const temporary = `${link}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  symlinkSync(resolve(target), temporary);
  renameSync(temporary, link);
}

export interface PackageInfo {
  name: string;
  version: string;
}

/** The name and version in a package folder's package.json, or an error naming what is wrong. */
export function readPackage(dir: string): PackageInfo {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) throw new Error(`${dir} holds no package.json: it is not a Hearth package.`);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  if (parsed.name !== 'hearth' || typeof parsed.version !== 'string') {
    throw new Error(`${file} is not Hearth's (name "${String(parsed.name)}", version ${String(parsed.version)}).`);
  }
  return { name: parsed.name, version: parsed.version };
}

/** What the journal says of a switch: from which package to which, and how far it got. */
export interface SwitchJournal {
  from: string;
  to: string;
  startedAt: number;
  stage: 'switching' | 'probation';
  /** The snapshot of the state database taken before the new version ran its migrations. */
  snapshot?: string;
}

/** What is wrong with a journal read back, or null when it is whole. */
function journalProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  const journal = value as Record<string, unknown>;
  for (const key of ['from', 'to'] as const) if (typeof journal[key] !== 'string' || journal[key] === '') return `has no "${key}" package folder`;
  if (typeof journal.startedAt !== 'number') return 'has no "startedAt" time';
  if (journal.stage !== 'switching' && journal.stage !== 'probation') return `has the stage ${JSON.stringify(journal.stage)} (switching or probation)`;
  if (journal.snapshot !== undefined && typeof journal.snapshot !== 'string') return 'has a "snapshot" that is not a folder';
  return null;
}

/**
 * The journal of a switch that did not finish, or undefined when there is none. A journal that
 * cannot be read whole is never half-used (a roll-back needs both packages): it is moved to
 * `<home>/.quarantine/` with its reason, which `onDamaged` is told, and `status` and `hearth
 * doctor` list; the `current` version then runs as it is.
 */
export function readJournal(paths: VersionPaths, onDamaged: (message: string) => void = () => {}): SwitchJournal | undefined {
  let text: string;
  try {
    text = readFileSync(paths.journal, 'utf8');
  } catch {
    return undefined;
  }
  let problem: string | null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    problem = journalProblem(parsed);
  } catch (error) {
    problem = `is not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  if (problem === null) return parsed as SwitchJournal;
  const reason = `the update journal ${problem}`;
  const kept = quarantineFile(dirname(paths.root), paths.journal, reason);
  onDamaged(`${reason}: moved to ${kept}; the switch it recorded cannot be finished or undone, so the current version runs (check it with \`hearth status\`, go back with \`hearth update --rollback\`)`);
  return undefined;
}

export function writeJournal(paths: VersionPaths, journal: SwitchJournal | undefined): void {
  if (!journal) {
    rmSync(paths.journal, { force: true });
    return;
  }
  writeJsonAtomic(paths.journal, journal);
}

/** Writes JSON to a temporary file and renames it into place (mode 0600). */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
