import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { ConnectionState, RpcClient } from '../rpc';
import { type AgentInfo, ApprovalCard, ModelPicker, TurnView } from './chat-parts';
import { type Action, activeRunId, type Approval, type ChatEvent, type Conversation, emptyConversation, type HistoryPayload, reduce, runsToRead, type ToolCallRecord } from './conversation';
import type { MarkdownRenderer } from './markdown';
import { sessionLabel } from './session-route';

function useConnection(client: RpcClient): ConnectionState {
  const [state, setState] = useState<ConnectionState>(client.state);
  useEffect(() => {
    const off = client.onState(setState);
    // It may have connected between the first render and this subscription.
    setState(client.state);
    return off;
  }, [client]);
  return state;
}

/** Reads the session's history and pending approvals (again after a reconnect or `reload`), and follows its events. */
function useConversation(client: RpcClient, sessionKey: string) {
  const [state, dispatch] = useReducer<Conversation, Action>(reduce, emptyConversation(sessionKey));
  const [problem, setProblem] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const connection = useConnection(client);
  useEffect(() => {
    if (connection !== 'connected') return;
    let live = true;
    client.call<HistoryPayload>('chat.history', { sessionKey, limit: 200 }).then(
      (payload) => live && dispatch({ type: 'history', payload }),
      (error: Error) => live && setProblem(error.message),
    );
    client.call<{ approvals: Approval[] }>('approvals.list', {}).then(
      (result) => live && dispatch({ type: 'approvals', approvals: result.approvals }),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [client, sessionKey, connection, tick]);
  useEffect(() => {
    const offChat = client.on('chat', (payload) => dispatch({ type: 'event', event: payload as ChatEvent }));
    const offApproval = client.on('approval', (payload) => {
      const approval = (payload as { approval?: Approval }).approval;
      if (approval) dispatch({ type: 'approval', approval });
    });
    return () => {
      offChat();
      offApproval();
    };
  }, [client]);
  useRunRecords(client, state, dispatch);
  return { state, dispatch, problem, setProblem, connection, reload: () => setTick((value) => value + 1) };
}

/** Tool cards read from the transcript get their timings and outcomes from the run record. */
function useRunRecords(client: RpcClient, state: Conversation, dispatch: (action: Action) => void) {
  const requested = useRef(new Set<string>());
  const wanted = runsToRead(state).join(' ');
  useEffect(() => {
    for (const runId of wanted.split(' ').filter(Boolean)) {
      if (requested.current.has(runId)) continue;
      requested.current.add(runId);
      client.call<{ toolCalls: ToolCallRecord[] }>('runs.get', { runId }).then(
        (run) => dispatch({ type: 'run', runId, toolCalls: run.toolCalls }),
        () => undefined,
      );
    }
  }, [client, wanted, dispatch]);
}

/** Keeps the log scrolled to the newest line while the reader is at the bottom. */
function useStickToBottom(deps: unknown[]) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const log = ref.current;
    if (log && atBottom.current) log.scrollTop = log.scrollHeight;
  }, deps);
  const onScroll = () => {
    const log = ref.current;
    if (log) atBottom.current = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  };
  return { ref, onScroll };
}

