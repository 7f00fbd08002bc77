import type * as CommanderModule from 'commander';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { isHearthError } from '../contracts/errors.js';
import { addChannelCommands, addMessageCommand } from './channel-commands.js';
import { CliFailure, type CliRuntime } from './cli-context.js';
import { GatewayUnreachable } from './gateway-client.js';

export { CliFailure, type CliRuntime, EXIT_CONFIG, EXIT_STORE_DAMAGED } from './cli-context.js';

const commander = () => loadCommonJs('commander') as typeof CommanderModule;

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliFailure(`--port must be a whole number from 0 to 65535, not "${value}".`);
  return port;
}

/**
 * `hearth gateway` with nothing but `--port <n>` and `--bind <address>` needs no command-line
 * parser: it starts without loading commander and the other commands' definitions. Any other
 * form (help, `--port=n`, a subcommand, an unknown flag) returns null and goes through commander.
 */
export function plainGatewayArgs(args: readonly string[]): { port?: number; bind?: string } | null {
  if (args[0] !== 'gateway') return null;
  const options: { port?: number; bind?: string } = {};
  for (let index = 1; index < args.length; index += 2) {
    const flag = args[index];
    const value = args[index + 1];
    if ((flag !== '--port' && flag !== '--bind') || value === undefined || value.startsWith('-')) return null;
    if (flag === '--port') options.port = parsePort(value);
    else options.bind = value;
  }
  return options;
}

export function buildProgram(runtime: CliRuntime): CommanderModule.Command {
  const { Command } = commander();
  const program = new Command('hearth')
    .description('Hearth: a local-first personal AI agent gateway')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .exitOverride();

  // Help lists the commands in the order they are added here.
  addGatewayCommands(program, runtime);
  addSessionCommands(program, runtime);
  addChannelCommands(program, runtime);
  addAlertsCommand(program, runtime);
  addApprovalCommands(program, runtime);
  addTaskCommands(program, runtime);
  addSkillCommands(program, runtime);
  addSecurityCommand(program, runtime);
  addPluginsCommand(program, runtime);
  addMessageCommand(program, runtime);
  addDoctorCommand(program, runtime);
  addRunCommands(program, runtime);
  addMemoryCommands(program, runtime);
  addCronCommands(program, runtime);
  addLogsCommand(program, runtime);
  addConfigCommands(program, runtime);
  addUsageCommand(program, runtime);
  addServiceCommands(program, runtime);
  addStateCommands(program, runtime);
  addImportCommands(program, runtime);
  addClusterCommands(program, runtime);
  return program;
}

/** `hearth gateway`, `hearth gateway token`, `hearth status` */
function addGatewayCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const gateway = program
    .command('gateway')
    .summary('run the gateway in the foreground')
    .description('run the gateway in the foreground; SIGTERM or Ctrl-C drains running turns and exits 0, an invalid config exits 78, a damaged state database exits 65')
    .option('--port <port>', 'port to listen on (default: gateway.port, 18789)', parsePort)
    .option('--bind <bind>', 'loopback, lan, or an IP address (default: gateway.bind, loopback)')
    .action(async (options: { port?: number; bind?: string }) => {
      const { runGateway } = await import('./gateway-command.js');
      await runGateway(runtime, options);
    });
  gateway
    .command('token')
    .description('print the gateway token (creating it if needed)')
    .action(async () => {
      const { printToken } = await import('./gateway-command.js');
      printToken(runtime);
    });

  program
    .command('models')
    .summary('check the configured models')
    .description('check the configured models')
    .command('probe [ref]')
    .description('send each configured model (every agent\'s model and fallbacks, then each models.providers.<id>.models entry), or only <ref> (provider/model), one tiny request; report latency, or the error class (PROVIDER_AUTH, PROVIDER_RATE_LIMITED, PROVIDER_OVERLOADED, CONTEXT_OVERFLOW, PROVIDER_TIMEOUT, NO_MODEL…) when it did not answer; exits 1 if any failed; needs no running gateway')
    .option('--json', 'print JSON')
    .option('--timeout <ms>', 'the longest wait for each model, in milliseconds', '15000')
    .action(async (ref: string | undefined, options: { json?: boolean; timeout: string }) => {
      const { runModelsProbe } = await import('./models-command.js');
      await runModelsProbe(runtime, ref, options);
    });

  program
    .command('status')
    .summary('show what the running gateway is doing')
    .description('show what the running gateway is doing: version, uptime, config state (including a rejected edit), the state database (down after a failed read or write, with the error), state set aside because it failed its schema (.quarantine/ files, skipped rows), models (degraded after a failed call or while a provider\'s breaker is open), each model provider (breaker state, last answer, last failure), agents, running and queued turns (and per provider), channel accounts, today\'s spend per agent, cron health, retention (how long each kind of state is kept, the last pass and what it removed, the next), backups (target, schedule, the last backup or failure, the next), heartbeats and the latest operator alerts')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { runStatus } = await import('./status-command.js');
      await runStatus(runtime, options);
    });
}

