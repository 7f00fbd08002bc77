import { ChannelError } from '../../contracts/channel.js';
import { deadlineSignal } from '../../runtime/deadline.js';

/**
 * A JSON-RPC 2.0 client for signal-cli's HTTP daemon (`signal-cli daemon --http`): one request per
 * POST to `{rpcUrl}/api/v1/rpc`. Failures come back as ChannelErrors the supervisor and the outbox
 * can act on: the daemon unreachable is transient, an account it does not serve is auth, Signal's
 * rate limit is rate-limited, a recipient or group Signal refuses is rejected.
 */
export interface SignalRpc {
  /** Calls `method` for the account (`global`: for the daemon itself, without the account). */
  call<T>(method: string, params: Record<string, unknown>, signal: AbortSignal, action: string, options?: { global?: boolean }): Promise<T>;
}

/** signal-cli's JSON-RPC error codes (SignalJsonRpcCommandHandler). */
export const SIGNAL_RPC_ERRORS = {
  userError: -1,
  ioError: -3,
  untrustedKey: -4,
  rateLimit: -5,
  captchaRejected: -6,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
} as const;

export interface SignalRpcErrorBody {
  code: number;
  message: string;
  data?: { response?: { results?: { type?: string; retryAfterSeconds?: number }[] } } | null;
}

/** How long one daemon call may take when the caller gives no tighter limit. */
const CALL_TIMEOUT_MS = 30_000;
/** Signal's rate limits usually lift within seconds; used when signal-cli does not say when. */
const DEFAULT_RATE_LIMIT_MS = 5_000;

export function createSignalRpc(rpcUrl: string, account: string | undefined): SignalRpc {
  const endpoint = `${rpcUrl.replace(/\/+$/u, '')}/api/v1/rpc`;
  let nextId = 1;
  return {
    async call<T>(method: string, params: Record<string, unknown>, signal: AbortSignal, action: string, options: { global?: boolean } = {}): Promise<T> {
      const id = nextId++;
      // In multi-account mode every account-scoped request names its account; a single-account daemon ignores it.
      const body = JSON.stringify({ jsonrpc: '2.0', method, params: account === undefined || options.global ? params : { ...params, account }, id });
      let response: Response;
      const deadline = deadlineSignal(CALL_TIMEOUT_MS, signal);
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body,
          signal: deadline.signal,
        });
      } catch (error) {
        deadline.clear();
        throw new ChannelError('transient', `could not reach the signal-cli daemon at ${endpoint} to ${action}: ${reason(error)}`, { cause: error });
      }
      const text = await response
        .text()
        .catch((error: unknown) => {
          throw new ChannelError('transient', `the signal-cli daemon's answer to ${method} broke off: ${reason(error)}`, { cause: error });
        })
        .finally(deadline.clear);
      if (response.status >= 500) throw new ChannelError('transient', `the signal-cli daemon answered ${method} with HTTP ${response.status}`);
      if (response.status !== 200) throw new ChannelError('rejected', `the signal-cli daemon refused ${method} with HTTP ${response.status} (is ${rpcUrl} a signal-cli daemon started with --http?)`);
      let parsed: { result?: unknown; error?: SignalRpcErrorBody };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new ChannelError('transient', `the signal-cli daemon answered ${method} with something that is not JSON`);
      }
      if (parsed.error) throw signalRpcError(parsed.error, action);
      return parsed.result as T;
    },
  };
}

/** Maps a signal-cli JSON-RPC error to what the delivery and supervision logic can act on. */
export function signalRpcError(error: SignalRpcErrorBody, action: string): ChannelError {
  const detail = `signal-cli refused to ${action}: ${error.message} (code ${error.code})`;
  const results = error.data?.response?.results ?? [];
  switch (error.code) {
    case SIGNAL_RPC_ERRORS.rateLimit: {
      const seconds = Math.max(0, ...results.map((result) => result.retryAfterSeconds ?? 0));
      return new ChannelError('rate-limited', detail, { retryAfterMs: seconds > 0 ? seconds * 1000 : DEFAULT_RATE_LIMIT_MS });
    }
    case SIGNAL_RPC_ERRORS.invalidParams:
      // "Specified account does not exist" / "Method requires valid account parameter": the daemon does not serve this account.
      return /account/iu.test(error.message) ? new ChannelError('auth', detail) : new ChannelError('rejected', detail);
    case SIGNAL_RPC_ERRORS.ioError:
    case SIGNAL_RPC_ERRORS.internal:
      return new ChannelError('transient', detail);
    case SIGNAL_RPC_ERRORS.userError:
      // "Failed to send message" with only network failures is worth retrying; an unregistered user or unknown group is not.
      return results.length > 0 && results.every((result) => result.type === 'NETWORK_FAILURE') ? new ChannelError('transient', detail) : new ChannelError('rejected', detail);
    default:
      return new ChannelError('rejected', detail);
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
