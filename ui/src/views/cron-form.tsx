import { useEffect, useState } from 'preact/hooks';
import type { RpcClient } from '../rpc';
import { Panel } from '../parts';
import { useAction } from '../use-action';
import { useRpc } from '../use-rpc';

type Kind = 'at' | 'every' | 'cron';

const KINDS: { kind: Kind; label: string; hint: string; placeholder: string }[] = [
  { kind: 'cron', label: 'Cron expression', hint: 'minute hour day month weekday, e.g. 0 9 * * 1-5', placeholder: '0 9 * * *' },
  { kind: 'every', label: 'Every', hint: 'a duration, e.g. 30m, 1h30m or 2d', placeholder: '1h' },
  { kind: 'at', label: 'Once at', hint: 'an ISO time with its offset, e.g. 2026-12-24T18:00:00+01:00', placeholder: '2026-12-24T18:00:00+01:00' },
];

const PREVIEW_DELAY_MS = 300;

interface Preview {
  schedule: string;
  timeZone: string;
  next: string[];
}

interface Agents {
  agents?: { id: string; default: boolean }[];
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The schedule as `cron.preview` and `cron.add` take it; the zone goes with a cron expression only when adding. */
function scheduleParams(kind: Kind, value: string, tz: string, adding: boolean): Record<string, string> {
  const params: Record<string, string> = { [kind]: value.trim() };
  if (tz.trim() && (kind === 'cron' || !adding)) params.tz = tz.trim();
  return params;
}

/** The next run times of a schedule as the gateway plans them, asked for once typing pauses. */
function usePreview(client: RpcClient, kind: Kind, value: string, tz: string) {
  const [state, setState] = useState<{ preview: Preview | null; error: string | null }>({ preview: null, error: null });
  useEffect(() => {
    if (!value.trim()) {
      setState({ preview: null, error: null });
      return;
    }
    let live = true;
    const timer = window.setTimeout(() => {
      client.call<Preview>('cron.preview', scheduleParams(kind, value, tz, false)).then(
        (preview) => live && setState({ preview, error: null }),
        (error: Error) => live && setState({ preview: null, error: error.message }),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [client, kind, value, tz]);
  return state;
}

function formatIn(iso: string, timeZone: string): string {
  const offset = iso.slice(19);
  const text = new Date(iso).toLocaleString(undefined, { timeZone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return `${text} (${offset === 'Z' ? '+00:00' : offset})`;
}

/** Adds a job, showing its next five runs in the job's zone while the schedule is typed. */
export function CronForm({ client, onAdded }: { client: RpcClient; onAdded(): void }) {
  const agents = useRpc<Agents>(client, 'status');
  const [name, setName] = useState('');
  const [message, setMessage] = useState('');
  const [kind, setKind] = useState<Kind>('cron');
  const [value, setValue] = useState('');
  const [tz, setTz] = useState(browserZone);
  const [agentId, setAgentId] = useState('');
  const preview = usePreview(client, kind, value, tz);
  const action = useAction(() => {
    setName('');
    setMessage('');
    onAdded();
  });
  const current = KINDS.find((entry) => entry.kind === kind) ?? KINDS[0]!;
  const submit = (event: Event) => {
    event.preventDefault();
    const params = { name: name.trim(), message, ...scheduleParams(kind, value, tz, true), ...(agentId ? { agentId } : {}) };
    void action.run(client.call('cron.add', params), `Added ${name.trim()}.`);
  };
  const input = (set: (text: string) => void) => (event: Event) => set((event.target as HTMLInputElement).value);
  return (
    <Panel title="New job" id="cron-new">
      <form class="form" onSubmit={submit} data-testid="cron-form">
        <label for="cron-name">Name</label>
        <input id="cron-name" required value={name} onInput={input(setName)} />
        <label for="cron-message">Message to the agent</label>
        <textarea id="cron-message" required rows={3} value={message} onInput={input(setMessage)} />
        <fieldset>
          <legend>Schedule</legend>
          <div class="choices">
            {KINDS.map((entry) => (
              <label key={entry.kind}>
                <input type="radio" name="cron-kind" value={entry.kind} checked={kind === entry.kind} onChange={() => setKind(entry.kind)} /> {entry.label}
              </label>
            ))}
          </div>
          <label for="cron-value">{current.label}</label>
          <input id="cron-value" required aria-describedby="cron-value-hint" placeholder={current.placeholder} value={value} onInput={input(setValue)} />
          <p id="cron-value-hint" class="hint">
            {current.hint}
          </p>
          <label for="cron-tz">Time zone</label>
          <input id="cron-tz" list="cron-zones" aria-describedby="cron-tz-hint" value={tz} onInput={input(setTz)} />
          <p id="cron-tz-hint" class="hint">
            {kind === 'cron' ? 'The expression runs on this zone\u2019s clock.' : 'Run times are shown in this zone.'}
          </p>
          <datalist id="cron-zones">
            {Intl.supportedValuesOf('timeZone').map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </fieldset>
        <label for="cron-agent">Agent</label>
        <select id="cron-agent" value={agentId} onChange={input(setAgentId)}>
          <option value="">The default agent</option>
          {agents.data?.agents?.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.id}
              {agent.default ? ' (default)' : ''}
            </option>
          ))}
        </select>
        <section class="preview" aria-live="polite" aria-labelledby="cron-preview-title" data-testid="cron-preview">
          <h3 id="cron-preview-title">Next runs</h3>
          {preview.error && <p class="notice notice-error">{preview.error}</p>}
          {!preview.error && !preview.preview && <p class="notice">Type a schedule to see when it runs.</p>}
          {preview.preview && preview.preview.next.length === 0 && <p class="notice">This schedule has no more runs.</p>}
          {preview.preview && preview.preview.next.length > 0 && (
            <ol>
              {preview.preview.next.map((iso) => (
                <li key={iso}>
                  <time dateTime={iso}>{formatIn(iso, preview.preview?.timeZone ?? tz)}</time>
                </li>
              ))}
            </ol>
          )}
        </section>
        <div class="buttons">
          <button type="submit">Add job</button>
        </div>
        <p class="notice" role="status">
          {action.message}
        </p>
      </form>
    </Panel>
  );
}
