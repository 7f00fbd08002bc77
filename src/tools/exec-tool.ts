import { z } from 'zod';
import type { OperatorAnswer, Tool, ToolContext, ToolResult } from '../contracts/tool.js';
import { defineTool, errorResult } from './define-tool.js';
import { approvedCommand, type ExecPolicy, type ExecVerdict, judgeCommand, needsApproval } from './exec-policy.js';
import { type SandboxOptions, sandboxArgv, sandboxFailure } from './exec-sandbox.js';
import { runCommand } from './run-command.js';
import { resolveInWorkspace } from './workspace-path.js';

/** Characters of a command's output the model gets back (the first and last half). */
export const EXEC_MAX_OUTPUT_CHARS = 30_000;
/** The longest a call may ask to run, whatever the policy's default. */
export const EXEC_MAX_TIMEOUT_MS = 30 * 60_000;

const schema = z.strictObject({
  command: z.string().min(1),
  cwd: z.string().optional(),
  timeoutMs: z.int().min(100).max(EXEC_MAX_TIMEOUT_MS).optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/u, 'an environment variable name is letters, digits and _'), z.string()).optional(),
});
type ExecArguments = z.infer<typeof schema>;

/**
 * `exec {command, cwd?, timeoutMs?, env?}`: runs a command in the workspace under the agent's
 * `tools.exec` policy (`exec-policy.ts`), with its own process group killed at the timeout or when
 * the turn is aborted. The command gets a small environment of its own (PATH, HOME set to the
 * workspace, LANG, TERM=dumb, and `env`), never the gateway's: its keys and tokens stay out.
 */
export function createExecTool(policyOf: (agentId: string) => ExecPolicy, sandbox: SandboxOptions = { hide: [] }): Tool {
  return defineTool<ExecArguments>({
    spec: {
      name: 'exec',
      description:
        'Run a shell command in the workspace and get its output (stdout and stderr together, the first and last ' +
        `${EXEC_MAX_OUTPUT_CHARS / 2} characters when longer) and exit code. The operator's policy decides which commands may run; ` +
        'a refused command comes back with the rule that refused it.',
      parameters: {
        type: 'object',
        properties: {
          command: { type: 'string', description: 'The command line, e.g. "git status" or "npm test".' },
          cwd: { type: 'string', description: 'Folder to run in, relative to the workspace root. Default: the root.' },
          timeoutMs: { type: 'integer', minimum: 100, maximum: EXEC_MAX_TIMEOUT_MS, description: 'Kill the command after this many ms. Default: the policy\'s (60 s unless configured).' },
          env: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra environment variables for the command.' },
        },
        required: ['command'],
        additionalProperties: false,
      },
    },
    sideEffects: true,
    schema,
    usage: 'exec {command: string, cwd?: string, timeoutMs?: integer, env?: {NAME: value}}',
    async run(args, context): Promise<ToolResult> {
      const policy = policyOf(context.agentId);
      const prepared = await prepareCommand(args, policy, context, sandbox);
      if ('content' in prepared) return prepared;
      const sandboxed = policy.sandbox === 'workspace';
      const outcome = await runCommand({
        ...prepared,
        timeoutMs: Math.min(args.timeoutMs ?? policy.timeoutMs, EXEC_MAX_TIMEOUT_MS),
        signal: context.signal,
        maxOutputChars: EXEC_MAX_OUTPUT_CHARS,
      });
      const details = {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        timedOut: outcome.timedOut,
        durationMs: outcome.durationMs,
        cutChars: outcome.cutChars,
        via: prepared.via,
        sandbox: policy.sandbox,
        ...(prepared.approval ? { approval: { id: prepared.approval.id, decision: prepared.approval.decision, by: prepared.approval.by } } : {}),
      };
      if (sandboxed && (outcome.startError || (outcome.exitCode === 1 && outcome.output.startsWith('bwrap: ')))) {
        return { content: sandboxFailure(outcome.startError ?? outcome.output.split('\n')[0]!), isError: true, details };
      }
      if (outcome.startError) return { content: `The command could not start: ${outcome.startError}`, isError: true, details };
      const ended = outcome.timedOut
        ? `Killed after ${outcome.durationMs} ms: it ran past its timeout (timeoutMs).`
        : outcome.aborted
          ? 'Killed: the turn was stopped.'
          : outcome.exitCode !== null
            ? `Exit code ${outcome.exitCode} after ${outcome.durationMs} ms.`
            : `Ended by ${outcome.signal} after ${outcome.durationMs} ms.`;
      const text = outcome.output === '' ? '(no output)' : outcome.output;
      return { content: `${ended}\n${text}`, isError: outcome.timedOut || outcome.aborted || outcome.exitCode !== 0, details };
    },
  });
}

