import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ToolResult } from '../contracts/tool.js';
import { errorCode, errorResult } from './define-tool.js';

/** The optional precondition of `write` and `edit`: the file's content hash when the agent read it. */
export const expectSha256Schema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/u, 'must be the 64 hex digits of a SHA-256 (read with "hash": true reports it)')
  .transform((value) => value.toLowerCase())
  .optional();

export const EXPECT_SHA256_DESCRIPTION =
  'Optional: the SHA-256 (hex) of the file as you last read it (`read` with "hash": true, or the result of your last write or edit). ' +
  'If the file changed since, nothing is written and the call fails, so another writer\'s change is never overwritten.';

export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The hash of a file's content, or null when there is no such file. */
export async function fileSha256(file: string): Promise<string | null> {
  try {
    return sha256Hex(await readFile(file));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** The tool error for a file that changed since the agent read it, naming the file and both hashes. */
export function changedSinceRead(relative: string, expected: string, actual: string | null): ToolResult {
  const now = actual === null ? 'the file no longer exists' : `its content now has sha256 ${actual}`;
  return errorResult(
    `${relative} changed since you read it (expected sha256 ${expected}; ${now}): someone else wrote it. Nothing was written. ` +
      'Read it again and make your change on top of the current content.',
  );
}
