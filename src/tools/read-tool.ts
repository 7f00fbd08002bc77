import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Tool, ToolResult } from '../contracts/tool.js';
import { defineTool, errorResult } from './define-tool.js';
import { fileSha256, sha256Hex } from './content-hash.js';
import { formatBytes, fsErrorResult, looksBinary, readPrefix, statRegularFile } from './file-io.js';
import { resolveInWorkspace } from './workspace-path.js';

/** Files larger than this are read partially, one window of lines at a time. */
export const READ_MAX_BYTES = 256 * 1024;

const schema = z.strictObject({
  path: z.string(),
  offset: z.int().min(1).optional(),
  limit: z.int().min(1).optional(),
  hash: z.boolean().optional(),
});
type ReadArguments = z.infer<typeof schema>;

interface Window {
  start: number;
  limit: number | undefined;
}

/**
 * `read {path, offset?, limit?}`: returns a text file from the workspace. `offset` is the first
 * line (1-based), `limit` the number of lines. Files over 256 KiB come back partially with a
 * note saying which offset to read next; binary files (NUL in the first 8 KiB) are refused.
 */
export function createReadTool(): Tool {
  return defineTool<ReadArguments>({
    spec: {
      name: 'read',
      description:
        'Read a text file from the workspace. Optionally pass offset (first line, 1-based) and limit (number of lines) ' +
        `to read part of it. Files over ${READ_MAX_BYTES / 1024} KiB are returned in parts, with a note saying how to read the rest.`,
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'File path relative to the workspace root, e.g. "notes/todo.md".' },
          offset: { type: 'integer', minimum: 1, description: 'First line to return, 1-based. Default 1.' },
          limit: { type: 'integer', minimum: 1, description: 'Maximum number of lines to return. Default: all.' },
          hash: { type: 'boolean', description: 'Also report the SHA-256 of the whole file, to pass as expectSha256 to write or edit so a change made meanwhile by someone else is not overwritten.' },
        },
        required: ['path'],
        additionalProperties: false,
      },
    },
    sideEffects: false,
    schema,
    usage: 'read {"path": string, "offset"?: integer >= 1, "limit"?: integer >= 1, "hash"?: boolean}',
    async run(args, context) {
      const resolved = await resolveInWorkspace(context.workspaceDir, args.path);
      if (!resolved.ok) return errorResult(resolved.message);
      const { path: file, relative } = resolved;
      const checked = await statRegularFile(file, relative);
      if (!checked.ok) return checked.result;
      const window: Window = { start: args.offset ?? 1, limit: args.limit };
      try {
        const prefix = await readPrefix(file, READ_MAX_BYTES);
        if (looksBinary(prefix.buffer)) {
          return errorResult(`${relative} looks like a binary file (it contains NUL bytes); \`read\` only returns text.`);
        }
        const result = prefix.complete ? readWhole(prefix.buffer.toString('utf8'), relative, window) : await readLarge(file, relative, window, checked.size, context.signal);
        if (args.hash !== true || result.isError) return result;
        const sha256 = prefix.complete ? sha256Hex(prefix.buffer) : await fileSha256(file);
        return { ...result, content: `${result.content}\n\n[sha256 of the whole of ${relative}: ${sha256}]` };
      } catch (error) {
        return fsErrorResult(error, relative);
      }
    },
  });
}

function readWhole(text: string, relative: string, window: Window): ToolResult {
  if (text.length === 0) return { content: `File ${relative} is empty.` };
  if (window.start === 1 && window.limit === undefined) return { content: text };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (window.start > lines.length) {
    return errorResult(`Offset ${window.start} is past the end of ${relative}, which has ${lines.length} lines.`);
  }
  const end = window.limit === undefined ? lines.length : Math.min(lines.length, window.start - 1 + window.limit);
  const body = lines.slice(window.start - 1, end).join('\n');
  const more = end < lines.length ? ` To read more, call \`read\` with offset ${end + 1}.` : '';
  return { content: `${body}\n\n[Lines ${window.start}-${end} of ${lines.length} in ${relative}.${more}]` };
}

/**
 * Streams lines so a window deep inside a big file costs one pass and bounded memory. The caller
 * has already checked the first bytes for NULs.
 */
async function readLarge(file: string, relative: string, window: Window, size: number, signal: AbortSignal): Promise<ToolResult> {
  const stream = createReadStream(file, { encoding: 'utf8', signal });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  const taken: string[] = [];
  let bytes = 0;
  let lineNumber = 0;
  let cutLine = false;
  let stoppedEarly = false;
  try {
    for await (const line of lines) {
      lineNumber += 1;
      if (lineNumber < window.start) continue;
      const lineBytes = Buffer.byteLength(line) + 1;
      if (window.limit !== undefined && taken.length >= window.limit) {
        stoppedEarly = true;
        break;
      }
      if (bytes + lineBytes > READ_MAX_BYTES) {
        if (taken.length === 0) {
          taken.push(Buffer.from(line).subarray(0, READ_MAX_BYTES).toString('utf8'));
          cutLine = true;
        }
        stoppedEarly = true;
        break;
      }
      taken.push(line);
      bytes += lineBytes;
    }
  } finally {
    lines.close();
    stream.destroy();
  }

  if (taken.length === 0) {
    return errorResult(`Offset ${window.start} is past the end of ${relative}, which has ${lineNumber} lines.`);
  }
  const end = window.start + taken.length - 1;
  const parts = [`[${relative} is ${formatBytes(size)}; \`read\` returns at most ${READ_MAX_BYTES / 1024} KiB at once.`];
  parts.push(`Showing lines ${window.start}-${end}.`);
  if (cutLine) parts.push(`Line ${end} is longer than ${READ_MAX_BYTES / 1024} KiB and was cut.`);
  if (stoppedEarly) parts.push(`To read the rest, call \`read\` with {"path": ${JSON.stringify(relative)}, "offset": ${end + 1}}.`);
  else parts.push('That is the end of the file.');
  return { content: `${taken.join('\n')}\n\n${parts.join(' ')}]` };
}
