/**
 * One session's conversation as the Chat view shows it: turns (the owner's message, the tools the
 * agent used, its reply) built from `chat.history`, then kept current by `chat` and `approval`
 * events. Pure: `reduce(state, action)` returns a new state and never mutates the old one.
 */

/** A tool call as a card shows it; `fromRun` once the run record (with timings) has been read. */
export interface ToolView {
  key: string;
  name: string;
  args: string;
  result: string | null;
  durationMs: number | null;
  error: string | null;
  outcome: string | null;
  refusedBy: string | null;
  approval: string | null;
}

export type TurnStatus = 'sending' | 'queued' | 'running' | 'done' | 'error' | 'aborted';

export interface Turn {
  kind: 'turn';
  /** Stable across the send: the idempotency key for turns sent here, else the run id. */
  key: string;
  runId: string | null;
  user: string | null;
  reply: string;
  tools: ToolView[];
  toolsFromRun: boolean;
  status: TurnStatus;
  error: { code: string; message: string } | null;
}

export interface Note {
  kind: 'note';
  key: string;
  text: string;
}

export interface Approval {
  id: string;
  runId: string | null;
  sessionKey: string;
  tool: string;
  command: string;
  cwd?: string;
  canAlways: boolean;
  status: string;
  always?: boolean;
  decidedBy?: string | null;
  expiresAt?: number;
}

export interface Conversation {
  sessionKey: string;
  loaded: boolean;
  items: (Turn | Note)[];
  approvals: Approval[];
}

/** A transcript line from `chat.history`. */
export interface HistoryMessage {
  id: number | null;
  runId: string | null;
  role: string;
  content: string;
  pending?: boolean;
  toolCalls?: { id: string; name: string; arguments: string }[];
  toolCallId?: string;
  name?: string;
  isError?: boolean;
  code?: string;
  compaction?: { compactedLines: number };
}

export interface HistoryPayload {
  sessionKey: string;
  messages: HistoryMessage[];
  running: { runId: string }[];
  queued: { runId: string }[];
}

/** What a run recorded about one tool call (`final` events and `runs.get`). */
export interface ToolCallRecord {
  name: string;
  arguments: unknown;
  result: string;
  durationMs: number;
  error?: string;
  outcome?: string;
  refusedBy?: string;
  approval?: { id: string; decision: string; by: string | null };
}

/** A `chat` event. */
export interface ChatEvent {
  runId: string;
  sessionKey: string;
  state: 'started' | 'delta' | 'final' | 'error';
  text?: string;
  toolCalls?: ToolCallRecord[];
  error?: { code: string; message: string };
  partial?: string;
}

export type Action =
  | { type: 'history'; payload: HistoryPayload }
  | { type: 'sending'; key: string; text: string }
  | { type: 'accepted'; key: string; runId: string }
  | { type: 'failed'; key: string; message: string }
  | { type: 'event'; event: ChatEvent }
  | { type: 'run'; runId: string; toolCalls: ToolCallRecord[] }
  | { type: 'approvals'; approvals: Approval[] }
  | { type: 'approval'; approval: Approval };

export function emptyConversation(sessionKey: string): Conversation {
  return { sessionKey, loaded: false, items: [], approvals: [] };
}

function newTurn(key: string, runId: string | null, user: string | null, status: TurnStatus): Turn {
  return { kind: 'turn', key, runId, user, reply: '', tools: [], toolsFromRun: false, status, error: null };
}

function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? '';
}

export function toolFromRecord(record: ToolCallRecord, index: number): ToolView {
  return {
    key: `${index}-${record.name}`,
    name: record.name,
    args: prettyJson(record.arguments),
    result: record.result,
    durationMs: record.durationMs,
    error: record.error ?? null,
    outcome: record.outcome ?? null,
    refusedBy: record.refusedBy ?? null,
    approval: record.approval ? `${record.approval.decision}${record.approval.by ? ` by ${record.approval.by}` : ''}` : null,
  };
}

function failureStatus(code: string | undefined): TurnStatus {
  return code === 'ABORTED' ? 'aborted' : 'error';
}

/** Adds one history line to the turns being built (mutates only the fresh arrays it is given). */
function addHistoryLine(items: (Turn | Note)[], byRun: Map<string, Turn>, message: HistoryMessage, index: number): void {
  if (message.role === 'compaction') {
    items.push({ kind: 'note', key: `note-${message.id ?? index}`, text: `Earlier messages were summarised to fit the context${message.compaction ? ` (${message.compaction.compactedLines} lines)` : ''}; the full history stays on disk.` });
    return;
  }
  const runId = message.runId ?? `line-${message.id ?? index}`;
  let turn = byRun.get(runId);
  if (!turn) {
    turn = newTurn(runId, message.runId, null, 'done');
    byRun.set(runId, turn);
    items.push(turn);
  }
  if (message.role === 'user') {
    turn.user = message.content;
    if (message.pending) turn.status = 'queued';
  } else if (message.role === 'assistant') {
    if (message.content) turn.reply = turn.reply ? `${turn.reply}\n\n${message.content}` : message.content;
    for (const call of message.toolCalls ?? []) {
      turn.tools.push({ key: call.id, name: call.name, args: prettyJson(call.arguments), result: null, durationMs: null, error: null, outcome: null, refusedBy: null, approval: null });
    }
  } else if (message.role === 'tool') {
    const tool = turn.tools.find((candidate) => candidate.key === message.toolCallId);
    if (tool) {
      tool.result = message.content;
      if (message.isError) tool.error = message.content;
    }
  } else if (message.role === 'error') {
    turn.error = { code: message.code ?? 'TURN_FAILED', message: message.content };
    turn.status = failureStatus(message.code);
  }
}

