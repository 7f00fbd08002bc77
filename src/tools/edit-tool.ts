import { z } from 'zod';
import type { Tool } from '../contracts/tool.js';
import { defineTool, errorResult } from './define-tool.js';
import { changedSinceRead, EXPECT_SHA256_DESCRIPTION, expectSha256Schema, sha256Hex } from './content-hash.js';
import { fsErrorResult, looksBinary, readPrefix, statRegularFile, writeFileAtomic } from './file-io.js';
import { resolveInWorkspace } from './workspace-path.js';
import { WRITE_MAX_BYTES } from './write-tool.js';

const schema = z.strictObject({
  path: z.string(),
  oldText: z.string().min(1, 'must not be empty; to create a file, use `write`'),
  newText: z.string(),
  replaceAll: z.boolean().optional(),
  expectSha256: expectSha256Schema,
});
type EditArguments = z.infer<typeof schema>;

/**
 * `edit {path, oldText, newText, replaceAll?}`: exact string replacement in a workspace file.
 * Fails when `oldText` is missing, or (without `replaceAll`) appears more than once. The file is
 * rewritten atomically; files and results over 1 MiB are refused.
 */
export function createEditTool(): Tool {
  return defineTool<EditArguments>({
    spec: {
      name: 'edit',
      description:
        'Replace exact text in a workspace file. oldText must match the file exactly (whitespace and line breaks included) ' +
        'and appear exactly once, unless replaceAll is true. Read the file first to copy oldText.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'File path relative to the workspace root.' },
          oldText: { type: 'string', minLength: 1, description: 'The exact text to replace.' },
          newText: { type: 'string', description: 'The replacement text.' },
          replaceAll: { type: 'boolean', description: 'Replace every occurrence instead of requiring exactly one. Default false.' },
          expectSha256: { type: 'string', description: EXPECT_SHA256_DESCRIPTION },
        },
        required: ['path', 'oldText', 'newText'],
        additionalProperties: false,
      },
    },
    sideEffects: true,
    schema,
    usage: 'edit {"path": string, "oldText": string, "newText": string, "replaceAll"?: boolean, "expectSha256"?: string}',
    async run(args, context) {
      const resolved = await resolveInWorkspace(context.workspaceDir, args.path);
      if (!resolved.ok) return errorResult(resolved.message);
      const { path: file, relative } = resolved;
      const checked = await statRegularFile(file, relative);
      if (!checked.ok) return checked.result;
      try {
        const prefix = await readPrefix(file, WRITE_MAX_BYTES);
        if (!prefix.complete) {
          return errorResult(`${relative} is larger than ${WRITE_MAX_BYTES} bytes, too large to edit. Use \`write\` for smaller files.`);
        }
        if (looksBinary(prefix.buffer)) return errorResult(`${relative} looks like a binary file; \`edit\` only changes text.`);
        if (args.expectSha256 !== undefined) {
          const actual = sha256Hex(prefix.buffer);
          if (actual !== args.expectSha256) return changedSinceRead(relative, args.expectSha256, actual);
        }
        const text = prefix.buffer.toString('utf8');
        const pieces = text.split(args.oldText);
        const count = pieces.length - 1;
        if (count === 0) {
          return errorResult(
            `oldText was not found in ${relative}. Read the file again and copy oldText exactly, including whitespace and line breaks.`,
          );
        }
        if (count > 1 && args.replaceAll !== true) {
          return errorResult(
            `oldText appears ${count} times in ${relative}. Include more surrounding text to make it unique, ` +
              'or set replaceAll to true to replace every occurrence.',
          );
        }
        // split/join rather than String.replace: `$&` and friends in newText must stay literal.
        const updated = pieces.join(args.newText);
        const bytes = Buffer.byteLength(updated);
        if (bytes > WRITE_MAX_BYTES) {
          return errorResult(`The edited ${relative} would be ${bytes} bytes, more than the ${WRITE_MAX_BYTES} bytes allowed.`);
        }
        await writeFileAtomic(file, updated, context.signal);
        return { content: `Replaced ${count} occurrence${count === 1 ? '' : 's'} in ${relative} (sha256 ${sha256Hex(updated)}).` };
      } catch (error) {
        return fsErrorResult(error, relative);
      }
    },
  });
}