/** `hearth chat` and `hearth sessions …` */
function addSessionCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('chat')
    .summary('chat with the default agent in the terminal, through the gateway')
    .description('chat with the default agent in the terminal, through the gateway; replies stream, /reset starts over, /exit quits, Ctrl-C stops a reply')
    .option('--session <key>', 'session key (default: the agent main session)')
    .option('--agent <id>', 'agent id')
    .option('--model <ref>', 'one of the agent\'s models (provider/model) for this chat, instead of its primary')
    .option('--markdown', 'render replies as Markdown even when stdout is not a terminal')
    .option('--no-markdown', 'print replies as written (the default when stdout is not a terminal or NO_COLOR is set)')
    .action(async (options: import('./chat-command.js').ChatOptions) => {
      const { runChat } = await import('./chat-command.js');
      await runChat(runtime, options);
    });

  const sessions = program.command('sessions').description('list, read, compact and reset sessions');
  sessions
    .command('list')
    .description('sessions, newest first')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', '50')
    .action(async (options: { json?: boolean; limit: string }) => {
      const { listSessions } = await import('./sessions-command.js');
      await listSessions(runtime, options);
    });
  sessions
    .command('history')
    .description('a session\'s transcript')
    .argument('[sessionKey]', 'session key (default: agent:main:main)')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many messages', '50')
    .action(async (sessionKey: string | undefined, options: { json?: boolean; limit: string }) => {
      const { sessionHistory } = await import('./sessions-command.js');
      await sessionHistory(runtime, sessionKey, options);
    });
  sessions
    .command('reset')
    .description('start the session fresh (the old transcript is kept on disk, not shown)')
    .argument('<sessionKey>', 'session key')
    .option('--json', 'print JSON')
    .action(async (sessionKey: string, options: { json?: boolean }) => {
      const { resetSession } = await import('./sessions-command.js');
      await resetSession(runtime, sessionKey, options);
    });
  sessions
    .command('compact')
    .description('summarise the session\'s older turns now, as /compact does in a chat (the full history stays on disk)')
    .argument('<sessionKey>', 'session key')
    .argument('[focus...]', 'what the summary should keep in particular')
    .option('--json', 'print JSON')
    .action(async (sessionKey: string, focus: string[], options: { json?: boolean }) => {
      const { compactSession } = await import('./sessions-command.js');
      await compactSession(runtime, sessionKey, focus.join(' '), options);
    });
}

/** `hearth alerts` */
function addAlertsCommand(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('alerts')
    .description('operator alerts, newest first: channel health episodes and recoveries, cron failures, budgets, and whether each was delivered')
    .option('--event <event>', 'only this event and its sub-events, e.g. channel.health')
    .option('--limit <n>', 'how many (default 50, at most 500)', (value: string) => Number.parseInt(value, 10))
    .option('--json', 'print JSON')
    .action(async (options: { event?: string; limit?: number; json?: boolean }) => {
      const { alertsList } = await import('./alerts-command.js');
      await alertsList(runtime, options);
    });
}

/** `hearth approvals …`: list, approve, deny */
function addApprovalCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const approvals = program.command('approvals').description('commands waiting for your approval (tools.exec.ask)');
  approvals
    .command('list')
    .description('commands waiting for approval: id, agent, command, folder, time left (--all: the decided ones too)')
    .option('--all', 'also the approved, denied and expired ones')
    .option('--json', 'print JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const { approvalsList } = await import('./approvals-command.js');
      await approvalsList(runtime, options);
    });
  approvals
    .command('approve')
    .description('let a waiting command run')
    .argument('<id>', 'the approval id (hearth approvals list)')
    .option('--always', 'also add the command to the agent\'s allowed commands, so it runs without asking next time')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { always?: boolean; json?: boolean }) => {
      const { approvalsDecide } = await import('./approvals-command.js');
      await approvalsDecide(runtime, id, true, options);
    });
  approvals
    .command('deny')
    .description('refuse a waiting command; the agent is told it was denied')
    .argument('<id>', 'the approval id (hearth approvals list)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { approvalsDecide } = await import('./approvals-command.js');
      await approvalsDecide(runtime, id, false, options);
    });
}

