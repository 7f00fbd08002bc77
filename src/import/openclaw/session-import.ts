import { createHash } from 'node:crypto';
import type { Store } from '../../contracts/store.js';
import type { ImportReport } from './import-report.js';
import { hearthSessionKey, type SourceMessage, type SourceSession } from './session-readers.js';

/**
 * Writes an OpenClaw session's transcript into Hearth as finished turns (one per user message,
 * with the assistant replies that followed), through the store's own turn methods, and records
 * it in the import ledger.
 */

export const LEDGER_SOURCE = 'openclaw';

/** The transcript as turns: a user message and the assistant messages after it. */
export function toTurns(messages: SourceMessage[]): { user: string; replies: string[] }[] {
  const turns: { user: string; replies: string[] }[] = [];
  for (const message of messages) {
    if (message.role === 'user') turns.push({ user: message.text, replies: [] });
    else turns.at(-1)?.replies.push(message.text);
  }
  return turns;
}

export async function importSession(session: SourceSession, store: Store | null, now: number, report: ImportReport): Promise<void> {
  const what = `session ${session.key}`;
  const key = hearthSessionKey(session.key);
  if (session.problem) return report.add({ status: 'skipped', what, source: session.source, reason: session.problem });
  if (!key) return report.add({ status: 'skipped', what, source: session.source, reason: 'Hearth has no session of this kind (cron, hook, subagent and ACP sessions are OpenClaw\'s own)' });
  const ledgerId = `session:${session.agentId}:${session.key}`;
  if (store && (await store.findImported(LEDGER_SOURCE, ledgerId))) return report.add({ status: 'already', what, source: session.source });
  const turns = toTurns(session.messages);
  const firstUser = session.messages.findIndex((message) => message.role === 'user');
  const leading = firstUser === -1 ? session.messages.length : firstUser;
  const notes = [
    key === session.key ? '' : `as ${key}`,
    session.otherEntries > 0 ? `${session.otherEntries} tool or other entries left out` : '',
    leading > 0 ? `${leading} assistant messages before the first user message left out` : '',
  ]
    .filter(Boolean)
    .join('; ');
  if (store) await writeTurns(store, session, key, turns, now);
  if (store) await store.recordImported(LEDGER_SOURCE, [{ sourceId: ledgerId, target: key }], now);
  report.add({ status: 'imported', what: `${what} (${turns.length} turns)`, source: session.source, reason: notes || undefined });
}

async function writeTurns(store: Store, session: SourceSession, sessionKey: string, turns: { user: string; replies: string[] }[], now: number): Promise<void> {
  const agentId = sessionKey.split(':')[1] ?? session.agentId;
  const stem = createHash('sha256').update(`${session.agentId}\n${session.key}`).digest('hex').slice(0, 16);
  for (const [index, turn] of turns.entries()) {
    const runId = `import-${stem}-${index}`;
    await store.acceptTurn({ runId, sessionKey, agentId, source: 'cli', text: turn.user, now });
    await store.startTurn(runId, { now, historyLimit: 0 });
    await store.completeTurn(runId, {
      status: 'ok',
      messages: turn.replies.map((content) => ({ role: 'assistant' as const, content })),
      reply: turn.replies.at(-1) ?? '',
      toolCalls: [],
      deliverTo: null,
      now,
    });
  }
}
