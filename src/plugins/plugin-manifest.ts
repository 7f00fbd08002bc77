import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep, win32 } from 'node:path';
import { z } from 'zod';
import { PLUGIN_PLATFORM_PATTERN, RESERVED_PLATFORMS } from '../contracts/channel.js';
import { HOOK_NAMES } from './plugin-api.js';
import { MAX_CHANNELS, MAX_ROUTES, messageOf, parseRouteDeclaration } from './plugin-protocol.js';

/** The manifest's file name in a plugin folder. */
export const MANIFEST_FILE = 'hearth.plugin.json';
export const PLUGIN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,23}$/;
export const TOOL_NAME_PATTERN = /^[a-z0-9_]{1,30}$/;
const VERSION_PATTERN = /^\d{1,9}\.\d{1,9}\.\d{1,9}(?:[-+][0-9A-Za-z.+-]{1,64})?$/;
const MAX_MANIFEST_BYTES = 64 * 1024;
const MAX_TOOLS = 32;

const unique = (list: readonly string[]) => new Set(list).size === list.length;

/** A path that stays inside the folder it is relative to: not absolute, no `..` segment. */
function isInsidePath(path: string): boolean {
  if (path.includes('\0') || posix.isAbsolute(path) || win32.isAbsolute(path)) return false;
  return path.split(/[\\/]/).every((segment) => segment !== '..');
}


const manifestSchema = z.object({
  id: z.string().regex(PLUGIN_ID_PATTERN, 'must be 1 to 24 lowercase letters, digits or "-", starting with a letter or digit'),
  version: z.string().regex(VERSION_PATTERN, 'must be a version like "1.0.0"'),
  entry: z.string().min(1).max(300).refine(isInsidePath, 'must be a relative path inside the plugin folder (no "..", not absolute)'),
  registers: z
    .object({
      tools: z
        .array(z.string().regex(TOOL_NAME_PATTERN, 'tool names are 1 to 30 lowercase letters, digits or "_"'))
        .max(MAX_TOOLS)
        .refine(unique, 'lists a tool twice')
        .default([]),
      hooks: z.array(z.enum(HOOK_NAMES)).refine(unique, 'lists a hook twice').default([]),
      /** HTTP routes as `"GET /status"`; the gateway serves them at `/plugins/<id>/status`. */
      routes: z
        .array(
          z
            .string()
            .max(600)
            .refine(
              (text) => parseRouteDeclaration(text) !== null,
              'routes are "METHOD /path": GET, POST, PUT or DELETE, then 1 to 8 "/"-separated segments of letters, digits, ".", "_" or "-" (no "." or "..")',
            ),
        )
        .max(MAX_ROUTES)
        .refine(unique, 'lists a route twice')
        .optional(),
      /** Chat platforms it provides; accounts are configured under `channels.<platform>` with `plugin: "<id>"`. */
      channels: z
        .array(
          z
            .string()
            .regex(PLUGIN_PLATFORM_PATTERN, 'channel names are 1 to 24 lowercase letters, digits or "-", starting with a letter')
            .refine((name) => !RESERVED_PLATFORMS.includes(name), `a plugin's channel cannot take the name of a built-in one (${RESERVED_PLATFORMS.join(', ')})`),
        )
        .max(MAX_CHANNELS)
        .refine(unique, 'lists a channel twice')
        .optional(),
    })
    .default({ tools: [], hooks: [] }),
});

/** A plugin's `hearth.plugin.json`, validated. */
export type PluginManifest = z.infer<typeof manifestSchema>;

/**
 * The outcome of reading a manifest: the manifest and the entry's absolute real path, or why not.
 * `missing` means the folder has no manifest at all (so it is not a plugin folder).
 */
export type ManifestReading =
  | { ok: true; manifest: PluginManifest; entryPath: string }
  | { ok: false; missing: boolean; error: string; version: string | null };

/**
 * Reads and validates `<dir>/hearth.plugin.json` and checks the entry file is there, inside the
 * folder. Runs no plugin code. With `expectedId` (plugins in a plugins folder), the id must
 * equal it. Never throws: every problem comes back as an error naming the field.
 */
export async function readPluginManifest(dir: string, options: { expectedId?: string } = {}): Promise<ManifestReading> {
  const raw = await readManifestText(dir);
  if (typeof raw !== 'string') return raw;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return invalid(`${MANIFEST_FILE} is not valid JSON: ${messageOf(error)}`, null);
  }
  const version = typeof (json as { version?: unknown } | null)?.version === 'string' ? (json as { version: string }).version : null;
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    return invalid(`${MANIFEST_FILE} is invalid: ${problems.join('; ')}`, version);
  }
  const manifest = parsed.data;
  if (options.expectedId !== undefined && manifest.id !== options.expectedId) {
    return invalid(`${MANIFEST_FILE} is invalid: id: "${manifest.id}" differs from its folder name "${options.expectedId}"`, version);
  }
  const entry = await resolveEntry(dir, manifest.entry);
  if ('error' in entry) return invalid(`${MANIFEST_FILE} is invalid: entry: ${entry.error}`, version);
  return { ok: true, manifest, entryPath: entry.path };
}

async function readManifestText(dir: string): Promise<string | ManifestReading> {
  const file = join(dir, MANIFEST_FILE);
  try {
    const info = await stat(file);
    if (!info.isFile()) return invalid(`${MANIFEST_FILE} is not a file`, null);
    if (info.size > MAX_MANIFEST_BYTES) return invalid(`${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES} bytes`, null);
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { ok: false, missing: true, error: `no ${MANIFEST_FILE} in ${dir}`, version: null };
    return invalid(`${MANIFEST_FILE} could not be read: ${messageOf(error)}`, null);
  }
}

/** The entry's real path, which must be a file inside the plugin's real folder (a link may not lead out). */
async function resolveEntry(dir: string, entry: string): Promise<{ path: string } | { error: string }> {
  try {
    const folder = await realpath(dir);
    const path = await realpath(join(folder, entry));
    const inside = relative(folder, path);
    if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return { error: `"${entry}" leads outside the plugin folder` };
    if (!(await stat(path)).isFile()) return { error: `"${entry}" is not a file` };
    return { path };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { error: `"${entry}" does not exist` };
    return { error: `"${entry}" could not be read: ${messageOf(error)}` };
  }
}

function invalid(error: string, version: string | null): ManifestReading {
  return { ok: false, missing: false, error, version };
}