/** `hearth tasks …`: list, show, cancel */
function addTaskCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const tasks = program.command('tasks').description('the shared task queue between agents: list, show, cancel (docs/agents.md)');
  tasks
    .command('list')
    .description('tasks newest first: id, status (ready or waiting), title, assignees, dependencies, deadline (OVERDUE), who works on it')
    .option('--status <status>', 'only open, claimed, done, failed or cancelled tasks')
    .option('--agent <agentId>', 'only tasks this agent may take')
    .option('--limit <n>', 'how many (default 100, at most 1000)', (value: string) => Number.parseInt(value, 10))
    .option('--json', 'print JSON')
    .action(async (options: { status?: string; agent?: string; limit?: number; json?: boolean }) => {
      const statuses = ['open', 'claimed', 'done', 'failed', 'cancelled'] as const;
      const status = statuses.find((name) => name === options.status);
      if (options.status !== undefined && status === undefined) throw new CliFailure(`--status must be one of ${statuses.join(', ')} (not "${options.status}").`);
      const { tasksList } = await import('./tasks-command.js');
      await tasksList(runtime, { ...(options.agent ? { agent: options.agent } : {}), ...(options.limit ? { limit: options.limit } : {}), json: options.json === true, ...(status ? { status } : {}) });
    });
  tasks
    .command('show')
    .description('one task: instructions, dependencies, deadline, claim and lease, attempts and the last run, result')
    .argument('<id>', 'the task id (hearth tasks list)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { tasksShow } = await import('./tasks-command.js');
      await tasksShow(runtime, id, options);
    });
  tasks
    .command('cancel')
    .description('cancels an open or claimed task; an agent working on it stops at its next lease renewal')
    .argument('<id>', 'the task id (hearth tasks list)')
    .option('--reason <text>', 'why, kept as the task\'s result')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { reason?: string; json?: boolean }) => {
      const { tasksCancel } = await import('./tasks-command.js');
      await tasksCancel(runtime, id, options);
    });
}

/** `hearth skills …` */
function addSkillCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const skills = program.command('skills').description('skills: list, install signed bundles, verify, audit, sign');
  addSkillsViewCommands(skills, runtime);
  addSkillsInstallCommands(skills, runtime);
  addSkillsCheckCommands(skills, runtime);
  addSkillsSigningCommands(skills, runtime);
}

/** `hearth skills list` and `hearth skills info`: the skills an agent sees */
function addSkillsViewCommands(skills: CommanderModule.Command, runtime: CliRuntime): void {
  skills
    .command('list')
    .description('the skills an agent sees: where each comes from, its signature, and whether it is usable (and why not)')
    .option('--agent <id>', 'the agent (default: the default agent)')
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; json?: boolean }) => {
      const { skillsList } = await import('./skills-command.js');
      await skillsList(runtime, options);
    });
  skills
    .command('info')
    .description('one skill: folder, signature, capabilities, requirements, and whether it is usable')
    .argument('<name>', 'the skill')
    .option('--agent <id>', 'the agent (default: the default agent)')
    .option('--json', 'print JSON (with its instructions)')
    .action(async (name: string, options: { agent?: string; json?: boolean }) => {
      const { skillsInfo } = await import('./skills-command.js');
      await skillsInfo(runtime, name, options);
    });
}

/** `hearth skills install` and `hearth skills remove` */
function addSkillsInstallCommands(skills: CommanderModule.Command, runtime: CliRuntime): void {
  skills
    .command('install')
    .description('install a signed skill folder or .tar.gz into $HEARTH_HOME/skills (read-only), after its risk report')
    .argument('<source>', 'a skill folder, or a .tar.gz/.tgz/.tar archive of one')
    .option('--force', 'replace an installed skill of the same name')
    .option('--accept-risk', 'install even with high findings in the risk report')
    .option('--json', 'print JSON')
    .action(async (source: string, options: { force?: boolean; acceptRisk?: boolean; json?: boolean }) => {
      const { skillsInstall } = await import('./skills-command.js');
      await skillsInstall(runtime, source, options);
    });
  skills
    .command('remove')
    .description('remove an installed skill')
    .argument('<name>', 'the skill')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const { skillsRemove } = await import('./skills-command.js');
      await skillsRemove(runtime, name, options);
    });
}

