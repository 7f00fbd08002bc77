import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where Hearth keeps its files. Every path is absolute.
 * - `home`: `$HEARTH_HOME`, default `~/.hearth`.
 * - `configPath`: `$HEARTH_CONFIG`, default `<home>/hearth.json5`.
 * - `stateDir` (SQLite), `workspacesDir` (`<agentId>/` each), `logsDir`, `credentialsDir`: under `home`.
 */
export interface HearthPaths {
  home: string;
  configPath: string;
  stateDir: string;
  workspacesDir: string;
  logsDir: string;
  credentialsDir: string;
}

/** Directory mode for `home` and `credentials/`: only the owner may list or enter them. */
const PRIVATE_DIR_MODE = 0o700;

/**
 * Resolves Hearth's paths from an environment map (pass `process.env` from `main.ts`; tests pass
 * their own). Empty variables count as unset; a leading `~` expands to the user's home directory
 * (`HOME`, else the OS's idea of it); relative paths resolve against the current directory.
 * Pure: reads no files and creates nothing (see `ensureHearthDirs`).
 */
export function resolveHearthPaths(env: Record<string, string | undefined>): HearthPaths {
  const userHome = nonEmpty(env.HOME) ?? homedir();
  const home = expandPath(nonEmpty(env.HEARTH_HOME) ?? '~/.hearth', userHome);
  const configOverride = nonEmpty(env.HEARTH_CONFIG);
  return {
    home,
    configPath: configOverride === undefined ? join(home, 'hearth.json5') : expandPath(configOverride, userHome),
    stateDir: join(home, 'state'),
    workspacesDir: join(home, 'workspaces'),
    logsDir: join(home, 'logs'),
    credentialsDir: join(home, 'credentials'),
  };
}

/**
 * Creates the Hearth directories that do not exist yet (owner-only, mode 0700) and tightens
 * `home` and `credentials/` to 0700 when they exist with wider permissions. The config file's own
 * directory (when `HEARTH_CONFIG` points elsewhere) is left alone. Throws the `fs` error (with its
 * `code` and path) when a directory cannot be created or its mode cannot be changed.
 */
export function ensureHearthDirs(paths: HearthPaths): void {
  for (const dir of [paths.home, paths.stateDir, paths.workspacesDir, paths.logsDir, paths.credentialsDir]) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  }
  for (const dir of [paths.home, paths.credentialsDir]) {
    // mkdir's mode is filtered by the umask and ignored for existing directories, so enforce it.
    if (process.platform !== 'win32' && (statSync(dir).mode & 0o777) !== PRIVATE_DIR_MODE) {
      chmodSync(dir, PRIVATE_DIR_MODE);
    }
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function expandPath(path: string, userHome: string): string {
  if (path === '~') return userHome;
  if (path.startsWith('~/') || path.startsWith('~\\')) return join(userHome, path.slice(2));
  return resolve(path);
}
