import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createAgentDirectory } from '../agent/agent-directory.js';
import { resolveChannelAccounts } from '../channels/channel-accounts.js';
import type { HearthPaths } from '../config/paths.js';
import type { HearthConfig } from '../config/schema.js';
import { createSkillCatalog, type SkillEntry } from '../skills/skill-catalog.js';

export type SecurityLevel = 'info' | 'medium' | 'high';

/** One thing `hearth security audit` found: what, where, why it matters and how to fix it. */
export interface SecurityFinding {
  /** A stable id of the check, e.g. `exec.host-full`, `files.credentials-readable`. */
  check: string;
  level: SecurityLevel;
  /** The setting, file or skill it is about. */
  subject: string;
  message: string;
  fix: string;
  /** True when `--fix` changed it. */
  fixed?: boolean;
}

export interface SecurityReport {
  findings: SecurityFinding[];
  high: number;
  medium: number;
}

interface AuditInput {
  config: HearthConfig;
  /** The config file's text (to find credentials written in clear), or null when there is none. */
  configText: string | null;
  paths: HearthPaths;
  env: NodeJS.ProcessEnv;
  fix: boolean;
}

/** Names of settings that hold a credential. */
const CREDENTIAL_KEY = /^(api_?key|token|bot_?token|app_?token|signing_?secret|secret|password|client_?secret)$/iu;

