import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createAgentDirectory } from '../agent/agent-directory.js';
import type { HearthConfig } from '../config/schema.js';
import { isHearthError } from '../contracts/errors.js';
import type { AuditFinding, AuditReport } from '../skills/skill-audit.js';
import { createSkillCatalog, type SkillEntry, skillSummary } from '../skills/skill-catalog.js';
import { readSkillDocument } from '../skills/skill-file.js';
import { installStagedSkill, removeInstalledSkill, stageSkill } from '../skills/skill-install.js';
import { generateSigningKey, signSkill } from '../skills/skill-manifest.js';
import { CliFailure, type CliRuntime, gatewayTarget } from './cli-context.js';

interface SkillsContext {
  config: HearthConfig;
  installedDir: string;
  catalog: ReturnType<typeof createSkillCatalog>;
  agent(id?: string): { id: string; workspaceDir: string; skills?: string[] };
}

/** The skills as this machine's config sees them; no gateway needed. */
function skillsContext(runtime: CliRuntime): SkillsContext {
  const { paths, config } = gatewayTarget(runtime.env);
  const installedDir = join(paths.home, 'skills');
  const directory = createAgentDirectory(config, { workspacesDir: paths.workspacesDir, home: paths.home });
  return {
    config,
    installedDir,
    catalog: createSkillCatalog({ installedDir, settings: () => config.skills, env: runtime.env as NodeJS.ProcessEnv }),
    agent(id) {
      const agent = directory.get(id ?? directory.defaultAgentId);
      if (!agent) throw new CliFailure(`There is no agent "${id}". Agents: ${directory.list().map((item) => item.id).join(', ')}.`);
      return agent;
    },
  };
}

const print = (runtime: CliRuntime, value: unknown) => runtime.io.out(`${JSON.stringify(value, null, 2)}\n`);

function shown(entry: SkillEntry) {
  const { disabled: _disabled, ...summary } = skillSummary(entry);
  return summary;
}

/** `hearth skills list [--agent <id>] [--json]` */
export async function skillsList(runtime: CliRuntime, options: { agent?: string; json?: boolean }): Promise<void> {
  const context = skillsContext(runtime);
  const agent = context.agent(options.agent);
  const entries = await context.catalog.list(agent);
  if (options.json) return print(runtime, entries.map(shown));
  if (entries.length === 0) {
    runtime.io.out(`No skills for agent "${agent.id}". Put one in ${join(agent.workspaceDir, 'skills')}/<name>/SKILL.md, or install one with hearth skills install <dir>.\n`);
    return;
  }
  for (const entry of entries) {
    const trust = entry.signed ? `signed by ${entry.signed.keyName}` : 'unsigned';
    const state = entry.ineligible === null ? 'ready' : `not usable: ${entry.ineligible}`;
    runtime.io.out(`${entry.name}  (${entry.source}, ${trust})  ${state}\n  ${entry.description}\n`);
    if (entry.ineligible === null && entry.document.capabilities === null) runtime.io.out('  declares no capabilities: while it is active, no tool but skill and current_time runs\n');
  }
}

/** `hearth skills info <name> [--agent <id>] [--json]` */
export async function skillsInfo(runtime: CliRuntime, name: string, options: { agent?: string; json?: boolean }): Promise<void> {
  const context = skillsContext(runtime);
  const entry = (await context.catalog.list(context.agent(options.agent))).find((item) => item.name === name);
  if (!entry) throw new CliFailure(`There is no skill "${name}" (hearth skills list shows them).`);
  if (options.json) return print(runtime, { ...shown(entry), requires: entry.document.requires, os: entry.document.os, always: entry.document.always, disabled: entry.disabled, instructions: entry.document.body });
  const lines = [
    `${entry.name}: ${entry.description}`,
    `Folder        ${entry.dir} (${entry.source})`,
    `Signature     ${entry.signed ? `signed by ${entry.signed.keyName}, version ${entry.signed.version}` : entry.disabled ? `INVALID: ${entry.disabled.map((problem) => problem.message).join('; ')}` : 'unsigned'}`,
    `Capabilities  ${entry.document.capabilities?.join(', ') || 'none declared'}`,
    `Requires      ${[...entry.document.requires.bins.map((bin) => `program ${bin}`), ...entry.document.requires.env.map((variable) => `$${variable}`)].join(', ') || 'nothing'}${entry.document.always ? ' (always: gating skipped)' : ''}`,
    `Usable        ${entry.ineligible === null ? 'yes' : `no: ${entry.ineligible}`}`,
  ];
  runtime.io.out(`${lines.join('\n')}\n`);
}

function describeFinding(finding: AuditFinding): string {
  const where = finding.line > 0 ? `${finding.file}:${finding.line}` : finding.file;
  const need = finding.needs ? ` [needs ${finding.needs}${finding.declared ? ', declared' : finding.declared === false ? ', NOT declared' : ''}]` : '';
  return `  ${finding.level.toUpperCase().padEnd(6)} ${where}  ${finding.message}${need}`;
}

function printReport(runtime: CliRuntime, report: AuditReport, target: string): void {
  runtime.io.out(`Risk report for ${report.skill ?? target}: ${report.risk === 'none' ? 'nothing found' : `${report.risk} risk`} (${report.filesScanned} files; declares ${report.declared.join(', ') || 'no capabilities'})\n`);
  for (const finding of report.findings) runtime.io.out(`${describeFinding(finding)}\n`);
}

