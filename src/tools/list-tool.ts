import type { Dirent } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Tool } from '../contracts/tool.js';
import { defineTool, errorCode, errorResult } from './define-tool.js';
import { fsErrorResult } from './file-io.js';
import { resolveInWorkspace } from './workspace-path.js';

/** Entries shown when `limit` is not given, and the most a call may ask for. */
export const LIST_DEFAULT_LIMIT = 200;
export const LIST_MAX_LIMIT = 1000;
/** A recursive listing stops counting hidden entries after this many, to stay bounded. */
const SCAN_CAP = 20_000;

const schema = z.strictObject({
  path: z.string().optional(),
  recursive: z.boolean().optional(),
  limit: z.int().min(1).max(LIST_MAX_LIMIT).optional(),
});
type ListArguments = z.infer<typeof schema>;

interface Walk {
  readonly limit: number;
  readonly recursive: boolean;
  readonly signal: AbortSignal;
  readonly lines: string[];
  readonly unreadable: string[];
  seen: number;
  capped: boolean;
}

/**
 * `list {path?, recursive?, limit?}`: the entries of a workspace folder, one per line, as paths
 * from the workspace root, sorted, folders with a trailing `/`. Symlinks are shown as
 * `name -> target` and never descended into. Stops at `limit` (default 200, max 1000) and says
 * how many entries were left out.
 */
export function createListTool(): Tool {
  return defineTool<ListArguments>({
    spec: {
      name: 'list',
      description:
        'List the files and folders in a workspace folder, one per line, as paths from the workspace root; folders end with "/". ' +
        'Set recursive to include subfolders.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'Folder relative to the workspace root. Default "." (the root).' },
          recursive: { type: 'boolean', description: 'Also list everything inside subfolders. Default false.' },
          limit: {
            type: 'integer',
            minimum: 1,
            maximum: LIST_MAX_LIMIT,
            description: `Maximum number of entries. Default ${LIST_DEFAULT_LIMIT}.`,
          },
        },
        additionalProperties: false,
      },
    },
    sideEffects: false,
    schema,
    usage: `list {"path"?: string, "recursive"?: boolean, "limit"?: integer 1-${LIST_MAX_LIMIT}}`,
    async run(args, context) {
      const resolved = await resolveInWorkspace(context.workspaceDir, args.path ?? '.');
      if (!resolved.ok) return errorResult(resolved.message);
      const { path: folder, relative } = resolved;
      try {
        if (!(await stat(folder)).isDirectory()) {
          return errorResult(`${relative} is a file, not a folder. Use \`read\` to see its content.`);
        }
      } catch (error) {
        return fsErrorResult(error, relative, 'Folder');
      }
      const walk: Walk = {
        limit: args.limit ?? LIST_DEFAULT_LIMIT,
        recursive: args.recursive === true,
        signal: context.signal,
        lines: [],
        unreadable: [],
        seen: 0,
        capped: false,
      };
      try {
        await visit(walk, folder, relative === '.' ? '' : `${relative}/`);
      } catch (error) {
        return fsErrorResult(error, relative, 'Folder');
      }
      return { content: render(walk, relative) };
    },
  });
}

async function visit(walk: Walk, folder: string, prefix: string): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort(byName);
  for (const entry of entries) {
    walk.signal.throwIfAborted();
    if (walk.seen >= SCAN_CAP) {
      walk.capped = true;
      return;
    }
    walk.seen += 1;
    const display = prefix + entry.name;
    if (walk.lines.length < walk.limit) walk.lines.push(await describe(entry, folder, display));
    if (walk.recursive && entry.isDirectory()) {
      try {
        await visit(walk, path.join(folder, entry.name), `${display}/`);
      } catch (error) {
        if (errorCode(error) === undefined) throw error;
        walk.unreadable.push(`${display}/ (${errorCode(error)})`);
      }
    }
  }
}

async function describe(entry: Dirent, folder: string, display: string): Promise<string> {
  if (entry.isSymbolicLink()) {
    const target = await readlink(path.join(folder, entry.name)).catch(() => '?');
    return `${display} -> ${target}`;
  }
  return entry.isDirectory() ? `${display}/` : display;
}

function render(walk: Walk, relative: string): string {
  if (walk.seen === 0) return relative === '.' ? 'The workspace is empty.' : `Folder ${relative} is empty.`;
  const parts = [walk.lines.join('\n')];
  const omitted = walk.seen - walk.lines.length;
  if (omitted > 0 || walk.capped) {
    const count = walk.capped ? `More than ${omitted}` : `${omitted}`;
    const advice =
      walk.limit < LIST_MAX_LIMIT ? `raise limit (up to ${LIST_MAX_LIMIT}) or list a subfolder` : 'list a subfolder';
    parts.push(`[${count} more entr${omitted === 1 && !walk.capped ? 'y' : 'ies'} not shown; ${advice}.]`);
  }
  if (walk.unreadable.length > 0) parts.push(`[Could not read: ${walk.unreadable.slice(0, 10).join(', ')}]`);
  return parts.join('\n');
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
