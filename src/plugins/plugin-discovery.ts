import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** A folder that may hold a plugin. `expectedId` is its folder name when it was found in a plugins folder. */
export interface PluginFolder {
  dir: string;
  expectedId: string | null;
}

/**
 * The plugin folders to load, in load order: the sub-folders of each root sorted by name
 * (skipping dot-folders such as `.quarantine`, and roots that do not exist), then each of
 * `pluginDirs` as given. A folder reached twice is listed once.
 */
export async function findPluginFolders(roots: readonly string[], pluginDirs: readonly string[]): Promise<PluginFolder[]> {
  const found: PluginFolder[] = [];
  for (const root of roots) found.push(...(await foldersIn(resolve(root))));
  for (const dir of pluginDirs) found.push({ dir: resolve(dir), expectedId: null });
  const seen = new Set<string>();
  return found.filter((folder) => !seen.has(folder.dir) && seen.add(folder.dir));
}

async function foldersIn(root: string): Promise<PluginFolder[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((name) => !name.startsWith('.')).sort();
  } catch {
    return [];
  }
  const folders: PluginFolder[] = [];
  for (const name of names) {
    const dir = join(root, name);
    if (await isDirectory(dir)) folders.push({ dir, expectedId: name });
  }
  return folders;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
