import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver's fixed credentials, for a client of the local S3 server. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** s3rver, a local S3 server, on 127.0.0.1 with `buckets` made and its objects in `directory` (removed by `close`). */
export interface LocalS3 {
  endpoint: string;
  directory: string;
  /** The keys under `prefix` in `bucket`, as another client of the store sees them. */
  keysIn(bucket: string, prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startLocalS3(buckets: string[]): Promise<LocalS3> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = mkdtempSync(join(tmpdir(), 'hearth-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const endpoint = `http://127.0.0.1:${(await server.run()).port}`;
  return {
    endpoint,
    directory,
    async keysIn(bucket, prefix) {
      const { S3Client, ListObjectsCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
      try {
        return ((await client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((item) => item.Key as string).sort();
      } finally {
        client.destroy();
      }
    },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
