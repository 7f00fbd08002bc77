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

function fragmentParam(name: string): string | null {
  const query = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(query).get(name);
}

/**
 * A value kept after the view in the fragment (`#/runs?run=<id>`), so it survives a reload and
 * back goes to the previous one; `null` removes it.
 */
export function useFragmentParam(name: string): [string | null, (value: string | null) => void] {
  const [value, setValue] = useState<string | null>(() => fragmentParam(name));
  useEffect(() => {
    const follow = () => setValue(fragmentParam(name));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, [name]);
  const set = (next: string | null) => {
    const [path, query = ''] = location.hash.split('?');
    const params = new URLSearchParams(query);
    if (next === null) params.delete(name);
    else params.set(name, next);
    const text = params.toString();
    const base = path || '#/';
    location.hash = text ? `${base}?${text}` : base;
  };
  return [value, set];
}