/** `hearth skills verify` and `hearth skills audit`: signatures and the risk report */
function addSkillsCheckCommands(skills: CommanderModule.Command, runtime: CliRuntime): void {
  skills
    .command('verify')
    .description('check installed skills against their signatures and digests; exits 1 when one fails (it is not loaded)')
    .argument('[name]', 'one skill (default: all)')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, options: { json?: boolean }) => {
      const { skillsVerify } = await import('./skills-command.js');
      await skillsVerify(runtime, name, options);
    });
  skills
    .command('audit')
    .description('the risk report of a skill: shell, network, files, secrets, obfuscation, downloads, prompt injection, against its declared capabilities; exits 1 on a high finding')
    .argument('<target>', 'a skill folder, or the name of an installed skill')
    .option('--json', 'print JSON')
    .action(async (target: string, options: { json?: boolean }) => {
      const { skillsAudit } = await import('./skills-command.js');
      await skillsAudit(runtime, target, options);
    });
}

/** `hearth skills sign` and `hearth skills keygen`: for those who publish skills */
function addSkillsSigningCommands(skills: CommanderModule.Command, runtime: CliRuntime): void {
  skills
    .command('sign')
    .description('sign a skill folder: writes skill.manifest.json with every file\'s SHA-256 and an Ed25519 signature')
    .argument('<dir>', 'the skill folder')
    .requiredOption('--key <file>', 'the private key from hearth skills keygen (<name>.key)')
    .option('--bundle-version <version>', 'the version to sign (default: version: in SKILL.md, else 1.0.0)')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { key: string; bundleVersion?: string; json?: boolean }) => {
      const { skillsSign } = await import('./skills-command.js');
      await skillsSign(runtime, dir, options);
    });
  skills
    .command('keygen')
    .description('make a signing key: <name>.key (private, 0600) and <name>.pub, and print the config line that trusts it')
    .requiredOption('--name <name>', 'the key\'s name')
    .requiredOption('--out <dir>', 'where to write the two files')
    .option('--json', 'print JSON')
    .action(async (options: { name: string; out: string; json?: boolean }) => {
      const { skillsKeygen } = await import('./skills-command.js');
      await skillsKeygen(runtime, options);
    });
}

/** `hearth security audit` */
function addSecurityCommand(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('security')
    .description('security checks of this install')
    .command('audit')
    .description('skills (signatures, what they do against what they declare), plugins, exec and sandbox settings, open DMs, the network bind, file permissions, credentials in clear; exits 1 on a high finding')
    .option('--fix', 'tighten the permissions of the state, credentials and config files')
    .option('--json', 'print JSON')
    .action(async (options: { fix?: boolean; json?: boolean }) => {
      const { securityAudit } = await import('./security-command.js');
      await securityAudit(runtime, options);
    });
}

/** `hearth plugins list` */
function addPluginsCommand(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('plugins')
    .description('code plugins, each in its own worker thread')
    .command('list')
    .description('the plugins: state, and with --health the last error, restarts and what each registered; quarantined ones and why')
    .option('--health', 'also the last error, restarts and registrations')
    .option('--json', 'print JSON')
    .action(async (options: { health?: boolean; json?: boolean }) => {
      const { pluginsList } = await import('./plugins-command.js');
      await pluginsList(runtime, options);
    });
}

/** `hearth doctor` */
function addDoctorCommand(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('doctor')
    .summary('check config, database, permissions, state files, workspaces, models, port and channel health')
    .description('check the config, the database (integrity, migrations), $HEARTH_HOME and credentials/ permissions, channel credential files and stored rows against their schema, what is in .quarantine/ or skipped, workspaces without an agent, the models (an agent without a model is an error; every provider an agent uses is probed: reachable, key refused, connection refused, never answering), the port, cron jobs and the running gateway\'s component health; every finding names its fix; exits 1 while an error remains')
    .option('--fix', 'apply the safe fixes: tighten permissions, move unreadable state files to .quarantine/ with the reason, salvage a damaged database into a new one (the damaged file is kept)')
    .option('--json', 'print JSON')
    .option('--migrate', 'apply the state database\'s pending migrations first (the gateway must be stopped; `hearth update` uses it on a copy of the state)')
    .action(async (options: { fix?: boolean; json?: boolean; migrate?: boolean }) => {
      const { runDoctor } = await import('./doctor-command.js');
      await runDoctor(runtime, options);
    });
}

