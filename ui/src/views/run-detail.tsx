import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { lineDiff } from '../line-diff';
import type { RpcClient } from '../rpc';
import { Notice, Panel, when } from '../parts';
import { useRpc } from '../use-rpc';
import { duration, errorText, money, type RunSummary, runLight, tokens, type Usage } from './run-format';
import { PlanSection, type PlanView } from './run-plan';

interface Step {
  seq: number;
  kind: string;
  name: string;
  input?: unknown;
  output?: unknown;
  error?: string;
  startedAt: number;
  durationMs: number;
  usage?: Usage;
}

interface Detail extends RunSummary {
  reply: string | null;
  steps: Step[];
  plan?: PlanView | null;
}

interface Replay {
  replayOf: string;
  runId: string;
  finished: boolean;
  status: string;
  reply: string | null;
  error: RunSummary['error'];
}

/** runs.replay waits up to this long on the gateway, inside the page's own 30 s limit per call. */
const REPLAY_WAIT_MS = 25_000;

const pretty = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

/** One run: its figures, its steps on a timeline (each expandable), its reply, and a replay beside it. */
export function RunDetail({ client, runId, onClose }: { client: RpcClient; runId: string; onClose(): void }) {
  const run = useRpc<Detail>(client, 'runs.get', { runId });
  const detail = run.data;
  return (
    <Panel title={`Run ${runId}`} id="run-detail">
      <p>
        <button type="button" onClick={onClose}>
          Close run
        </button>
      </p>
      <Notice error={run.error} loading={run.loading && !detail} />
      {detail && (
        <>
          <Figures run={detail} />
          {detail.plan && <PlanSection plan={detail.plan} />}
          <h3>Timeline</h3>
          <Timeline run={detail} />
          <ReplaySection client={client} run={detail} />
        </>
      )}
    </Panel>
  );
}

function Figures({ run }: { run: Detail }) {
  const rows: [string, ComponentChildren][] = [
    ['Status', runLight(run.status)],
    ['Trigger', run.trigger],
    ['Session', run.sessionKey],
    ['Agent', run.agentId],
    ['Model', run.model ? `${run.provider ? `${run.provider}/` : ''}${run.model}` : '—'],
    ['Started', when(run.startedAt ?? run.createdAt)],
    ['Took', duration(run.durationMs)],
    ['Tokens', tokens(run.usage)],
    ['Cost', money(run.costUsd)],
    ['Attempts', String(run.attempts)],
  ];
  const error = errorText(run.error);
  return (
    <>
      <dl class="figures figures-run">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {error && (
        <p class="notice notice-error" data-testid="run-error">
          {error}
        </p>
      )}
    </>
  );
}

/** Each model and tool step at its offset from the start of the run, with a bar for its share of the time. */
function Timeline({ run }: { run: Detail }) {
  if (run.steps.length === 0) return <p class="notice">This run recorded no steps.</p>;
  const start = Math.min(run.startedAt ?? Number.POSITIVE_INFINITY, ...run.steps.map((step) => step.startedAt));
  const end = Math.max(run.finishedAt ?? 0, ...run.steps.map((step) => step.startedAt + step.durationMs));
  const span = Math.max(1, end - start);
  return (
    <ol class="timeline" data-testid="timeline">
      {run.steps.map((step) => (
        <li key={step.seq} data-kind={step.kind} data-step={step.name}>
          <details>
            <summary>
              <span class="step-kind">{step.kind}</span> <strong>{step.name}</strong> <span class="detail">at +{duration(step.startedAt - start)}, took {duration(step.durationMs)}</span>
              {step.usage && <span class="detail"> · {tokens(step.usage)} tokens</span>}
              {step.error && <span class="step-error"> · error</span>}
              <span class="bar" aria-hidden="true">
                <span style={{ left: `${((step.startedAt - start) / span) * 100}%`, width: `${Math.max(0.5, (step.durationMs / span) * 100)}%` }} />
              </span>
            </summary>
            <StepBody step={step} />
          </details>
        </li>
      ))}
    </ol>
  );
}

function StepBody({ step }: { step: Step }) {
  if (step.kind === 'tool') {
    return (
      <div class="step-body">
        <h4>Arguments</h4>
        <pre data-testid="tool-arguments">{pretty(step.input ?? {})}</pre>
        <h4>Result</h4>
        <pre data-testid="tool-result">{pretty(step.output ?? '')}</pre>
        {step.error && <p class="notice notice-error">{step.error}</p>}
      </div>
    );
  }
  const output = (step.output ?? {}) as { text?: string; toolCalls?: unknown[]; finishReason?: string };
  return (
    <div class="step-body">
      {output.finishReason && <p class="detail">Stopped: {output.finishReason}</p>}
      {output.text ? <pre>{output.text}</pre> : <p class="detail">No text.</p>}
      {output.toolCalls && output.toolCalls.length > 0 && (
        <>
          <h4>Tool calls asked for</h4>
          <pre>{pretty(output.toolCalls)}</pre>
        </>
      )}
      {step.error && <p class="notice notice-error">{step.error}</p>}
    </div>
  );
}

/** Runs the run again (read-only) and shows both replies side by side with their line differences. */
function ReplaySection({ client, run }: { client: RpcClient; run: Detail }) {
  const [state, setState] = useState<{ busy: boolean; replay: Replay | null; error: string | null }>({ busy: false, replay: null, error: null });
  const replay = () => {
    setState({ busy: true, replay: null, error: null });
    client.call<Replay>('runs.replay', { runId: run.runId, timeoutMs: REPLAY_WAIT_MS }).then(
      (result) => setState({ busy: false, replay: result, error: null }),
      (error: Error) => setState({ busy: false, replay: null, error: error.message }),
    );
  };
  const result = state.replay;
  return (
    <section class="replay" aria-labelledby="replay-title">
      <h3 id="replay-title">Replay</h3>
      <p class="detail">Runs it again from the same context with the same agent and model; side-effecting tools are withheld and nothing is delivered.</p>
      <button type="button" onClick={replay} disabled={state.busy || run.status === 'running' || run.status === 'queued'}>
        {state.busy ? 'Replaying…' : 'Replay'}
      </button>
      <div role="status">{state.error && <p class="notice notice-error">{state.error}</p>}</div>
      {result && (
        <>
          <div class="side-by-side" data-testid="replay-result">
            <Reply title="Original" status={run.status} reply={run.reply} error={errorText(run.error)} />
            <Reply title="Replay" status={result.finished ? result.status : 'running'} reply={result.reply} error={errorText(result.error)} runId={result.runId} />
          </div>
          <h4>Differences</h4>
          <Diff before={run.reply ?? ''} after={result.reply ?? ''} />
        </>
      )}
    </section>
  );
}

function Reply({ title, status, reply, error, runId }: { title: string; status: string; reply: string | null; error: string | null; runId?: string }) {
  return (
    <div class="reply">
      <h4>
        {title} {runLight(status)}
      </h4>
      {runId && (
        <p class="detail">
          <a href={`#/runs?run=${encodeURIComponent(runId)}`}>{runId}</a>
        </p>
      )}
      {error && <p class="notice notice-error">{error}</p>}
      <pre>{reply ?? '(no reply)'}</pre>
    </div>
  );
}

function Diff({ before, after }: { before: string; after: string }) {
  const lines = lineDiff(before, after);
  if (lines.every((line) => line.kind === 'same')) return <p class="notice" data-testid="replay-diff">The replies are the same.</p>;
  return (
    <pre class="diff" data-testid="replay-diff">
      {lines.map((line, index) => (
        <span key={index} class={`diff-${line.kind}`}>
          {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
          {line.text}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}
