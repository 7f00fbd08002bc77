/**
 * `hearth skills audit`: a static risk report of a skill folder. Nothing in the folder is run;
 * JavaScript/TypeScript is parsed into an AST, shell and Python are read line by line, and every
 * file is searched for hard-coded secrets, encoded blobs and hidden text. Each use that needs a
 * capability is checked against the `capabilities:` the skill declares in SKILL.md.
 */
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { type ParserPlugin, parse as parseJs } from '@babel/parser';
import { LineCounter, parseDocument } from 'yaml';
import { HearthError } from '../contracts/errors.js';
import { CAPABILITY_FORMS, type Capability, parseCapability } from './capabilities.js';

export type RiskLevel = 'low' | 'medium' | 'high';

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

/** A finding before it is tied to a file and checked against the declared capabilities. */
interface Draft {
  kind: string;
  level: RiskLevel;
  line: number;
  message: string;
  needs?: string;
  /** For exec uses: the command, when it is known, to check against sandbox allowlists. */
  command?: string;
}

interface DeclaredCapability {
  token: string;
  capability: Capability;
}

const RANK: Readonly<Record<RiskLevel, number>> = { low: 1, medium: 2, high: 3 };
const NETWORK_TOKEN = 'network:outbound:allowlist:';

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
  const node = document.get('capabilities', true) as { items?: { range?: number[] }[]; range?: number[] } | undefined;
  const values = data['capabilities'] === undefined ? [] : data['capabilities'];
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
  const binsLine = frontLine(/\bbins\b/.exec(block[1] ?? '')?.index);
  const drafts = openClawDrafts(openClawOf(data['metadata']), binsLine, frontLine(/\binstall\b/.exec(block[1] ?? '')?.index));
  head.findings = head.findings.concat(drafts.map((draft) => settle(draft, 'SKILL.md', head.capabilities)));
  return head;
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
  if (prose) return common.concat(proseDrafts(text, file));
  return name === 'package.json' ? common.concat(packageJsonDrafts(text)) : common;
}

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

// ---------------------------------------------------------------- rules for every file

interface SecretRule {
  label: string;
  pattern: RegExp;
  /** Which group holds the secret (0: the whole match). */
  group?: number;
  /** False when the match is only a marker (a private key header), not the secret itself. */
  preview?: boolean;
}

