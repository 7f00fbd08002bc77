import type { Cache, HttpInstance, HttpRequestOptions } from '@larksuiteoapi/node-sdk';
import { ChannelError, isChannelError } from '../../contracts/channel.js';

/**
 * The HTTP layer the Feishu SDK's Client calls through: Node's fetch with a timeout, and every
 * refusal turned into a FeishuApiError carrying Feishu's `code`, so the SDK's own axios instance
 * (shared by every client in the process, no timeout) is not used.
 */

/** Token codes that mean the app's credentials (or the token made from them) are refused. */
const AUTH_CODES: readonly number[] = [
  99991661, // missing access token
  99991663, // invalid tenant access token
  99991664, // invalid app access token
  99991665, // invalid tenant code
  99991668, // invalid user access token
  99991671, // token malformed
  99991672, // the app lacks the permission (scope) for this API
  99991673, // app status unavailable
  10003, // auth/v3: invalid app_id
  10014, // auth/v3: invalid app_secret
];
/** Codes of an access token that expired or was revoked: fetching a new one may help once. */
export const STALE_TOKEN_CODES: readonly number[] = [99991663, 99991664];
/** Feishu's code for "request trigger frequency limit" (HTTP 429, or 400 on some older APIs). */
const RATE_LIMIT_CODE = 99991400;
const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';

const FEISHU_API_ERROR = Symbol.for('hearth.feishu-api-error');

/** Feishu answered with an HTTP error or a non-zero `code`. */
export class FeishuApiError extends Error {
  readonly [FEISHU_API_ERROR] = true;
  readonly status: number;
  readonly code: number | undefined;
  readonly path: string;
  /** Seconds from `x-ogw-ratelimit-reset` (rate limits only). */
  readonly retryAfterSeconds: number | undefined;

  constructor(parts: { status: number; code: number | undefined; msg: string; path: string; retryAfterSeconds?: number }) {
    super(`Feishu answered HTTP ${parts.status}${parts.code === undefined ? '' : ` code ${parts.code}`} to ${parts.path}: ${parts.msg}`);
    this.name = 'FeishuApiError';
    this.status = parts.status;
    this.code = parts.code;
    this.path = parts.path;
    this.retryAfterSeconds = parts.retryAfterSeconds;
  }
}

export function isFeishuApiError(value: unknown): value is FeishuApiError {
  return typeof value === 'object' && value !== null && (value as { [FEISHU_API_ERROR]?: unknown })[FEISHU_API_ERROR] === true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The query string of a request: the SDK passes its serializer (qs) with some calls. */
function queryOf(options: HttpRequestOptions<unknown>): string {
  const params = options.params;
  if (!isRecord(params)) return '';
  const serializer = options.paramsSerializer;
  if (typeof serializer === 'function') {
    const text = serializer(params);
    return text.length > 0 ? `?${text}` : '';
  }
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) query.append(key, String(item));
    else query.append(key, String(value));
  }
  const text = query.toString();
  return text.length > 0 ? `?${text}` : '';
}

function headersOf(options: HttpRequestOptions<unknown>, hasBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') headers[key] = String(value);
  }
  if (hasBody && !Object.keys(headers).some((key) => key.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json; charset=utf-8';
  return headers;
}

/** One call; resolves with the parsed body when Feishu answered 2xx with code 0. */
async function call(options: HttpRequestOptions<unknown>, timeoutMs: number): Promise<unknown> {
  const url = options.url ?? '';
  const method = (options.method ?? 'GET').toUpperCase();
  const hasBody = options.data !== undefined && method !== 'GET' && method !== 'HEAD';
  const path = (() => {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  })();
  const response = await fetch(`${url}${queryOf(options)}`, {
    method,
    headers: headersOf(options, hasBody),
    ...(hasBody ? { body: JSON.stringify(options.data) } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const code = isRecord(body) && typeof body.code === 'number' ? body.code : undefined;
  const msg = isRecord(body) && typeof body.msg === 'string' ? body.msg.slice(0, 300) : text.slice(0, 200) || response.statusText;
  const reset = Number(response.headers.get('x-ogw-ratelimit-reset') ?? response.headers.get('retry-after'));
  if (!response.ok || code !== 0) {
    throw new FeishuApiError({ status: response.status, code, msg, path, ...(Number.isFinite(reset) && reset >= 0 ? { retryAfterSeconds: reset } : {}) });
  }
  return body;
}

/** An HttpInstance for the SDK's Client: fetch, a timeout per call, Feishu's refusals as FeishuApiError. */
export function createFeishuHttp(timeoutMs: number): HttpInstance {
  const request = <R>(options: HttpRequestOptions<unknown>) => call(options, timeoutMs) as Promise<R>;
  return {
    request,
    get: (url, options) => request({ ...options, url, method: 'GET' }),
    delete: (url, options) => request({ ...options, url, method: 'DELETE' }),
    head: (url, options) => request({ ...options, url, method: 'HEAD' }),
    options: (url, options) => request({ ...options, url, method: 'OPTIONS' }),
    post: (url, data, options) => request({ ...options, url, method: 'POST', data }),
    put: (url, data, options) => request({ ...options, url, method: 'PUT', data }),
    patch: (url, data, options) => request({ ...options, url, method: 'PATCH', data }),
  };
}

/**
 * The SDK's token cache for one account (the tenant_access_token, kept until 3 minutes before it
 * expires). Its default cache is shared by every client in the process; this one is the
 * account's own and can be emptied when Feishu says the token went stale.
 */
export function createTokenCache(): Cache & { clear(): void } {
  const values = new Map<string, { value: unknown; expiresAt: number | undefined }>();
  const keyOf = (key: string | symbol, namespace: string | undefined) => `${namespace ?? ''}/${String(key)}`;
  return {
    async get(key, options) {
      const entry = values.get(keyOf(key as symbol, options?.namespace));
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return undefined;
      return entry.value;
    },
    async set(key, value, expire, options) {
      values.set(keyOf(key as symbol, options?.namespace), { value, expiresAt: expire });
      return true;
    },
    clear() {
      values.clear();
    },
  };
}

/** Maps a failed Feishu call to what the supervisor and the outbox can act on. */
export function toChannelError(error: unknown, action: string): ChannelError {
  if (isChannelError(error)) return error;
  if (isFeishuApiError(error)) {
    const detail = `Feishu refused to ${action}: ${error.message}`;
    if (error.status === 429 || error.code === RATE_LIMIT_CODE) {
      const seconds = error.retryAfterSeconds ?? 1;
      return new ChannelError('rate-limited', `Feishu rate-limited the call to ${action}: retry after ${seconds} s`, { cause: error, retryAfterMs: seconds * 1000 });
    }
    if (error.status >= 500 || error.status === 408) return new ChannelError('transient', `Feishu answered HTTP ${error.status} to ${action}`, { cause: error });
    if (error.code !== undefined && AUTH_CODES.includes(error.code)) return new ChannelError('auth', detail, { cause: error });
    // The token endpoint refusing the app id and secret, whatever the code.
    if (error.path.endsWith(TOKEN_PATH)) return new ChannelError('auth', detail, { cause: error });
    if (error.status === 401 || error.status === 403) return new ChannelError('auth', detail, { cause: error });
    return new ChannelError('rejected', detail, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new ChannelError('transient', `could not reach Feishu to ${action}: ${reason}`, { cause: error });
}
