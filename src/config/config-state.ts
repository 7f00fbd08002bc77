import type { ConfigIssue, ConfigLoadResult } from './load-config.js';
import { formatConfigIssues } from './load-config.js';
import type { HearthConfig } from './schema.js';

export interface ConfigReload {
  at: number;
  ok: boolean;
  error?: string;
}

/** The last edit of the file that was refused, and why (the config in force did not change). */
export interface RejectedConfig {
  at: number;
  issues: ConfigIssue[];
}

/** Called with the new and the previous config after an accepted edit. Must not throw. */
export type ConfigReloadListener = (next: HearthConfig, previous: HearthConfig) => void;

/**
 * The config in force and what happened to the last edit. Subsystems read `current()` each time
 * they need a value and register for reloads; listeners run in registration (start) order.
 */
export function createConfigState(initial: { config: HearthConfig; hash: string; source: string }) {
  let config = initial.config;
  let hash = initial.hash;
  let source = initial.source;
  let lastReload: ConfigReload | null = null;
  let lastRejected: RejectedConfig | null = null;
  const listeners: ConfigReloadListener[] = [];

  /**
   * Applies a re-read file: a valid one replaces the config and notifies (`changed: false`, and no
   * notification, when it is the config already in force, as when the watcher sees a file the
   * gateway wrote itself); an invalid one is recorded.
   */
  function apply(result: ConfigLoadResult): { ok: true; changed: boolean } | { ok: false; message: string } {
    if (!result.ok) {
      const message = formatConfigIssues(result.issues);
      const at = Date.now();
      lastReload = { at, ok: false, error: message.split('\n')[0] ?? message };
      lastRejected = { at, issues: result.issues };
      return { ok: false, message };
    }
    if (result.hash === hash && result.source === source) {
      lastReload = { at: Date.now(), ok: true };
      return { ok: true, changed: false };
    }
    const previous = config;
    config = result.config;
    hash = result.hash;
    source = result.source;
    lastReload = { at: Date.now(), ok: true };
    for (const listener of listeners) listener(config, previous);
    return { ok: true, changed: true };
  }

  return {
    current: () => config,
    hash: () => hash,
    source: () => source,
    lastReload: () => lastReload,
    /** The last file edit refused by `apply`, kept after later good edits; null until one is. */
    lastRejected: () => lastRejected,
    apply,
    /** Registers a reload listener; returns its removal. */
    onReload(listener: ConfigReloadListener): () => void {
      listeners.push(listener);
      return () => {
        const index = listeners.indexOf(listener);
        if (index >= 0) listeners.splice(index, 1);
      };
    },
  };
}

export type ConfigState = ReturnType<typeof createConfigState>;
