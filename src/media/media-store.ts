import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openS3Bucket, type S3Settings } from '../runtime/s3-bucket.js';

/** A file saved from a channel, by content hash. */
export interface SavedMedia {
  sha256: string;
  sizeBytes: number;
  /** `media/<sha256>`, as transcripts refer to it, wherever the bytes are kept. */
  ref: string;
}

/**
 * Where channel media is kept by content hash: a folder or an S3-compatible bucket. Transcripts
 * refer to it as `media/<sha256>` whichever it is, so moving between them needs no rewrite.
 */
export interface MediaStore {
  /** The folder or `s3://<bucket>/<prefix>`, for messages. */
  readonly where: string;
  readonly maxBytes: number;
  /**
   * Saves bytes under their SHA-256, once: the same photo twice is one file or object and is not
   * uploaded again. Rejects when larger than the cap or when the store cannot be written.
   */
  put(bytes: Uint8Array): Promise<SavedMedia>;
  /** A saved file's bytes by its hash or its `media/<sha256>` reference; undefined when there is none (or the name is not a hash). */
  read(ref: string): Promise<Uint8Array | undefined>;
  /**
   * Deletes what no transcript refers to any more and is older than `graceMs` (a file saved a
   * moment ago waits for its message); returns how many and their bytes. An S3 store is listed
   * a bounded page at a time.
   */
  prune(referenced: ReadonlySet<string>, graceMs: number, now: number): Promise<{ files: number; bytes: number }>;
  /** Lets go of connections (an S3 store's client). */
  close(): void;
}

/** `media` in the config: the cap, and where media goes (default the folder). */
export interface MediaConfig {
  maxBytes: number;
  to?: string | undefined;
  s3?: S3Settings | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/u;
/** Keys listed per request when pruning an S3 store. */
const PRUNE_PAGE_SIZE = 1000;

/** The media hashes a transcript text refers to (`media/<sha256>`). */
export function mediaRefs(text: string): string[] {
  return [...text.matchAll(/media\/([0-9a-f]{64})/gu)].map((match) => match[1] as string);
}

function hashOf(ref: string): string | undefined {
  const sha256 = ref.startsWith('media/') ? ref.slice('media/'.length) : ref;
  return SHA256.test(sha256) ? sha256 : undefined;
}

function sizeChecked(bytes: Uint8Array, maxBytes: number): SavedMedia {
  if (bytes.byteLength > maxBytes) throw new Error(`the file is ${bytes.byteLength} bytes, more than media.maxBytes (${maxBytes})`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { sha256, sizeBytes: bytes.byteLength, ref: `media/${sha256}` };
}

/**
 * Media in a folder (`<home>/media/`, mode 0700), under `<first two hex digits>/<sha256>`, written
 * to a temporary file and renamed into place so a crash never leaves half a file under a hash.
 */
export function createFolderMediaStore(dir: string, maxBytes: number): MediaStore {
  const pathOf = (sha256: string) => join(dir, sha256.slice(0, 2), sha256);
  return {
    where: dir,
    maxBytes,
    async put(bytes) {
      const saved = sizeChecked(bytes, maxBytes);
      const target = pathOf(saved.sha256);
      if (!existsSync(target)) {
        mkdirSync(join(dir, saved.sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
        const temporary = `${target}.${process.pid}.tmp`;
        writeFileSync(temporary, bytes, { mode: 0o600 });
        renameSync(temporary, target);
      }
      return saved;
    },
    async read(ref) {
      const sha256 = hashOf(ref);
      if (!sha256 || !existsSync(pathOf(sha256))) return undefined;
      return readFileSync(pathOf(sha256));
    },
    async prune(referenced, graceMs, now) {
      const removed = { files: 0, bytes: 0 };
      if (!existsSync(dir)) return removed;
      for (const bucket of readdirSync(dir)) {
        for (const name of readdirSync(join(dir, bucket))) {
          const file = join(dir, bucket, name);
          const info = statSync(file);
          if (referenced.has(name) || now - info.mtimeMs < graceMs) continue;
          rmSync(file, { force: true });
          removed.files++;
          removed.bytes += info.size;
        }
      }
      return removed;
    },
    close() {},
  };
}

/**
 * Media in an S3-compatible bucket, one object per hash at `<prefix>/<sha256>`. A hash already
 * there is not uploaded again (HEAD first): content addressing makes the object the same bytes.
 * Shared by every gateway of a cluster, so a photo one node saved can be read on another.
 */
export function createS3MediaStore(url: string, settings: S3Settings, maxBytes: number, options: { pruneListPageSize?: number } = {}): MediaStore {
  const bucket = openS3Bucket(url, settings, 'media.to');
  return {
    where: url,
    maxBytes,
    async put(bytes) {
      const saved = sizeChecked(bytes, maxBytes);
      if (!(await bucket.has(saved.sha256))) await bucket.put(saved.sha256, bytes, 'application/octet-stream');
      return saved;
    },
    async read(ref) {
      const sha256 = hashOf(ref);
      return sha256 ? bucket.get(sha256) : undefined;
    },
    async prune(referenced, graceMs, now) {
      const removed = { files: 0, bytes: 0 };
      for await (const page of bucket.pages(options.pruneListPageSize ?? PRUNE_PAGE_SIZE)) {
        for (const item of page) {
          // Only hash-named keys directly under the prefix are media; anything else sharing the prefix is left alone.
          if (!SHA256.test(item.name) || referenced.has(item.name) || now - item.at < graceMs) continue;
          await bucket.remove(item.name);
          removed.files++;
          removed.bytes += item.sizeBytes;
        }
      }
      return removed;
    },
    close() {
      bucket.close();
    },
  };
}

/** The media store the config names: `media.to` as s3://… or a folder, `<home>/media` by default. */
export function createMediaStore(config: MediaConfig, home: string): MediaStore {
  if (config.to?.startsWith('s3://')) return createS3MediaStore(config.to, config.s3 ?? {}, config.maxBytes);
  return createFolderMediaStore(config.to ?? join(home, 'media'), config.maxBytes);
}
