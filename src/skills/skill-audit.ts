/**
 * `hearth skills audit`: a static risk report of a skill folder. Nothing in the folder is run;
 * JavaScript/TypeScript is parsed into an AST (`audit-js-scanner.ts`), shell and Python are read
 * line by line, and every file is searched for hard-coded secrets, encoded blobs and hidden text
 * (`audit-text-rules.ts`). This module walks the folder, picks the scanners for each file, and
 * checks each use that needs a capability against the `capabilities:` the skill declares in SKILL.md.
 */
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { HearthError } from '../contracts/errors.js';
import { jsDrafts } from './audit-js-scanner.js';
import {
  type CodeBlock,
  codeBlocks,
  commonDrafts,
  inlineCommandDrafts,
  isSensitivePath,
  packageJsonDrafts,
  proseDrafts,
  pythonDrafts,
  redact,
  shellDrafts,
} from './audit-text-rules.js';
import { type Draft, isRecord, NETWORK_TOKEN, type RiskLevel, safeJson } from './audit-types.js';
import { CAPABILITY_FORMS, type Capability, parseCapability } from './capabilities.js';

export type { RiskLevel } from './audit-types.js';

/** One thing the audit found, tied to a file and (when it can be) a line. */
export interface AuditFinding {
  /** e.g. 'shell-exec' | 'network' | 'file-access' | 'file-outside' | 'secret' | 'obfuscation' | 'install-download' | 'prompt-injection' | 'bad-capability' | 'opaque-binary' | 'unreadable' */
  kind: string;
  level: RiskLevel;
  /** Path relative to the skill folder, '/'-separated. */
  file: string;
  /** 1-based; 0 when not tied to a line. */
  line: number;
  /** Plain English: what was found and why it matters. Never contains a whole secret. */
  message: string;
  /** The capability token this use needs (e.g. 'exec:host', 'network:outbound:allowlist:api.example.com'), when one applies. */
  needs?: string;
  /** Set on every use that needs a capability: true when a declared token covers it. Always false for 'file-outside'. */
  declared?: boolean;
}

export interface AuditReport {
  /** The frontmatter `name`, or null when SKILL.md is missing or has none. */
  skill: string | null;
  /** The capabilities as written in SKILL.md (valid or not). */
  declared: string[];
  /** Sorted by file, then line. */
  findings: AuditFinding[];
  /** Highest level among findings, or 'none'. */
  risk: RiskLevel | 'none';
  /** Files read, binary files included (they are counted, not searched). */
  filesScanned: number;
}

export interface AuditOptions {
  /** Files larger than this are not read (a medium finding names them). Default 2 MB. */
  maxFileBytes?: number;
  /** Files after this many are not read (a medium finding names the first). Default 500. */
  maxFiles?: number;
}

interface DeclaredCapability {
  token: string;
  capability: Capability;
}

const RANK: Readonly<Record<RiskLevel, number>> = { low: 1, medium: 2, high: 3 };

/**
 * Audits the skill folder `dir` without running anything in it. Problems with the skill itself
 * (no SKILL.md, bad frontmatter, unreadable files) are findings; rejects with NOT_FOUND only
 * when `dir` is not a folder.
 */
export async function auditSkill(dir: string, options: AuditOptions = {}): Promise<AuditReport> {
  const maxFileBytes = options.maxFileBytes ?? 2 * 1024 * 1024;
  const maxFiles = options.maxFiles ?? 500;
  const root = resolve(dir);
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new HearthError('NOT_FOUND', `${dir} is not a folder; point the audit at a skill folder that holds SKILL.md.`);
  }
  const listing = await listFiles(root);
  const files = listing.files;
  const head = await readSkillHead(root, files.includes('SKILL.md'));
  let findings = [...listing.findings, ...head.findings];
  const scannable = files.filter((file) => file !== 'skill.manifest.json');
  let filesScanned = 0;
  for (const [index, file] of scannable.entries()) {
    if (index >= maxFiles) {
      const message = `${scannable.length - maxFiles} files were not scanned (the limit is ${maxFiles}), starting with this one.`;
      findings.push({ kind: 'unreadable', level: 'medium', file, line: 0, message });
      break;
    }
    const { drafts, read } = await scanPath(root, file, maxFileBytes);
    if (read) filesScanned += 1;
    findings = findings.concat(fewest(drafts).map((draft) => settle(draft, file, head.capabilities)));
  }
  findings.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  const top = findings.reduce((max, finding) => Math.max(max, RANK[finding.level]), 0);
  const risk = (Object.keys(RANK) as RiskLevel[]).find((level) => RANK[level] === top) ?? 'none';
  return { skill: head.name, declared: head.declared, findings, risk, filesScanned };
}