/** `key: "literal"` pairs in JSON5 text whose key names a credential and whose value is not a ${VAR} reference. */
function clearCredentials(text: string): string[] {
  const found: string[] = [];
  const pair = /["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*:\s*(["'])((?:(?!\2).){6,})\2/gu;
  for (const match of text.matchAll(pair)) {
    if (CREDENTIAL_KEY.test(match[1]!) && !match[3]!.includes('${')) found.push(match[1]!);
  }
  return found;
}

function execFindings(config: HearthConfig, paths: HearthPaths): SecurityFinding[] {
  const directory = createAgentDirectory(config, { workspacesDir: paths.workspacesDir, home: paths.home });
  const findings: SecurityFinding[] = [];
  for (const agent of directory.list()) {
    const exec = agent.exec;
    if (!exec || exec.security === 'deny') continue;
    const subject = `agents.${agent.id}.tools.exec`;
    if (exec.security === 'full' && exec.sandbox === 'off' && exec.ask === 'off') {
      findings.push({ check: 'exec.host-full', level: 'high', subject, message: 'any command the model chooses runs on this machine as your user, without asking', fix: 'set tools.exec.sandbox to "workspace", or security to "allowlist", or ask to "always"' });
    } else if (exec.sandbox === 'off') {
      findings.push({ check: 'exec.host', level: 'medium', subject, message: `commands run on this machine without the sandbox (security "${exec.security}")`, fix: 'set tools.exec.sandbox to "workspace" (needs bubblewrap)' });
    }
    if (exec.sandbox === 'workspace' && exec.network) findings.push({ check: 'exec.sandbox-network', level: 'info', subject, message: 'sandboxed commands may use the network', fix: 'set tools.exec.network to false unless the commands need it' });
  }
  return findings;
}

function channelFindings(config: HearthConfig): SecurityFinding[] {
  return resolveChannelAccounts(config.channels)
    .filter((account) => account.enabled && account.routing.dmPolicy === 'open')
    .map((account) => ({
      check: 'channels.open-dm',
      level: 'medium' as const,
      subject: `channels.${account.platform}${account.accountId === 'default' ? '' : `.accounts.${account.accountId}`}.dmPolicy`,
      message: `anyone who finds the bot on ${account.platform} can talk to your agent (dmPolicy "open")`,
      fix: 'use dmPolicy "pairing" (unknown senders need your approval) or "allowlist"',
    }));
}

function gatewayFindings(config: HearthConfig, env: NodeJS.ProcessEnv): SecurityFinding[] {
  if (config.gateway.bind === 'loopback' || config.gateway.bind === '127.0.0.1' || config.gateway.bind === '::1') return [];
  const token = env.HEARTH_GATEWAY_TOKEN ?? config.gateway.auth.token;
  const weak = token !== undefined && token.length < 24;
  return [
    {
      check: weak ? 'gateway.weak-token' : 'gateway.network-bind',
      level: weak ? 'high' : 'medium',
      subject: 'gateway.bind',
      message: weak ? `the gateway listens on ${config.gateway.bind} with a short token (${token.length} characters): it can be guessed` : `the gateway listens on ${config.gateway.bind}: anyone on that network can try its token`,
      fix: weak ? 'remove gateway.auth.token (a long one is generated in credentials/gateway-token) or use 32+ random characters' : 'keep bind "loopback" unless other machines need it; put it behind a VPN',
    },
  ];
}

/** Group- or world-accessible state and credentials; with `fix`, tightened to the owner only. */
async function permissionFindings(paths: HearthPaths, fix: boolean): Promise<SecurityFinding[]> {
  const targets: { path: string; mode: number; level: SecurityLevel; what: string }[] = [
    { path: paths.credentialsDir, mode: 0o700, level: 'high', what: 'the credentials folder' },
    { path: paths.stateDir, mode: 0o700, level: 'medium', what: 'the state folder (conversations, memory)' },
    { path: paths.configPath, mode: 0o600, level: 'medium', what: 'the config file' },
  ];
  try {
    for (const name of await readdir(paths.credentialsDir)) targets.push({ path: join(paths.credentialsDir, name), mode: 0o600, level: 'high', what: `the credential ${name}` });
  } catch {
    // No credentials yet.
  }
  const findings: SecurityFinding[] = [];
  for (const target of targets) {
    const info = await stat(target.path).catch(() => null);
    if (!info || (info.mode & 0o077) === 0) continue;
    const finding: SecurityFinding = {
      check: 'files.permissions',
      level: target.level,
      subject: target.path,
      message: `${target.what} can be read by other users (mode ${(info.mode & 0o777).toString(8)})`,
      fix: `chmod ${target.mode.toString(8)} ${target.path} (hearth security audit --fix does it)`,
    };
    if (fix) {
      await chmod(target.path, target.mode);
      finding.fixed = true;
    }
    findings.push(finding);
  }
  return findings;
}

async function skillFindings(config: HearthConfig, paths: HearthPaths, env: NodeJS.ProcessEnv): Promise<SecurityFinding[]> {
  const catalog = createSkillCatalog({ installedDir: join(paths.home, 'skills'), settings: () => config.skills, env });
  const findings: SecurityFinding[] = [];
  for (const result of await catalog.verifyInstalled()) {
    if (result.ok) continue;
    const unsigned = result.problems.every((problem) => problem.kind === 'unsigned');
    findings.push({
      check: unsigned ? 'skills.unsigned' : 'skills.verification',
      level: unsigned ? 'medium' : 'high',
      subject: result.dir,
      message: unsigned ? `installed skill "${result.name}" is unsigned (developer mode)` : `installed skill "${result.name}" failed verification and is disabled: ${result.problems.map((problem) => problem.message).join('; ')}`,
      fix: unsigned ? 'sign it and install it again, or remove it (hearth skills remove)' : 'reinstall it from its signed bundle, or remove it (hearth skills remove)',
    });
  }
  for (const dir of config.skills.allowUnsigned) {
    findings.push({ check: 'skills.allow-unsigned', level: 'medium', subject: 'skills.allowUnsigned', message: `unsigned skills from ${dir} may be installed (developer mode)`, fix: 'remove the entry when you are done writing the skill' });
  }
  const { auditSkill } = await import('../skills/skill-audit.js');
  const seen = new Set<string>();
  const directory = createAgentDirectory(config, { workspacesDir: paths.workspacesDir, home: paths.home });
  for (const agent of directory.list()) {
    for (const entry of await catalog.list(agent)) {
      if (seen.has(entry.dir) || entry.disabled) continue;
      seen.add(entry.dir);
      findings.push(...undeclaredUses(entry, await auditSkill(entry.dir)));
    }
  }
  return findings;
}

/** The uses a skill's files show that its capabilities do not declare. */
function undeclaredUses(entry: SkillEntry, report: Awaited<ReturnType<typeof import('../skills/skill-audit.js')['auditSkill']>>): SecurityFinding[] {
  const undeclared = report.findings.filter((finding) => finding.level === 'high' || (finding.needs !== undefined && finding.declared === false));
  if (undeclared.length === 0) return [];
  const first = undeclared.slice(0, 5).map((finding) => `${finding.file}:${finding.line} ${finding.message}`);
  return [
    {
      check: 'skills.risk',
      level: undeclared.some((finding) => finding.level === 'high') ? 'high' : 'medium',
      subject: entry.dir,
      message: `skill "${entry.name}" (${entry.source}) does more than it declares: ${first.join('; ')}${undeclared.length > 5 ? `; and ${undeclared.length - 5} more` : ''}`,
      fix: `read hearth skills audit ${entry.dir}; remove the skill or declare what it needs`,
    },
  ];
}

async function pluginFindings(paths: HearthPaths): Promise<SecurityFinding[]> {
  const quarantine = join(paths.home, 'plugins', '.quarantine');
  const entries = await readdir(quarantine).catch(() => [] as string[]);
  const findings: SecurityFinding[] = [];
  for (const name of entries) {
    const text = await readFile(join(quarantine, name, 'reason.txt'), 'utf8').catch(() => '');
    const reason = text.split('\n').find((line) => line.startsWith('Reason: '))?.slice('Reason: '.length) ?? text.split('\n')[0] ?? '';
    findings.push({ check: 'plugins.quarantined', level: 'medium', subject: join(quarantine, name), message: `a plugin was disabled and quarantined${reason ? `: ${reason}` : ''}`, fix: 'fix or remove the plugin; delete its quarantined folder when done' });
  }
  return findings;
}

/**
 * `hearth security audit`: the settings and files that expose the owner — commands on the host,
 * open DMs, a network bind, readable credentials, credentials in clear, unsigned or changed
 * skills and skills doing more than they declare, quarantined plugins. `fix` tightens file
 * permissions; everything else says how to fix it.
 */
export async function runSecurityAudit(input: AuditInput): Promise<SecurityReport> {
  const clear = input.configText ? clearCredentials(input.configText) : [];
  const findings: SecurityFinding[] = [
    ...execFindings(input.config, input.paths),
    ...channelFindings(input.config),
    ...gatewayFindings(input.config, input.env),
    ...(clear.length > 0
      ? [{ check: 'config.clear-credentials', level: 'medium' as const, subject: input.paths.configPath, message: `credentials are written in the config file in clear (${[...new Set(clear)].join(', ')})`, fix: 'use ${VARIABLE} references and keep the values in the environment, or hearth channels login for channel tokens' }]
      : []),
    ...(await permissionFindings(input.paths, input.fix)),
    ...(await skillFindings(input.config, input.paths, input.env)),
    ...(await pluginFindings(input.paths)),
  ];
  const order: Record<SecurityLevel, number> = { high: 0, medium: 1, info: 2 };
  findings.sort((a, b) => order[a.level] - order[b.level]);
  const open = findings.filter((finding) => !finding.fixed);
  return { findings, high: open.filter((finding) => finding.level === 'high').length, medium: open.filter((finding) => finding.level === 'medium').length };
}
