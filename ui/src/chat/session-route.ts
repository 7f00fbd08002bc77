import { useCallback, useEffect, useState } from 'preact/hooks';

/**
 * Session keys as the Chat view makes and reads them (src/routing/session-keys.ts): a new session
 * started here is `agent:<agentId>:webchat:direct:ui-<random>`, which the gateway accepts like any
 * other direct conversation; the selected one lives in the address as `#/chat?session=<key>`.
 */

export function newSessionKey(agentId: string): string {
  const random = crypto.randomUUID().replace(/-/gu, '').slice(0, 12);
  return `agent:${agentId}:webchat:direct:ui-${random}`;
}

export function mainSessionKey(agentId: string): string {
  return `agent:${agentId}:main`;
}

/** The agent a key belongs to, or null for keys without one (cron runs). */
export function agentOfSessionKey(sessionKey: string): string | null {
  return /^agent:([a-z0-9_][a-z0-9_-]{0,63}):/u.exec(sessionKey)?.[1] ?? null;
}

/** A shorter name for a key in lists: the agent prefix dropped. */
export function sessionLabel(sessionKey: string): string {
  const agent = agentOfSessionKey(sessionKey);
  return agent ? sessionKey.slice(`agent:${agent}:`.length) : sessionKey;
}

function sessionOfHash(hash: string): string | null {
  const query = hash.split('?')[1];
  if (!query) return null;
  const value = new URLSearchParams(query).get('session');
  return value && value.length <= 512 ? value : null;
}

/** The session the address names, and a setter that writes it there (so back, forward and reload follow it). */
export function useSessionParam(): [string | null, (sessionKey: string) => void] {
  const [session, setSession] = useState<string | null>(() => sessionOfHash(location.hash));
  useEffect(() => {
    const follow = () => setSession(sessionOfHash(location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  const select = useCallback((sessionKey: string) => {
    location.hash = `#/chat?${new URLSearchParams({ session: sessionKey }).toString()}`;
  }, []);
  return [session, select];
}
