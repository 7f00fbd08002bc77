/** How to reach an S3-compatible store (the `s3` section next to an `s3://` setting: backups, media). */
export interface S3Settings {
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** One object of a listing: its key without the bucket's prefix, size and last change. */
export interface S3Entry {
  name: string;
  sizeBytes: number;
  at: number;
}

/**
 * A bucket and key prefix of an S3-compatible store through the AWS SDK (loaded on first use, so
 * a gateway that never goes there never loads it). Names are relative to the prefix. Errors are
 * the SDK's: a refused request and a failed connection both reject.
 */
export interface S3Bucket {
  /** `s3://<bucket>/<prefix>`, for messages. */
  readonly where: string;
  put(name: string, body: Uint8Array, contentType: string): Promise<void>;
  /** Whether an object is there (HEAD). */
  has(name: string): Promise<boolean>;
  /** The object's bytes, or undefined when there is none. */
  get(name: string): Promise<Uint8Array | undefined>;
  /** The objects under the prefix, one page (at most `pageSize`) at a time, in key order. */
  pages(pageSize: number): AsyncGenerator<S3Entry[]>;
  remove(name: string): Promise<void>;
  /** Lets go of the client's connections. */
  close(): void;
}

const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/u;

/** The bucket and key prefix (`` or ending in `/`) of `s3://bucket/prefix`; `setting` names the config key for the error. */
export function parseS3Url(url: string, setting: string): { bucket: string; prefix: string } {
  const match = S3_URL.exec(url);
  if (!match) throw new Error(`${setting} "${url}" is not s3://<bucket>/<prefix>`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/gu, '');
  return { bucket: match[1] as string, prefix: prefix ? `${prefix}/` : '' };
}

/** Whether `url` is a well-formed `s3://<bucket>/<prefix>`. */
export function isS3Url(url: string): boolean {
  return S3_URL.test(url);
}

type S3Module = typeof import('@aws-sdk/client-s3');

function isMissing(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return failure?.name === 'NotFound' || failure?.name === 'NoSuchKey' || failure?.$metadata?.httpStatusCode === 404;
}

/**
 * Opens `s3://bucket/prefix` with the given settings: AWS unless an endpoint is set (then path
 * style by default), region us-east-1 by default, and the access key from the settings when both
 * halves are there, else the SDK's usual sources (AWS_ACCESS_KEY_ID, profiles, instance roles).
 * Throws at once when the URL is malformed; the SDK loads on the first request.
 */
export function openS3Bucket(url: string, settings: S3Settings, setting: string): S3Bucket {
  const { bucket, prefix } = parseS3Url(url, setting);
  let opened: Promise<{ s3: S3Module; client: InstanceType<S3Module['S3Client']> }> | undefined;
  const open = () =>
    (opened ??= import('@aws-sdk/client-s3').then((s3) => ({
      s3,
      client: new s3.S3Client({
        region: settings.region ?? 'us-east-1',
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
        forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
        ...(settings.accessKeyId && settings.secretAccessKey ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } } : {}),
      }),
    })));
  return {
    where: url,
    async put(name, body, contentType) {
      const { s3, client } = await open();
      await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}`, Body: body, ContentType: contentType }));
    },
    async has(name) {
      const { s3, client } = await open();
      try {
        await client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key: `${prefix}${name}` }));
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },
    async get(name) {
      const { s3, client } = await open();
      try {
        const answer = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: `${prefix}${name}` }));
        return await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async *pages(pageSize) {
      const { s3, client } = await open();
      // ListObjects with Marker = the last key seen: every S3-compatible store pages it the same way,
      // and a key deleted between pages (pruning) cannot upset an opaque continuation token.
      let marker: string | undefined;
      for (;;) {
        const answer = await client.send(new s3.ListObjectsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, ...(marker ? { Marker: marker } : {}) }));
        const contents = answer.Contents ?? [];
        yield contents.map((item) => ({ name: (item.Key ?? '').slice(prefix.length), sizeBytes: item.Size ?? 0, at: item.LastModified?.getTime() ?? 0 }));
        marker = contents.at(-1)?.Key;
        if (!answer.IsTruncated || !marker) return;
      }
    },
    async remove(name) {
      const { s3, client } = await open();
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}${name}` }));
    },
    close() {
      void opened?.then(({ client }) => client.destroy()).catch(() => undefined);
    },
  };
}