/** `hearth runs …`: list, show, replay, resume, diff */
function addRunCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const runs = program.command('runs').description('what each run did: trigger, model, steps, tool calls, tokens, errors');
  runs
    .command('list')
    .description('recent runs, newest first: trigger, status, model and provider, duration, tokens, tool calls, error')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', '20')
    .option('--session <key>', 'only this session')
    .action(async (options: { json?: boolean; limit: string; session?: string }) => {
      const { runsList } = await import('./runs-command.js');
      await runsList(runtime, options);
    });
  runs
    .command('show')
    .description('one run step by step: each model call and tool call with timings, arguments, results, tokens and errors (credentials redacted)')
    .argument('<runId>', 'a run id from `hearth runs list`')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      const { runsShow } = await import('./runs-command.js');
      await runsShow(runtime, runId, options);
    });

  runs
    .command('replay')
    .summary('run a recorded run again from the same context, with side-effecting tools withheld')
    .description('run a recorded run again from the same context (the transcript it started from), same agent and model, with side-effecting tools withheld; nothing is delivered; prints the new run id')
    .argument('<runId>', 'a run id from `hearth runs list`')
    .option('--timeout <seconds>', 'how long to wait', '600')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean; timeout: string }) => {
      const { runsReplay } = await import('./runs-command.js');
      await runsReplay(runtime, runId, options);
    });
  runs
    .command('resume')
    .summary('continue a failed or stopped structured run from its first unfinished step')
    .description('continue a structured run that failed or stopped, from its first unfinished step, as a new run in the same session (finished steps are not run again); waits for it and prints how it ended')
    .argument('<runId>', 'a structured run id from `hearth runs list`')
    .option('--timeout <seconds>', 'how long to wait', '600')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean; timeout: string }) => {
      const { runsResume } = await import('./run-plan-view.js');
      await runsResume(runtime, runId, options);
    });
  runs
    .command('diff')
    .description('compare two runs: status, model, tokens, cost, time, tool calls and reply')
    .argument('<a>', 'a run id')
    .argument('<b>', 'another run id')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, options: { json?: boolean }) => {
      const { runsDiff } = await import('./runs-command.js');
      await runsDiff(runtime, a, b, options);
    });
}

/** `hearth memory …`: status, index, search */
function addMemoryCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const memory = program.command('memory').description("the agents' memory: what is indexed, how it is embedded, and search");
  memory
    .command('status')
    .description('files and chunks indexed, the embeddings and what the vectors were built with, files skipped and why (exit 1 when embeddings are misconfigured)')
    .option('--agent <id>', 'the agent (default: the default agent)')
    .option('--contract', "show the agent's memory contract as in effect: embeddings, paths, sessions, citations, redaction, governance rules, deny-list, retention")
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; json?: boolean; contract?: boolean }) => {
      const { memoryStatus } = await import('./memory-command.js');
      await memoryStatus(runtime, options);
    });
  memory
    .command('index')
    .description('bring the memory index up to date with the files now; --force rebuilds it; shows progress on a terminal (exit 1 when chunks could not be embedded)')
    .option('--agent <id>', 'the agent (default: the default agent)')
    .option('--force', 'rebuild from scratch (vectors of unchanged text come from the cache)')
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; force?: boolean; json?: boolean }) => {
      const { memoryIndex } = await import('./memory-command.js');
      await memoryIndex(runtime, options);
    });
  memory
    .command('search')
    .description('search memory as the agent does: citation, score and who wrote each result')
    .argument('<query>', 'what to look for')
    .option('--agent <id>', 'the agent (default: the default agent)')
    .option('--max-results <n>', 'how many results (1-50)')
    .option('--json', 'print JSON')
    .action(async (query: string, options: { agent?: string; maxResults?: string; json?: boolean }) => {
      const { memorySearch } = await import('./memory-command.js');
      await memorySearch(runtime, query, options);
    });
  memory
    .command('provider-audit')
    .description('per agent: the embeddings configured, what the index was built with, every mismatch, and the last embedding calls with their resolved provider (exit 1 on any mismatch)')
    .option('--calls <n>', 'embedding calls to list per agent (0-50)', '10')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; calls?: string }) => {
      const { memoryProviderAudit } = await import('./memory-command.js');
      await memoryProviderAudit(runtime, options);
    });
  memory
    .command('audit')
    .description('the memory audit log: every memory_write (who, when, run, file, lines, provenance) and re-index')
    .option('--agent <id>', 'the agent (default: the default agent)')
    .option('--limit <n>', 'newest entries to show', '100')
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; limit?: string; json?: boolean }) => {
      const { memoryAudit } = await import('./memory-command.js');
      await memoryAudit(runtime, options);
    });
}

