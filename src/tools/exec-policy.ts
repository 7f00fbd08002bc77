import { parse } from 'shell-quote';

/** `tools.exec` as in effect for one agent (defaults filled in). */
export interface ExecPolicy {
  /** `deny`: no command runs (the tool is not offered); `allowlist`: only commands matching `allow`; `full`: any command, through the shell. */
  security: 'deny' | 'allowlist' | 'full';
  /** Command patterns for `allowlist`: words, `*` as the last word for any further words (`git status`, `npm test`, `ls *`). */
  allow: readonly string[];
  /** Time a command may run when the call does not ask for less, in ms. */
  timeoutMs: number;
  /** `workspace`: every command runs under bubblewrap, only the workspace writable (`exec-sandbox.ts`); `off`: on the host. */
  sandbox: 'off' | 'workspace';
  /** Whether a sandboxed command may use the network (with `sandbox: "off"` it always can). */
  network: boolean;
  /** When a command waits for the operator: `on-miss` instead of refusing an unlisted command under `allowlist`, `always` before every one. */
  ask: 'off' | 'on-miss' | 'always';
  /** How long an approval waits before it counts as denied, in ms. */
  askTimeoutMs: number;
}

/** How a command may run under the policy: through the shell, as words without one, or not at all (and which rule says so). */
export type ExecVerdict = { run: 'shell'; command: string } | { run: 'argv'; argv: string[] } | { run: 'refused'; rule: string; message: string };

/**
 * Applies `tools.exec` to a command. Under `allowlist` the command is split into words as a shell
 * would, and refused when it has anything a shell would act on besides words (`;`, `|`, `&&`,
 * redirections, `$(…)`, globs, variables): such a command could do more than its first words say.
 * An allowed command then runs without a shell, as exactly those words.
 */
export function judgeCommand(command: string, policy: ExecPolicy): ExecVerdict {
  if (policy.security === 'full') return { run: 'shell', command };
  if (policy.security === 'deny') {
    return { run: 'refused', rule: 'tools.exec.security', message: 'Commands are refused: tools.exec.security is "deny". The operator can set it to "allowlist" (with tools.exec.allow) or "full".' };
  }
  const words = plainWords(command);
  if (!words.ok) return { run: 'refused', rule: 'tools.exec.allow', message: `${words.reason} With tools.exec.security "allowlist", a command is plain words only: run one command at a time, without pipes, redirections, variables or globs.` };
  if (words.argv.length === 0) return { run: 'refused', rule: 'tools.exec.allow', message: 'The command is empty.' };
  const pattern = policy.allow.find((entry) => matchesPattern(entry, words.argv));
  if (!pattern) {
    const allowed = policy.allow.length > 0 ? `Allowed: ${policy.allow.map((entry) => JSON.stringify(entry)).join(', ')}.` : 'tools.exec.allow is empty.';
    return { run: 'refused', rule: 'tools.exec.allow', message: `"${words.argv.join(' ')}" matches no pattern of tools.exec.allow. ${allowed}` };
  }
  return { run: 'argv', argv: words.argv };
}

/**
 * Whether the operator must approve the command first (`tools.exec.ask`): before every command
 * with `always`; with `on-miss`, when the allowlist alone would refuse it. Never under `deny`.
 */
export function needsApproval(verdict: ExecVerdict, policy: ExecPolicy): boolean {
  if (policy.security === 'deny' || policy.ask === 'off') return false;
  if (policy.ask === 'always') return true;
  return verdict.run === 'refused' && verdict.rule === 'tools.exec.allow';
}

/**
 * How an approved command runs: as plain words without a shell when it is only words, else
 * through the shell (the operator saw it exactly as written); and the allowlist pattern "allow
 * always" would add (the words, when none has a space or is `*`), or null.
 */
export function approvedCommand(command: string, policy: ExecPolicy): { verdict: ExecVerdict; pattern: string | null } {
  const words = plainWords(command);
  if (!words.ok || words.argv.length === 0) return { verdict: { run: 'shell', command }, pattern: null };
  const simple = words.argv.every((word) => word !== '*' && !/\s/u.test(word));
  return {
    verdict: policy.security === 'full' ? { run: 'shell', command } : { run: 'argv', argv: words.argv },
    pattern: simple && policy.security === 'allowlist' && policy.ask === 'on-miss' ? words.argv.join(' ') : null,
  };
}

export function plainWords(command: string): { ok: true; argv: string[] } | { ok: false; reason: string } {
  if (/[\n\r\0]/u.test(command)) return { ok: false, reason: 'The command has a line break or NUL byte.' };
  const found: string[] = [];
  // Variables are left as they are written, so `$HOME` stays a word with a `$` in it and is refused below.
  for (const token of parse(command, (name) => `$${name}`)) {
    if (typeof token !== 'string') {
      const what = 'op' in token ? (token.op === 'glob' ? `the glob ${JSON.stringify(token.pattern)}` : `"${token.op}"`) : 'a comment';
      return { ok: false, reason: `The command has ${what}.` };
    }
    if (token.includes('$') || token.includes('`')) return { ok: false, reason: `The word ${JSON.stringify(token)} has a "$" or a backquote.` };
    found.push(token);
  }
  return { ok: true, argv: found };
}

/** A pattern's words must equal the command's; a last word `*` stands for one or more further words. */
export function matchesPattern(pattern: string, argv: readonly string[]): boolean {
  const words = pattern.trim().split(/\s+/u);
  const open = words.at(-1) === '*';
  const fixed = open ? words.slice(0, -1) : words;
  if (open ? argv.length <= fixed.length : argv.length !== fixed.length) return false;
  return fixed.every((word, at) => word === argv[at]);
}
