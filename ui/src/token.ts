/** The gateway token, kept in this browser only (shared with WebChat), never sent in a URL query. */
const TOKEN_KEY = 'hearth.gatewayToken';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // private mode: the token lives for this page only
  }
}

export function forgetToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored
  }
}

/**
 * `#token=…` as the gateway prints it: the token is stored and removed from the address bar, so
 * the fragment is left for the view route.
 */
export function takeTokenFromFragment(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#\/?/u, ''));
  const token = params.get('token')?.trim();
  if (!token) return null;
  storeToken(token);
  history.replaceState(history.state, '', `${location.pathname}${location.search}#/overview`);
  return token;
}
