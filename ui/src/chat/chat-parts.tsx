import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RpcClient } from '../rpc';
import type { Approval, ToolView, Turn } from './conversation';
import type { MarkdownRenderer } from './markdown';

/** An agent as the `status` report lists it. */
export interface AgentInfo {
  id: string;
  default: boolean;
  models: string[];
}

/** The agent's models in the order it tries them. */
export function ModelNote({ agent }: { agent: AgentInfo | undefined }) {
  if (!agent) return null;
  return <p class="detail model-note">Models: {agent.models.length > 0 ? agent.models.join(', then ') : 'the default'}.</p>;
}

/** Which of the agent's models answers the next messages: its own order (primary, then fallbacks), or one of them. */
export function ModelPicker({ agent, value, onChange }: { agent: AgentInfo | undefined; value: string; onChange(model: string): void }) {
  if (!agent || agent.models.length === 0) return null;
  return (
    <p class="model-picker">
      <label for="chat-model">Model</label>{' '}
      <select id="chat-model" value={value} onChange={(event) => onChange((event.target as HTMLSelectElement).value)}>
        <option value="">{`the agent's (${agent.models[0]} first)`}</option>
        {agent.models.map((model) => (
          <option key={model} value={model}>
            {model}
          </option>
        ))}
      </select>
    </p>
  );
}

/** A reply rendered from Markdown into sanitized DOM (never set as an HTML string). */
export function Markdown({ text, renderer }: { text: string; renderer: MarkdownRenderer }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    ref.current?.replaceChildren(renderer.render(text));
  }, [text, renderer]);
  return <div class="markdown" ref={ref} />;
}

const OUTCOME_WORDS: Record<string, string> = { ok: 'done', error: 'failed', refused: 'refused', timeout: 'timed out', denied: 'denied' };

function toolState(tool: ToolView): string {
  if (tool.outcome) return OUTCOME_WORDS[tool.outcome] ?? tool.outcome;
  if (tool.error) return 'failed';
  return tool.result === null ? 'no result' : 'done';
}

/** A tool call, folded: name, outcome and time; unfolded: arguments, result and why it failed. */
export function ToolCard({ tool }: { tool: ToolView }) {
  const state = toolState(tool);
  const failed = state !== 'done';
  return (
    <details class="tool-card" data-testid="tool-card" data-tool={tool.name} data-failed={failed ? 'true' : undefined}>
      <summary>
        <span class="tool-name">{tool.name}</span>
        <span class="tool-meta">
          {state}
          {tool.durationMs !== null && ` · ${Math.round(tool.durationMs)} ms`}
        </span>
      </summary>
      <dl class="tool-detail">
        <dt>Arguments</dt>
        <dd>
          <pre data-testid="tool-args">
            <code>{tool.args || '{}'}</code>
          </pre>
        </dd>
        <dt>Result</dt>
        <dd>
          <pre data-testid="tool-result">
            <code>{tool.result ?? '—'}</code>
          </pre>
        </dd>
        {tool.refusedBy && (
          <>
            <dt>Refused by</dt>
            <dd>
              <code>{tool.refusedBy}</code>
            </dd>
          </>
        )}
        {tool.error && tool.error !== tool.result && (
          <>
            <dt>Error</dt>
            <dd class="tool-error">{tool.error}</dd>
          </>
        )}
        {tool.approval && (
          <>
            <dt>Approval</dt>
            <dd>{tool.approval}</dd>
          </>
        )}
      </dl>
    </details>
  );
}

function approvalState(approval: Approval): string {
  if (approval.status === 'pending') return approval.expiresAt ? `Waiting for you; unanswered, it counts as denied at ${new Date(approval.expiresAt).toLocaleTimeString()}.` : 'Waiting for you.';
  if (approval.status === 'expired') return 'Expired without an answer: not run.';
  return `${approval.status === 'approved' ? 'Approved' : 'Denied'}${approval.always ? ' (always)' : ''}${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}.`;
}

/** A command waiting for the owner (tools.exec.ask), with the buttons that answer it. */
export function ApprovalCard({ approval, client, onDecided }: { approval: Approval; client: RpcClient; onDecided(approval: Approval): void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const decide = (method: 'approvals.approve' | 'approvals.deny', always = false) => {
    setBusy(true);
    setProblem(null);
    const params = method === 'approvals.approve' ? { id: approval.id, always, by: 'control-ui' } : { id: approval.id, by: 'control-ui' };
    client.call<{ approval: Approval }>(method, params).then(
      (result) => onDecided(result.approval),
      (error: Error) => setProblem(error.message),
    ).finally(() => setBusy(false));
  };
  const titleId = `approval-${approval.id}`;
  return (
    <section class="approval-card" data-testid="approval-card" data-status={approval.status} aria-labelledby={titleId}>
      <p id={titleId}>
        <strong>Approval needed</strong> ({approval.id}): the agent wants to run
      </p>
      <pre>
        <code>{approval.command}</code>
      </pre>
      {approval.cwd && <p class="detail">in {approval.cwd}</p>}
      <p class="detail" role="status">
        {problem ?? approvalState(approval)}
      </p>
      {approval.status === 'pending' && (
        <div class="buttons">
          <button type="button" disabled={busy} onClick={() => decide('approvals.approve')}>
            Approve once
          </button>
          {approval.canAlways && (
            <button type="button" disabled={busy} onClick={() => decide('approvals.approve', true)}>
              Always
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => decide('approvals.deny')}>
            Deny
          </button>
        </div>
      )}
    </section>
  );
}

const STATUS_WORDS: Partial<Record<Turn['status'], string>> = { sending: 'Sending…', queued: 'Queued…', running: 'Thinking…' };

/** One exchange: the owner's message, the agent's tool calls and approvals, its reply or why it failed. */
export function TurnView({ turn, approvals, renderer, client, onDecided }: { turn: Turn; approvals: Approval[]; renderer: MarkdownRenderer; client: RpcClient; onDecided(approval: Approval): void }) {
  const waiting = STATUS_WORDS[turn.status];
  return (
    <article class="turn" data-testid="turn" data-run-id={turn.runId ?? undefined} data-status={turn.status} aria-busy={waiting ? 'true' : undefined}>
      {turn.user !== null && (
        <div class="msg msg-user" data-role="user">
          <p class="msg-who">You</p>
          <p class="msg-text">{turn.user}</p>
        </div>
      )}
      {turn.tools.map((tool) => (
        <ToolCard key={tool.key} tool={tool} />
      ))}
      {approvals.map((approval) => (
        <ApprovalCard key={approval.id} approval={approval} client={client} onDecided={onDecided} />
      ))}
      {(turn.reply || waiting) && (
        <div class="msg msg-assistant" data-role="assistant">
          <p class="msg-who">Agent</p>
          {turn.reply && <Markdown text={turn.reply} renderer={renderer} />}
          {waiting && <p class="msg-waiting">{waiting}</p>}
        </div>
      )}
      {turn.error && (
        <p class={turn.status === 'aborted' ? 'turn-note' : 'turn-error'} data-code={turn.error.code}>
          {turn.status === 'aborted' ? 'Stopped: ' : ''}
          {turn.error.message}
        </p>
      )}
    </article>
  );
}