/** `hearth cron …` */
function addCronCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const cron = program.command('cron').description('scheduled agent turns: jobs, their run ledger, audit and health');
  const jobOptions = (command: CommanderModule.Command, adding: boolean) =>
    command
      .option('--name <name>', adding ? 'what the job is called (required)' : 'a new name')
      .option('--agent <id>', 'the agent that runs it (default: the default agent)')
      .option('--at <time>', 'once, at an ISO time (2026-12-24T18:00:00+01:00)')
      .option('--every <duration>', 'repeatedly, e.g. 30m, 1h, 1d')
      .option('--cron <expression>', 'on a cron expression, e.g. "0 9 * * 1-5"')
      .option('--tz <zone>', 'IANA time zone of --cron (default: the host\'s)')
      .option('--message <text>', adding ? 'what the agent is asked (required)' : 'a new message')
      .option('--session <session>', 'isolated (a fresh session per run, default), main, or a session key')
      .option('--deliver-channel <platform[:account]>', 'send the reply to a chat on this channel account')
      .option('--to <chat>', 'the chat id for --deliver-channel')
      .option('--thread <id>', 'thread or topic id for --deliver-channel')
      .option('--deliver-webhook <url>', 'POST the reply to this URL')
      .option('--deliver-none', 'keep the reply in the run record only')
      .option('--misfire <policy>', 'after a downtime: skip, run-once (default) or catch-up')
      .option('--catch-up-window <duration>', 'with catch-up: how far back missed runs are made up (default 6h)')
      .option('--alert-after <n>', 'alert after this many errors in a row (default: cron.escalation)')
      .option('--disable-after <n>', 'disable after this many errors in a row (default: cron.escalation)')
      .option('--alert-channel <chat>', 'where alerts go: <platform>[:<account>]:<chat>')
      .option('--alert-webhook <url>', 'POST alerts to this URL')
      .option('--backoff-max <duration>', 'the longest wait between retries')
      .option('--daily-tokens <n>', 'daily token budget of this job')
      .option('--daily-cost-usd <usd>', 'daily cost budget of this job')
      .option('--model <ref>', 'a model for this job (provider/model)')
      .option('--loop <loop>', 'conversational or structured (a checkpointed plan, see docs/agents.md); default: the agent\'s loop')
      .option('--json', 'print JSON');
  cron
    .command('list')
    .description('the jobs with their next run, last result and errors')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { cronList } = await import('./cron-command.js');
      await cronList(runtime, options);
    });
  jobOptions(cron.command('add').description('add a job'), true)
    .option('--allow-duplicate', 'add it even if a job with the same name, agent and schedule exists')
    .action(async (options: import('./cron-command.js').CronJobFlags) => {
      const { cronAdd } = await import('./cron-command.js');
      await cronAdd(runtime, options);
    });
  jobOptions(cron.command('edit').description('change a job, or turn it on or off').argument('<id>', 'job id'), false)
    .option('--enable', 'turn the job on (and forget its errors)')
    .option('--disable', 'turn the job off')
    .action(async (id: string, options: import('./cron-command.js').CronJobFlags) => {
      const { cronEdit } = await import('./cron-command.js');
      await cronEdit(runtime, id, options);
    });
  cron
    .command('rm')
    .description('remove a job (its run history stays)')
    .argument('<id>', 'job id')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { cronRemove } = await import('./cron-command.js');
      await cronRemove(runtime, id, options);
    });
  cron
    .command('run')
    .description('run a job now and wait for the result; exits 1 when the run fails')
    .argument('<id>', 'job id')
    .option('--no-wait', 'return once it started')
    .option('--timeout <seconds>', 'how long to wait', '600')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean; wait: boolean; timeout: string }) => {
      const { cronRun } = await import('./cron-command.js');
      await cronRun(runtime, id, options);
    });
  cron
    .command('runs')
    .description('the run ledger: scheduled, running, ok, error, missed and skipped runs with reasons')
    .argument('[id]', 'only this job')
    .option('--status <status>', 'only runs with this status')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { json?: boolean; limit: string; status?: string }) => {
      const { cronRuns } = await import('./cron-command.js');
      await cronRuns(runtime, id, options);
    });
  cron
    .command('audit')
    .description('jobs by failure rate, with last success, schedule drift and duplicates')
    .option('--days <n>', 'how far back', '7')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; days: string }) => {
      const { cronAudit } = await import('./cron-command.js');
      await cronAudit(runtime, options);
    });
  cron
    .command('preview')
    .description('the next run times of a schedule, as the gateway would plan them for a new job, in its zone')
    .option('--at <time>', 'once, at an ISO time')
    .option('--every <duration>', 'repeatedly, e.g. 30m, 1h, 1d')
    .option('--cron <expression>', 'a cron expression, e.g. "0 9 * * 1-5"')
    .option('--tz <zone>', 'IANA time zone of --cron, and the zone the times are shown in (default: the host\'s)')
    .option('--count <n>', 'how many run times (1-50)', '5')
    .option('--json', 'print JSON')
    .action(async (options: import('./cron-command.js').CronPreviewFlags) => {
      const { cronPreview } = await import('./cron-command.js');
      await cronPreview(runtime, options);
    });
  cron
    .command('health')
    .description('how many jobs are healthy, degraded or disabled, and why')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { cronHealth } = await import('./cron-command.js');
      await cronHealth(runtime, options);
    });
}