// ---------------------------------------------------------------- files and SKILL.md

/** Every regular file under `root`, sorted; symlinks are not followed (one leaving the folder is a finding). */
async function listFiles(root: string): Promise<{ files: string[]; findings: AuditFinding[] }> {
  const files: string[] = [];
  const findings: AuditFinding[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = resolve(folder, entry.name);
      const file = relative(root, path).split(sep).join('/');
      if (entry.isDirectory() && entry.name !== '.git') await walk(path);
      else if (entry.isFile()) files.push(file);
      else if (entry.isSymbolicLink()) {
        const target = resolve(folder, await readlink(path).catch(() => '.'));
        const inside = relative(root, target);
        if (inside.startsWith('..') || isAbsolute(inside)) {
          const level = isSensitivePath(target) ? 'high' : 'medium';
          const message = `is a symbolic link to ${target}, outside the skill folder; reading it reads that file.`;
          findings.push({ kind: 'file-outside', level, file, line: 0, message, declared: false });
        }
      }
    }
  };
  await walk(root);
  return { files, findings };
}

interface SkillHead {
  name: string | null;
  declared: string[];
  capabilities: DeclaredCapability[];
  findings: AuditFinding[];
}

/** Reads the frontmatter: name, capabilities (bad tokens become findings) and OpenClaw requirements. */
async function readSkillHead(root: string, exists: boolean): Promise<SkillHead> {
  const head: SkillHead = { name: null, declared: [], capabilities: [], findings: [] };
  const fail = (line: number, message: string): SkillHead => {
    head.findings.push({ kind: 'unreadable', level: 'high', file: 'SKILL.md', line, message });
    return head;
  };
  if (!exists) return fail(0, 'The folder has no SKILL.md, so it is not a skill and nothing says what it is for.');
  const text = await readFile(resolve(root, 'SKILL.md'), 'utf8').catch(() => undefined);
  if (text === undefined) return fail(0, 'SKILL.md could not be read.');
  const block = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  if (!block) return fail(1, 'SKILL.md does not start with YAML frontmatter between --- lines (name, description, capabilities).');
  const lines = new LineCounter();
  const document = parseDocument(block[1] ?? '', { lineCounter: lines });
  const frontLine = (offset: number | undefined): number => (offset === undefined ? 1 : lines.linePos(offset).line + 1);
  const error = document.errors[0];
  if (error) return fail(frontLine(error.pos[0]), `The SKILL.md frontmatter is not valid YAML: ${error.message.split('\n')[0]}`);
  const data: unknown = document.toJS();
  if (!isRecord(data)) return fail(1, 'The SKILL.md frontmatter is not a mapping of fields (name, description, capabilities).');
  head.name = typeof data['name'] === 'string' ? data['name'] : null;
  const node = document.get('capabilities', true) as CapabilitiesNode | undefined;
  readCapabilities(head, data['capabilities'], node, frontLine);
  const binsLine = frontLine(/\bbins\b/.exec(block[1] ?? '')?.index);
  const drafts = openClawDrafts(openClawOf(data['metadata']), binsLine, frontLine(/\binstall\b/.exec(block[1] ?? '')?.index));
  head.findings = head.findings.concat(drafts.map((draft) => settle(draft, 'SKILL.md', head.capabilities)));
  return head;
}

/** Where the YAML parser put the `capabilities:` list and its items (offsets into the frontmatter). */
interface CapabilitiesNode {
  items?: { range?: number[] }[];
  range?: number[];
}

/** Adds the declared tokens to `head`; a value that is not a list, and each bad token, is a finding at its SKILL.md line. */
function readCapabilities(head: SkillHead, capabilities: unknown, node: CapabilitiesNode | undefined, frontLine: (offset: number | undefined) => number): void {
  const values = capabilities === undefined ? [] : capabilities;
  if (!Array.isArray(values)) {
    const message = `capabilities must be a list of tokens, one of: ${CAPABILITY_FORMS.join(', ')}.`;
    head.findings.push({ kind: 'bad-capability', level: 'medium', file: 'SKILL.md', line: frontLine(node?.range?.[0]), message });
  }
  for (const [index, value] of (Array.isArray(values) ? values : []).entries()) {
    const token = typeof value === 'string' ? value : JSON.stringify(value);
    head.declared.push(token);
    const parsed = parseCapability(token);
    if (parsed.ok) head.capabilities.push({ token, capability: parsed.capability });
    else {
      const line = frontLine(node?.items?.[index]?.range?.[0] ?? node?.range?.[0]);
      head.findings.push({ kind: 'bad-capability', level: 'medium', file: 'SKILL.md', line, message: `${parsed.message}.` });
    }
  }
}

