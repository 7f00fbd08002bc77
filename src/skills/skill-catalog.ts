import { accessSync, constants } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, delimiter, join, resolve } from 'node:path';
import { readSkillDocument, SKILL_FILE, type SkillDocument } from './skill-file.js';
import { insideAny, readInstallRecord } from './skill-install.js';
import { type BundleProblem, type BundleVerdict, MANIFEST_FILE, verifyBundle } from './skill-manifest.js';

/** Where a skill was found, in the order that wins: the agent's workspace, installed, extra folders. */
export type SkillSource = 'workspace' | 'installed' | 'extra';

export interface SkillEntry {
  name: string;
  description: string;
  dir: string;
  source: SkillSource;
  document: SkillDocument;
  /** The trusted key and version it is signed with, or null when it carries no valid signature. */
  signed: { keyName: string; version: string } | null;
  /** Why the agent cannot use it, or null when it can. */
  ineligible: string | null;
  /** Set when the skill is disabled for a signature or digest problem (an installed skill changed on disk). */
  disabled: BundleProblem[] | null;
}

/** A skill as `hearth skills list --json` and the `skills.list` RPC show it. */
export function skillSummary(entry: SkillEntry) {
  return {
    name: entry.name,
    description: entry.description,
    source: entry.source,
    dir: entry.dir,
    signedBy: entry.signed?.keyName ?? null,
    version: entry.signed?.version ?? null,
    capabilities: entry.document.capabilities,
    eligible: entry.ineligible === null,
    ineligible: entry.ineligible,
    /** Why it is disabled (a signature or digest problem), or null. */
    disabled: entry.disabled?.map((problem) => problem.message) ?? null,
  };
}

export interface SkillSettings {
  trustedKeys: Readonly<Record<string, string>>;
  extraDirs: readonly string[];
  /** Folders whose unsigned skills may be installed (developer mode). */
  allowUnsigned: readonly string[];
}

export interface SkillAgent {
  id: string;
  workspaceDir: string;
  skills?: readonly string[];
}

export interface SkillCatalog {
  /** The skills this agent sees (a name found earlier in the order shadows later ones), eligible or not. */
  list(agent: SkillAgent): Promise<SkillEntry[]>;
  /** Reads and verifies one skill again for use now: the entry, or why it cannot be used. */
  load(agent: SkillAgent, name: string): Promise<{ ok: true; entry: SkillEntry } | { ok: false; message: string }>;
  /** Verifies every installed skill (at start and by `hearth skills verify`). */
  verifyInstalled(): Promise<{ name: string; dir: string; ok: boolean; problems: BundleProblem[] }[]>;
}

const MAX_SKILLS_PER_FOLDER = 200;
const LIST_TTL_MS = 2000;

/** An unsigned installed skill is usable only while the folder it was installed from is still in skills.allowUnsigned. */
async function installedInDeveloperMode(dir: string, allowUnsigned: readonly string[]): Promise<boolean> {
  const record = await readInstallRecord(dir);
  return record !== null && record.keyName === null && insideAny(record.source, allowUnsigned);
}

/** A file's identity for caching: size, modification time and inode ('' when it is missing). */
async function fileStamp(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  return info ? `${info.size}:${info.mtimeMs}:${info.ino}` : '';
}

