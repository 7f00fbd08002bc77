import type { ExecApproval } from '../contracts/store.js';

/** `/approve <id>`, `/approve <id> always` or `/deny <id>` sent in a chat (also `/approve@bot …` on Telegram). */
export interface ApprovalCommand {
  approve: boolean;
  id: string;
  always: boolean;
}

const COMMAND = /^\/(approve|deny)(?:@\S+)?(?:\s+(\S+))?(?:\s+(always))?\s*$/iu;

/** The approval command a message is, or null for any other text. A command without an id comes back with id "". */
export function parseApprovalCommand(text: string): ApprovalCommand | null {
  const match = COMMAND.exec(text.trim());
  if (!match) return null;
  return { approve: match[1]!.toLowerCase() === 'approve', id: match[2] ?? '', always: match[3] !== undefined };
}

/** The question asked in the conversation the turn runs in. */
export function approvalQuestion(approval: ExecApproval): string {
  const minutes = Math.max(1, Math.round((approval.expiresAt - approval.createdAt) / 60_000));
  const always = approval.canAlways ? `, /approve ${approval.id} always (adds it to the allowed commands)` : '';
  return [
    `Approval needed (${approval.id}): the agent wants to run`,
    '```',
    approval.command,
    '```',
    `in ${approval.cwd === '.' ? 'the workspace' : `\`${approval.cwd}\``}. Reply /approve ${approval.id}${always} or /deny ${approval.id}. Unanswered, it counts as denied in ${minutes} min.`,
  ].join('\n');
}

/** The answer to an approval command, or the notice of an expiry. */
export function approvalOutcome(approval: ExecApproval): string {
  if (approval.status === 'expired') return `Approval ${approval.id} expired without an answer: \`${approval.command}\` was not run.`;
  if (approval.status === 'denied') return `Denied ${approval.id}: \`${approval.command}\` will not run.`;
  return `Approved ${approval.id}${approval.always ? ' (always: added to the allowed commands)' : ''}: running \`${approval.command}\`.`;
}
