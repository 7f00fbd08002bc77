import { ConnectionError, HTTPError, MatrixError } from 'matrix-js-sdk';
import { ChannelError, isChannelError } from '../../contracts/channel.js';

/** The wait when a 429 names none (neither `retry_after_ms` nor `Retry-After`). */
const DEFAULT_RETRY_AFTER_MS = 1000;

/** `retry_after_ms` from the body (the spec's field), else the `Retry-After` header (newer servers). */
function retryAfterMs(error: MatrixError): number {
  const fromBody = error.data?.retry_after_ms;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  try {
    return error.getRetryAfterMs() ?? DEFAULT_RETRY_AFTER_MS;
  } catch {
    return DEFAULT_RETRY_AFTER_MS;
  }
}

/**
 * Maps a failed homeserver call to what the supervisor and the outbox act on: a refused token is
 * `auth` (no retry fixes it), `M_LIMIT_EXCEEDED` is `rate-limited` with the server's wait, a 5xx
 * or a network failure is `transient`, and any other refusal (`M_FORBIDDEN`: not in the room,
 * banned, no permission) is `rejected`.
 */
export function toMatrixChannelError(error: unknown, action: string): ChannelError {
  if (isChannelError(error)) return error;
  if (error instanceof MatrixError) {
    const status = error.httpStatus ?? 0;
    const code = error.errcode ?? `HTTP ${status}`;
    const detail = `the homeserver refused to ${action}: ${code}${error.data?.error ? ` ${String(error.data.error)}` : ''}`;
    if (code === 'M_UNKNOWN_TOKEN' || code === 'M_MISSING_TOKEN' || status === 401) return new ChannelError('auth', detail, { cause: error });
    if (code === 'M_LIMIT_EXCEEDED' || status === 429) return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: retryAfterMs(error) });
    if (status >= 500) return new ChannelError('transient', detail, { cause: error });
    return new ChannelError('rejected', detail, { cause: error });
  }
  if (error instanceof HTTPError) {
    // Not a Matrix error body: something else answers at homeserverUrl (a web server, a proxy).
    const status = error.httpStatus ?? 0;
    const detail = `the homeserver answered HTTP ${status} to ${action} without a Matrix error (is homeserverUrl the client API's base URL?)`;
    if (status === 429) return new ChannelError('rate-limited', detail, { cause: error, retryAfterMs: DEFAULT_RETRY_AFTER_MS });
    if (status >= 500 || status === 0) return new ChannelError('transient', detail, { cause: error });
    return new ChannelError('rejected', detail, { cause: error });
  }
  if (error instanceof ConnectionError) return new ChannelError('transient', `could not reach the homeserver to ${action}: ${error.message}`, { cause: error });
  return new ChannelError('transient', `${action} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
