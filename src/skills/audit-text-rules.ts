/**
 * The audit's text rules: hard-coded secrets, encoded blobs and hidden characters in every text
 * file; prompt injection in prose; risky commands in shell scripts and Python, read line by line.
 * Nothing is run. Each rule returns drafts that `skill-audit.ts` ties to their file.
 */
import { type Draft, isRecord, NETWORK_TOKEN, type RiskLevel, safeJson } from './audit-types.js';

// ---------------------------------------------------------------- every text file

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
/** Environment variable names that hold credentials. */
export const SECRET_NAME = /TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|AUTH/i;
const INVISIBLE = /[\u200B\u200C\u2060-\u2064\u180E\u202A-\u202E\u2066-\u2069]|(?!^)\uFEFF|[\u{E0000}-\u{E007F}]/u;

/** Hard-coded secrets, encoded blobs and invisible characters: checked in every text file. */
export function commonDrafts(text: string, code: boolean): Draft[] {
  return text.split(/\r?\n/).flatMap((line, index) => {
    const drafts = secretDrafts(line, index + 1);
    const blob = blobDraft(line, index + 1);
    if (blob) drafts.push(blob);
    if (INVISIBLE.test(line)) drafts.push(invisibleDraft(line, index + 1, code));
    return drafts;
  });
}

/** One finding per secret on the line; a match inside (or around) one already found is the same secret. */
function secretDrafts(line: string, number: number): Draft[] {
  const drafts: Draft[] = [];
  const found: string[] = [];
  for (const rule of SECRET_RULES) {
    for (const match of allMatches(line, rule.pattern)) {
      const value = match[rule.group ?? 0] ?? '';
      if (found.some((secret) => secret.includes(value) || value.includes(secret))) continue;
      if (rule.group !== undefined && (NOT_A_SECRET.test(value) || /^[A-Z0-9_]+$/.test(value))) continue;
      found.push(value);
      const shown = rule.preview === false ? '' : ` "${value.slice(0, 4)}…" (${value.length} characters)`;
      const message = `hard-coded ${rule.label}${shown}; anyone who gets the skill gets the credential`;
      drafts.push({ kind: 'secret', level: 'high', line: number, message });
    }
  }
  return drafts;
}

function blobDraft(line: string, number: number): Draft | undefined {
  const blob = /(?<![A-Za-z0-9+/]|data:[\w/+.-]+;base64,)[A-Za-z0-9+/]{200,}={0,2}|(?:\\x[0-9a-fA-F]{2}){100,}/.exec(line)?.[0];
  if (!blob) return undefined;
  const kind = /^[0-9a-fA-F]+$/.test(blob) || blob.startsWith('\\x') ? 'hex' : 'base64';
  const message = `a ${blob.length}-character ${kind} blob; encoded payloads hide what the skill really does`;
  return { kind: 'obfuscation', level: 'medium', line: number, message };
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
export function redact(message: string): string {
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

/** Prompt-injection phrases and hidden comments of markdown and text files (their code is checked by `skill-audit.ts`). */
export function proseDrafts(text: string): Draft[] {
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
  return drafts;
}

/** A fenced code block of a markdown file. */
export interface CodeBlock {
  language: string;
  /** Line of the block's first content line. */
  line: number;
  text: string;
}

/** Inline code spans outside fences that look like command lines (`curl … | sh`): the agent may run them. */
export function inlineCommandDrafts(text: string): Draft[] {
  let fenced = false;
  return text.split(/\r?\n/).flatMap((line, index) => {
    if (/^\s{0,3}(?:`{3,}|~{3,})/.test(line)) fenced = !fenced;
    if (fenced) return [];
    const spans = allMatches(line, /(?<!`)`([^`\n]+)`(?!`)/).map((match) => match[1] ?? '');
    return spans.filter((span) => /\S\s+\S/.test(span)).flatMap((span) => shellLineDrafts(span, index + 1));
  });
}

/** The fenced code blocks of a markdown file; one left open runs to the end of the file. */
export function codeBlocks(text: string): CodeBlock[] {
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

// ---------------------------------------------------------------- package.json

/** The install hooks of a package.json: each one runs a command when the package is installed. */
export function packageJsonDrafts(text: string): Draft[] {
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

/** The shell rules, one command line at a time; `startLine` is the line of the text's first line. */
export function shellDrafts(text: string, startLine: number): Draft[] {
  return logicalLines(text, stripShellComment).flatMap(({ line, code }) => shellLineDrafts(code, line + startLine - 1));
}

/** The rules for one shell command line; also used for command strings found in JS and Python. */
export function shellLineDrafts(code: string, line: number): Draft[] {
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

/** The Python rules, line by line; `startLine` is the line of the text's first line (a markdown code block starts later). */
export function pythonDrafts(text: string, startLine: number): Draft[] {
  const lines = pythonCode(text);
  return lines.flatMap((code, index) => {
    if (!code.trim()) return [];
    const line = index + startLine;
    // a call's arguments may go on over the next lines: the rules see up to five of them
    const tail = (from: number): string => [code.slice(from), ...lines.slice(index + 1, index + 6)].join(' ');
    const drafts = pythonRuleDrafts(code, line, tail);
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

/** The PYTHON_RULES for one line; a literal command it runs is also checked with the shell rules. */
function pythonRuleDrafts(code: string, line: number, tail: (from: number) => string): Draft[] {
  const drafts: Draft[] = [];
  for (const rule of PYTHON_RULES) {
    const match = rule.pattern.exec(code);
    if (!match) continue;
    const command = rule.kind === 'shell-exec' ? pythonCommand(tail(match.index + match[0].length)) : undefined;
    const shown = command ? `: \`${clip(command)}\`` : ` (${match[0].trim().replace(/[\s(]+$/, '')})`;
    drafts.push({ kind: rule.kind, level: rule.level, line, message: `${rule.what}${shown}`, ...(rule.needs ? { needs: rule.needs } : {}), ...(command ? { command } : {}) });
    if (command) for (const draft of shellLineDrafts(command, line)) drafts.push(draft);
  }
  return drafts;
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

// ---------------------------------------------------------------- shared helpers

export function networkDraft(host: string | undefined, via: string, line: number): Draft {
  if (host === undefined) {
    return { kind: 'network', level: 'high', line, message: `makes network requests to a host chosen at run time (${via})`, needs: 'network:outbound' };
  }
  return { kind: 'network', level: 'high', line, message: `connects to ${host} (${via})`, needs: `${NETWORK_TOKEN}${host}` };
}

export function secretEnvDraft(name: string, line: number): Draft {
  return { kind: 'secret', level: 'medium', line, message: `reads credential ${name} from the environment; check where it is sent` };
}

/** The host of a URL, or undefined when the text has no URL or the host is not fully known. */
export function urlHost(text: string, complete = true): string | undefined {
  const match = /\b[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#\s"'`]*@)?(\[[^\]]*\]|[A-Za-z0-9.-]+)(?=([/:?#\s"'`]|$))/i.exec(text);
  if (!match?.[1] || (!complete && match.index + match[0].length === text.length)) return undefined;
  return match[1].toLowerCase();
}

/** Credentials and system files: reading or writing them is high risk. */
export function isSensitivePath(path: string): boolean {
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

/** One line of at most 120 characters, for showing a command in a message. */
export function clip(text: string): string {
  const flat = text.trim().replace(/\s+/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}…` : flat;
}
