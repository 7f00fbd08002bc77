import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openS3Bucket, type S3Settings } from '../runtime/s3-bucket.js';

/** Where backups go: a folder, or a bucket (and prefix) of an S3-compatible object store. */
export interface BackupsConfig {
  to: string;
  keep: number;
  s3?: S3Settings | undefined;
}

export interface StoredBackup {
  name: string;
  sizeBytes: number;
  at: number;
}

export interface BackupTarget {
  readonly where: string;
  put(name: string, file: string): Promise<void>;
  list(): Promise<StoredBackup[]>;
  fetch(name: string, file: string): Promise<void>;
  remove(name: string): Promise<void>;
}

/** `hearth-2026-12-06T08-00-00-000Z.tar.gz`: sorts by time. */
export const BACKUP_NAME = /^hearth-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.tar\.gz$/u;

export function backupName(now: number): string {
  return `hearth-${new Date(now).toISOString().replace(/[:.]/gu, '-')}.tar.gz`;
}

function folderTarget(dir: string): BackupTarget {
  return {
    where: dir,
    async put(name, file) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      copyFileSync(file, join(dir, `${name}.partial`));
      renameSync(join(dir, `${name}.partial`), join(dir, name));
    },
    async list() {
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((name) => BACKUP_NAME.test(name))
        .map((name) => {
          const info = statSync(join(dir, name));
          return { name, sizeBytes: info.size, at: info.mtimeMs };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    async fetch(name, file) {
      if (!existsSync(join(dir, name))) throw new Error(`there is no backup ${name} in ${dir}`);
      copyFileSync(join(dir, name), file);
    },
    async remove(name) {
      rmSync(join(dir, name), { force: true });
    },
  };
}

/** An S3-compatible store (see openS3Bucket), the backups under the URL's prefix. */
function s3Target(url: string, settings: S3Settings): BackupTarget {
  const bucket = openS3Bucket(url, settings, 'backups.to');
  return {
    where: url,
    async put(name, file) {
      await bucket.put(name, readFileSync(file), 'application/gzip');
    },
    async list() {
      const found: StoredBackup[] = [];
      let pages = 0;
      for await (const page of bucket.pages(1000)) {
        found.push(...page.filter((item) => BACKUP_NAME.test(item.name)));
        if (++pages >= 100) break;
      }
      return found.sort((a, b) => a.name.localeCompare(b.name));
    },
    async fetch(name, file) {
      const bytes = await bucket.get(name);
      if (!bytes) throw new Error(`there is no backup ${name} in ${url}`);
      writeFileSync(file, bytes);
    },
    async remove(name) {
      await bucket.remove(name);
    },
  };
}

export async function backupTarget(config: BackupsConfig): Promise<BackupTarget> {
  return config.to.startsWith('s3://') ? s3Target(config.to, config.s3 ?? {}) : folderTarget(config.to);
}