/** `hearth logs` */
function addLogsCommand(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('logs')
    .description('the gateway\'s own log (logs/gateway.log), also while it is stopped')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--level <level>', 'only this level and above: trace, debug, info, warn, error or fatal')
    .option('--component <name>', 'only this part of the gateway: gateway, store, models, alerts, turns, channels, cron, config or maintenance')
    .option('--limit <n>', 'how many of the newest lines', '100')
    .option('--json', 'print the JSON lines as written')
    .action(async (options: import('./logs-command.js').LogsOptions) => {
      const { runLogs } = await import('./logs-command.js');
      await runLogs(runtime, options);
    });
}

/** `hearth config …` */
function addConfigCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const config = program.command('config').description('work with hearth.json5');
  config
    .command('validate')
    .description('check the config file without starting anything; exits 78 with every problem (file, line, key, fix) when invalid')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { validateConfig } = await import('./config-command.js');
      validateConfig(runtime, options);
    });
  config
    .command('get')
    .description('the running gateway\'s config file, every secret value shown as "[hidden secret]"')
    .option('--effective', 'the config in force instead, with every default filled in (JSON)')
    .option('--json', 'print JSON: path, text, effective config, hash and the last rejected edit')
    .action(async (options: { json?: boolean; effective?: boolean }) => {
      const { getConfig } = await import('./config-command.js');
      await getConfig(runtime, options);
    });
  config
    .command('apply')
    .description('replace the running gateway\'s config file with <file> and put it in force at once, if it is valid (the old file is kept as hearth.json5.bak); a "[hidden secret]" value keeps the secret the file has at that key; exits 78 with every problem, changing nothing, when invalid')
    .argument('<file>', 'the new config (JSON5), or - for stdin')
    .option('--dry-run', 'only check it against the running gateway')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean; dryRun?: boolean }) => {
      const { applyConfig } = await import('./config-command.js');
      await applyConfig(runtime, file, options);
    });
}

/** `hearth usage` */
function addUsageCommand(program: CommanderModule.Command, runtime: CliRuntime): void {
  program
    .command('usage')
    .description('tokens and cost of the stored runs per day, per agent and per model')
    .option('--days <n>', 'how many local days, today included (1-90)', '14')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; days: string }) => {
      const { showUsage } = await import('./usage-command.js');
      await showUsage(runtime, options);
    });
}

function addStateCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const state = program.command('state').description('move the whole state of a home: export a consistent snapshot, import it into an empty home');
  state
    .command('export <file>')
    .description('write the database (copied with SQLite\'s online backup, safe while the gateway runs), workspaces, skills, media, archives and the config into one .tar.gz; secrets are left out and listed unless --include-secrets')
    .option('--include-secrets', 'keep credentials/ and the secret values of the config')
    .action(async (file: string, options: { includeSecrets?: boolean }) => {
      const { runStateExport } = await import('./state-command.js');
      await runStateExport(runtime, file, options);
    });
  state
    .command('import <file>')
    .description('unpack an export into an empty home (refused, naming what is there, when the home has a config, a database or workspaces)')
    .action(async (file: string) => {
      const { runStateImport } = await import('./state-command.js');
      await runStateImport(runtime, file);
    });
  state
    .command('backup')
    .description('make one backup now to backups.to (a folder or s3://bucket/prefix), keeping the newest backups.keep')
    .action(async () => {
      const { runStateBackup } = await import('./state-command.js');
      await runStateBackup(runtime);
    });
  state
    .command('backups')
    .description('list the backups stored at backups.to, oldest first')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { runStateBackups } = await import('./state-command.js');
      await runStateBackups(runtime, options);
    });
  state
    .command('restore <name>')
    .description('fetch a stored backup (a name from hearth state backups, or latest) and import it into an empty home')
    .option('--from <config>', 'the config file whose backups section says where the backups are (for a new, empty home)')
    .action(async (name: string, options: { from?: string }) => {
      const { runStateRestore } = await import('./state-command.js');
      await runStateRestore(runtime, name, options);
    });
}

function addClusterCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const cluster = program.command('cluster').description('several gateways on one PostgreSQL store: nodes and what each holds');
  cluster
    .command('status')
    .description('the nodes with their heartbeats, the sessions, channel accounts and cron schedule each holds, and lease ages, read from the shared database')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { runClusterStatus } = await import('./cluster-command.js');
      await runClusterStatus(runtime, options);
    });
}

function addImportCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const imports = program.command('import').description('bring state over from another agent gateway');
  imports
    .command('openclaw')
    .description('import an OpenClaw state directory (config, workspaces, cron jobs, approved senders) into this home, never changing the source; prints what was imported, what was not and why; re-running imports nothing twice')
    .option('--from <dir>', 'the OpenClaw state directory (default ~/.openclaw)')
    .option('--dry-run', 'print the same report and write nothing')
    .action(async (options: { from?: string; dryRun?: boolean }) => {
      const { runImportOpenClaw } = await import('./import-command.js');
      await runImportOpenClaw(runtime, options);
    });
}

function addServiceCommands(program: CommanderModule.Command, runtime: CliRuntime): void {
  const service = program
    .command('service')
    .description('run the gateway under a supervisor: one bound port handed to each gateway process, restarts with backoff on crash, signals forwarded (SIGTERM/SIGINT drain and stop, SIGHUP restarts the gateway), and version switches for `hearth update`')
    .option('--port <port>', 'port to bind (default: gateway.port)')
    .option('--bind <address>', 'loopback, lan, or an address (default: gateway.bind)')
    .option('--ready-timeout <seconds>', 'how long a started gateway may take to answer /readyz (default 60)')
    .option('--probation <seconds>', 'after a switch, a crash within this long rolls back (default 60)')
    .action(async (options: { port?: string; bind?: string; readyTimeout?: string; probation?: string }) => {
      const { runServiceCommand } = await import('./service-command.js');
      await runServiceCommand(runtime, options);
    });
  service
    .command('install')
    .description('write a systemd user unit that runs `hearth service` (secrets stay in their files; prints what it wrote and the commands to enable it)')
    .option('--print', 'print the unit instead of writing it')
    .action(async (options: { print?: boolean }) => {
      const { installService } = await import('./service-command.js');
      installService(runtime, options);
    });
  service
    .command('status')
    .description('the supervisor, the version it runs, its gateway process and restarts; exits 3 when none runs')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { serviceStatus } = await import('./service-command.js');
      await serviceStatus(runtime, options);
    });
  program
    .command('update')
    .description('stage a version in $HEARTH_HOME/versions/<v>/ (never touching the running one), check it with its own doctor and migrations on a copy of the state, then switch the supervised gateway to it with a readiness gate and a probation window, rolling back on failure; prints each stage (staged, validated, promoted, restarted, healthy)')
    .option('--to <version|path|tarball>', 'a built package folder, a tarball from `npm pack`, or a version for `npm pack hearth@<version>`')
    .option('--check', 'stage and validate only; switch nothing')
    .option('--rollback', 'go back to the previous version (restoring the database saved before the last update if its migrations ran; the newer database is kept aside)')
    .option('--json', 'print JSON')
    .action(async (options: { to?: string; check?: boolean; rollback?: boolean; json?: boolean }) => {
      const { runUpdate } = await import('./update-command.js');
      await runUpdate(runtime, options);
    });
}

/** Runs the CLI and exits with its code. */
export async function main(argv: string[], hooks: Pick<CliRuntime, 'started'> = {}): Promise<void> {
  const runtime: CliRuntime = {
    env: process.env,
    io: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text), outIsTerminal: process.stdout.isTTY === true },
    stdin: process.stdin,
    ...hooks,
  };
  let plain: ReturnType<typeof plainGatewayArgs> = null;
  try {
    plain = plainGatewayArgs(argv.slice(2));
    if (plain) {
      const { runGateway } = await import('./gateway-command.js');
      await runGateway(runtime, plain);
    } else {
      await buildProgram(runtime).parseAsync(argv);
    }
  } catch (error) {
    if (!plain && error instanceof commander().CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof CliFailure) {
      runtime.io.err(`${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof GatewayUnreachable || isHearthError(error)) {
      runtime.io.err(`${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    runtime.io.err(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
