import { useEffect, useState } from 'preact/hooks';

/** The views, in navigation order: each has its own fragment route (`#/cron`). */
export const VIEWS = [
  { id: 'overview', name: 'Overview' },
  { id: 'chat', name: 'Chat' },
  { id: 'channels', name: 'Channels' },
  { id: 'cron', name: 'Cron' },
  { id: 'runs', name: 'Runs' },
  { id: 'logs', name: 'Logs' },
  { id: 'memory', name: 'Memory' },
  { id: 'skills', name: 'Skills' },
  { id: 'plugins', name: 'Plugins' },
  { id: 'tools', name: 'Tools' },
  { id: 'config', name: 'Config' },
  { id: 'usage', name: 'Usage' },
] as const;

export type ViewId = (typeof VIEWS)[number]['id'];

function routeOf(hash: string): ViewId {
  const id = hash.replace(/^#\/?/u, '').split(/[/?&]/u)[0] ?? '';
  return VIEWS.some((view) => view.id === id) ? (id as ViewId) : 'overview';
}

/** The view the address bar names; follows back, forward and edits of the fragment. */
export function useRoute(): ViewId {
  const [route, setRoute] = useState<ViewId>(() => routeOf(location.hash));
  useEffect(() => {
    const follow = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return route;
}
