import { existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export function readJournal(paths: VersionPaths): SwitchJournal | undefined {
  try {
    return JSON.parse(readFileSync(paths.journal, 'utf8')) as SwitchJournal;
  } catch {
    return undefined;
  }
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
