import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Capability, parseCapability } from './capabilities.js';

/** A skill's SKILL.md, read: its frontmatter and its instructions. */
export interface SkillDocument {
  name: string;
  description: string;
  /** `version:` in the frontmatter, if any. */
  version: string | null;
  /** The instructions after the frontmatter. */
  body: string;
  /** `metadata.openclaw` gating (OpenClaw/AgentSkills format). */
  /** Every one of `bins`, at least one of `anyBins`, every one of `env`. */
  requires: { bins: string[]; anyBins: string[]; env: string[] };
  /** `user-invocable` (default true): the user may start it with `/<name>`. */
  userInvocable: boolean;
  /** `disable-model-invocation`: not listed to the model; only the user starts it. */
  modelInvocable: boolean;
  os: string[];
  always: boolean;
  /** The capability tokens as written (`capabilities:`); null when the skill declares none. */
  capabilities: string[] | null;
  /** The tokens understood; the others are in `problems`. */
  granted: Capability[];
  /** What is wrong with the file, each naming the key (a skill with problems is not loaded). */
  problems: string[];
}

export const SKILL_FILE = 'SKILL.md';
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/u;
const MAX_SKILL_FILE_BYTES = 256 * 1024;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : []);

/** Splits `---\nyaml\n---\nbody`; null when the file has no frontmatter. */
function splitFrontmatter(text: string): { yaml: string; body: string } | null {
  const match = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/u.exec(text);
  return match ? { yaml: match[1]!, body: text.slice(match[0].length) } : null;
}

type YamlParse = (text: string) => unknown;

/** Parses SKILL.md text with a YAML parser (the `yaml` package, loaded only once a skill is read); never throws. */
export function parseSkillDocument(text: string, folderName: string, parseYaml: YamlParse): SkillDocument {
  const problems: string[] = [];
  const parts = splitFrontmatter(text);
  let data: Record<string, unknown> = {};
  if (!parts) problems.push('SKILL.md has no frontmatter: start it with a --- line, name: and description:, and another --- line');
  else {
    try {
      const parsed: unknown = parseYaml(parts.yaml);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
      else problems.push('the frontmatter is not a set of keys (name:, description:, …)');
    } catch (error) {
      problems.push(`the frontmatter is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const name = typeof data.name === 'string' ? data.name.trim() : folderName;
  if (typeof data.name !== 'string') problems.push('name: is missing');
  else if (!NAME.test(name)) problems.push(`name: "${name}" must be lowercase letters, digits, _ and - (at most 64)`);
  const description = typeof data.description === 'string' ? data.description.trim() : '';
  if (description === '') problems.push('description: is missing (the model chooses skills by it)');
  // OpenClaw's gating block, or its older name.
  const metadata = (data.metadata ?? {}) as { openclaw?: Record<string, unknown>; clawdbot?: Record<string, unknown> };
  const openclaw = metadata.openclaw ?? metadata.clawdbot ?? {};
  const requires = (openclaw.requires ?? {}) as Record<string, unknown>;
  const capabilities = data.capabilities === undefined ? null : strings(data.capabilities);
  const granted: Capability[] = [];
  for (const token of capabilities ?? []) {
    const parsed = parseCapability(token);
    if (parsed.ok) granted.push(parsed.capability);
    else problems.push(`capabilities: ${parsed.message}`);
  }
  return {
    name,
    description,
    version: typeof data.version === 'string' || typeof data.version === 'number' ? String(data.version) : null,
    body: parts ? parts.body.trim() : text.trim(),
    requires: { bins: strings(requires.bins), anyBins: strings(requires.anyBins), env: strings(requires.env) },
    userInvocable: data['user-invocable'] !== false,
    modelInvocable: data['disable-model-invocation'] !== true,
    os: strings(openclaw.os),
    always: openclaw.always === true,
    capabilities,
    granted,
    problems,
  };
}

/** Reads `<dir>/SKILL.md`; null when there is none. */
export async function readSkillDocument(dir: string, folderName: string): Promise<SkillDocument | null> {
  let text: string;
  try {
    const buffer = await readFile(join(dir, SKILL_FILE));
    if (buffer.byteLength > MAX_SKILL_FILE_BYTES) {
      return { ...parseSkillDocument('', folderName, () => ({})), problems: [`SKILL.md is larger than ${MAX_SKILL_FILE_BYTES / 1024} KB`] };
    }
    text = buffer.toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { ...parseSkillDocument('', folderName, () => ({})), problems: [`SKILL.md cannot be read: ${(error as Error).message}`] };
  }
  const { parse } = await import('yaml');
  return parseSkillDocument(text, folderName, (yaml) => parse(yaml));
}
