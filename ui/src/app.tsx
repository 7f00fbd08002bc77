import { useEffect, useState } from 'preact/hooks';
import { type ConnectionState, RpcClient } from './rpc';
import { useRoute, VIEWS, type ViewId } from './routes';
import { forgetToken, storeToken, storedToken, takeTokenFromFragment } from './token';
import { Notice } from './parts';
import { Config } from './views/config';
import { Cron } from './views/cron';
import { Channels, Plugins, Tools } from './views/lists';
import { Logs } from './views/logs';
import { ApprovedSenders, ChannelLogin, HealthEpisodes, McpServers, Memory, Skills } from './views/more';
import { Overview } from './views/overview';
import { Runs } from './views/runs';
import { Usage } from './views/usage';

type Theme = 'light' | 'dark';
const THEME_KEY = 'hearth.theme';

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function App() {
  const [token, setToken] = useState<string | null>(() => takeTokenFromFragment() ?? storedToken());
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggleTheme = () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(THEME_KEY, next);
    setTheme(next);
  };
  if (!token) return <TokenForm onToken={setToken} />;
  return <Connected token={token} theme={theme} onTheme={toggleTheme} onRefused={() => setToken(null)} />;
}

function Connected({ token, theme, onTheme, onRefused }: { token: string; theme: Theme; onTheme(): void; onRefused(): void }) {
  const [client] = useState(() => new RpcClient(token));
  const [state, setState] = useState<ConnectionState>(client.state);
  const route = useRoute();
  useEffect(() => {
    const off = client.onState(setState);
    // The connection may have opened between the first render and this subscription.
    setState(client.state);
    return () => {
      off();
      client.close();
    };
  }, [client]);
  useEffect(() => {
    // Every view hears of health changes as `health` events, pushed by the gateway only on a change.
    // The answer is the health now: views loaded before it may be older, so it counts as a push too.
    if (state === 'connected') client.call('health.subscribe').then((snapshot) => client.dispatch('health', snapshot), () => {});
  }, [client, state]);
  useEffect(() => {
    if (state !== 'refused') return;
    forgetToken();
    onRefused();
  }, [state, onRefused]);
  const current = VIEWS.find((view) => view.id === route) ?? VIEWS[0];
  useEffect(() => {
    document.title = `${current.name} · Hearth`;
  }, [current.name]);
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Hearth</span>
        <span class="connection" data-testid="connection" data-state={state} role="status">
          {state === 'connected' ? 'Connected' : state === 'connecting' ? 'Connecting…' : 'Offline, reconnecting…'}
        </span>
        <button type="button" class="theme" onClick={onTheme} aria-pressed={theme === 'dark'}>
          Dark theme
        </button>
      </header>
      <nav aria-label="Views">
        <ul>
          {VIEWS.map((view) => (
            <li key={view.id}>
              <a href={`#/${view.id}`} aria-current={view.id === route ? 'page' : undefined}>
                {view.name}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" data-view={route}>
        <h1>{current.name}</h1>
        <View id={route} client={client} />
      </main>
    </div>
  );
}

function View({ id, client }: { id: ViewId; client: RpcClient }) {
  switch (id) {
    case 'overview':
      return <Overview client={client} />;
    case 'chat':
      return <LazyChat client={client} />;
    case 'channels':
      return (
        <div class="stack">
          <Channels client={client} />
          <ApprovedSenders client={client} />
          <HealthEpisodes client={client} />
          <ChannelLogin client={client} />
        </div>
      );
    case 'cron':
      return <Cron client={client} />;
    case 'runs':
      return <Runs client={client} />;
    case 'logs':
      return <Logs client={client} />;
    case 'plugins':
      return (
        <div class="stack">
          <Plugins client={client} />
          <McpServers client={client} />
        </div>
      );
    case 'tools':
      return <Tools client={client} />;
    case 'memory':
      return <Memory client={client} />;
    case 'skills':
      return <Skills client={client} />;
    case 'config':
      return <Config client={client} />;
    case 'usage':
      return <Usage client={client} />;
  }
}

type ChatView = typeof import('./views/chat').Chat;

/** The Chat view and its Markdown, sanitizing and highlighting code, fetched when first opened. */
function LazyChat({ client }: { client: RpcClient }) {
  const [view, setView] = useState<{ Chat: ChatView } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    import('./views/chat').then(
      (module) => live && setView({ Chat: module.Chat }),
      (problem: Error) => live && setError(`The Chat view did not load: ${problem.message}`),
    );
    return () => {
      live = false;
    };
  }, []);
  if (!view) return <Notice error={error} loading />;
  return <view.Chat client={client} />;
}

function TokenForm({ onToken }: { onToken(token: string): void }) {
  const [value, setValue] = useState('');
  return (
    <main class="token-page">
      <h1>Hearth</h1>
      <form
        data-testid="token-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (!value.trim()) return;
          storeToken(value.trim());
          onToken(value.trim());
        }}
      >
        <label for="token">Gateway token</label>
        <p id="token-help">Open the address the gateway printed, or paste the token from <code>hearth gateway token</code>.</p>
        <input id="token" type="password" autocomplete="off" aria-describedby="token-help" value={value} onInput={(event) => setValue((event.target as HTMLInputElement).value)} />
        <button type="submit">Connect</button>
      </form>
    </main>
  );
}
