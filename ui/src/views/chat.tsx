/**
 * The Chat view: every session (of every channel) on the left, one conversation on the right with
 * streamed Markdown replies, tool cards, exec approvals, abort and reset. Loaded on demand (the
 * Markdown and highlighting code stays out of the first view).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type AgentInfo, ModelNote } from '../chat/chat-parts';
import { ConversationPane } from '../chat/conversation-pane';
import { createMarkdownRenderer } from '../chat/markdown';
import { agentOfSessionKey, mainSessionKey, newSessionKey, sessionLabel, useSessionParam } from '../chat/session-route';
import { ago, Notice } from '../parts';
import type { RpcClient } from '../rpc';
import { useRpc } from '../use-rpc';

interface SessionRow {
  sessionKey: string;
  agentId: string;
  messageCount: number;
  lastMessage: string | null;
  updatedAt: number;
}

/** The sessions the gateway lists, plus those started here that have no message yet (newest first). */
function mergeSessions(listed: readonly SessionRow[], started: readonly string[], selected: string): SessionRow[] {
  const known = new Set(listed.map((row) => row.sessionKey));
  const extra = [...started, selected]
    .filter((key, index, all) => !known.has(key) && all.indexOf(key) === index)
    .map((sessionKey) => ({ sessionKey, agentId: agentOfSessionKey(sessionKey) ?? '', messageCount: 0, lastMessage: null, updatedAt: Date.now() }));
  return [...extra, ...listed];
}

function matches(row: SessionRow, filter: string): boolean {
  const needle = filter.trim().toLowerCase();
  return !needle || row.sessionKey.toLowerCase().includes(needle) || (row.lastMessage ?? '').toLowerCase().includes(needle);
}

export function Chat({ client }: { client: RpcClient }) {
  const status = useRpc<{ agents?: AgentInfo[] }>(client, 'status');
  const sessions = useRpc<{ sessions: SessionRow[] }>(client, 'sessions.list', { limit: 200 });
  const [renderer] = useState(createMarkdownRenderer);
  const [param, select] = useSessionParam();
  const [started, setStarted] = useState<string[]>([]);
  const [filter, setFilter] = useState('');
  const agents = status.data?.agents ?? [];
  const defaultAgent = agents.find((agent) => agent.default)?.id ?? agents[0]?.id ?? 'main';
  const selected = param ?? mainSessionKey(defaultAgent);
  const [agentForNew, setAgentForNew] = useState<string | null>(null);
  const chosenAgent = agentForNew ?? agentOfSessionKey(selected) ?? defaultAgent;

  const { reload } = sessions;
  useEffect(() => client.on('chat', (payload) => {
    const state = (payload as { state?: string }).state;
    if (state === 'final' || state === 'error') reload();
  }), [client, reload]);

  const rows = useMemo(() => mergeSessions(sessions.data?.sessions ?? [], started, selected), [sessions.data, started, selected]);
  const shown = rows.filter((row) => matches(row, filter));
  const startNew = () => {
    const key = newSessionKey(chosenAgent);
    setStarted((previous) => [key, ...previous]);
    select(key);
  };

  return (
    <div class="chat">
      <section class="panel chat-sessions" aria-labelledby="chat-sessions-title" data-testid="chat-sessions">
        <h2 id="chat-sessions-title">Sessions</h2>
        <div class="field">
          <label for="chat-agent">Agent for new sessions</label>
          <select id="chat-agent" value={chosenAgent} onChange={(event) => setAgentForNew((event.target as HTMLSelectElement).value)}>
            {(agents.length > 0 ? agents : [{ id: defaultAgent, default: true, models: [] }]).map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.id}
                {agent.default ? ' (default)' : ''}
              </option>
            ))}
          </select>
          <ModelNote agent={agents.find((agent) => agent.id === chosenAgent)} />
        </div>
        <button type="button" class="primary" onClick={startNew}>
          New session
        </button>
        <div class="field">
          <label for="chat-filter">Filter sessions</label>
          <input id="chat-filter" type="search" value={filter} onInput={(event) => setFilter((event.target as HTMLInputElement).value)} />
        </div>
        <Notice error={sessions.error} loading={sessions.loading && !sessions.data} empty={shown.length === 0 && (filter ? 'No session matches.' : 'No conversations yet.')} />
        <ul class="session-list" aria-label="Sessions">
          {shown.map((row) => (
            <li key={row.sessionKey}>
              <button type="button" class="session-item" data-session={row.sessionKey} aria-current={row.sessionKey === selected ? 'true' : undefined} onClick={() => select(row.sessionKey)}>
                <span class="session-name">{sessionLabel(row.sessionKey)}</span>
                <span class="session-meta">
                  {row.agentId} · {row.messageCount === 0 ? 'new' : `${row.messageCount} messages · ${ago(row.updatedAt)}`}
                </span>
                {row.lastMessage && <span class="session-last">{row.lastMessage.slice(0, 90)}</span>}
              </button>
            </li>
          ))}
        </ul>
      </section>
      <ConversationPane key={selected} client={client} sessionKey={selected} renderer={renderer} agent={agents.find((agent) => agent.id === agentOfSessionKey(selected))} />
    </div>
  );
}