export function ConversationPane({ client, sessionKey, renderer, agent }: { client: RpcClient; sessionKey: string; renderer: MarkdownRenderer; agent: AgentInfo | undefined }) {
  const { state, dispatch, problem, setProblem, connection, reload } = useConversation(client, sessionKey);
  const scroll = useStickToBottom([state.items, state.approvals]);
  const running = activeRunId(state);
  const onDecided = (approval: Approval) => dispatch({ type: 'approval', approval });
  const runIds = new Set(state.items.flatMap((item) => (item.kind === 'turn' && item.runId ? [item.runId] : [])));
  const loose = state.approvals.filter((approval) => !approval.runId || !runIds.has(approval.runId));
  const [model, setModel] = useState('');

  const send = (text: string) => {
    const key = crypto.randomUUID();
    dispatch({ type: 'sending', key, text });
    client.call<{ runId: string }>('chat.send', { sessionKey, text, idempotencyKey: key, ...(model ? { model } : {}) }).then(
      (accepted) => dispatch({ type: 'accepted', key, runId: accepted.runId }),
      (error: Error) => dispatch({ type: 'failed', key, message: error.message }),
    );
  };
  const abort = () => {
    if (!running) return;
    client.call<{ aborted: boolean }>('chat.abort', { runId: running }).then(
      (result) => {
        if (!result.aborted) reload();
      },
      (error: Error) => setProblem(error.message),
    );
  };

  return (
    <section class="panel chat-conversation" aria-labelledby="chat-title" data-testid="conversation" data-session={sessionKey}>
      <header class="chat-head">
        <div class="chat-title">
          <h2 id="chat-title">{sessionLabel(sessionKey)}</h2>
          <p class="detail">
            <code>{sessionKey}</code>
          </p>
          <ModelPicker agent={agent} value={model} onChange={setModel} />
        </div>
        <div class="buttons">
          {running && (
            <button type="button" onClick={abort}>
              Abort
            </button>
          )}
          <ResetButton client={client} sessionKey={sessionKey} onReset={reload} onProblem={setProblem} />
        </div>
      </header>
      {problem && (
        <p class="notice notice-error" role="alert">
          {problem}
        </p>
      )}
      <div class="chat-log" role="log" aria-label="Conversation" tabIndex={0} ref={scroll.ref} onScroll={scroll.onScroll} data-testid="chat-log">
        {!state.loaded && connection === 'connected' && <p class="notice">Loading…</p>}
        {state.loaded && state.items.length === 0 && <p class="notice">No messages yet. Say something below.</p>}
        {state.items.map((item) =>
          item.kind === 'note' ? (
            <p key={item.key} class="turn-note">
              {item.text}
            </p>
          ) : (
            <TurnView key={item.key} turn={item} approvals={state.approvals.filter((approval) => approval.runId === item.runId)} renderer={renderer} client={client} onDecided={onDecided} />
          ),
        )}
        {loose.map((approval) => (
          <ApprovalCard key={approval.id} approval={approval} client={client} onDecided={onDecided} />
        ))}
      </div>
      <Composer disabled={connection !== 'connected'} onSend={send} />
    </section>
  );
}

/** Reset asks once more before it starts the session fresh. */
function ResetButton({ client, sessionKey, onReset, onProblem }: { client: RpcClient; sessionKey: string; onReset(): void; onProblem(message: string): void }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming) {
    return (
      <button type="button" onClick={() => setConfirming(true)}>
        Reset
      </button>
    );
  }
  const reset = () => {
    setConfirming(false);
    client.call('sessions.reset', { sessionKey }).then(onReset, (error: Error) => onProblem(error.message));
  };
  return (
    <span class="confirm" role="group" aria-label="Confirm reset">
      <span>Start this session fresh? Its transcript stays on disk.</span>
      <button type="button" class="danger" onClick={reset}>
        Yes, reset
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  );
}

/** Enter sends, Shift+Enter starts a new line. */
function Composer({ disabled, onSend }: { disabled: boolean; onSend(text: string): void }) {
  const [text, setText] = useState('');
  const submit = () => {
    if (disabled || !text.trim()) return;
    onSend(text.replace(/\s+$/u, ''));
    setText('');
  };
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <label for="chat-message">Message</label>
      <textarea
        id="chat-message"
        rows={3}
        value={text}
        aria-describedby="chat-message-help"
        onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            submit();
          }
        }}
      />
      <p id="chat-message-help" class="detail">
        Enter sends; Shift+Enter starts a new line.
      </p>
      <button type="submit" class="primary" disabled={disabled || !text.trim()}>
        Send
      </button>
    </form>
  );
}