/** Whether `bin` is an executable file in one of PATH's folders. */
function onPath(bin: string, path: string): boolean {
  if (bin.includes('/')) return false;
  return path.split(delimiter).some((folder) => {
    if (folder === '') return false;
    try {
      accessSync(join(folder, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why the skill's own gating (`metadata.openclaw`) rules it out here, or null. */
function gatingProblem(document: SkillDocument, env: NodeJS.ProcessEnv): string | null {
  if (document.always) return null;
  if (document.os.length > 0 && !document.os.includes(process.platform)) return `it is only for ${document.os.join(', ')} (this is ${process.platform})`;
  const bin = document.requires.bins.find((name) => !onPath(name, env.PATH ?? ''));
  if (bin) return `it needs the program "${bin}" on PATH`;
  const any = document.requires.anyBins;
  if (any.length > 0 && !any.some((name) => onPath(name, env.PATH ?? ''))) return `it needs one of the programs ${any.join(', ')} on PATH`;
  const variable = document.requires.env.find((name) => !env[name]);
  if (variable) return `it needs the environment variable ${variable}`;
  return null;
}

async function skillFolders(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort()
      .slice(0, MAX_SKILLS_PER_FOLDER);
  } catch {
    return [];
  }
}

/**
 * The skills of each agent (docs/skills.md): folders with a SKILL.md under `<workspace>/skills`,
 * `$HEARTH_HOME/skills` (installed: signed, verified) and `skills.extraDirs`. An installed skill
 * must verify against its manifest and a trusted key, and is verified again each time it is
 * loaded; a local skill that carries a manifest must verify too. Listings are kept two seconds,
 * and a listing re-hashes a skill's files only when its SKILL.md or manifest changed: loading a
 * skill always checks every file of that one skill again.
 */
export function createSkillCatalog(options: { installedDir: string; settings: () => SkillSettings; env?: NodeJS.ProcessEnv; now?: () => number }): SkillCatalog {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const listed = new Map<string, { at: number; entries: SkillEntry[] }>();
  /** Verdicts of listed skills by folder, with the fingerprint they were made for (bounded: cleared past 256). */
  const verdicts = new Map<string, { fingerprint: string; verdict: BundleVerdict }>();

  const verify = (dir: string) => verifyBundle(dir, options.settings().trustedKeys);
  const verifyListed = async (dir: string): Promise<BundleVerdict> => {
    const fingerprint = `${await fileStamp(join(dir, SKILL_FILE))}|${await fileStamp(join(dir, MANIFEST_FILE))}|${Object.values(options.settings().trustedKeys).join(',')}`;
    const known = verdicts.get(dir);
    if (known?.fingerprint === fingerprint) return known.verdict;
    const verdict = await verify(dir);
    if (verdicts.size >= 256) verdicts.clear();
    verdicts.set(dir, { fingerprint, verdict });
    return verdict;
  };

  const readEntry = async (dir: string, folder: string, source: SkillSource, check: (dir: string) => Promise<BundleVerdict>): Promise<SkillEntry | null> => {
    const document = await readSkillDocument(dir, folder);
    if (!document) return null;
    const verdict = await check(dir);
    const signed = verdict.ok ? { keyName: verdict.keyName, version: verdict.manifest.version } : null;
    const unsigned = !verdict.ok && verdict.problems.every((problem) => problem.kind === 'unsigned');
    const allowed = unsigned && (source !== 'installed' || (await installedInDeveloperMode(dir, options.settings().allowUnsigned)));
    const disabled = verdict.ok || allowed ? null : verdict.problems;
    return { name: document.name, description: document.description, dir, source, document, signed, disabled, ineligible: null };
  };

  const eligibility = (entry: SkillEntry, agent: SkillAgent): string | null => {
    if (entry.disabled) return `disabled: ${entry.disabled.map((problem) => problem.message).join('; ')}`;
    if (entry.document.problems.length > 0) return `SKILL.md: ${entry.document.problems.join('; ')}`;
    if (agent.skills && !agent.skills.includes(entry.name)) return `not in the skills of agent "${agent.id}" (agents.*.skills)`;
    return gatingProblem(entry.document, env);
  };

  const scan = async (agent: SkillAgent, check: (dir: string) => Promise<BundleVerdict>): Promise<SkillEntry[]> => {
    const roots: [string, SkillSource][] = [
      [join(agent.workspaceDir, 'skills'), 'workspace'],
      [options.installedDir, 'installed'],
      ...options.settings().extraDirs.map((dir): [string, SkillSource] => [resolve(dir), 'extra']),
    ];
    const seen = new Set<string>();
    const entries: SkillEntry[] = [];
    for (const [root, source] of roots) {
      for (const folder of await skillFolders(root)) {
        const entry = await readEntry(join(root, folder), folder, source, check);
        if (!entry || seen.has(entry.name)) continue;
        seen.add(entry.name);
        entries.push({ ...entry, ineligible: eligibility(entry, agent) });
      }
    }
    return entries;
  };

  const list = async (agent: SkillAgent): Promise<SkillEntry[]> => {
    const key = `${agent.id}\0${agent.workspaceDir}\0${agent.skills?.join(',') ?? '*'}`;
    const cached = listed.get(key);
    if (cached && now() - cached.at < LIST_TTL_MS) return cached.entries;
    const entries = await scan(agent, verifyListed);
    if (listed.size >= 64) listed.clear();
    listed.set(key, { at: now(), entries });
    return entries;
  };

  return {
    list,
    async load(agent, name) {
      // The listing says which folder holds the skill; that one is read and verified afresh.
      const listedEntry = (await list(agent)).find((entry) => entry.name === name);
      const fresh = listedEntry ? await readEntry(listedEntry.dir, basename(listedEntry.dir), listedEntry.source, verify) : null;
      const known = fresh?.name === name ? { ...fresh, ineligible: eligibility(fresh, agent) } : (await scan(agent, verify)).find((entry) => entry.name === name);
      if (!known) return { ok: false, message: `There is no skill named "${name}". The skills you can use are listed in your instructions.` };
      if (known.ineligible) return { ok: false, message: `The skill "${name}" cannot be used: ${known.ineligible}.` };
      return { ok: true, entry: known };
    },
    async verifyInstalled() {
      const results = [];
      for (const folder of await skillFolders(options.installedDir)) {
        const dir = join(options.installedDir, folder);
        const verdict = await verifyBundle(dir, options.settings().trustedKeys);
        results.push({ name: folder, dir, ok: verdict.ok, problems: verdict.ok ? [] : verdict.problems });
      }
      return results;
    },
  };
}

/** A skill's instructions, with `{baseDir}` (OpenClaw's placeholder) replaced by its folder. */
export function instructionsOf(entry: Pick<SkillEntry, 'dir' | 'document'>): string {
  return entry.document.body.replaceAll('{baseDir}', entry.dir);
}

/** The part of the system prompt that lists the skills the agent can load (empty when none). */
export function skillsPrompt(entries: readonly SkillEntry[]): string {
  const usable = entries.filter((entry) => entry.ineligible === null && entry.document.modelInvocable);
  if (usable.length === 0) return '';
  return [
    'Skills you can use: load one with the skill tool (skill {name}) before doing the job it describes, then follow its instructions. While a skill is loaded, your tools are limited to what it declares.',
    ...usable.map((entry) => `- ${entry.name}: ${entry.description}`),
  ].join('\n');
}