const SECRET_RULES: readonly SecretRule[] = [
  { label: 'AWS access key', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { label: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}/ },
  { label: 'API secret key (sk-…)', pattern: /\bsk-[A-Za-z0-9][A-Za-z0-9_-]{19,}/ },
  { label: 'Stripe secret key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}/ },
  { label: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { label: 'Slack token', pattern: /\bxox[baprs]-[A-Za-z0-9-]{10,}/ },
  { label: 'private key', pattern: /-----BEGIN (?:RSA |OPENSSH |EC |DSA |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----/, preview: false },
  {
    label: 'credential',
    pattern: /\b[\w-]{0,40}(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key)[\w-]{0,40}["']?\s*[:=]\s*["']([^"'\s]{16,})["']/i,
    group: 1,
  },
];

/** Values that only look like secrets: placeholders, variable names, URLs, interpolations. */
const NOT_A_SECRET = /\$\{|\$\(|^process\.env|^https?:|\/|your|example|placeholder|redacted|changeme|<|x{6,}|\*{4}/i;
const SECRET_NAME = /TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|AUTH/i;
const INVISIBLE = /[\u200B\u200C\u2060-\u2064\u180E\u202A-\u202E\u2066-\u2069]|(?!^)\uFEFF|[\u{E0000}-\u{E007F}]/u;

/** Hard-coded secrets, encoded blobs and invisible characters: checked in every text file. */
function commonDrafts(text: string, code: boolean): Draft[] {
  const drafts: Draft[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const found: string[] = [];
    for (const rule of SECRET_RULES) {
      for (const match of allMatches(line, rule.pattern)) {
        const value = match[rule.group ?? 0] ?? '';
        if (found.some((secret) => secret.includes(value) || value.includes(secret))) continue;
        if (rule.group !== undefined && (NOT_A_SECRET.test(value) || /^[A-Z0-9_]+$/.test(value))) continue;
        found.push(value);
        const shown = rule.preview === false ? '' : ` "${value.slice(0, 4)}…" (${value.length} characters)`;
        const message = `hard-coded ${rule.label}${shown}; anyone who gets the skill gets the credential`;
        drafts.push({ kind: 'secret', level: 'high', line: index + 1, message });
      }
    }
    const blob = /(?<![A-Za-z0-9+/]|data:[\w/+.-]+;base64,)[A-Za-z0-9+/]{200,}={0,2}|(?:\\x[0-9a-fA-F]{2}){100,}/.exec(line)?.[0];
    if (blob) {
      const kind = /^[0-9a-fA-F]+$/.test(blob) || blob.startsWith('\\x') ? 'hex' : 'base64';
      const message = `a ${blob.length}-character ${kind} blob; encoded payloads hide what the skill really does`;
      drafts.push({ kind: 'obfuscation', level: 'medium', line: index + 1, message });
    }
    if (INVISIBLE.test(line)) drafts.push(invisibleDraft(line, index + 1, code));
  });
  return drafts;
}

function invisibleDraft(line: string, number: number, code: boolean): Draft {
  const hidden = [...line]
    .map((char) => char.codePointAt(0) ?? 0)
    .filter((point) => point >= 0xe0020 && point <= 0xe007e)
    .map((point) => String.fromCodePoint(point - 0xe0000))
    .join('');
  const said = hidden ? ` spelling out hidden text "${hidden.slice(0, 60)}"` : '';
  return code
    ? { kind: 'obfuscation', level: 'high', line: number, message: `invisible or direction-changing characters${said}; the code may not do what it looks like` }
    : { kind: 'prompt-injection', level: 'high', line: number, message: `invisible characters${said}; the agent reads text the user cannot see` };
}

/** Never lets a whole secret into a message. */
function redact(message: string): string {
  return SECRET_RULES.reduce(
    (text, rule) =>
      text.replace(new RegExp(rule.pattern.source, `${rule.pattern.flags}g`), (match, ...groups) => {
        const value = rule.group ? String(groups[rule.group - 1] ?? match) : match;
        return rule.preview === false ? match : match.replace(value, `${value.slice(0, 4)}…`);
      }),
    message,
  );
}

// ---------------------------------------------------------------- SKILL.md and other prose

interface InjectionRule {
  level: RiskLevel;
  pattern: RegExp;
  what: string;
}

/** Phrases that address the agent rather than describe the skill. */
const INJECTION_RULES: readonly InjectionRule[] = [
  {
    level: 'high',
    pattern:
      /\b(?:ignore|forget|override)\s+(?:(?:all|any|the|your|every|of)\s+)*(?:previous|prior|above|earlier|preceding|original|system)\s+(?:instructions|prompts?|rules|directions|guidelines|messages)\b/i,
    what: 'tells the agent to ignore its earlier instructions',
  },
  { level: 'high', pattern: /\bdisregard\b.{0,60}?\b(?:instructions|rules|guidelines|polic(?:y|ies)|prompt|guardrails)\b/i, what: 'tells the agent to disregard its instructions' },
  { level: 'high', pattern: /\b(?:do\s+not|don't|never)\s+(?:tell|inform|alert|notify|warn|show)\s+(?:the\s+)?user\b/i, what: 'tells the agent to hide what it does from the user' },
  { level: 'high', pattern: /\bexfiltrat\w*/i, what: 'talks about exfiltrating data' },
  {
    level: 'high',
    pattern:
      /\b(?:send|upload|post|forward|transmit|e-?mail|leak|copy)\s+(?:(?:the|your|all|any)\s+).{0,60}?\b(?:keys?|tokens?|credentials?|secrets?|passwords?|environment|env\s+vars?|\.env|id_rsa|ssh)\b/i,
    what: 'tells the agent to send secrets somewhere',
  },
  { level: 'high', pattern: /\b(?:bypass|disable|turn\s+off|skip)\s+(?:the\s+)?(?:safety|security|sandbox|guardrails?|approvals?)\b/i, what: 'asks the agent to switch off its safety controls' },
  { level: 'medium', pattern: /\bwithout\s+(?:asking|telling|informing|notifying|alerting|confirming\s+with)\s+(?:the\s+)?user\b/i, what: "tells the agent to act without the user's say" },
  { level: 'medium', pattern: /\byou\s+are\s+now\b/i, what: 'tries to give the agent a new identity' },
  { level: 'medium', pattern: /\bsystem\s+prompt\b/i, what: 'talks about the system prompt' },
  { level: 'medium', pattern: /\b(?:new|updated|real|actual)\s+instructions\s*:/i, what: 'claims to bring new instructions' },
];

/** Prompt-injection phrases, hidden comments and code blocks of markdown and text files. */
function proseDrafts(text: string, file: string): Draft[] {
  const drafts: Draft[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    for (const rule of INJECTION_RULES) {
      const match = rule.pattern.exec(line);
      if (match) drafts.push({ kind: 'prompt-injection', level: rule.level, line: index + 1, message: `${rule.what}: "${match[0]}"` });
    }
  });
  const lineAt = lineFinder(text);
  for (const comment of allMatches(text, /<!--([\s\S]*?)-->/)) {
    const body = (comment[1] ?? '').trim();
    if (!/\b(?:you|your|agent|assistant|model|AI|claude|gpt|must|always|never|ignore|instead|secretly|do not|don't)\b/i.test(body)) continue;
    const message = `hidden HTML comment speaks to the agent, which reads it though the user does not see it: "${body.slice(0, 80)}"`;
    drafts.push({ kind: 'prompt-injection', level: 'high', line: lineAt(comment.index ?? 0), message });
  }
  if (!/\.(?:md|markdown|mdx)$/i.test(file)) return drafts;
  return drafts.concat(codeBlocks(text).flatMap((block) => blockDrafts(block, file)), inlineCommandDrafts(text));
}

interface CodeBlock {
  language: string;
  /** Line of the block's first content line. */
  line: number;
  text: string;
}

/** Inline code spans outside fences that look like command lines (`curl … | sh`): the agent may run them. */
function inlineCommandDrafts(text: string): Draft[] {
  let fenced = false;
  return text.split(/\r?\n/).flatMap((line, index) => {
    if (/^\s{0,3}(?:`{3,}|~{3,})/.test(line)) fenced = !fenced;
    if (fenced) return [];
    const spans = allMatches(line, /(?<!`)`([^`\n]+)`(?!`)/).map((match) => match[1] ?? '');
    return spans.filter((span) => /\S\s+\S/.test(span)).flatMap((span) => shellLineDrafts(span, index + 1));
  });
}

function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: { fence: string; block: CodeBlock; lines: string[] } | undefined;
  text.split(/\r?\n/).forEach((line, index) => {
    const fence = /^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (open && fence?.[1]?.startsWith(open.fence) && line.trim() === fence[1]) {
      blocks.push({ ...open.block, text: open.lines.join('\n') });
      open = undefined;
    } else if (open) open.lines.push(line);
    else if (fence) open = { fence: fence[1] ?? '```', block: { language: (fence[2] ?? '').toLowerCase(), line: index + 2, text: '' }, lines: [] };
  });
  if (open) blocks.push({ ...open.block, text: open.lines.join('\n') });
  return blocks;
}

function blockDrafts(block: CodeBlock, file: string): Draft[] {
  const { language, line, text } = block;
  if (['', 'sh', 'bash', 'shell', 'zsh', 'console', 'terminal'].includes(language)) return shellDrafts(text.replace(/^(\s*)\$ /gm, '$1'), line);
  if (['py', 'python', 'python3'].includes(language)) return pythonDrafts(text, line);
  if (['js', 'javascript', 'mjs', 'cjs', 'jsx', 'node'].includes(language)) return jsDrafts(text, `${file}.js`, line);
  if (['ts', 'typescript', 'tsx'].includes(language)) return jsDrafts(text, `${file}.${language === 'tsx' ? 'tsx' : 'ts'}`, line);
  return [];
}

function packageJsonDrafts(text: string): Draft[] {
  const data = safeJson(text);
  const scripts = isRecord(data) && isRecord(data['scripts']) ? data['scripts'] : {};
  const lineAt = lineFinder(text);
  return ['preinstall', 'install', 'postinstall', 'prepare'].flatMap((hook) => {
    const command = scripts[hook];
    if (typeof command !== 'string') return [];
    const line = lineAt(Math.max(0, text.indexOf(`"${hook}"`)));
    const message = `runs its "${hook}" script \`${command}\` whenever the package is installed`;
    return [{ kind: 'install-download', level: 'medium' as const, line, message }, ...shellDrafts(command, line)];
  });
}

// ---------------------------------------------------------------- shell

interface LineRule {
  kind: string;
  level: RiskLevel;
  pattern: RegExp;
  what: string;
  needs?: string;
}

/** `(?:(?!curl|wget)[^|;&])*` stops at the next command of the same kind, so a crafted line costs linear time. */
const SHELL_RULES: readonly LineRule[] = [
  {
    kind: 'install-download',
    level: 'high',
    pattern: /\b(?:curl|wget)\b(?:(?!curl|wget)[^|;&])*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:[A-Za-z_]\w*=\S*\s+)*(?:ba|z|k|da)?sh\b/,
    what: 'pipes a download straight into a shell, running code nobody reviewed',
  },
  { kind: 'install-download', level: 'high', pattern: /\b(?:curl|wget)\b(?:(?!curl|wget)[^|;&])*\|\s*(?:sudo\s+)?(?:python[\d.]*|node|perl|ruby|php)\b/, what: 'pipes a download straight into an interpreter' },
  { kind: 'install-download', level: 'high', pattern: /\b(?:ba|z|k|da)?sh\s+-c\s+["']?\$\(\s*(?:curl|wget)\b/, what: 'runs a downloaded script with sh -c "$(curl …)"' },
  { kind: 'install-download', level: 'high', pattern: /(?:\b(?:ba|z)?sh|\bsource|(?:^|\s)\.)\s+<\(\s*(?:curl|wget)\b/, what: 'runs a downloaded script through <(curl …)' },
  { kind: 'obfuscation', level: 'high', pattern: /\bbase64\s+(?:-d|--decode|-D)\b(?:(?!base64)[^;&])*\|\s*(?:sudo\s+)?(?:ba|z|k|da)?sh\b/, what: 'decodes base64 and runs the result as a script, hiding what it does' },
  { kind: 'obfuscation', level: 'medium', pattern: /(?:^|[;&|(]\s*)eval\s/, what: 'uses eval, which runs text assembled at run time' },
  { kind: 'shell-exec', level: 'high', pattern: /(?:^|[;&|(]\s*)sudo\s/, what: 'runs commands as root with sudo', needs: 'exec:host' },
  { kind: 'install-download', level: 'medium', pattern: /\b(?:npm|pnpm|yarn|bun)\s+(?:install|i|add|ci)\b|\bnpx\s+(?:-y|--yes)\b/, what: 'installs packages from the npm registry' },
  { kind: 'install-download', level: 'medium', pattern: /\b(?:pip[\d.]*|pipx|uv\s+pip|uv\s+tool)\s+install\b|\bpython[\d.]*\s+-m\s+pip\s+install\b/, what: 'installs Python packages' },
  { kind: 'install-download', level: 'medium', pattern: /\b(?:gem|cargo|go|brew|apt|apt-get|yum|dnf)\s+install\b|\bapk\s+add\b/, what: 'installs software on the machine' },
  { kind: 'install-download', level: 'medium', pattern: /\bcurl\b(?:(?!curl)[^|;&])*\s(?:-[a-zA-Z]*[oO]|--output|--remote-name)(?:\s|$)|\bwget\s+(?:(?!wget)[^|;&])+(?:$|[;&])/, what: 'downloads a file to disk' },
  { kind: 'file-outside', level: 'high', pattern: /\brm\s+-[a-zA-Z]*[rR][a-zA-Z]*\s+(?:-\S+\s+)*(?:\/|~|\$HOME|\$\{HOME\})\/?\*?(?:\s|$)/, what: 'deletes the home folder or the whole file system' },
];

/** Paths to credentials and system files, as they appear in scripts. */
const SENSITIVE_IN_TEXT =
  /(?:~|\$HOME|\$\{HOME\}|\/root|\/home\/[\w.-]+)\/\.(?:ssh|gnupg|aws|azure|kube|docker|netrc|npmrc|pypirc|git-credentials|hearth|openclaw)\b|\/etc\/(?:passwd|shadow|sudoers|ssh)\b|\bid_(?:rsa|ed25519|ecdsa|dsa)\b/;

function shellDrafts(text: string, startLine: number): Draft[] {
  return logicalLines(text, stripShellComment).flatMap(({ line, code }) => shellLineDrafts(code, line + startLine - 1));
}

/** The rules for one shell command line; also used for command strings found in JS and Python. */
function shellLineDrafts(code: string, line: number): Draft[] {
  const drafts: Draft[] = SHELL_RULES.filter((rule) => rule.pattern.test(code)).map((rule) => ({
    kind: rule.kind,
    level: rule.level,
    line,
    message: `${rule.what}: \`${clip(code)}\``,
    ...(rule.needs ? { needs: rule.needs, command: code } : {}),
  }));
  for (const match of allMatches(code, /(?:^|[\s;&|(`])(curl|wget|nc|ncat|netcat|ssh|scp|sftp|rsync|telnet|ftp|socat)\s+([^|;&]*)/)) {
    const [, command = '', args = ''] = match;
    const host = shellHost(command, args);
    if (host !== null) drafts.push(networkDraft(host, command, line));
  }
  const sensitive = SENSITIVE_IN_TEXT.exec(code);
  if (sensitive) drafts.push({ kind: 'file-outside', level: 'high', line, message: `touches ${sensitive[0]}, a credential or system file outside the skill folder` });
  for (const match of allMatches(code, /\$\{?([A-Za-z_][A-Za-z0-9_]*)/)) {
    const name = match[1] ?? '';
    if (SECRET_NAME.test(name)) drafts.push(secretEnvDraft(name, line));
  }
  return drafts;
}

/** The host a network command talks to: a string, undefined when unknown, null when it is not a network use. */
function shellHost(command: string, args: string): string | undefined | null {
  const url = urlHost(args);
  if (url !== undefined) return url;
  const userHost = /[\w.-]+@([A-Za-z0-9.-]+)/.exec(args)?.[1];
  if (userHost) return userHost;
  if (['scp', 'sftp', 'rsync'].includes(command)) return /(?:^|\s)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):/.exec(args)?.[1] ?? null;
  if (['ssh', 'nc', 'ncat', 'netcat', 'telnet', 'ftp', 'socat'].includes(command)) {
    return args.split(/\s+/).find((word) => /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/.test(word) && !/^[\d.]+$/.test(word)) ?? undefined;
  }
  return undefined;
}

function stripShellComment(line: string): string {
  let quote = '';
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index];
    if (char === '\\' && quote !== "'") index += 1;
    else if (quote) quote = char === quote ? '' : quote;
    else if (char === '"' || char === "'") quote = char;
    else if (char === '#' && (index === 0 || /[\s;&|(]/.test(line[index - 1] ?? ''))) return line.slice(0, index);
  }
  return line;
}

/** Comment-free lines, with backslash continuations joined onto their first line. */
function logicalLines(text: string, strip: (line: string) => string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  let pending: { line: number; code: string } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const code = strip(raw);
    const current = pending ? { line: pending.line, code: `${pending.code} ${code.trim()}` } : { line: index + 1, code };
    if (/\\\s*$/.test(code)) pending = { line: current.line, code: current.code.replace(/\\\s*$/, '') };
    else {
      pending = undefined;
      if (current.code.trim()) out.push(current);
    }
  });
  if (pending) out.push(pending);
  return out;
}

// ---------------------------------------------------------------- Python

const PYTHON_RULES: readonly LineRule[] = [
  {
    kind: 'shell-exec',
    level: 'high',
    pattern: /\bsubprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)\s*\(|^\s*from\s+subprocess\s+import\b/,
    what: 'runs commands on the host with subprocess',
    needs: 'exec:host',
  },
  { kind: 'shell-exec', level: 'high', pattern: /\bos\.(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?)\s*\(|\bpty\.spawn\s*\(/, what: 'runs commands on the host', needs: 'exec:host' },
  { kind: 'obfuscation', level: 'high', pattern: /(?<![\w.])(?:eval|exec)\s*\(|\bcompile\s*\(.{0,400}["']exec["']/, what: 'runs code assembled at run time with eval/exec' },
  { kind: 'obfuscation', level: 'medium', pattern: /\b__import__\s*\(|\bmarshal\.loads\s*\(/, what: 'loads code dynamically' },
];

const PYTHON_NETWORK =
  /\b(?:requests|httpx)\.(?:get|post|put|patch|delete|head|options|request|stream)\s*\(|\burllib\.request\.(?:urlopen|urlretrieve)\s*\(|(?<![\w.])(?:urlopen|urlretrieve)\s*\(|\bsocket\.create_connection\s*\(|\.connect(?:_ex)?\s*\(\s*\(|\bhttp\.client\.HTTPS?Connection\s*\(|\b(?:aiohttp\.ClientSession|ftplib\.FTP|smtplib\.SMTP(?:_SSL)?|paramiko\.SSHClient)\b/;

function pythonDrafts(text: string, startLine: number): Draft[] {
  const lines = pythonCode(text);
  return lines.flatMap((code, index) => {
    if (!code.trim()) return [];
    const line = index + startLine;
    const tail = (from: number): string => [code.slice(from), ...lines.slice(index + 1, index + 6)].join(' ');
    const drafts: Draft[] = [];
    for (const rule of PYTHON_RULES) {
      const match = rule.pattern.exec(code);
      if (!match) continue;
      const command = rule.kind === 'shell-exec' ? pythonCommand(tail(match.index + match[0].length)) : undefined;
      const shown = command ? `: \`${clip(command)}\`` : ` (${match[0].trim().replace(/[\s(]+$/, '')})`;
      drafts.push({ kind: rule.kind, level: rule.level, line, message: `${rule.what}${shown}`, ...(rule.needs ? { needs: rule.needs } : {}), ...(command ? { command } : {}) });
      if (command) for (const draft of shellLineDrafts(command, line)) drafts.push(draft);
    }
    const network = PYTHON_NETWORK.exec(code);
    if (network) {
      const rest = tail(network.index);
      const host = urlHost(rest) ?? /^[^"']*\(\s*\(?\s*[rbu]?["']([A-Za-z0-9.:-]+)["']/.exec(rest)?.[1]?.toLowerCase();
      drafts.push(networkDraft(host, network[0].replace(/[\s(]+$/, ''), line));
    }
    const sensitive = SENSITIVE_IN_TEXT.exec(code);
    if (sensitive) drafts.push({ kind: 'file-outside', level: 'high', line, message: `touches ${sensitive[0]}, a credential or system file outside the skill folder` });
    for (const match of allMatches(code, /\bos\.(?:environ\s*(?:\[\s*|\.get\(\s*)|getenv\(\s*)["']([A-Za-z_][A-Za-z0-9_]*)["']/)) {
      if (SECRET_NAME.test(match[1] ?? '')) drafts.push(secretEnvDraft(match[1] ?? '', line));
    }
    return drafts;
  });
}

/** One entry per line: the code with comments and docstring lines blanked out. */
function pythonCode(text: string): string[] {
  let docstring = '';
  return text.split(/\r?\n/).map((raw) => {
    if (docstring) {
      if (raw.includes(docstring)) docstring = '';
      return '';
    }
    const opener = /^\s*[rRbBuU]{0,2}("""|''')/.exec(raw);
    if (opener?.[1]) {
      if (raw.indexOf(opener[1], opener[0].length) < 0) docstring = opener[1];
      return '';
    }
    return stripPythonComment(raw);
  });
}

function stripPythonComment(line: string): string {
  let quote = '';
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index];
    if (char === '\\' && quote) index += 1;
    else if (quote) quote = char === quote ? '' : quote;
    else if (char === '"' || char === "'") quote = char;
    else if (char === '#') return line.slice(0, index);
  }
  return line;
}

/** The command of `subprocess.run("…")` or `subprocess.run(["a", "b"])`, when it is literal. */
function pythonCommand(args: string): string | undefined {
  const list = /^\s*\[([^\]]*)\]/.exec(args);
  if (list) return [...(list[1] ?? '').matchAll(/[rbu]?(["'])(.*?)\1/g)].map((match) => match[2]).join(' ') || undefined;
  return /^\s*[rbuf]?(["'])(.*?)\1/.exec(args)?.[2];
}

// ---------------------------------------------------------------- JavaScript and TypeScript

type AstNode = { type: string; loc?: { start: { line: number } } | null } & Record<string, unknown>;

interface JsScope {
  /** Local names bound to a whole module (`import cp from`, `const cp = require(…)`). */
  modules: Map<string, string>;
  /** Local names bound to one export (`import { execSync } from`, `const { get } = require(…)`). */
  named: Map<string, { module: string; name: string }>;
  /** `const NAME = 'literal'`, to follow URLs and paths kept in constants. */
  strings: Map<string, string>;
  /** The file's folder relative to the skill, for `__dirname`. */
  folder: string;
}

type Role = 'exec' | 'network' | 'fs' | 'vm' | 'os' | 'path';

const MODULE_ROLES: Readonly<Record<string, Role>> = {
  child_process: 'exec',
  execa: 'exec',
  shelljs: 'exec',
  zx: 'exec',
  'cross-spawn': 'exec',
  http: 'network',
  https: 'network',
  http2: 'network',
  net: 'network',
  tls: 'network',
  dgram: 'network',
  axios: 'network',
  'node-fetch': 'network',
  got: 'network',
  undici: 'network',
  superagent: 'network',
  ws: 'network',
  fs: 'fs',
  vm: 'vm',
  os: 'os',
  path: 'path',
};

const EXEC_CALLS = ['exec', 'execSync', 'spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork'];
const NETWORK_CALLS: Readonly<Record<string, readonly string[]>> = {
  http: ['request', 'get'],
  https: ['request', 'get'],
  http2: ['connect'],
  net: ['connect', 'createConnection', 'Socket'],
  tls: ['connect'],
  dgram: ['createSocket'],
  undici: ['request', 'fetch', 'stream', 'Client', 'Pool', 'WebSocket'],
  ws: ['default', 'WebSocket'],
};
const FS_READS = ['readFile', 'createReadStream', 'readdir', 'opendir', 'stat', 'lstat', 'access', 'exists', 'open', 'readlink', 'realpath', 'watch', 'watchFile', 'readJson', 'readJSON', 'pathExists'];
const FS_WRITES = ['writeFile', 'appendFile', 'createWriteStream', 'mkdir', 'mkdtemp', 'rm', 'rmdir', 'unlink', 'truncate', 'chmod', 'chown', 'utimes', 'outputFile', 'writeJson', 'outputJson', 'remove', 'emptyDir', 'ensureDir', 'ensureFile'];
const FS_COPIES = ['copyFile', 'cp', 'rename', 'symlink', 'link', 'copy', 'move'];
const VM_CALLS = ['runInNewContext', 'runInThisContext', 'runInContext', 'compileFunction', 'Script'];

function jsDrafts(text: string, file: string, startLine: number): Draft[] {
  const plugins: ParserPlugin[] = /\.[cm]?tsx?$/.test(file) ? (file.endsWith('x') ? ['typescript', 'jsx'] : ['typescript']) : ['jsx'];
  try {
    const ast = parseJs(text, { sourceType: 'unambiguous', errorRecovery: true, attachComment: false, plugins });
    const drafts = programDrafts(ast.program as unknown as AstNode, posix.dirname(file));
    return drafts.map((draft) => ({ ...draft, line: draft.line + startLine - 1 }));
  } catch (error) {
    // a syntax error, or code nested deeper than the stack (parser or walker): say so, keep the text checks
    const where = /\((\d+):\d+\)/.exec(String(error))?.[1];
    const message = `could not be parsed as JavaScript/TypeScript (${String(error).split('\n')[0]}); only the text checks ran`;
    return [{ kind: 'unreadable', level: 'medium', line: where ? Number(where) + startLine - 1 : 0, message }];
  }
}

function programDrafts(program: AstNode, folder: string): Draft[] {
  const nodes = collectNodes(program);
  const scope = scopeOf(nodes, folder);
  const drafts = nodes.flatMap((node) => jsNodeDrafts(node, scope));
  const obfuscated = nodes.filter((node) => node.type === 'Identifier' && /^_0x[0-9a-f]{4,}$/i.test(String(node['name'])));
  if (obfuscated.length >= 5) {
    const message = `${obfuscated.length} identifiers like ${String(obfuscated[0]?.['name'])}: the code went through an obfuscator`;
    drafts.push({ kind: 'obfuscation', level: 'medium', line: lineOf(obfuscated[0]), message });
  }
  const execImport = nodes.find((node) => ['ImportDeclaration', 'CallExpression', 'ImportExpression'].includes(node.type) && roleOf(loadedModule(node, scope)) === 'exec');
  if (execImport && !drafts.some((draft) => draft.kind === 'shell-exec')) {
    const message = `loads ${loadedModule(execImport, scope)}, which runs commands on the host`;
    drafts.push({ kind: 'shell-exec', level: 'high', line: lineOf(execImport), message, needs: 'exec:host' });
  }
  return drafts;
}

/** Every AST node, parents before children. */
function collectNodes(root: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index -= 1) stack.push(value[index]);
    } else if (isNode(value)) {
      out.push(value);
      const keys = Object.keys(value).filter((key) => !['loc', 'start', 'end', 'extra', 'range', 'errors'].includes(key));
      for (const key of keys.reverse()) stack.push(value[key]);
    }
  }
  return out;
}

function scopeOf(nodes: readonly AstNode[], folder: string): JsScope {
  const scope: JsScope = { modules: new Map(), named: new Map(), strings: new Map(), folder };
  for (const node of nodes) {
    if (node.type === 'ImportDeclaration') {
      const module = String(child(node, 'source')?.['value']);
      for (const specifier of children(node, 'specifiers')) {
        const local = String(child(specifier, 'local')?.['name']);
        const imported = child(specifier, 'imported');
        if (specifier.type === 'ImportSpecifier' && imported) scope.named.set(local, { module, name: String(imported['name'] ?? imported['value']) });
        else scope.modules.set(local, module);
      }
    } else if (node.type === 'VariableDeclarator') bindDeclarator(node, scope);
  }
  return scope;
}

function bindDeclarator(node: AstNode, scope: JsScope): void {
  const id = child(node, 'id');
  const init = unwrap(child(node, 'init'));
  if (!id || !init) return;
  const module = loadedModule(init, scope) ?? (init.type === 'Identifier' ? scope.modules.get(String(init['name'])) : undefined);
  const member = init.type === 'MemberExpression' ? memberTarget(init, scope) : undefined;
  if (id.type === 'Identifier') {
    const name = String(id['name']);
    if (module) scope.modules.set(name, module);
    else if (member?.module) scope.named.set(name, { module: member.module, name: member.name });
    else if (init.type === 'StringLiteral' || (init.type === 'TemplateLiteral' && children(init, 'expressions').length === 0)) {
      const value = staticText(init, scope);
      if (value?.complete) scope.strings.set(name, value.text);
    }
  } else if (id.type === 'ObjectPattern' && module) {
    for (const property of children(id, 'properties')) {
      const key = propertyKey(property);
      const value = child(property, 'value');
      const local = value?.type === 'AssignmentPattern' ? child(value, 'left') : value;
      if (key && local?.type === 'Identifier') scope.named.set(String(local['name']), { module, name: key });
    }
  }
}

/** What a callee refers to: a module's export, or a global name. */
interface Target {
  module?: string;
  name: string;
}

function calleeTarget(callee: AstNode | undefined, scope: JsScope): Target | undefined {
  const node = unwrap(callee);
  if (node?.type === 'Identifier') {
    const name = String(node['name']);
    const named = scope.named.get(name);
    if (named) return named;
    const module = scope.modules.get(name) ?? (MODULE_ROLES[name] === 'network' ? name : undefined);
    return module ? { module, name: 'default' } : { name };
  }
  return node?.type === 'MemberExpression' || node?.type === 'OptionalMemberExpression' ? memberTarget(node, scope) : undefined;
}

function memberTarget(node: AstNode, scope: JsScope): Target | undefined {
  const name = propertyKey(node);
  const object = unwrap(child(node, 'object'));
  if (!name || !object) return undefined;
  if (object.type === 'Identifier') {
    const local = String(object['name']);
    if (['globalThis', 'window', 'global', 'self'].includes(local)) return { name };
    const module = scope.modules.get(local) ?? scope.named.get(local)?.module ?? (MODULE_ROLES[local] ? local : undefined);
    return module ? { module, name } : undefined;
  }
  const loaded = loadedModule(object, scope);
  if (loaded) return { module: loaded, name };
  const inner = object.type === 'MemberExpression' ? memberTarget(object, scope) : undefined;
  return inner?.module && inner.name === 'promises' ? { module: inner.module, name } : undefined;
}

/** The module a `require(…)`, `import(…)` or import declaration loads. */
function loadedModule(node: AstNode | undefined, scope: JsScope): string | undefined {
  const value = unwrap(node);
  if (value?.type === 'ImportDeclaration') return String(child(value, 'source')?.['value']);
  if (value?.type === 'ImportExpression') return staticText(child(value, 'source'), scope)?.text;
  const callee = child(value, 'callee');
  if (value?.type !== 'CallExpression' || callee?.type !== 'Identifier' || callee['name'] !== 'require') return undefined;
  return staticText(children(value, 'arguments')[0], scope)?.text;
}

function roleOf(module: string | undefined): Role | undefined {
  if (module === undefined) return undefined;
  const bare = module.replace(/^node:/, '').replace(/\/promises$/, '');
  return MODULE_ROLES[['fs-extra', 'graceful-fs'].includes(bare) ? 'fs' : bare];
}

function jsNodeDrafts(node: AstNode, scope: JsScope): Draft[] {
  const line = lineOf(node);
  switch (node.type) {
    case 'CallExpression':
    case 'OptionalCallExpression':
    case 'NewExpression':
      return callDrafts(node, scope, line);
    case 'ImportExpression':
      return dynamicLoadDrafts(child(node, 'source'), scope, line);
    case 'TaggedTemplateExpression': {
      const target = calleeTarget(child(node, 'tag'), scope);
      if (roleOf(target?.module) !== 'exec') return [];
      return [{ kind: 'shell-exec', level: 'high', line, message: `runs a command on the host through ${target?.module}`, needs: 'exec:host' }];
    }
    case 'MemberExpression':
    case 'OptionalMemberExpression': {
      const name = isProcessEnv(child(node, 'object')) ? propertyKey(node) : undefined;
      return name && SECRET_NAME.test(name) ? [secretEnvDraft(name, line)] : [];
    }
    case 'VariableDeclarator': {
      const id = child(node, 'id');
      if (id?.type !== 'ObjectPattern' || !isProcessEnv(child(node, 'init'))) return [];
      const names = children(id, 'properties').map(propertyKey);
      return names.filter((name) => name && SECRET_NAME.test(name)).map((name) => secretEnvDraft(String(name), line));
    }
    default:
      return [];
  }
}

function callDrafts(node: AstNode, scope: JsScope, line: number): Draft[] {
  const args = children(node, 'arguments');
  const target = calleeTarget(child(node, 'callee'), scope);
  const drafts: Draft[] = args.filter(isProcessEnv).map(() => ({
    kind: 'secret',
    level: 'medium' as const,
    line,
    message: `hands the whole environment, every credential in it, to ${calleeName(child(node, 'callee'))}()`,
  }));
  if (!target) return drafts;
  const role = roleOf(target.module);
  const bare = target.module?.replace(/^node:/, '');
  const via = bare ? (target.name === 'default' ? bare : `${bare}.${target.name}`) : target.name;
  if (!target.module) drafts.push(...globalCallDrafts(target.name, args, scope, line, node.type === 'NewExpression'));
  else if (role === 'exec' && (EXEC_CALLS.includes(target.name) || !/child_process$/.test(target.module))) drafts.push(...execDrafts(args, scope, line, via));
  else if (role === 'network' && (NETWORK_CALLS[bare ?? '']?.includes(target.name) ?? true)) {
    drafts.push(networkDraft(jsHost(args, scope, target.module), via, line));
  } else if (role === 'vm' && VM_CALLS.includes(target.name)) {
    drafts.push({ kind: 'obfuscation', level: 'high', line, message: `runs code assembled at run time with ${via}()` });
  } else if (role === 'fs') drafts.push(...fsDrafts(target.name.replace(/Sync$/, ''), args, scope, line, via));
  if (target.name === 'require' && !target.module) drafts.push(...dynamicLoadDrafts(args[0], scope, line));
  return drafts;
}

function dynamicLoadDrafts(name: AstNode | undefined, scope: JsScope, line: number): Draft[] {
  if (staticText(name, scope)?.complete) return [];
  return [{ kind: 'obfuscation', level: 'medium', line, message: 'loads a module whose name is computed at run time, hiding what it uses' }];
}

/** `a.b.c` for a callee made of names, `…` for anything else. */
function calleeName(node: AstNode | undefined): string {
  if (node?.type === 'Identifier') return String(node['name']);
  return node?.type === 'MemberExpression' ? `${calleeName(child(node, 'object'))}.${propertyKey(node) ?? '…'}` : '…';
}

function globalCallDrafts(name: string, args: AstNode[], scope: JsScope, line: number, constructed: boolean): Draft[] {
  if (name === 'eval' || name === 'Function') {
    return [{ kind: 'obfuscation', level: 'high', line, message: `runs code assembled at run time with ${constructed ? 'new ' : ''}${name}()` }];
  }
  if (name === 'fetch' || (constructed && ['WebSocket', 'EventSource'].includes(name))) return [networkDraft(jsHost(args, scope), `${constructed ? 'new ' : ''}${name}`, line)];
  return [];
}

function execDrafts(args: AstNode[], scope: JsScope, line: number, via: string): Draft[] {
  const first = staticText(args[0], scope);
  const list = unwrap(args[1])?.type === 'ArrayExpression' ? children(unwrap(args[1]), 'elements').map((element) => staticText(element, scope)) : [];
  const command = first?.complete ? [first.text, ...list.filter((part) => part?.complete).map((part) => part?.text)].join(' ') : undefined;
  const what = command ? `runs \`${clip(command)}\` on the host` : 'runs a command built at run time on the host';
  const draft: Draft = { kind: 'shell-exec', level: 'high', line, message: `${what} (${via})`, needs: 'exec:host', ...(command ? { command } : {}) };
  return [draft, ...(command ? shellLineDrafts(command, line) : [])];
}

/** The host of a request: from a URL string, a `{ host | hostname | url | baseURL }` object, or `net.connect(port, host)`. */
function jsHost(args: AstNode[], scope: JsScope, module?: string): string | undefined {
  const [first, second] = args.map(unwrap);
  if (first?.type === 'NumericLiteral' && /net|tls/.test(module ?? '')) return hostName(staticText(second, scope));
  if (first?.type === 'ObjectExpression') {
    for (const property of children(first, 'properties')) {
      const key = propertyKey(property);
      const value = staticText(child(property, 'value'), scope);
      if (key && ['url', 'baseURL'].includes(key)) return urlHost(value?.text ?? '', value?.complete);
      if (key && ['host', 'hostname'].includes(key)) return hostName(value);
    }
    return undefined;
  }
  const url = first?.type === 'NewExpression' && calleeTarget(child(first, 'callee'), scope)?.name === 'URL' ? children(first, 'arguments')[0] : first;
  const value = staticText(url, scope);
  return value ? urlHost(value.text, value.complete) : undefined;
}

function fsDrafts(name: string, args: AstNode[], scope: JsScope, line: number, via: string): Draft[] {
  if (FS_COPIES.includes(name)) return [pathDraft(args[0], name === 'rename' || name === 'move', scope, line, via), pathDraft(args[1], true, scope, line, via)];
  if (FS_READS.includes(name) || FS_WRITES.includes(name)) return [pathDraft(args[0], FS_WRITES.includes(name), scope, line, via)];
  return [];
}

function pathDraft(arg: AstNode | undefined, write: boolean, scope: JsScope, line: number, via: string): Draft {
  const verb = write ? 'writes' : 'reads';
  const value = staticText(arg, scope);
  const needs = write ? 'file:workspace:rw' : 'file:workspace:ro';
  if (!value?.text) return { kind: 'file-access', level: 'medium', line, message: `${verb} a file whose path is built at run time (${via})`, needs };
  const path = value.text.replace(/\\/g, '/');
  const shown = `${path}${value.complete ? '' : '…'}`;
  const outside = /^(?:~|\/|[A-Za-z]:\/)/.test(path) || /^\.\.(?:\/|$)/.test(posix.normalize(path));
  if (!outside) return { kind: 'file-access', level: 'medium', line, message: `${verb} ${shown} (${via})`, needs };
  const sensitive = isSensitivePath(path);
  const why = sensitive ? ', where credentials and system secrets live' : '';
  return { kind: 'file-outside', level: sensitive ? 'high' : 'medium', line, message: `${verb} ${shown} outside the skill folder${why} (${via}); no capability allows this` };
}

interface StaticText {
  text: string;
  /** False when only a prefix is known (a template or concatenation with a run-time part). */
  complete: boolean;
}

/**
 * The string an expression evaluates to, as far as it is known without running it. The home
 * folder (`os.homedir()`, `process.env.HOME`) reads as `~`; `__dirname` as the file's folder.
 */
function staticText(input: AstNode | undefined, scope: JsScope): StaticText | undefined {
  const node = unwrap(input);
  if (!node) return undefined;
  switch (node.type) {
    case 'StringLiteral':
      return { text: String(node['value']), complete: true };
    case 'TemplateLiteral':
      return joinParts(
        children(node, 'quasis').flatMap((quasi, index) => {
          const cooked = { text: String((quasi['value'] as { cooked?: string } | undefined)?.cooked ?? ''), complete: true };
          const expression = children(node, 'expressions')[index];
          return expression ? [cooked, staticText(expression, scope)] : [cooked];
        }),
      );
    case 'BinaryExpression':
      return node['operator'] === '+' ? joinParts([staticText(child(node, 'left'), scope), staticText(child(node, 'right'), scope)]) : undefined;
    case 'Identifier': {
      const name = String(node['name']);
      if (name === '__dirname') return { text: scope.folder, complete: true };
      const value = scope.strings.get(name);
      return value === undefined ? undefined : { text: value, complete: true };
    }
    case 'MemberExpression': {
      const key = propertyKey(node);
      if (isProcessEnv(child(node, 'object')) && (key === 'HOME' || key === 'USERPROFILE')) return { text: '~', complete: true };
      const meta = child(node, 'object')?.type === 'MetaProperty';
      return meta && key === 'dirname' ? { text: scope.folder, complete: true } : undefined;
    }
    case 'CallExpression': {
      const target = calleeTarget(child(node, 'callee'), scope);
      const role = roleOf(target?.module) ?? (target?.name === 'homedir' ? 'os' : undefined);
      if (role === 'os' && target?.name === 'homedir') return { text: '~', complete: true };
      if (role !== 'path' || !['join', 'resolve'].includes(target?.name ?? '')) return undefined;
      const parts = children(node, 'arguments').map((arg) => staticText(arg, scope));
      const joined = joinParts(parts.flatMap((part, index) => (index === 0 ? [part] : [{ text: '/', complete: true }, part])));
      return joined && { text: posix.normalize(joined.text), complete: joined.complete };
    }
    default:
      return undefined;
  }
}

/** Concatenates known parts; stops at the first unknown one (the prefix is what is known). */
function joinParts(parts: readonly (StaticText | undefined)[]): StaticText | undefined {
  let text = '';
  for (const [index, part] of parts.entries()) {
    if (!part) return index === 0 ? undefined : { text, complete: false };
    text += part.text;
    if (!part.complete) return { text, complete: false };
  }
  return { text, complete: true };
}

function isProcessEnv(input: AstNode | undefined): boolean {
  const node = unwrap(input);
  const object = child(node, 'object');
  return node?.type === 'MemberExpression' && object?.type === 'Identifier' && object['name'] === 'process' && propertyKey(node) === 'env';
}

function propertyKey(node: AstNode | undefined): string | undefined {
  const key = child(node, node?.type?.endsWith('MemberExpression') ? 'property' : 'key');
  if (key?.type === 'Identifier' && !node?.['computed']) return String(key['name']);
  return key?.type === 'StringLiteral' ? String(key['value']) : undefined;
}

/** Looks through `await`, parentheses and TypeScript casts. */
function unwrap(node: AstNode | undefined): AstNode | undefined {
  const wrappers = ['AwaitExpression', 'ParenthesizedExpression', 'TSAsExpression', 'TSNonNullExpression', 'TSSatisfiesExpression', 'TSTypeAssertion'];
  return node && wrappers.includes(node.type) ? unwrap(child(node, node.type === 'AwaitExpression' ? 'argument' : 'expression')) : node;
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function child(node: AstNode | undefined, key: string): AstNode | undefined {
  const value = node?.[key];
  return isNode(value) ? value : undefined;
}

function children(node: AstNode | undefined, key: string): AstNode[] {
  const value = node?.[key];
  return Array.isArray(value) ? value.filter(isNode) : [];
}

function lineOf(node: AstNode | undefined): number {
  return node?.loc?.start.line ?? 0;
}

// ---------------------------------------------------------------- shared helpers

function networkDraft(host: string | undefined, via: string, line: number): Draft {
  if (host === undefined) {
    return { kind: 'network', level: 'high', line, message: `makes network requests to a host chosen at run time (${via})`, needs: 'network:outbound' };
  }
  return { kind: 'network', level: 'high', line, message: `connects to ${host} (${via})`, needs: `${NETWORK_TOKEN}${host}` };
}

function secretEnvDraft(name: string, line: number): Draft {
  return { kind: 'secret', level: 'medium', line, message: `reads credential ${name} from the environment; check where it is sent` };
}

/** The host of a URL, or undefined when the text has no URL or the host is not fully known. */
function urlHost(text: string, complete = true): string | undefined {
  const match = /\b[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#\s"'`]*@)?(\[[^\]]*\]|[A-Za-z0-9.-]+)(?=([/:?#\s"'`]|$))/i.exec(text);
  if (!match?.[1] || (!complete && match.index + match[0].length === text.length)) return undefined;
  return match[1].toLowerCase();
}

function hostName(value: StaticText | undefined): string | undefined {
  return value?.complete && /^[A-Za-z0-9.-]+$/.test(value.text) ? value.text.toLowerCase() : undefined;
}

/** Credentials and system files: reading or writing them is high risk. */
function isSensitivePath(path: string): boolean {
  return /(?:^|\/)\.(?:ssh|gnupg|aws|azure|kube|docker|config\/gcloud|netrc|npmrc|pypirc|git-credentials|bash_history|zsh_history|hearth|openclaw)(?:\/|$)|(?:^|\/)\.env(?:\.|$)|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|credentials|^\/etc(?:\/|$)|^\/root(?:\/|$)|^\/proc(?:\/|$)|docker\.sock$|Keychains|\.pem$|\.key$/i.test(
    path,
  );
}

function allMatches(text: string, pattern: RegExp): RegExpMatchArray[] {
  return [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))];
}

/** Maps a character offset to its 1-based line. */
function lineFinder(text: string): (offset: number) => number {
  const starts = [0, ...allMatches(text, /\n/).map((match) => (match.index ?? 0) + 1)];
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((starts[middle] ?? 0) <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
}

function clip(text: string): string {
  const flat = text.trim().replace(/\s+/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}…` : flat;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