/** A command ready to start: what to run (under bubblewrap when the policy sandboxes), where, with which environment. */
export interface PreparedCommand {
  command: string | readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** How the policy let it run: through the shell, or as plain words. */
  via: 'shell' | 'argv';
  /** The operator's approval it ran under, if it needed one. */
  approval?: OperatorAnswer;
}

/**
 * Applies the agent's `tools.exec` policy to a command and resolves its folder in the workspace:
 * the command to start, or the refusal to give the agent (naming the rule). Shared by `exec` and
 * `process`. The command's environment is its own: PATH, HOME (the workspace), LANG, TERM=dumb and `env`.
 */
export async function prepareCommand(
  args: { command: string; cwd?: string | undefined; env?: Record<string, string> | undefined },
  policy: ExecPolicy,
  context: ToolContext,
  sandbox: SandboxOptions,
  tool = 'exec',
): Promise<PreparedCommand | ToolResult> {
  let verdict = judgeCommand(args.command, policy);
  let approval: OperatorAnswer | undefined;
  if (needsApproval(verdict, policy)) {
    const asked = await askApproval(args, policy, context, tool);
    if ('content' in asked) return asked;
    ({ verdict, approval } = asked);
  }
  if (verdict.run === 'refused') return { content: `Refused by ${verdict.rule}: ${verdict.message}`, isError: true, details: { refusedBy: verdict.rule } };
  const cwd = await resolveInWorkspace(context.workspaceDir, args.cwd ?? '.', { mustExist: true });
  if (!cwd.ok) return errorResult(cwd.message);
  const command = verdict.run === 'shell' ? verdict.command : verdict.argv;
  return {
    command: policy.sandbox === 'workspace' ? sandboxArgv(command, { ...sandbox, workspace: context.workspaceDir, cwd: cwd.path, network: policy.network }) : command,
    cwd: cwd.path,
    env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: context.workspaceDir, LANG: process.env.LANG ?? 'C.UTF-8', TERM: 'dumb', ...args.env },
    via: verdict.run,
    ...(approval ? { approval } : {}),
  };
}

/** Asks the operator about a command; the way to run it when approved, or the result telling the agent it was not. */
async function askApproval(
  args: { command: string; cwd?: string | undefined },
  policy: ExecPolicy,
  context: ToolContext,
  tool: string,
): Promise<{ verdict: ExecVerdict; approval: OperatorAnswer } | ToolResult> {
  if (!context.askOperator) {
    return { content: 'Refused by tools.exec.ask: this command needs the operator\'s approval, and nobody can be asked from here.', isError: true, details: { refusedBy: 'tools.exec.ask' } };
  }
  const { verdict, pattern } = approvedCommand(args.command, policy);
  const answer = await context.askOperator({ tool, command: pattern ?? args.command, cwd: args.cwd ?? '.', canAlways: pattern !== null, waitMs: policy.askTimeoutMs });
  const approval = { id: answer.id, decision: answer.decision, by: answer.by };
  if (answer.decision === 'approved') return { verdict, approval: answer };
  const why =
    answer.decision === 'expired'
      ? `nobody answered approval ${answer.id} within ${Math.round(policy.askTimeoutMs / 1000)} s, so it counts as denied`
      : `the operator denied it${answer.id ? ` (approval ${answer.id}` : ' ('}${answer.by ? `, by ${answer.by})` : ')'}`;
  return { content: `Not run: ${why}. Do not try the same command again unless the user asks you to.`, isError: true, details: { approval } };
}
