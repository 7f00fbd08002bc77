import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface UnitOptions {
  node: string;
  /** The package whose bin/hearth.js runs the supervisor. */
  pkg: string;
  home: string;
  /** A file of KEY=value lines the unit reads (secrets stay in it; the unit names it, nothing more). */
  environmentFile: string;
}

/** Where systemd looks for the user's units: `$XDG_CONFIG_HOME/systemd/user/hearth.service`. */
export function userUnitPath(env: Record<string, string | undefined>, userHome: string): string {
  return join(env.XDG_CONFIG_HOME || join(userHome, '.config'), 'systemd', 'user', 'hearth.service');
}

/** The names of the environment variables a unit sets with `Environment=` lines. */
export function environmentNames(unit: string): string[] {
  const names = new Set<string>();
  for (const line of unit.split('\n')) {
    const match = /^\s*Environment\s*=\s*(.*)$/u.exec(line);
    if (!match) continue;
    for (const assignment of (match[1] ?? '').match(/"[^"]*"|\S+/gu) ?? []) {
      const name = /^"?([A-Za-z_][A-Za-z0-9_]*)=/u.exec(assignment)?.[1];
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/** The `Environment=` lines of an existing unit that a new one must keep (the user's own variables). */
function keptEnvironment(existing: string | undefined): string[] {
  if (!existing) return [];
  return existing.split('\n').filter((line) => /^\s*Environment\s*=/u.test(line) && !/^\s*Environment\s*=\s*"?HEARTH_HOME=/u.test(line));
}

/**
 * The unit `hearth service install` writes. It runs the supervisor, restarts it on failure but
 * not after an invalid config (78) or a damaged database (65), stops it with SIGTERM so it drains
 * the gateway, and reads secrets from `environmentFile` instead of holding them.
 */
export function renderUnit(options: UnitOptions, existing?: string): string {
  return [
    '[Unit]',
    'Description=Hearth personal AI agent gateway',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${options.node} ${join(options.pkg, 'bin', 'hearth.js')} service`,
    `Environment=HEARTH_HOME=${options.home}`,
    ...keptEnvironment(existing),
    `EnvironmentFile=-${options.environmentFile}`,
    'Restart=on-failure',
    'RestartSec=2',
    'RestartPreventExitStatus=78 65',
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=45',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

export function writeUnit(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
}

export function readUnit(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * Compares a unit after an update with the text it had before (held in memory only, so no value
 * is written anywhere new). When a variable it set is gone, the text from before is written back
 * to the same file; returns the names that were lost.
 */
export function checkUnitAfterUpdate(path: string, before: string | undefined): string[] {
  if (before === undefined) return [];
  const after = readUnit(path) ?? '';
  const kept = new Set(environmentNames(after));
  const lost = environmentNames(before).filter((name) => !kept.has(name));
  if (lost.length > 0) writeUnit(path, before);
  return lost;
}