function openClawOf(metadata: unknown): Record<string, unknown> {
  const value = typeof metadata === 'string' ? safeJson(metadata) : metadata;
  const openclaw = isRecord(value) ? value['openclaw'] : undefined;
  return isRecord(openclaw) ? openclaw : {};
}

/** Required binaries mean the skill runs commands; install entries fetch software. */
function openClawDrafts(openclaw: Record<string, unknown>, binsLine: number, installLine: number): Draft[] {
  const requires = isRecord(openclaw['requires']) ? openclaw['requires'] : {};
  const bins = [requires['bins'], requires['anyBins']].flatMap((list) => (Array.isArray(list) ? list.filter((bin) => typeof bin === 'string') : []));
  const drafts: Draft[] = bins.map((bin) => ({
    kind: 'shell-exec',
    level: 'medium',
    line: binsLine,
    message: `requires the \`${bin}\` program (metadata.openclaw.requires), so the skill runs commands`,
    needs: 'exec:host',
    command: bin,
  }));
  const installs = Array.isArray(openclaw['install']) ? openclaw['install'].filter(isRecord) : [];
  for (const entry of installs) {
    const what = ['formula', 'package', 'module', 'url'].map((key) => entry[key]).find((value) => typeof value === 'string');
    const message = `installs ${String(what ?? 'software')} (${String(entry['kind'] ?? 'install')}) when the skill is set up; review where it comes from`;
    drafts.push({ kind: 'install-download', level: 'medium', line: installLine, message });
  }
  return drafts;
}

// ---------------------------------------------------------------- one file

/** Reads and scans one file; `read` is false when it was too large or could not be read. */
async function scanPath(root: string, file: string, maxFileBytes: number): Promise<{ drafts: Draft[]; read: boolean }> {
  const path = resolve(root, file);
  const size = (await lstat(path).catch(() => undefined))?.size ?? 0;
  if (size > maxFileBytes) {
    const message = `was not scanned: ${size} bytes is over the ${maxFileBytes}-byte limit, so it may hide anything.`;
    return { drafts: [{ kind: 'unreadable', level: 'medium', line: 0, message }], read: false };
  }
  const bytes = await readFile(path).catch(() => undefined);
  if (bytes === undefined) return { drafts: [{ kind: 'unreadable', level: 'medium', line: 0, message: 'could not be read.' }], read: false };
  if (bytes.subarray(0, 8192).includes(0)) return { drafts: binaryDrafts(bytes), read: true };
  return { drafts: scanText(file, bytes.toString('utf8')), read: true };
}

function binaryDrafts(bytes: Buffer): Draft[] {
  const magic = bytes.subarray(0, 4).toString('hex');
  const executable = ['7f454c46', 'cffaedfe', 'cefaedfe', 'feedface', 'feedfacf', 'cafebabe', '0061736d'].includes(magic);
  const windows = magic.startsWith('4d5a');
  if (!executable && !windows) return [];
  const message = 'is a compiled program; what it does cannot be read or audited from the skill.';
  return [{ kind: 'opaque-binary', level: 'medium', line: 0, message }];
}

/** Picks the scanners for a file by its name and first line. */
function scanText(file: string, text: string): Draft[] {
  const name = posix.basename(file).toLowerCase();
  const extension = posix.extname(name);
  const shebang = /^#!.*$/.exec(text)?.[0] ?? '';
  const prose = ['.md', '.markdown', '.mdx', '.txt'].includes(extension);
  const common = commonDrafts(text, !prose);
  if (/^\.[cm]?[jt]sx?$/.test(extension) || /\bnode\b|\bdeno\b|\bbun\b/.test(shebang)) return common.concat(jsDrafts(text, file, 1));
  if (['.sh', '.bash', '.zsh'].includes(extension) || /\b(?:ba|z|da|k)?sh\b/.test(shebang)) return common.concat(shellDrafts(text, 1));
  if (extension === '.py' || /\bpython/.test(shebang)) return common.concat(pythonDrafts(text, 1));
  if (prose) return common.concat(proseDrafts(text), /\.(?:md|markdown|mdx)$/i.test(file) ? markdownCodeDrafts(text, file) : []);
  return name === 'package.json' ? common.concat(packageJsonDrafts(text)) : common;
}

