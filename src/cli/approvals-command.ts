import type { ExecApproval } from '../contracts/store.js';
import { type CliRuntime, withGateway } from './cli-context.js';

type ShownApproval = Omit<ExecApproval, 'replyTo'>;

const minutesLeft = (approval: ShownApproval, now: number) => Math.max(0, Math.round((approval.expiresAt - now) / 60_000));

function describe(approval: ShownApproval, now: number): string {
  const state = approval.status === 'pending' ? `waiting, ${minutesLeft(approval, now)} min left` : `${approval.status}${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}${approval.always ? ' (always)' : ''}`;
  return `${approval.id}  ${approval.agentId}  ${approval.tool}: ${approval.command}  in ${approval.cwd}  [${state}]  run ${approval.runId}`;
}

/** `hearth approvals list [--all] [--json]` */
export async function approvalsList(runtime: CliRuntime, options: { all?: boolean; json?: boolean }): Promise<void> {
  const { approvals } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ approvals: ShownApproval[] }>('approvals.list', { all: options.all === true }));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(approvals, null, 2)}\n`);
    return;
  }
  if (approvals.length === 0) {
    runtime.io.out(options.all ? 'No approval requests yet.\n' : 'No commands are waiting for approval.\n');
    return;
  }
  const now = Date.now();
  for (const approval of approvals) runtime.io.out(`${describe(approval, now)}\n`);
  if (approvals.some((approval) => approval.status === 'pending')) runtime.io.out('Answer with `hearth approvals approve <id> [--always]` or `hearth approvals deny <id>`.\n');
}

/** `hearth approvals approve <id> [--always]` and `hearth approvals deny <id>` */
export async function approvalsDecide(runtime: CliRuntime, id: string, approve: boolean, options: { always?: boolean; json?: boolean }): Promise<void> {
  const method = approve ? 'approvals.approve' : 'approvals.deny';
  const params = approve ? { id, always: options.always === true, by: 'cli' } : { id, by: 'cli' };
  const { approval } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ approval: ShownApproval }>(method, params));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(approval, null, 2)}\n`);
    return;
  }
  const always = approval.always ? ' It is now an allowed command for this agent.' : options.always && !approval.canAlways ? ' (--always does not apply: the command is not plain words under an allowlist.)' : '';
  runtime.io.out(`${approve ? 'Approved' : 'Denied'} ${approval.id}: ${approval.command}.${always}\n`);
}