function fromHistory(state: Conversation, payload: HistoryPayload): Conversation {
  const items: (Turn | Note)[] = [];
  const byRun = new Map<string, Turn>();
  payload.messages.forEach((message, index) => {
    addHistoryLine(items, byRun, message, index);
  });
  for (const run of payload.running) {
    const turn = byRun.get(run.runId);
    if (turn) turn.status = 'running';
  }
  return { ...state, loaded: true, items };
}

function updateTurn(state: Conversation, match: (turn: Turn) => boolean, change: (turn: Turn) => Turn): Conversation {
  return { ...state, items: state.items.map((item) => (item.kind === 'turn' && match(item) ? change(item) : item)) };
}

function applyEvent(state: Conversation, event: ChatEvent): Conversation {
  if (event.sessionKey !== state.sessionKey) return state;
  const known = state.items.some((item) => item.kind === 'turn' && item.runId === event.runId);
  const base = known ? state : { ...state, items: [...state.items, newTurn(event.runId, event.runId, null, 'running')] };
  return updateTurn(
    base,
    (turn) => turn.runId === event.runId,
    (turn) => {
      if (turn.status === 'done' || turn.status === 'error' || turn.status === 'aborted') return turn;
      switch (event.state) {
        case 'started':
          return { ...turn, status: 'running' };
        case 'delta':
          return { ...turn, status: 'running', reply: turn.reply + (event.text ?? '') };
        case 'final':
          return { ...turn, status: 'done', reply: event.text ?? turn.reply, tools: (event.toolCalls ?? []).map(toolFromRecord), toolsFromRun: true };
        case 'error':
          return { ...turn, status: failureStatus(event.error?.code), reply: event.partial ?? turn.reply, error: { code: event.error?.code ?? 'TURN_FAILED', message: event.text ?? event.error?.message ?? 'The reply failed.' } };
      }
    },
  );
}

/** The local turn takes its run id; a turn the events created for that run first is folded into it. */
function accept(state: Conversation, key: string, runId: string): Conversation {
  const early = state.items.find((item): item is Turn => item.kind === 'turn' && item.runId === runId && item.key !== key);
  const items = state.items.filter((item) => item !== early);
  return updateTurn({ ...state, items }, (turn) => turn.key === key, (turn) => (early ? { ...early, key, user: turn.user } : { ...turn, runId, status: turn.status === 'sending' ? 'queued' : turn.status }));
}

function upsertApproval(state: Conversation, approval: Approval): Conversation {
  if (approval.sessionKey !== state.sessionKey) return state;
  const exists = state.approvals.some((item) => item.id === approval.id);
  return { ...state, approvals: exists ? state.approvals.map((item) => (item.id === approval.id ? approval : item)) : [...state.approvals, approval] };
}

export function reduce(state: Conversation, action: Action): Conversation {
  switch (action.type) {
    case 'history':
      return action.payload.sessionKey === state.sessionKey ? fromHistory(state, action.payload) : state;
    case 'sending':
      return { ...state, items: [...state.items, newTurn(action.key, null, action.text, 'sending')] };
    case 'accepted':
      return accept(state, action.key, action.runId);
    case 'failed':
      return updateTurn(state, (turn) => turn.key === action.key, (turn) => ({ ...turn, status: 'error', error: { code: 'NOT_SENT', message: `Not sent: ${action.message}` } }));
    case 'event':
      return applyEvent(state, action.event);
    case 'run':
      return updateTurn(state, (turn) => turn.runId === action.runId, (turn) => ({ ...turn, tools: action.toolCalls.map(toolFromRecord), toolsFromRun: true }));
    case 'approvals':
      return { ...state, approvals: action.approvals.filter((approval) => approval.sessionKey === state.sessionKey) };
    case 'approval':
      return upsertApproval(state, action.approval);
  }
}

/** The run the Abort button stops: the newest one still running or queued. */
export function activeRunId(state: Conversation): string | null {
  for (let index = state.items.length - 1; index >= 0; index -= 1) {
    const item = state.items[index];
    if (item?.kind === 'turn' && item.runId && (item.status === 'running' || item.status === 'queued')) return item.runId;
  }
  return null;
}

export function isBusy(state: Conversation): boolean {
  return state.items.some((item) => item.kind === 'turn' && (item.status === 'sending' || item.status === 'queued' || item.status === 'running'));
}

/** Turns whose tool cards were read from the transcript and still lack the run's timings. */
export function runsToRead(state: Conversation): string[] {
  return state.items.flatMap((item) => (item.kind === 'turn' && item.runId && !item.toolsFromRun && item.tools.length > 0 && item.status !== 'running' ? [item.runId] : []));
}
