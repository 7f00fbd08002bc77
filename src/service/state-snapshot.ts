import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** The state database's files: the database and, when present, its write-ahead log. */
const DATABASE_FILES = ['hearth.sqlite', 'hearth.sqlite-wal'];

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[:.]/gu, '-');
}

/**
 * Copies the state database into `snapshots/<time>/` while no gateway runs (between the old
 * version's stop and the new one's start, so the copy is consistent). Returns its folder.
 */
export function snapshotDatabase(stateDir: string, snapshotsDir: string, now: number): string {
  const dir = join(snapshotsDir, stamp(now));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of DATABASE_FILES) {
    const source = join(stateDir, name);
    if (existsSync(source)) copyFileSync(source, join(dir, name));
  }
  return dir;
}

/**
 * Puts a snapshot back while no gateway runs. The database the failed version wrote is moved
 * aside into the snapshot's `replaced-<time>/` folder, never deleted: what it accepted after the
 * switch can still be read from there. Returns that folder.
 */
export function restoreDatabase(stateDir: string, snapshot: string, now: number): string {
  const aside = join(snapshot, `replaced-${stamp(now)}`);
  mkdirSync(aside, { recursive: true, mode: 0o700 });
  for (const name of [...DATABASE_FILES, 'hearth.sqlite-shm']) {
    const current = join(stateDir, name);
    if (existsSync(current)) renameSync(current, join(aside, name));
  }
  for (const name of DATABASE_FILES) {
    const saved = join(snapshot, name);
    if (existsSync(saved)) copyFileSync(saved, join(stateDir, name));
  }
  return aside;
}
