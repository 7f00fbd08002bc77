import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file saved from a channel: where it is, by content hash, relative to the Hearth home. */
export interface SavedMedia {
  sha256: string;
  sizeBytes: number;
  /** `media/<sha256>`, as transcripts refer to it. */
  ref: string;
}

export interface MediaStore {
  /** Saves bytes under their SHA-256 (once: the same photo twice is one file). Throws when larger than the cap. */
  put(bytes: Uint8Array): SavedMedia;
  /** The absolute path of a saved file, or undefined. */
  path(sha256: string): string | undefined;
  /** Deletes the files no transcript refers to any more, older than `graceMs`; returns how many and their bytes. */
  prune(referenced: ReadonlySet<string>, graceMs: number, now: number): { files: number; bytes: number };
  readonly maxBytes: number;
}

const SHA256 = /^[0-9a-f]{64}$/u;

/** The media hashes a transcript text refers to (`media/<sha256>`). */
export function mediaRefs(text: string): string[] {
  return [...text.matchAll(/media\/([0-9a-f]{64})/gu)].map((match) => match[1] as string);
}

/**
 * Photos, voice messages and files from channels, kept by content hash in `<home>/media/` (mode
 * 0700), written to a temporary file and renamed into place so a crash never leaves half a file
 * under a hash. Transcripts refer to them as `media/<sha256>`; `prune` removes what no transcript
 * refers to once retention has pruned the transcripts.
 */
export function createMediaStore(dir: string, maxBytes: number): MediaStore {
  const pathOf = (sha256: string) => join(dir, sha256.slice(0, 2), sha256);
  return {
    maxBytes,
    put(bytes) {
      if (bytes.byteLength > maxBytes) throw new Error(`the file is ${bytes.byteLength} bytes, more than channels.mediaMaxBytes (${maxBytes})`);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const target = pathOf(sha256);
      if (!existsSync(target)) {
        mkdirSync(join(dir, sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
        const temporary = `${target}.${process.pid}.tmp`;
        writeFileSync(temporary, bytes, { mode: 0o600 });
        renameSync(temporary, target);
      }
      return { sha256, sizeBytes: bytes.byteLength, ref: `media/${sha256}` };
    },
    path(sha256) {
      if (!SHA256.test(sha256)) return undefined;
      const target = pathOf(sha256);
      return existsSync(target) ? target : undefined;
    },
    prune(referenced, graceMs, now) {
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
  };
}
