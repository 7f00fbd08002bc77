import { existsSync, type FSWatcher, statSync, watch } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

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
 * while nothing changes): folders recursively, files through their folder. A folder that does not
 * exist yet (a fresh `memory/`) is picked up when it appears in the workspace. Changes are
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

  const add = (path: string, recursive: boolean, filter?: (name: string | null) => boolean) => {
    if (closed || watchers.has(path)) return;
    try {
      const watcher = watch(path, { persistent: false, recursive }, (_event, name) => {
        if (!filter || filter(name === null ? null : String(name))) schedule();
        if (!recursive) attachFolders();
      });
      watcher.on('error', (error) => {
        watchers.delete(path);
        options.onError(error, path);
      });
      watchers.set(path, watcher);
    } catch (error) {
      options.onError(error, path);
    }
  };

  /** Folders among the targets that exist now get a recursive watcher (once). */
  const attachFolders = () => {
    for (const target of targets) if (!watchers.has(target) && isFolder(target)) add(target, true);
  };

  // The workspace itself (and each extra file's folder): files directly in it, and folders appearing.
  const fileNames = new Set(targets.filter((target) => !isFolder(target)).map((target) => target));
  const parents = new Set([resolve(options.workspace), ...[...fileNames].map((file) => resolve(file, '..'))]);
  for (const parent of parents) {
    if (existsSync(parent)) add(parent, false, (name) => name === null || targets.some((target) => target === join(parent, name) || target.startsWith(join(parent, name))));
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
