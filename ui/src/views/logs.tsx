import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RpcClient } from '../rpc';
import { Notice, Panel } from '../parts';
import { useEvery } from '../use-every';

interface LogEntry {
  level: number | string;
  time: number | string;
  msg: string;
  component?: string;
  [field: string]: unknown;
}

interface LogPage {
  entries: LogEntry[];
  cursor: number;
  truncated: boolean;
}

interface Line {
  id: number;
  entry: LogEntry;
}

/** The most lines the page keeps; older ones are dropped as new ones arrive. */
const MAX_LINES = 1000;
const FIRST_LINES = 200;
const POLL_MS = 1000;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const COMPONENTS = ['gateway', 'store', 'models', 'alerts', 'turns', 'channels', 'cron', 'config', 'maintenance', 'plugins'];
/** Fields every line has, left out of the line's extra detail. */
const SHOWN = new Set(['level', 'time', 'msg', 'component', 'pid', 'hostname']);

interface Filter {
  level: string;
  component: string;
}

/**
 * The gateway's log from the newest lines on, then what is written after the cursor, asked for
 * once a second while `live` (one request at a time); a new filter starts again from the tail.
 */
function useLogTail(client: RpcClient, filter: Filter, live: boolean) {
  const [lines, setLines] = useState<Line[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const tail = useRef({ cursor: null as number | null, nextId: 0, busy: false, generation: 0 });

  const fetchMore = (): Promise<void> | undefined => {
    const state = tail.current;
    if (state.busy || client.state !== 'connected') return undefined;
    state.busy = true;
    const generation = state.generation;
    const params = { level: filter.level, ...(filter.component ? { component: filter.component } : {}), ...(state.cursor === null ? { limit: FIRST_LINES } : { after: state.cursor, limit: MAX_LINES }) };
    return client
      .call<LogPage>('logs.tail', params)
      .then(
        (page) => {
          if (generation !== state.generation) return;
          state.cursor = page.cursor;
          const added = page.entries.map((entry) => ({ id: state.nextId++, entry }));
          if (added.length > 0) setLines((previous) => [...previous, ...added].slice(-MAX_LINES));
          setError(null);
          setLoading(false);
        },
        (failure: Error) => {
          if (generation === state.generation) setError(failure.message);
        },
      )
      .finally(() => {
        if (generation === state.generation) state.busy = false;
      });
  };

  useEffect(() => {
    const state = tail.current;
    state.generation += 1;
    state.cursor = null;
    state.busy = false;
    setLines([]);
    setLoading(true);
    void fetchMore();
    const offState = client.onState((connection) => connection === 'connected' && fetchMore());
    return offState;
  }, [client, filter.level, filter.component]);

  useEvery(POLL_MS, live, fetchMore);
  return { lines, error, loading };
}

/** pino writes levels as numbers (30 is info). */
const levelName = (level: number | string) => (typeof level === 'string' ? level : (LEVELS[Math.round(level / 10) - 1] ?? String(level)));

function extra(entry: LogEntry): string {
  const rest = Object.fromEntries(Object.entries(entry).filter(([key]) => !SHOWN.has(key)));
  const text = Object.keys(rest).length === 0 ? '' : JSON.stringify(rest);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Keeps a scrolled box at its bottom as it grows, until the reader scrolls up; returns whether it follows. */
function useFollow(grows: unknown) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  useLayoutEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [grows, follow]);
  const onScroll = () => {
    const element = box.current;
    if (element) setFollow(element.scrollHeight - element.scrollTop - element.clientHeight < 24);
  };
  return { box, follow, onScroll, resume: () => setFollow(true) };
}

/** The gateway's log, live while this view is open: filtered by level and component, pausable. */
export function Logs({ client }: { client: RpcClient }) {
  const [filter, setFilter] = useState<Filter>({ level: 'info', component: '' });
  const [paused, setPaused] = useState(false);
  const { lines, error, loading } = useLogTail(client, filter, !paused);
  const { box, follow, onScroll, resume } = useFollow(lines);
  const field = (key: keyof Filter) => (event: Event) => setFilter({ ...filter, [key]: (event.target as HTMLSelectElement).value });
  return (
    <Panel title="Live log" id="logs">
      <form class="filters" aria-label="Filter log lines" onSubmit={(event) => event.preventDefault()}>
        <label>
          Level and above{' '}
          <select value={filter.level} onChange={field('level')} data-testid="log-level">
            {LEVELS.map((level) => (
              <option key={level}>{level}</option>
            ))}
          </select>
        </label>
        <label>
          Component{' '}
          <select value={filter.component} onChange={field('component')} data-testid="log-component">
            <option value="">any</option>
            {COMPONENTS.map((component) => (
              <option key={component}>{component}</option>
            ))}
          </select>
        </label>
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        {!follow && (
          <button type="button" onClick={resume}>
            Jump to newest
          </button>
        )}
      </form>
      <p class="detail" role="status">
        {paused ? 'Paused: new lines wait until you resume.' : 'Live: new lines appear every second.'} {lines.length === 1 ? '1 line' : `${lines.length} lines`} shown (at most {MAX_LINES}).
      </p>
      <Notice error={error} loading={loading && lines.length === 0} empty={!loading && lines.length === 0 && 'No log lines match.'} />
      <div class="log-scroll" ref={box} onScroll={onScroll} tabIndex={0} role="region" aria-label="Log lines">
        <ol class="log">
          {lines.map(({ id, entry }) => (
            <li key={id} data-level={levelName(entry.level)} data-component={entry.component ?? 'gateway'}>
              <span class="log-level">{levelName(entry.level)}</span> <span class="log-time">{new Date(entry.time).toLocaleTimeString()}</span> <span class="log-component">{entry.component ?? 'gateway'}</span> {entry.msg} <span class="log-extra">{extra(entry)}</span>
            </li>
          ))}
        </ol>
      </div>
    </Panel>
  );
}