/** The code in a markdown file: fenced blocks by their language, and inline spans that read as command lines. */
function markdownCodeDrafts(text: string, file: string): Draft[] {
  return codeBlocks(text)
    .flatMap((block) => blockDrafts(block, file))
    .concat(inlineCommandDrafts(text));
}

function blockDrafts(block: CodeBlock, file: string): Draft[] {
  const { language, line, text } = block;
  if (['', 'sh', 'bash', 'shell', 'zsh', 'console', 'terminal'].includes(language)) return shellDrafts(text.replace(/^(\s*)\$ /gm, '$1'), line);
  if (['py', 'python', 'python3'].includes(language)) return pythonDrafts(text, line);
  if (['js', 'javascript', 'mjs', 'cjs', 'jsx', 'node'].includes(language)) return jsDrafts(text, `${file}.js`, line);
  if (['ts', 'typescript', 'tsx'].includes(language)) return jsDrafts(text, `${file}.${language === 'tsx' ? 'tsx' : 'ts'}`, line);
  return [];
}

// ---------------------------------------------------------------- findings and declared capabilities

/** At most 200 findings per file, the most severe first (a crafted file cannot flood the report); duplicates dropped. */
function fewest(drafts: readonly Draft[]): Draft[] {
  const unique = [...new Map(drafts.map((draft) => [`${draft.line} ${draft.kind} ${draft.message}`, draft])).values()];
  if (unique.length <= 200) return unique;
  const kept = unique.sort((a, b) => RANK[b.level] - RANK[a.level] || a.line - b.line).slice(0, 199);
  const message = `${unique.length - kept.length} more findings in this file are not listed; the file looks crafted to flood the report.`;
  return [...kept, { kind: 'obfuscation', level: 'medium', line: 0, message }];
}

/** Checks a use against the declared capabilities and ties it to its file. */
function settle(draft: Draft, file: string, capabilities: readonly DeclaredCapability[]): AuditFinding {
  const { command, ...finding } = draft;
  const base = { ...finding, file, message: redact(finding.message) };
  if (draft.kind === 'file-outside') return { ...base, declared: false };
  if (draft.needs === undefined) return base;
  const needs = draft.needs;
  const cover = capabilities.find(({ capability }) => covers(capability, needs, command));
  if (cover) {
    const level = needs === 'network:outbound' ? 'medium' : 'low';
    const note = needs === 'network:outbound' ? ' (the host is only known at run time, so the allowlist cannot be checked here)' : '';
    return { ...base, level, declared: true, message: `${base.message}; declared by ${cover.token}${note}.` };
  }
  const sandboxed = capabilities.some(({ capability }) => capability.kind === 'exec-sandboxed');
  const why = sandboxed && command ? ` (no exec:sandboxed:allowlist token allows \`${programOf(command)}\`)` : '';
  return { ...base, declared: false, message: `${base.message}; not declared: the skill needs ${needs}${why}.` };
}

function covers(capability: Capability, needs: string, command: string | undefined): boolean {
  switch (capability.kind) {
    case 'exec-host':
      return needs === 'exec:host';
    case 'exec-sandboxed':
      return needs === 'exec:host' && (command === undefined || programOf(command) === programOf(capability.command));
    case 'network':
      return needs === 'network:outbound' || (needs.startsWith(NETWORK_TOKEN) && hostMatches(capability.host, needs.slice(NETWORK_TOKEN.length)));
    case 'file':
      return needs === 'file:workspace:ro' || (needs === 'file:workspace:rw' && capability.access === 'rw');
    default:
      return false;
  }
}

function hostMatches(allowed: string, host: string): boolean {
  const bare = (value: string): string => value.toLowerCase().replace(/:\d+$/, '');
  const [pattern, target] = [bare(allowed), bare(host)];
  if (pattern === '*') return true;
  return pattern.startsWith('*.') ? target.endsWith(pattern.slice(1)) : pattern === target;
}

/** The program a command line starts with (`sudo`/env assignments skipped, path dropped). */
function programOf(command: string): string {
  const words = command.trim().split(/\s+/).filter((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) && word !== 'sudo');
  return posix.basename(words[0] ?? '');
}
