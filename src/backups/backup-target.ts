import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where backups go: a folder, or a bucket (and prefix) of an S3-compatible object store. */
export interface BackupsConfig {
  to: string;
  keep: number;
  s3?: { endpoint?: string | undefined; region?: string | undefined; forcePathStyle?: boolean | undefined; accessKeyId?: string | undefined; secretAccessKey?: string | undefined } | undefined;
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

/** The bucket and key prefix of `s3://bucket/prefix`. */
function parseS3(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/u.exec(url);
  if (!match) throw new Error(`backups.to "${url}" is not s3://<bucket>/<prefix>`);
  const prefix = (match[2] ?? '').replace(/\/+$/u, '');
  return { bucket: match[1] as string, prefix: prefix ? `${prefix}/` : '' };
}

/** An S3-compatible store through the AWS SDK, loaded only when a backup goes there. */
async function s3Target(url: string, settings: NonNullable<BackupsConfig['s3']>): Promise<BackupTarget> {
  const { bucket, prefix } = parseS3(url);
  const s3 = await import('@aws-sdk/client-s3');
  const client = new s3.S3Client({
    region: settings.region ?? 'us-east-1',
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
    ...(settings.accessKeyId && settings.secretAccessKey ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } } : {}),
  });
  const { readFileSync } = await import('node:fs');
  return {
    where: url,
    async put(name, file) {
      await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}`, Body: readFileSync(file), ContentType: 'application/gzip' }));
    },
    async list() {
      const found: StoredBackup[] = [];
      let token: string | undefined;
      for (let page = 0; page < 100; page++) {
        const answer = await client.send(new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const item of answer.Contents ?? []) {
          const name = (item.Key ?? '').slice(prefix.length);
          if (BACKUP_NAME.test(name)) found.push({ name, sizeBytes: item.Size ?? 0, at: item.LastModified?.getTime() ?? 0 });
        }
        token = answer.NextContinuationToken;
        if (!token) break;
      }
      return found.sort((a, b) => a.name.localeCompare(b.name));
    },
    async fetch(name, file) {
      const answer = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: `${prefix}${name}` }));
      writeFileSync(file, await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    },
    async remove(name) {
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}${name}` }));
    },
  };
}

export function backupTarget(config: BackupsConfig): Promise<BackupTarget> {
  return config.to.startsWith('s3://') ? s3Target(config.to, config.s3 ?? {}) : Promise.resolve(folderTarget(config.to));
}
