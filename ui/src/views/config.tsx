import { useEffect, useRef, useState } from 'preact/hooks';
import { Notice, Panel, when } from '../parts';
import type { RpcClient } from '../rpc';
import { useRpc } from '../use-rpc';

/** How a config value names an environment variable instead of holding the secret. */
const VARIABLE_REFERENCE = ['$', '{VAR}'].join('');

interface EditIssue {
  path: string;
  line: number | null;
  column: number | null;
  message: string;
  suggestion?: string;
}

interface ConfigFileView {
  path: string;
  exists: boolean;
  text: string;
  effective: unknown;
  hash: string;
  lastRejected: { at: number; text?: string; issues: EditIssue[] } | null;
}

interface Outcome {
  kind: 'ok' | 'invalid' | 'error';
  message: string;
  issues: EditIssue[];
}

/** The mask the gateway shows instead of a secret value (src/config/config-secrets.ts). */
const SECRET_MASK = '[hidden secret]';

/** The offset in `text` where a 1-based line (and column) starts. */
function offsetOf(text: string, line: number, column = 1): number {
  let offset = 0;
  for (let current = 1; current < line; current++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return Math.min(text.length, offset + column - 1);
}

/** Selects the issue's line in the editor and scrolls it into view. */
function jumpTo(editor: HTMLTextAreaElement | null, issue: EditIssue): void {
  if (!editor || issue.line === null) return;
  const start = offsetOf(editor.value, issue.line);
  const end = editor.value.indexOf('\n', start);
  editor.focus();
  editor.setSelectionRange(start, end < 0 ? editor.value.length : end);
  const lineHeight = Number.parseFloat(getComputedStyle(editor).lineHeight) || 20;
  editor.scrollTop = Math.max(0, (issue.line - 3) * lineHeight);
}

function IssueList({ issues, onJump, testId }: { issues: EditIssue[]; onJump?(issue: EditIssue): void; testId: string }) {
  return (
    <ol class="issues" data-testid={testId}>
      {issues.map((issue) => (
        <li key={`${issue.line}:${issue.column}:${issue.path}:${issue.message}`} data-line={issue.line ?? undefined}>
          {issue.line !== null && onJump ? (
            <button type="button" class="issue-where" onClick={() => onJump(issue)}>
              Line {issue.line}, column {issue.column ?? 1}
            </button>
          ) : (
            <span class="issue-where">{issue.line === null ? 'Whole file' : `Line ${issue.line}, column ${issue.column ?? 1}`}</span>
          )}{' '}
          {issue.path && <code>{issue.path}</code>} {issue.message}
          {issue.suggestion && <span class="detail"> — {issue.suggestion}</span>}
        </li>
      ))}
    </ol>
  );
}

/** A monospace editor with line numbers; lines with an issue are marked in the gutter. */
function Editor({ text, onText, marked, editorRef }: { text: string; onText(text: string): void; marked: ReadonlySet<number>; editorRef: { current: HTMLTextAreaElement | null } }) {
  const gutter = useRef<HTMLDivElement>(null);
  const lines = text.split('\n').length;
  return (
    <div class="editor">
      <div class="gutter" ref={gutter} aria-hidden="true">
        {Array.from({ length: lines }, (_, index) => (
          <span key={index} class={marked.has(index + 1) ? 'marked' : undefined}>
            {index + 1}
          </span>
        ))}
      </div>
      <textarea
        id="config-text"
        ref={editorRef}
        value={text}
        spellcheck={false}
        autocomplete="off"
        wrap="off"
        aria-describedby="config-help"
        onInput={(event) => onText((event.target as HTMLTextAreaElement).value)}
        onScroll={(event) => {
          if (gutter.current) gutter.current.scrollTop = (event.target as HTMLTextAreaElement).scrollTop;
        }}
      />
    </div>
  );
}

/** The config file: edit, validate and apply it; the last edit refused and why; the config in force. */
export function Config({ client }: { client: RpcClient }) {
  const view = useRpc<ConfigFileView>(client, 'config.get');
  const [text, setText] = useState<string | null>(null);
  const [baseHash, setBaseHash] = useState('');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);

  // The editor takes the file when it first arrives, after an apply and on request; never over an edit in progress.
  useEffect(() => {
    if (view.data && text === null) {
      setText(view.data.text);
      setBaseHash(view.data.hash);
    }
  }, [view.data, text]);

  const takeFile = () =>
    client.call<ConfigFileView>('config.get').then(
      (file) => {
        setText(file.text);
        setBaseHash(file.hash);
        view.reload();
      },
      (error: Error) => setOutcome({ kind: 'error', message: error.message, issues: [] }),
    );

  const call = (method: 'config.validate' | 'config.apply') => {
    if (text === null) return;
    setBusy(true);
    const params = method === 'config.apply' ? { text, baseHash } : { text };
    client
      .call<{ ok?: boolean; applied?: boolean; issues: EditIssue[] }>(method, params)
      .then(
        (result) => {
          const good = method === 'config.apply' ? result.applied === true : result.ok === true;
          const problems = `${result.issues.length} problem${result.issues.length === 1 ? '' : 's'}`;
          const message = good
            ? method === 'config.apply'
              ? 'Applied: the new config is in force, and the previous file was kept as a .bak.'
              : 'Valid: applying it would change nothing else.'
            : method === 'config.apply'
              ? `Not applied: ${problems}. The config in force did not change.`
              : `Not valid: ${problems}.`;
          setOutcome({ kind: good ? 'ok' : 'invalid', message, issues: result.issues });
          if (!good && result.issues[0]) jumpTo(editor.current, result.issues[0]);
          if (method === 'config.apply' && good) return takeFile();
          if (method === 'config.apply') view.reload();
        },
        (error: Error) => setOutcome({ kind: 'error', message: error.message, issues: [] }),
      )
      .finally(() => setBusy(false));
  };

  const marked = new Set((outcome?.issues ?? []).flatMap((issue) => (issue.line === null ? [] : [issue.line])));
  const data = view.data;
  return (
    <div class="stack">
      <Panel title="Config file" id="config-file">
        <Notice error={view.error} loading={view.loading && !data} />
        {data && text !== null && (
          <>
            <label for="config-text" class="editor-label">
              <code>{data.path}</code>
            </label>
            <p id="config-help" class="detail">
              {data.exists ? '' : 'There is no config file yet: the defaults are in force, and applying creates the file. '}
              Secret values show as <code>"{SECRET_MASK}"</code>: leave one as it is to keep the value, or write a new value or a <code>{VARIABLE_REFERENCE}</code> reference.
            </p>
            <Editor text={text} onText={setText} marked={marked} editorRef={editor} />
            <div class="buttons editor-buttons">
              <button type="button" disabled={busy} onClick={() => call('config.validate')}>
                Validate
              </button>
              <button type="button" class="primary" disabled={busy} onClick={() => call('config.apply')}>
                Apply
              </button>
              <button
                type="button"
                disabled={busy}
                onClick={() => {
                  setOutcome(null);
                  void takeFile();
                }}
              >
                Reload the file
              </button>
            </div>
            <div aria-live="polite" data-testid="config-outcome">
              {outcome && (
                <div class={`outcome outcome-${outcome.kind}`} data-kind={outcome.kind}>
                  <p role={outcome.kind === 'ok' ? 'status' : 'alert'}>{outcome.message}</p>
                  {outcome.issues.length > 0 && <IssueList issues={outcome.issues} onJump={(issue) => jumpTo(editor.current, issue)} testId="config-issues" />}
                </div>
              )}
            </div>
          </>
        )}
      </Panel>
      <Panel title="Last rejected edit" id="config-rejected">
        {!data?.lastRejected ? (
          <p class="notice">No edit has been refused since the gateway started.</p>
        ) : (
          <>
            <p>
              Refused {when(data.lastRejected.at)}
              {data.lastRejected.text === undefined ? ' (an edit of the file itself)' : ' (applied from here or hearth config apply)'}; the config in force stayed as it was, because:
            </p>
            <IssueList issues={data.lastRejected.issues} testId="config-rejected-issues" />
            {data.lastRejected.text !== undefined && (
              <details>
                <summary>The refused text</summary>
                <pre class="code-block">{data.lastRejected.text}</pre>
              </details>
            )}
          </>
        )}
      </Panel>
      <Panel title="Config in force" id="config-effective">
        <p class="detail">Every setting with its default filled in, secrets masked.</p>
        {data && (
          <details>
            <summary>Show the effective config</summary>
            <pre class="code-block" data-testid="config-effective-json" tabIndex={0}>
              {JSON.stringify(data.effective, null, 2)}
            </pre>
          </details>
        )}
      </Panel>
    </div>
  );
}
