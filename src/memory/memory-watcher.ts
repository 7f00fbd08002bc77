import { type Dirent, existsSync, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

/** As deep as the index reads (memory-sources). */
const MAX_DEPTH = 16;

export interface MemoryWatcherOptions {
  workspace: string;
  /** The memory paths (files or folders), relative to the workspace or absolute. */
  paths: readonly string[];
  /** Called once changes have been quiet for `debounceMs`. */
  onChange(): void;
  onError(error: unknown, path: string): void;
  debounceMs?: number;
}

/**
 * Watches an agent's memory files with the OS's file notifications (inotify: no polling, no CPU
 * while nothing changes): each folder of a memory folder (dot-folders aside, as the index skips
 * them) is watched on its own, files through their folder, so a memory of thousands of notes costs
 * one watch per folder and a listing of each folder to start (Node's recursive watch on Linux
 * takes one per file and reads every file's status first, all at once). A folder that does not
 * exist yet (a fresh `memory/`, a new subfolder) is picked up when it appears. Changes are
 * debounced into one `onChange`. `close()` stops every watcher and the timer.
 */
export function watchMemory(options: MemoryWatcherOptions) {
  const debounceMs = options.debounceMs ?? 250;
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const targets = options.paths.map((path) => (isAbsolute(path) ? resolve(path) : resolve(options.workspace, path)));

  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      options.onChange();
    }, debounceMs);
  };

  const add = (path: string, filter?: (name: string | null) => boolean, onEvent?: (name: string | null) => void) => {
    if (closed || watchers.has(path)) return;
    try {
      const watcher = watch(path, { persistent: false }, (_event, name) => {
        const named = name === null ? null : String(name);
        if (!filter || filter(named)) schedule();
        onEvent?.(named);
      });
      watcher.on('error', (error) => {
        watcher.close();
        watchers.delete(path);
        if (existsSync(path)) options.onError(error, path);
      });
      watchers.set(path, watcher);
    } catch (error) {
      options.onError(error, path);
    }
  };

  /** A memory folder and every folder under it, each watched once; a folder appearing in one is added. */
  const addTree = (folder: string, depth = 0) => {
    if (closed || watchers.has(folder) || depth > MAX_DEPTH) return;
    add(folder, undefined, (name) => {
      if (name === null) return;
      const child = join(folder, name);
      if (watchers.has(child) && !isFolder(child)) forget(child);
      else if (!name.startsWith('.') && isFolder(child)) addTree(child, depth + 1);
    });
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory() && !entry.name.startsWith('.')) addTree(join(folder, entry.name), depth + 1);
  };

  /** Stops watching a folder that is gone, and the folders under it. */
  const forget = (folder: string) => {
    for (const [path, watcher] of watchers) {
      if (path === folder || path.startsWith(`${folder}${sep}`)) {
        watcher.close();
        watchers.delete(path);
      }
    }
  };

  /** Folders among the targets that exist now are watched (once); one that is gone is let go, to be watched again when it is back. */
  const attachFolders = () => {
    for (const target of targets) {
      if (!watchers.has(target)) {
        if (isFolder(target)) addTree(target);
      } else if (!fileNames.has(target) && !isFolder(target)) forget(target);
    }
  };

  // The workspace itself (and each extra file's folder): files directly in it, and folders appearing.
  const fileNames = new Set(targets.filter((target) => !isFolder(target)).map((target) => target));
  const parents = new Set([resolve(options.workspace), ...[...fileNames].map((file) => resolve(file, '..'))]);
  for (const parent of parents) {
    if (existsSync(parent)) add(parent, (name) => name === null || targets.some((target) => target === join(parent, name) || target.startsWith(join(parent, name))), attachFolders);
  }
  attachFolders();

  return {
    /** Paths watched now, for `memory status`. */
    watching: () => [...watchers.keys()],
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