/** `hearth skills audit <dir|name> [--json]`: exits 1 on a high finding. */
export async function skillsAudit(runtime: CliRuntime, target: string, options: { json?: boolean }): Promise<void> {
  const context = skillsContext(runtime);
  const installed = join(context.installedDir, target);
  const dir = /^[a-z0-9][a-z0-9_-]{0,63}$/u.test(target) && (await readSkillDocument(installed, target)) ? installed : resolve(target);
  const { auditSkill } = await import('../skills/skill-audit.js');
  const report = await auditSkill(dir);
  if (options.json) print(runtime, report);
  else printReport(runtime, report, target);
  if (report.risk === 'high') throw new CliFailure('The skill has high-risk findings (above).');
}

/** `hearth skills install <dir|archive> [--force] [--accept-risk] [--json]` */
export async function skillsInstall(runtime: CliRuntime, source: string, options: { force?: boolean; acceptRisk?: boolean; json?: boolean }): Promise<void> {
  const context = skillsContext(runtime);
  const staged = await stageSkill(source, context.config.skills).catch((error: unknown) => {
    throw new CliFailure(isHearthError(error) ? error.message : String(error));
  });
  try {
    const { auditSkill } = await import('../skills/skill-audit.js');
    const report = await auditSkill(staged.dir);
    if (!options.json) printReport(runtime, report, source);
    if (report.risk === 'high' && !options.acceptRisk) {
      throw new CliFailure(`${staged.document.name} was not installed: the risk report has high findings. Read them; install anyway with --accept-risk.`);
    }
    const target = await installStagedSkill(staged, context.installedDir, { replace: options.force === true, source: resolve(source) }).catch((error: unknown) => {
      throw new CliFailure(isHearthError(error) ? error.message : String(error));
    });
    const trust = staged.keyName ? `signed by ${staged.keyName}` : 'UNSIGNED (developer mode: its folder is in skills.allowUnsigned)';
    if (options.json) return print(runtime, { installed: staged.document.name, dir: target, signedBy: staged.keyName, version: staged.version, risk: report.risk, findings: report.findings });
    runtime.io.out(`Installed ${staged.document.name} (${trust}) in ${target}. A running gateway uses it from its next turn.\n`);
  } finally {
    await staged.cleanup();
  }
}

/** `hearth skills remove <name>` */
export async function skillsRemove(runtime: CliRuntime, name: string, options: { json?: boolean }): Promise<void> {
  const context = skillsContext(runtime);
  const removed = await removeInstalledSkill(context.installedDir, name);
  if (!removed) throw new CliFailure(`No installed skill "${name}" in ${context.installedDir}.`);
  if (options.json) return print(runtime, { removed: name });
  runtime.io.out(`Removed ${name}.\n`);
}

/** `hearth skills verify [name] [--json]`: exits 1 when an installed skill fails. */
export async function skillsVerify(runtime: CliRuntime, name: string | undefined, options: { json?: boolean }): Promise<void> {
  const context = skillsContext(runtime);
  const results = (await context.catalog.verifyInstalled()).filter((result) => name === undefined || result.name === name);
  if (name !== undefined && results.length === 0) throw new CliFailure(`No installed skill "${name}" in ${context.installedDir}.`);
  if (options.json) print(runtime, results.map(({ name: skill, dir, ok, problems }) => ({ name: skill, dir, ok, problems })));
  else if (results.length === 0) runtime.io.out('No installed skills.\n');
  else {
    for (const result of results) {
      runtime.io.out(result.ok ? `${result.name}: ok\n` : `${result.name}: DISABLED\n${result.problems.map((problem) => `  - ${problem.message}\n`).join('')}`);
    }
  }
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) throw new CliFailure(`${failed.length} installed skill(s) failed verification and will not load: ${failed.map((result) => result.name).join(', ')}.`);
}

/** `hearth skills sign <dir> --key <file> [--version <v>]` */
export async function skillsSign(runtime: CliRuntime, dir: string, options: { key: string; bundleVersion?: string; json?: boolean }): Promise<void> {
  const document = await readSkillDocument(resolve(dir), 'skill');
  if (!document) throw new CliFailure(`${dir} has no SKILL.md.`);
  if (document.problems.length > 0) throw new CliFailure(`${dir}: SKILL.md is not usable: ${document.problems.join('; ')}`);
  const manifest = await signSkill(resolve(dir), document.name, options.bundleVersion ?? document.version ?? '1.0.0', resolve(options.key)).catch((error: unknown) => {
    throw new CliFailure(`Could not sign ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (options.json) return print(runtime, manifest);
  runtime.io.out(`Signed ${document.name} ${manifest.version}: ${Object.keys(manifest.files).length} files listed in ${join(dir, 'skill.manifest.json')}.\n`);
}

/** `hearth skills keygen --name <n> --out <dir>` */
export async function skillsKeygen(runtime: CliRuntime, options: { name: string; out: string; json?: boolean }): Promise<void> {
  if (!/^[A-Za-z0-9_-]{1,64}$/u.test(options.name)) throw new CliFailure('--name is letters, digits, _ and - (it names the key files and the trusted key).');
  await mkdir(resolve(options.out), { recursive: true });
  const made = await generateSigningKey(options.name, resolve(options.out)).catch((error: unknown) => {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new CliFailure(exists ? `${options.name}.key or ${options.name}.pub already exists in ${options.out}; keys are never overwritten.` : String(error));
  });
  const line = `skills: { trustedKeys: { "${options.name}": "${made.publicKey}" } }`;
  if (options.json) return print(runtime, { ...made, configLine: line });
  runtime.io.out(`Wrote ${made.keyFile} (private: keep it secret, 0600) and ${made.pubFile}.\nTo trust skills signed with it, add to hearth.json5:\n  ${line}\n`);
}
