import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';

/** Where a requested path lands inside the workspace, or why it was refused. */
export type WorkspacePathResult =
  | {
      ok: true;
      /** Absolute path with every existing symlink resolved; use this for file system calls. */
      path: string;
      /** The requested path, normalised and relative to the workspace root (`/`-separated, `.` for the root). */
      relative: string;
    }
  | {
      ok: false;
      /** Written for the model: what was wrong and what to do instead. */
      message: string;
    };

export interface ResolveOptions {
  /** Refuse paths that do not exist yet (default false: the path may be created by the caller). */
  mustExist?: boolean;
}

const EXAMPLE = 'Use a path relative to the workspace root, like "notes/todo.md".';

/**
 * Resolves a path the model asked for inside the agent's workspace. Accepts relative paths, and
 * absolute paths that lie inside the workspace. Refuses empty paths, NUL bytes, `..` escapes,
 * absolute paths elsewhere, dangling symlinks, and symlinks that lead outside: the real path of
 * the target (or, when it does not exist yet, of its deepest existing ancestor) must stay inside
 * the real path of the workspace. Never throws; a refusal is `{ok: false, message}`.
 *
 * The check and the later file system call are not atomic: a symlink swapped in between is not
 * caught. Callers use the returned real `path`, which narrows that window to its parent folders.
 */
export async function resolveInWorkspace(
  workspaceDir: string,
  requested: string,
  options: ResolveOptions = {},
): Promise<WorkspacePathResult> {
  if (typeof requested !== 'string' || requested.trim() === '') {
    return refuse(`The path is empty. ${EXAMPLE} Use "." for the workspace root.`);
  }
  if (requested.includes('\0')) {
    return refuse(`Path ${JSON.stringify(requested)} contains a NUL byte, which no file name may contain. ${EXAMPLE}`);
  }

  const root = path.resolve(workspaceDir);
  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch (error) {
    return refuse(`The workspace folder is not available (${errorCode(error)}); no file can be used until it exists.`);
  }

  const target = path.resolve(root, requested);
  const lexicalBase = isInside(root, target) ? root : isInside(rootReal, target) ? rootReal : undefined;
  if (lexicalBase === undefined) {
    return refuse(`Path ${JSON.stringify(requested)} is outside the workspace. ${EXAMPLE}`);
  }
  const relative = path.relative(lexicalBase, target).split(path.sep).join('/') || '.';

  // Walk up from the target to the deepest ancestor that exists and check where it really is.
  const missing: string[] = [];
  let current = target;
  for (;;) {
    try {
      const real = await realpath(current);
      const full = path.join(real, ...missing);
      if (!isInside(rootReal, full)) {
        return refuse(
          `Path ${JSON.stringify(requested)} leads outside the workspace through a symbolic link. ` +
            'Only files inside the workspace can be used; use `list` to see what is there.',
        );
      }
      if (options.mustExist === true && missing.length > 0) {
        return refuse(`File ${relative} does not exist. Use \`list\` to see what is there.`);
      }
      return { ok: true, path: full, relative };
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        const reason = code === 'ELOOP' ? 'symbolic links that loop' : `an error (${code})`;
        return refuse(`Path ${JSON.stringify(requested)} cannot be used: resolving it hit ${reason}.`);
      }
      if (await isSymbolicLink(current)) {
        return refuse(
          `Path ${JSON.stringify(requested)} goes through a symbolic link whose target does not exist; ` +
            'it will not be followed. Use `list` to see what is there.',
        );
      }
      const parent = path.dirname(current);
      if (parent === current) {
        return refuse(`Path ${JSON.stringify(requested)} cannot be used: none of its folders exist.`);
      }
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}

/** True when `child` is `parent` itself or lies below it (both absolute and normalised). */
function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

async function isSymbolicLink(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isSymbolicLink();
  } catch {
    return false;
  }
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'UNKNOWN';
}

function refuse(message: string): WorkspacePathResult {
  return { ok: false, message };
}
