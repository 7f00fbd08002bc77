import { type CliRuntime, withGateway } from './cli-context.js';

interface SessionRow {
  sessionKey: string;
  agentId: string;
  updatedAt: number;
  messageCount: number;
  lastMessage: string | null;
}

interface HistoryMessage {
  role: string;
  content: string;
  createdAt: number;
  code?: string;
  name?: string;
  compaction?: { compactedLines: number; tokensBefore: number; tokensAfter: number; reason: string; focus?: string };
}

const oneLine = (text: string, width: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

export async function listSessions(runtime: CliRuntime, options: { json?: boolean; limit: string }): Promise<void> {
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ sessions: SessionRow[] }>('sessions.list', { limit: Math.min(1000, Math.max(1, Number(options.limit) || 50)) }),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify(result.sessions, null, 2)}\n`);
    return;
  }
  if (result.sessions.length === 0) {
    runtime.io.out('No sessions yet. Start one with `hearth chat` or in WebChat.\n');
    return;
  }
  for (const session of result.sessions) {
    runtime.io.out(
      `${session.sessionKey}  ${session.messageCount} messages  ${new Date(session.updatedAt).toISOString()}  ${oneLine(session.lastMessage ?? '', 60)}\n`,
    );
  }
}

export async function sessionHistory(runtime: CliRuntime, sessionKey: string | undefined, options: { json?: boolean; limit: string }): Promise<void> {
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ sessionKey: string; messages: HistoryMessage[] }>('chat.history', {
      ...(sessionKey ? { sessionKey } : {}),
      limit: Math.min(1000, Math.max(1, Number(options.limit) || 50)),
    }),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  if (result.messages.length === 0) runtime.io.out(`${result.sessionKey} has no messages.\n`);
  for (const message of result.messages) {
    if (message.compaction) {
      runtime.io.out(`${compactionBanner(message.compaction, message.createdAt)}\n[summary] ${message.content}\n`);
      continue;
    }
    const who = message.role === 'tool' ? `tool ${message.name ?? ''}` : message.role === 'error' ? `error ${message.code ?? ''}` : message.role;
    runtime.io.out(`[${who}] ${message.content}\n`);
  }
}

/** Where a compaction happened, in one line. */
function compactionBanner(compaction: NonNullable<HistoryMessage['compaction']>, at: number): string {
  const why = { threshold: 'the history neared the context budget', overflow: 'the provider refused the context as too long', manual: 'asked for' }[compaction.reason] ?? compaction.reason;
  const focus = compaction.focus ? `, focus: ${compaction.focus}` : '';
  return `── compacted here ${new Date(at).toISOString().slice(0, 16).replace('T', ' ')}: ${compaction.compactedLines} earlier messages summarised (${why}${focus}); about ${compaction.tokensBefore} → ${compaction.tokensAfter} tokens. The model sees the summary below instead of the messages above it. ──`;
}

export async function compactSession(runtime: CliRuntime, sessionKey: string, focus: string, options: { json?: boolean }): Promise<void> {
  const result = await withGateway(runtime.env, runtime.io, (client) => client.call<{ compacted: boolean; message: string }>('sessions.compact', { sessionKey, ...(focus ? { focus } : {}) }));
  runtime.io.out(options.json ? `${JSON.stringify(result)}\n` : `${result.message}\n`);
}

export async function resetSession(runtime: CliRuntime, sessionKey: string, options: { json?: boolean }): Promise<void> {
  const result = await withGateway(runtime.env, runtime.io, (client) => client.call<{ reset: boolean }>('sessions.reset', { sessionKey }));
  if (options.json) runtime.io.out(`${JSON.stringify({ sessionKey, ...result })}\n`);
  else runtime.io.out(result.reset ? `${sessionKey} starts fresh now.\n` : `${sessionKey} does not exist; nothing to reset.\n`);
}
