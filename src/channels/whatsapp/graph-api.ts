import { ChannelError, isChannelError } from '../../contracts/channel.js';
import { deadlineSignal } from '../../runtime/deadline.js';

/**
 * The WhatsApp Business Cloud API is part of Meta's Graph API, spoken here over `fetch`: Meta
 * publishes no maintained Node SDK for it (the old `whatsapp` npm package is archived).
 */

/** The Graph API version Hearth speaks (released February 2026, available until July 2028). */
export const GRAPH_API_VERSION = 'v25.0';
export const DEFAULT_GRAPH_API_ROOT = 'https://graph.facebook.com';

/** The longest one Graph API request may take. */
const CALL_TIMEOUT_MS = 30_000;

/** Graph error codes that mean the token or the app's permissions are refused: no retry helps until the config changes. */
const AUTH_CODES: readonly number[] = [0, 3, 10, 102, 190];
/** Graph error codes for throttling, with how long to wait when no Retry-After comes with them. */
const RATE_LIMIT_WAIT_MS: Readonly<Record<number, number>> = {
  /** Application request limit (per app, per hour). */
  4: 60_000,
  /** WhatsApp Business Account rate limit. */
  80007: 60_000,
  /** Cloud API throughput limit (messages per second for the number). */
  130429: 1_000,
  /** Spam rate limit: too many messages the recipients did not engage with. */
  131048: 60_000,
  /** Pair rate limit: too many messages to the same person in a short time (about one per 6 s). */
  131056: 6_000,
};
/** Graph error codes for a failure on Meta's side: retry with backoff. */
const TRANSIENT_CODES: readonly number[] = [1, 2, 131000, 131016, 133004];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `apiRoot` with the API version: as given when it already ends in `/vNN.N`, else with GRAPH_API_VERSION added. */
export function graphBaseUrl(apiRoot: string = DEFAULT_GRAPH_API_ROOT): string {
  const trimmed = apiRoot.replace(/\/+$/u, '');
  return /\/v\d+\.\d+$/u.test(trimmed) ? trimmed : `${trimmed}/${GRAPH_API_VERSION}`;
}

/** The parts of a Graph error body Hearth looks at: `{ error: { message, code, error_subcode, error_data: { details } } }`. */
function graphErrorParts(body: unknown): { code?: number; message?: string } {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (!error) return {};
  const details = isRecord(error.error_data) && typeof error.error_data.details === 'string' ? error.error_data.details : undefined;
  const message = typeof error.message === 'string' ? error.message : undefined;
  const text = [message, details].filter((part) => part !== undefined && part.length > 0).join(': ').slice(0, 300);
  return { ...(typeof error.code === 'number' ? { code: error.code } : {}), ...(text.length > 0 ? { message: text } : {}) };
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Maps a Graph API refusal to what the supervisor and the outbox can act on: 401 or an OAuth
 * error (190) → auth; 429 or a throttling code (130429, 131056, …) → rate-limited, honouring
 * Retry-After; 5xx or Meta's own failures → transient; any other 4xx (outside the 24-hour window,
 * recipient not on WhatsApp, bad parameter) → rejected.
 */
export function graphError(status: number, body: unknown, retryAfter: string | null, action: string): ChannelError {
  const { code, message } = graphErrorParts(body);
  const detail = `WhatsApp answered HTTP ${status}${code === undefined ? '' : ` (error ${code})`} to ${action}${message === undefined ? '' : `: ${message}`}`;
  const waitMs = retryAfterMs(retryAfter);
  if (status === 401 || (code !== undefined && (AUTH_CODES.includes(code) || (code >= 200 && code <= 299)))) return new ChannelError('auth', detail);
  if (status === 429 || (code !== undefined && code in RATE_LIMIT_WAIT_MS)) {
    return new ChannelError('rate-limited', detail, { retryAfterMs: waitMs ?? (code === undefined ? undefined : RATE_LIMIT_WAIT_MS[code]) ?? 1_000 });
  }
  if (status >= 500 || status === 408 || (code !== undefined && TRANSIENT_CODES.includes(code))) return new ChannelError('transient', detail);
  return new ChannelError('rejected', detail);
}

/** Calls to the Graph API with one account's token. Every call rejects with a ChannelError. */
export interface GraphClient {
  get(path: string, query: Record<string, string>, signal: AbortSignal, action: string): Promise<Record<string, unknown>>;
  post(path: string, body: Record<string, unknown>, signal: AbortSignal, action: string): Promise<Record<string, unknown>>;
}

export function createGraphClient(options: { apiRoot?: string; accessToken: string }): GraphClient {
  const base = graphBaseUrl(options.apiRoot);

  async function call(method: 'GET' | 'POST', path: string, query: Record<string, string>, body: Record<string, unknown> | undefined, signal: AbortSignal, action: string) {
    const url = new URL(`${base}/${path}`);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    let response: Response;
    let text: string;
    const deadline = deadlineSignal(CALL_TIMEOUT_MS, signal);
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${options.accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: deadline.signal,
      });
      text = await response.text();
    } catch (error) {
      if (isChannelError(error)) throw error;
      const reason = signal.aborted ? 'cancelled' : error instanceof Error ? error.message : String(error);
      throw new ChannelError('transient', `could not reach WhatsApp to ${action}: ${reason}`, { cause: error });
    } finally {
      deadline.clear();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw graphError(response.status, parsed, response.headers.get('retry-after'), action);
    if (!isRecord(parsed)) throw new ChannelError('transient', `WhatsApp answered ${action} with something that is not a JSON object`);
    return parsed;
  }

  return {
    get: (path, query, signal, action) => call('GET', path, query, undefined, signal, action),
    post: (path, body, signal, action) => call('POST', path, {}, body, signal, action),
  };
}
