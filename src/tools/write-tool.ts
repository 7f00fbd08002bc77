import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Tool } from '../contracts/tool.js';
import { defineTool, errorCode, errorResult } from './define-tool.js';
import { changedSinceRead, EXPECT_SHA256_DESCRIPTION, expectSha256Schema, fileSha256, sha256Hex } from './content-hash.js';
import { fsErrorResult, writeFileAtomic } from './file-io.js';
import { resolveInWorkspace } from './workspace-path.js';

/** The largest content `write` accepts, in UTF-8 bytes. */
export const WRITE_MAX_BYTES = 1024 * 1024;

const schema = z.strictObject({
  path: z.string(),
  content: z.string(),
  expectSha256: expectSha256Schema,
});
type WriteArguments = z.infer<typeof schema>;

/**
 * `write {path, content}`: creates or replaces a file in the workspace, creating missing parent
 * folders. The write is atomic (temp file + rename). Content is capped at 1 MiB.
 */
export function createWriteTool(): Tool {
  return defineTool<WriteArguments>({
    spec: {
      name: 'write',
      description:
        'Create or overwrite a file in the workspace with the given content. Missing parent folders are created. ' +
        'To change part of an existing file, prefer `edit`.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'File path relative to the workspace root, e.g. "notes/todo.md".' },
          content: { type: 'string', description: `The complete new file content (at most ${WRITE_MAX_BYTES / 1024 / 1024} MiB).` },
          expectSha256: { type: 'string', description: EXPECT_SHA256_DESCRIPTION },
        },
        required: ['path', 'content'],
        additionalProperties: false,
      },
    },
    sideEffects: true,
    schema,
    usage: 'write {"path": string, "content": string, "expectSha256"?: string}',
    async run(args, context) {
      const bytes = Buffer.byteLength(args.content);
      if (bytes > WRITE_MAX_BYTES) {
        return errorResult(
          `content is ${bytes} bytes, more than the ${WRITE_MAX_BYTES} bytes \`write\` accepts. Split it into several files.`,
        );
      }
      const resolved = await resolveInWorkspace(context.workspaceDir, args.path);
      if (!resolved.ok) return errorResult(resolved.message);
      const { path: file, relative } = resolved;
      if (relative === '.') return errorResult('The workspace root is a folder; give a file path like "notes/todo.md".');
      try {
        const existing = await stat(file).catch((error: unknown) => {
          if (errorCode(error) === 'ENOENT') return undefined;
          throw error;
        });
        if (existing?.isDirectory()) return errorResult(`${relative} is a folder; give a file path inside it.`);
        if (existing !== undefined && !existing.isFile()) return errorResult(`${relative} is not a regular file.`);
        if (args.expectSha256 !== undefined) {
          const actual = await fileSha256(file);
          if (actual !== args.expectSha256) return changedSinceRead(relative, args.expectSha256, actual);
        }
        await mkdir(path.dirname(file), { recursive: true });
        await writeFileAtomic(file, args.content, context.signal);
      } catch (error) {
        return fsErrorResult(error, relative);
      }
      return { content: `Wrote ${bytes} bytes to ${relative} (sha256 ${sha256Hex(args.content)})` };
    },
  });
}
