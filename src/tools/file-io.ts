import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ToolResult } from '../contracts/tool.js';
import { errorCode, errorResult } from './define-tool.js';

/** How many leading bytes are checked for NUL bytes to tell binary files from text. */
export const BINARY_SNIFF_BYTES = 8 * 1024;

/** True when the first 8 KiB of `buffer` hold a NUL byte (the usual sign of a binary file). */
export function looksBinary(buffer: Uint8Array): boolean {
  return buffer.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/**
 * Reads at most `maxBytes` from the start of a file. `complete` is false when the file holds
 * more. Throws Node's file system errors.
 */
export async function readPrefix(file: string, maxBytes: number): Promise<{ buffer: Buffer; complete: boolean }> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { buffer: buffer.subarray(0, Math.min(filled, maxBytes)), complete: filled <= maxBytes };
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file atomically: a temp file in the same folder, then a rename over the target, so a
 * reader sees the old content or the new, never half of it. An existing file keeps its mode.
 * Throws Node's file system errors; the temp file is removed on failure.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, signal?: AbortSignal): Promise<void> {
  const mode = await existingMode(file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, { flag: 'wx', ...(mode === undefined ? {} : { mode }), ...(signal ? { signal } : {}) });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

async function existingMode(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/**
 * Checks that `file` is a regular file before it is opened (opening a FIFO would block).
 * Returns its size, or an `isError` result for folders, special files and fs errors.
 */
export async function statRegularFile(
  file: string,
  relative: string,
): Promise<{ ok: true; size: number } | { ok: false; result: ToolResult }> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) {
      return { ok: false, result: errorResult(`${relative} is a folder, not a file. Use \`list\` to see what is in it.`) };
    }
    if (!info.isFile()) return { ok: false, result: errorResult(`${relative} is not a regular file (a device, socket or pipe).`) };
    return { ok: true, size: info.size };
  } catch (error) {
    return { ok: false, result: fsErrorResult(error, relative) };
  }
}

/**
 * Turns a file system error into a result the model can act on. ENOENT, EISDIR, ENOTDIR and
 * permission errors get plain advice; anything else is reported with its code.
 */
export function fsErrorResult(error: unknown, relative: string, noun: 'File' | 'Folder' = 'File'): ToolResult {
  const code = errorCode(error);
  switch (code) {
    case 'ENOENT':
      return errorResult(`${noun} ${relative} does not exist. Use \`list\` to see what is there.`);
    case 'EISDIR':
      return errorResult(`${relative} is a folder, not a file. Use \`list\` to see what is in it.`);
    case 'ENOTDIR':
      return errorResult(`${relative} cannot be used: a part of the path is a file, not a folder (ENOTDIR).`);
    case 'EACCES':
    case 'EPERM':
      return errorResult(`Permission denied for ${relative} (${code}).`);
    default: {
      if (error instanceof Error && error.name === 'AbortError') return errorResult('The call was aborted.');
      const message = error instanceof Error ? error.message : String(error);
      return errorResult(`Could not use ${relative}: ${message} (${code ?? 'UNKNOWN'}).`);
    }
  }
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
