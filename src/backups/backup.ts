import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HearthPaths } from '../config/paths.js';
import { exportState } from '../state/state-archive.js';
import { backupName, type BackupsConfig, backupTarget, type StoredBackup } from './backup-target.js';

export interface BackupResult {
  name: string;
  where: string;
  sizeBytes: number;
  removed: string[];
}

/**
 * One backup: a state export (as `hearth state export`, secrets only with `includeSecrets`)
 * stored at the target under a name that sorts by time, then the oldest beyond `keep` removed.
 */
export async function runBackup(paths: HearthPaths, config: BackupsConfig & { includeSecrets: boolean }, options: { hearthVersion: string; now: number }): Promise<BackupResult> {
  const target = await backupTarget(config);
  const work = mkdtempSync(join(tmpdir(), 'hearth-backup-'));
  try {
    const name = backupName(options.now);
    const file = join(work, name);
    await exportState(paths, file, { includeSecrets: config.includeSecrets, hearthVersion: options.hearthVersion, now: options.now });
    await target.put(name, file);
    const stored = await target.list();
    const removed = stored.slice(0, Math.max(0, stored.length - config.keep)).map((item) => item.name);
    for (const old of removed) await target.remove(old);
    return { name, where: target.where, sizeBytes: statSync(file).size, removed };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function listBackups(config: BackupsConfig): Promise<StoredBackup[]> {
  return (await backupTarget(config)).list();
}

/** Fetches a backup (by name, or the newest with "latest") into a local file. */
export async function fetchBackup(config: BackupsConfig, name: string, file: string): Promise<string> {
  const target = await backupTarget(config);
  const chosen = name === 'latest' ? (await target.list()).at(-1)?.name : name;
  if (!chosen) throw new Error(`there are no backups in ${target.where}`);
  await target.fetch(chosen, file);
  return chosen;
}
