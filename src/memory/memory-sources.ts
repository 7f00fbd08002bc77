import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, type Stats, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { TimeSlicer } from '../runtime/time-slicer.js';

/** A memory file that can be indexed: its text, read once, and a hash of it. */
export interface MemorySourceFile {
  /** Path relative to the workspace (with `/`), or absolute for an extra path outside it. */
  path: string;
  absolutePath: string;
  text: string;
  sha256: string;
  mtimeMs: number;
  size?: number;
  /** Listed from `knownHash` without being read: `text` is empty. */
  unchanged?: boolean;
}

/** A file under the memory paths that is not indexed, and why (shown by `hearth memory status`). */
export interface SkippedSource {
  path: string;
  reason: string;
}

export interface SourceOptions {
  /** Files and folders of the workspace that are memory (default MEMORY.md, USER.md, memory/). */
  indexPaths?: readonly string[];
  /** More files or folders, absolute or relative to the workspace. */
  extraPaths?: readonly string[];
  /** Larger files are skipped. Default 2 MiB. */
  maxFileBytes?: number;
  /** Most files listed; the rest are skipped with a reason. Default 10,000. */
  maxFiles?: number;
  /**
   * The hash of a file already read, when its size and modification time say it has not changed
   * since: the file is then listed with that hash and empty text, without reading it again.
   */
  knownHash?: (path: string, size: number, mtimeMs: number) => string | undefined;
}

export const DEFAULT_INDEX_PATHS = ['MEMORY.md', 'USER.md', 'memory/'] as const;
const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_DEPTH = 16;

/**
 * The Markdown files an agent's memory is made of, read and checked: a file that is binary, not
 * UTF-8, too large, or a link that leads out of its memory folder is skipped with the reason,
 * never read into the index; a missing path is simply absent. Reads the files synchronously, one
 * at a time; `readMemorySourcesInSlices` does the same with turns of the event loop in between.
 */
export function readMemorySources(workspace: string, options: SourceOptions = {}): { files: MemorySourceFile[]; skipped: SkippedSource[] } {
  const walk = startWalk(workspace, options);
  for (const _ of walkSources(walk, options)) {
    // Every file at once.
  }
  return { files: walk.files, skipped: walk.skipped };
}

/** `readMemorySources`, pausing at `slicer` after each file read (a large memory does not hold the event loop). */
export async function readMemorySourcesInSlices(workspace: string, options: SourceOptions, slicer: TimeSlicer): Promise<{ files: MemorySourceFile[]; skipped: SkippedSource[] }> {
  const walk = startWalk(workspace, options);
  for (const _ of walkSources(walk, options)) await slicer.pause();
  return { files: walk.files, skipped: walk.skipped };
}

function startWalk(workspace: string, options: SourceOptions): Walk {
  const limits = { maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, maxFiles: options.maxFiles ?? 10_000, knownHash: options.knownHash };
  return { root: resolve(workspace), files: [], skipped: [], seen: new Set<string>(), limits };
}

/** Walks every memory path; yields after each file it reads. */
function* walkSources(walk: Walk, options: SourceOptions): Generator<void> {
  const roots = [...(options.indexPaths ?? DEFAULT_INDEX_PATHS), ...(options.extraPaths ?? [])];
  for (const entry of roots) {
    const absolute = isAbsolute(entry) ? resolve(entry) : resolve(walk.root, entry);
    const boundary = within(walk.root, absolute) ? walk.root : absolute;
    yield* visit(absolute, boundary, 0, walk);
  }
}

interface Walk {
  root: string;
  files: MemorySourceFile[];
  skipped: SkippedSource[];
  seen: Set<string>;
  limits: { maxFileBytes: number; maxFiles: number; knownHash: SourceOptions['knownHash'] };
}

function* visit(path: string, boundary: string, depth: number, walk: Walk): Generator<void> {
  const shown = displayPath(walk.root, path);
  let link: Stats;
  try {
    link = lstatSync(path);
  } catch {
    return;
  }
  let real = path;
  if (link.isSymbolicLink()) {
    try {
      real = realpathSync(path);
    } catch {
      walk.skipped.push({ path: shown, reason: 'a symbolic link to nothing' });
      return;
    }
    if (!within(boundary, real)) {
      walk.skipped.push({ path: shown, reason: `a symbolic link out of ${displayPath(walk.root, boundary)}` });
      return;
    }
  }
  if (walk.seen.has(real)) return;
  walk.seen.add(real);
  const stats = link.isSymbolicLink() ? statSync(real) : link;
  if (stats.isDirectory()) {
    if (depth >= MAX_DEPTH) {
      walk.skipped.push({ path: shown, reason: `deeper than ${MAX_DEPTH} folders` });
      return;
    }
    // Links last, so a file reached both directly and through a link is listed under its own name.
    const entries = readdirSync(path, { withFileTypes: true })
      .filter((entry) => !entry.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const ordered = [...entries.filter((entry) => !entry.isSymbolicLink()), ...entries.filter((entry) => entry.isSymbolicLink())];
    for (const entry of ordered) yield* visit(join(path, entry.name), boundary, depth + 1, walk);
    return;
  }
  if (!stats.isFile()) return;
  if (!/\.md$/iu.test(path)) {
    if (depth === 0) walk.skipped.push({ path: shown, reason: 'not a Markdown (.md) file' });
    return;
  }
  readFile(path, shown, stats, walk);
  yield;
}

function readFile(path: string, shown: string, stats: Stats, walk: Walk): void {
  if (walk.files.length >= walk.limits.maxFiles) {
    walk.skipped.push({ path: shown, reason: `more than ${walk.limits.maxFiles} memory files` });
    return;
  }
  if (stats.size > walk.limits.maxFileBytes) {
    walk.skipped.push({ path: shown, reason: `larger than ${formatBytes(walk.limits.maxFileBytes)} (${formatBytes(stats.size)})` });
    return;
  }
  const known = walk.limits.knownHash?.(shown, stats.size, stats.mtimeMs);
  if (known !== undefined) {
    walk.files.push({ path: shown, absolutePath: path, text: '', sha256: known, mtimeMs: stats.mtimeMs, size: stats.size, unchanged: true });
    return;
  }
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 8192).includes(0)) {
    walk.skipped.push({ path: shown, reason: 'binary (it contains NUL bytes)' });
    return;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    walk.skipped.push({ path: shown, reason: 'not valid UTF-8 text' });
    return;
  }
  walk.files.push({ path: shown, absolutePath: path, text, sha256: createHash('sha256').update(bytes).digest('hex'), mtimeMs: stats.mtimeMs, size: stats.size });
}

function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function displayPath(root: string, path: string): string {
  return within(root, path) ? relative(root, path).split(sep).join('/') || '.' : path;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}
