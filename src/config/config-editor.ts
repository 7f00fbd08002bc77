import { createHash } from 'node:crypto';
import { copyFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { HearthError } from '../contracts/errors.js';
import type { ConfigState } from './config-state.js';
import { maskConfigText, maskConfigValue, replaceKnown, unmaskConfigText } from './config-secrets.js';
import { type ConfigIssue, parseConfigText, readConfigText } from './load-config.js';

/** One problem with an edit, as the control plane shows it (secrets masked). */
export interface EditIssue {
  path: string;
  line: number | null;
  column: number | null;
  message: string;
  suggestion?: string;
}

/** The last edit that was refused: from `apply` (with its text, masked) or a hand edit of the file. */
export interface RejectedEdit {
  at: number;
  text?: string;
  issues: EditIssue[];
}

/** The config file as the control plane shows it; no secret value is in it. */
export interface ConfigFileView {
  path: string;
  /** Whether the file exists (without it the defaults are in force and `text` is empty). */
  exists: boolean;
  /** The file's text, secret values replaced by `"[hidden secret]"`. */
  text: string;
  /** The config in force with every default filled in, secrets masked. */
  effective: unknown;
  /** Identifies the file's content; `apply` takes it back to refuse an edit of an older file. */
  hash: string;
  lastRejected: RejectedEdit | null;
}

export interface ConfigEditorOptions {
  path: string;
  env: Record<string, string | undefined>;
  state: ConfigState;
  /** The credentials in use (provider keys, tokens), masked wherever they appear. */
  secrets(): readonly string[];
  logger: { info(details: Record<string, unknown>, message: string): void };
  now?: () => number;
}

/**
 * Reads, checks and replaces the config file for the control plane (`config.get|validate|apply`).
 * Secret values never leave it in clear: the text it shows masks them, and an edit that keeps a
 * mask keeps that key's current value.
 */
export interface ConfigEditor {
  read(): ConfigFileView;
  /** Checks an edited text (masks stand for the current values) without changing anything. */
  validate(text: string): { ok: boolean; issues: EditIssue[]; warnings: EditIssue[] };
  /**
   * Checks the edit and, when valid, writes it atomically (the previous file kept as
   * `<file>.bak`) and puts it in force at once, with every reload listener run. An invalid edit
   * changes nothing and becomes `lastRejected`.
   * @throws HearthError CONFLICT when the file changed since `baseHash` (from `read`).
   */
  apply(text: string, baseHash: string): { applied: boolean; hash: string; issues: EditIssue[]; warnings: EditIssue[] };
}

const NO_FILE = 'none';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Replaces the file: a temp file renamed over it, keeping its permissions; the old one is copied to `.bak` first. */
function writeAtomically(path: string, text: string, existed: boolean): void {
  const mode = existed ? statSync(path).mode & 0o777 : 0o600;
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, { mode });
    if (existed) copyFileSync(path, `${path}.bak`);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new HearthError('INTERNAL', `Could not write ${path}: ${error instanceof Error ? error.message : String(error)}. The config in force did not change.`, { cause: error });
  }
}

export function createConfigEditor(options: ConfigEditorOptions): ConfigEditor {
  const { path, env, state } = options;
  const now = options.now ?? Date.now;
  let lastApplyRejected: RejectedEdit | null = null;

  const toView = (issue: ConfigIssue): EditIssue => {
    const known = options.secrets();
    return {
      path: issue.path,
      line: issue.line ?? null,
      column: issue.column ?? null,
      message: replaceKnown(issue.message, known),
      ...(issue.suggestion === undefined ? {} : { suggestion: replaceKnown(issue.suggestion, known) }),
    };
  };

  const current = (): { text: string; exists: boolean; hash: string } => {
    const read = readConfigText(path);
    if (read.kind === 'error') throw new HearthError('CONFIG_INVALID', `${read.issue.message}: ${path}`);
    return read.kind === 'missing' ? { text: '', exists: false, hash: NO_FILE } : { text: read.text, exists: true, hash: sha256(read.text) };
  };

  const lastRejected = (): RejectedEdit | null => {
    const byFile = state.lastRejected();
    if (byFile && (!lastApplyRejected || byFile.at > lastApplyRejected.at)) return { at: byFile.at, issues: byFile.issues.map(toView) };
    return lastApplyRejected;
  };

  const check = (text: string, file: { text: string }) => {
    const unmasked = unmaskConfigText(text, file.text, path);
    const result = parseConfigText(unmasked.text, path, env);
    const issues = [...unmasked.issues, ...(result.ok ? [] : result.issues)];
    return { unmasked: unmasked.text, result, issues };
  };

  return {
    read() {
      const file = current();
      const known = options.secrets();
      return {
        path,
        exists: file.exists,
        text: maskConfigText(file.text, known),
        effective: maskConfigValue(state.current(), known),
        hash: file.hash,
        lastRejected: lastRejected(),
      };
    },

    validate(text) {
      const { result, issues } = check(text, current());
      return { ok: issues.length === 0, issues: issues.map(toView), warnings: (result.ok ? (result.warnings ?? []) : []).map(toView) };
    },

    apply(text, baseHash) {
      const file = current();
      if (file.hash !== baseHash) {
        throw new HearthError('CONFLICT', `${path} changed since it was read (edited by hand, or another apply). Load it again, redo the edit and apply it.`);
      }
      const { unmasked, result, issues } = check(text, file);
      if (issues.length > 0 || !result.ok) {
        lastApplyRejected = { at: now(), text: maskConfigText(text, options.secrets()), issues: issues.map(toView) };
        return { applied: false, hash: file.hash, issues: lastApplyRejected.issues, warnings: [] };
      }
      if (!file.exists || unmasked !== file.text) writeAtomically(path, unmasked, file.exists);
      state.apply(result);
      options.logger.info({ path, hash: state.hash().slice(0, 12) }, 'config applied from the control plane');
      return { applied: true, hash: sha256(unmasked), issues: [], warnings: (result.warnings ?? []).map(toView) };
    },
  };
}
