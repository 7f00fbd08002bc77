import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { type ConfigLoadResult, type ConfigTextRead, defaultConfigResult, parseConfigText, readConfigText } from './load-config.js';

/** The slice of a logger the watcher uses (a pino logger fits). */
export interface ConfigWatcherLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface ConfigWatcherOptions {
  /** The config file; it need not exist yet, but its directory must. */
  path: string;
  /** The environment for `${VAR}` substitution, as for `loadConfigFile`. */
  env: Record<string, string | undefined>;
  /** Quiet time after the last file event before the file is re-read. Default 200. */
  debounceMs?: number;
  /**
   * Called with the new load result (valid or not) each time the file's content changes; a deleted
   * file gives the defaults. Not called for events that leave the content as it was (a touch, an
   * identical rewrite). Must not throw; if it does, the error is logged and watching goes on.
   */
  onChange(result: ConfigLoadResult): void;
  logger?: ConfigWatcherLogger;
}

/** Watches one config file. `start()` and `stop()` are idempotent; a stopped watcher can start again. */
export interface ConfigWatcher {
  /**
   * Records the file's current content as the baseline (no `onChange` for it) and starts watching
   * the file's directory, so editors that save by writing a temp file and renaming it, and files
   * created later, are seen. If the directory cannot be watched (it does not exist, no inotify
   * slots), a warning is logged and the watcher stays idle.
   */
  start(): void;
  /** Closes the directory watch and cancels a pending re-read; no `onChange` after it returns. */
  stop(): void;
}

/** Creates a debounced watcher for the config file; nothing happens until `start()`. */
export function createConfigWatcher(options: ConfigWatcherOptions): ConfigWatcher {
  const { path, env, onChange, logger } = options;
  const debounceMs = options.debounceMs ?? 200;
  const directory = dirname(resolve(path));
  const fileName = basename(path);
  let watcher: FSWatcher | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastContent: string | undefined;
  let running = false;

  const reload = (): void => {
    timer = undefined;
    if (!running) return;
    const read = readConfigText(path);
    const content = contentKey(read);
    if (content === lastContent) return;
    lastContent = content;
    const result: ConfigLoadResult =
      read.kind === 'text'
        ? parseConfigText(read.text, path, env)
        : read.kind === 'missing'
          ? defaultConfigResult()
          : { ok: false, issues: [read.issue] };
    try {
      onChange(result);
    } catch (error) {
      logger?.warn({ err: error, path }, 'config change handler threw; the watcher keeps running');
    }
  };

  const schedule = (): void => {
    if (!running) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  };

  return {
    start() {
      if (running) return;
      running = true;
      lastContent = contentKey(readConfigText(path));
      try {
        watcher = watch(directory, { persistent: true }, (_event, changed) => {
          // Some platforms do not report the name; then any change in the directory counts.
          if (changed === null || changed === fileName) schedule();
        });
        watcher.on('error', (error) => {
          logger?.warn({ err: error, directory }, 'config directory watch failed; config changes need a restart');
        });
      } catch (error) {
        watcher = undefined;
        logger?.warn({ err: error, directory }, 'cannot watch the config directory; config changes need a restart');
      }
    },
    stop() {
      running = false;
      watcher?.close();
      watcher = undefined;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Identifies the file's raw content (env is fixed per watcher, so this tracks the load hash). */
function contentKey(read: ConfigTextRead): string {
  if (read.kind === 'missing') return 'missing';
  if (read.kind === 'error') return `error:${read.issue.message}`;
  return createHash('sha256').update(read.text).digest('hex');
}
