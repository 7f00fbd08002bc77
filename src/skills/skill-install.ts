import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { HearthError } from '../contracts/errors.js';
import { readSkillDocument, type SkillDocument } from './skill-file.js';
import { INSTALL_RECORD, type BundleProblem, verifyBundle } from './skill-manifest.js';

/** How an installed skill got there: kept beside it as `.hearth-installed.json`. */
export interface InstallRecord {
  source: string;
  installedAt: number;
  /** The trusted key it verified with, or null for an unsigned skill installed in developer mode. */
  keyName: string | null;
  version: string | null;
}

export interface InstallSettings {
  trustedKeys: Readonly<Record<string, string>>;
  allowUnsigned: readonly string[];
}

export interface StagedSkill {
  /** Where the skill's files are now (the folder given, or where the archive was unpacked). */
  dir: string;
  document: SkillDocument;
  /** The trusted key, or null when it is unsigned and its folder is in skills.allowUnsigned. */
  keyName: string | null;
  version: string | null;
  cleanup(): Promise<void>;
}

const ARCHIVE = /\.(tar\.gz|tgz|tar)$/iu;

/** Unpacks an archive into a fresh temporary folder; the skill is its root or its only folder. */
async function unpack(archive: string): Promise<{ dir: string; root: string }> {
  const { x } = await import('tar');
  const root = await mkdtemp(join(tmpdir(), 'hearth-skill-'));
  // Links and devices are never unpacked; paths are kept inside `root` (tar's default).
  await x({ file: archive, cwd: root, strict: true, filter: (_path, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory') });
  const entries = await readdir(root, { withFileTypes: true });
  const only = entries.length === 1 && entries[0]!.isDirectory() ? join(root, entries[0]!.name) : root;
  return { dir: only, root };
}

export const insideAny = (dir: string, folders: readonly string[]) =>
  folders.some((folder) => {
    const rel = relative(resolve(folder), dir);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });

const describeProblems = (problems: readonly BundleProblem[]) => problems.map((problem) => `  - ${problem.message}`).join('\n');

/**
 * Checks a skill folder or archive for installation: a readable SKILL.md, and a signature by a
 * trusted key over exactly its files, unless it is an unsigned folder inside `skills.allowUnsigned`.
 * Throws a HearthError naming what is wrong.
 */
export async function stageSkill(source: string, settings: InstallSettings): Promise<StagedSkill> {
  const path = resolve(source);
  const info = await stat(path).catch(() => null);
  if (!info) throw new HearthError('NOT_FOUND', `${source} does not exist: give a skill folder or a .tar.gz archive of one.`);
  const archive = info.isFile() && ARCHIVE.test(path);
  if (!info.isDirectory() && !archive) throw new HearthError('BAD_REQUEST', `${source} is neither a folder nor a .tar.gz, .tgz or .tar archive.`);
  const unpacked = archive ? await unpack(path) : { dir: path, root: null };
  const cleanup = async () => {
    if (unpacked.root) await rm(unpacked.root, { recursive: true, force: true });
  };
  try {
    const document = await readSkillDocument(unpacked.dir, 'skill');
    if (!document) throw new HearthError('BAD_REQUEST', `${source} has no SKILL.md: a skill is a folder with a SKILL.md.`);
    if (document.problems.length > 0) throw new HearthError('BAD_REQUEST', `${source}: SKILL.md is not usable:\n${document.problems.map((problem) => `  - ${problem}`).join('\n')}`);
    const verdict = await verifyBundle(unpacked.dir, settings.trustedKeys);
    if (verdict.ok) return { dir: unpacked.dir, document, keyName: verdict.keyName, version: verdict.manifest.version, cleanup };
    const unsignedOnly = verdict.problems.every((problem) => problem.kind === 'unsigned');
    if (unsignedOnly && !archive && insideAny(path, settings.allowUnsigned)) return { dir: unpacked.dir, document, keyName: null, version: null, cleanup };
    const hint = unsignedOnly ? '\nSign it (hearth skills sign) with a key in skills.trustedKeys, or, for a skill you are writing, list its folder in skills.allowUnsigned.' : '';
    throw new HearthError('TOOL_DENIED', `${source} was not installed:\n${describeProblems(verdict.problems)}${hint}`);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Makes every file of a folder read-only (0444, folders 0555), or writable again. */
async function setReadOnly(dir: string, readOnly: boolean): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await setReadOnly(path, readOnly);
    else if (entry.isFile()) await chmod(path, readOnly ? 0o444 : 0o644);
  }
  await chmod(dir, readOnly ? 0o555 : 0o755);
}

/** Copies a staged skill to `<installedDir>/<name>/`, read-only, replacing an earlier install only with `replace`. */
export async function installStagedSkill(staged: StagedSkill, installedDir: string, options: { replace: boolean; source: string; now?: number }): Promise<string> {
  const target = join(installedDir, staged.document.name);
  const exists = await lstat(target).then(() => true, () => false);
  if (exists && !options.replace) throw new HearthError('CONFLICT', `A skill named "${staged.document.name}" is already installed; pass --force to replace it.`);
  await mkdir(installedDir, { recursive: true });
  const temporary = join(installedDir, `.${staged.document.name}.installing-${process.pid}`);
  await rm(temporary, { recursive: true, force: true });
  await cp(staged.dir, temporary, { recursive: true, verbatimSymlinks: true, filter: (path) => !path.endsWith(`/${INSTALL_RECORD}`) });
  const record: InstallRecord = { source: options.source, installedAt: options.now ?? Date.now(), keyName: staged.keyName, version: staged.version };
  await writeFile(join(temporary, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  await setReadOnly(temporary, true);
  if (exists) await removeInstalledSkill(installedDir, staged.document.name);
  await rename(temporary, target);
  return target;
}

/** Removes `<installedDir>/<name>/`; false when there is no such skill. */
export async function removeInstalledSkill(installedDir: string, name: string): Promise<boolean> {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/u.test(name)) return false;
  const target = join(installedDir, name);
  if (!(await lstat(target).then((info) => info.isDirectory(), () => false))) return false;
  await setReadOnly(target, false);
  await rm(target, { recursive: true, force: true });
  return true;
}

/** The install record of an installed skill, or null. */
export async function readInstallRecord(dir: string): Promise<InstallRecord | null> {
  try {
    return JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as InstallRecord;
  } catch {
    return null;
  }
}
