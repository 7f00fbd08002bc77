import { z } from 'zod';
import type { Tool, ToolContext, ToolResult } from '../contracts/tool.js';
import { defineTool, errorResult } from './define-tool.js';
import type { ExecPolicy } from './exec-policy.js';
import type { SandboxOptions } from './exec-sandbox.js';
import { prepareCommand } from './exec-tool.js';
import type { BackgroundProcess, ProcessTable } from './process-table.js';

/** Characters of new output one poll returns at most (the newest kept). */
const POLL_MAX_CHARS = 20_000;

const schema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('start'), command: z.string().min(1), cwd: z.string().optional(), env: z.record(z.string(), z.string()).optional() }),
  z.strictObject({ action: z.literal('poll'), id: z.string() }),
  z.strictObject({ action: z.literal('write'), id: z.string(), input: z.string() }),
  z.strictObject({ action: z.literal('kill'), id: z.string() }),
  z.strictObject({ action: z.literal('list') }),
]);
type ProcessArguments = z.infer<typeof schema>;

/**
 * `process {action: start|poll|write|kill|list, …}`: commands that run in the background while the
 * conversation goes on (a dev server, a long build), under the same `tools.exec` policy and
 * sandbox as `exec`. They belong to the session: only it sees them, a reset kills them, and so
 * does the gateway's stop (`process-table.ts`).
 */
export function createProcessTool(table: ProcessTable, policyOf: (agentId: string) => ExecPolicy, sandbox: SandboxOptions = { hide: [] }): Tool {
  return defineTool<ProcessArguments>({
    spec: {
      name: 'process',
      description:
        'Run commands in the background and check on them: start {command, cwd?, env?} gives an id; poll {id} returns the output since the last poll ' +
        'and whether it still runs; write {id, input} sends text to its standard input; kill {id} stops it and everything it started; list shows this ' +
        "conversation's processes. The same policy as exec decides which commands may start.",
      parameters: {
        type: 'object',
        properties: {
          action: { type: 'string', enum: ['start', 'poll', 'write', 'kill', 'list'] },
          command: { type: 'string', description: 'start: the command line.' },
          cwd: { type: 'string', description: 'start: folder relative to the workspace root.' },
          env: { type: 'object', additionalProperties: { type: 'string' }, description: 'start: extra environment variables.' },
          id: { type: 'string', description: 'poll, write, kill: the id start gave, e.g. "p1".' },
          input: { type: 'string', description: 'write: text for its standard input (add "\\n" to end a line).' },
        },
        required: ['action'],
        additionalProperties: false,
      },
    },
    sideEffects: true,
    schema,
    usage: 'process {action: "start", command, cwd?, env?} | {action: "poll" | "kill", id} | {action: "write", id, input} | {action: "list"}',
    run: (args, context) => act(table, args, context, policyOf(context.agentId), sandbox),
  });
}

async function act(table: ProcessTable, args: ProcessArguments, context: ToolContext, policy: ExecPolicy, sandbox: SandboxOptions): Promise<ToolResult> {
  const { sessionKey } = context;
  if (args.action === 'list') {
    const processes = table.list(sessionKey);
    return { content: processes.length === 0 ? 'No background processes in this conversation.' : processes.map(describe).join('\n') };
  }
  if (args.action === 'start') {
    const prepared = await prepareCommand(args, policy, context, sandbox, 'process');
    if ('content' in prepared) return prepared;
    const started = table.start(sessionKey, prepared.command, { label: args.command, cwd: prepared.cwd, env: prepared.env });
    if ('refused' in started) return { content: started.refused, isError: true, details: { refusedBy: 'process limits' } };
    return { content: `Started ${started.id}: ${args.command}\nPoll it with process {action: "poll", id: "${started.id}"}.`, details: { id: started.id, sandbox: policy.sandbox, ...(prepared.approval ? { approval: { id: prepared.approval.id, decision: prepared.approval.decision, by: prepared.approval.by } } : {}) } };
  }
  const found = table.get(sessionKey, args.id);
  if (!found) return errorResult(`There is no process "${args.id}" in this conversation. process {action: "list"} shows them.`);
  if (args.action === 'write') {
    return table.write(sessionKey, args.id, args.input) ? { content: `Sent ${args.input.length} characters to ${args.id}.` } : errorResult(`${args.id} has ended; its input is closed.`);
  }
  if (args.action === 'kill') await table.kill(sessionKey, args.id);
  return { content: poll(table, sessionKey, args.id) };
}

function poll(table: ProcessTable, sessionKey: string, id: string): string {
  const process = table.get(sessionKey, id)!;
  const read = table.read(sessionKey, id)!;
  const text = read.text.length > POLL_MAX_CHARS ? read.text.slice(-POLL_MAX_CHARS) : read.text;
  const skipped = read.droppedChars + (read.text.length - text.length);
  return [describe(process), ...(skipped > 0 ? [`[… ${skipped} characters of output not shown …]`] : []), text === '' ? '(no new output)' : text].join('\n');
}

function describe(process: BackgroundProcess): string {
  const age = Math.round(((process.exit?.at ?? Date.now()) - process.startedAt) / 1000);
  const status = process.exit === null ? `running for ${age} s` : process.exit.code !== null ? `exited with code ${process.exit.code} after ${age} s` : `ended by ${process.exit.signal ?? 'a failure'} after ${age} s`;
  return `${process.id} (${status}): ${process.command}`;
}
