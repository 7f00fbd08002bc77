import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HearthConfig } from '../config/schema.js';
import { bearerToken, tokenMatches } from './auth.js';
import { sendError } from './http-errors.js';
import { createRateLimiter } from './rate-limiter.js';
import { createWorkQueue, type WorkQueueLimits } from './work-queue.js';

/** How long a client told "busy" should wait before it retries. */
export const OVERLOADED_RETRY_AFTER_MS = 1000;

/** Why a presented token was refused, or null when it is right. */
export type TokenRefusal = { code: 'RATE_LIMITED'; message: string; retryAfterMs: number } | { code: 'AUTH_INVALID'; message: string } | null;

function queueLimits(gateway: HearthConfig['gateway']): WorkQueueLimits {
  const { perConnection, total, queuePerConnection, queueTotal } = gateway.concurrency;
  return { perClient: perConnection, total, queuePerClient: queuePerConnection, queueTotal };
}

const seconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

/**
 * What stands between a client and the gateway's work. Without a valid token, a strict
 * per-address rate limit (`gateway.rateLimit`) on every request and a stricter one on wrong
 * tokens, which blocks the address from trying more until it has waited. With a valid token, no
 * rate limit: work is bounded per connection and in total by a round-robin queue
 * (`gateway.concurrency`).
 */
export function createRequestGuards(config: () => HearthConfig['gateway'], token: () => string) {
  const rate = config().rateLimit;
  const anonymous = createRateLimiter({ perSecond: rate.perSecond, burst: rate.burst });
  const failures = createRateLimiter({ perSecond: rate.failedAuthPerMinute / 60, burst: rate.failedAuthBurst });
  const work = createWorkQueue(queueLimits(config()));
  /** HTTP connections whose close already drops their waiting requests. */
  const watchedSockets = new WeakSet<Socket>();
  const refresh = () => {
    const current = config();
    anonymous.configure(current.rateLimit.perSecond, current.rateLimit.burst);
    failures.configure(current.rateLimit.failedAuthPerMinute / 60, current.rateLimit.failedAuthBurst);
    work.configure(queueLimits(current));
  };
  const pruneTimer = setInterval(() => {
    refresh();
    anonymous.prune();
    failures.prune();
  }, 10_000);
  pruneTimer.unref();

  const tooMany = (response: ServerResponse, wait: number, message: string) => {
    sendError(response, 429, 'RATE_LIMITED', `${message} Retry in ${seconds(wait)} s.`, { headers: { 'retry-after': seconds(wait) } });
  };

  /** Checks a token presented from `address`; a wrong one counts against the address. */
  const checkToken = (address: string, presented: string | undefined): TokenRefusal => {
    const blocked = failures.peek(address);
    if (blocked > 0) {
      return { code: 'RATE_LIMITED', message: `Too many wrong tokens from ${address}; wait ${seconds(blocked)} s.`, retryAfterMs: blocked };
    }
    if (tokenMatches(presented, token())) return null;
    failures.take(address);
    return { code: 'AUTH_INVALID', message: 'The token is wrong. `hearth gateway token` prints the right one.' };
  };

  return {
    checkToken,
    /** Counts a request that comes without a token; false (and a 429 sent) when the address is over its limit. */
    anonymous(request: IncomingMessage, response: ServerResponse): boolean {
      const wait = anonymous.take(request.socket.remoteAddress ?? 'unknown');
      if (wait > 0) tooMany(response, wait, 'Too many requests without a token from this address.');
      return wait === 0;
    },
    /** An upgrade or frame without a token yet: the wait in ms (0 when allowed). */
    anonymousWait: (address: string) => anonymous.take(address),
    /** The bearer-token check for HTTP; false when it answered 401 or 429. */
    authorized(request: IncomingMessage, response: ServerResponse): boolean {
      const header = request.headers.authorization;
      const address = request.socket.remoteAddress ?? 'unknown';
      if (!header) {
        if (!this.anonymous(request, response)) return false;
        sendError(response, 401, 'AUTH_REQUIRED', 'Send Authorization: Bearer <token>. `hearth gateway token` prints the token.', {
          headers: { 'www-authenticate': 'Bearer' },
        });
        return false;
      }
      const refusal = checkToken(address, bearerToken(header));
      if (refusal === null) return true;
      if (refusal.code === 'RATE_LIMITED') tooMany(response, refusal.retryAfterMs, refusal.message);
      else {
        sendError(response, 401, 'AUTH_INVALID', 'The bearer token is wrong. `hearth gateway token` prints the right one.', {
          headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
        });
      }
      return false;
    },
    /**
     * Runs an authenticated request's work in its connection's turn; answers 503 with
     * Retry-After when the queues are full.
     */
    async admitHttp(request: IncomingMessage, response: ServerResponse, task: () => Promise<void>): Promise<void> {
      const client = `http:${request.socket.remoteAddress ?? 'unknown'}:${request.socket.remotePort ?? 0}`;
      // A client that hangs up while its request waits is not served later.
      if (!watchedSockets.has(request.socket)) {
        watchedSockets.add(request.socket);
        request.socket.once('close', () => work.forget(client));
      }
      const result = await work.run(client, task);
      if (!result.admitted) {
        const { perConnection, total } = config().concurrency;
        sendError(
          response,
          503,
          'OVERLOADED',
          `The gateway is busy: ${total} requests are running (gateway.concurrency.total; ${perConnection} per connection) and the queue is full. Retry in ${seconds(OVERLOADED_RETRY_AFTER_MS)} s.`,
          { headers: { 'retry-after': seconds(OVERLOADED_RETRY_AFTER_MS) } },
        );
      }
    },
    work,
    close() {
      clearInterval(pruneTimer);
    },
  };
}

export type RequestGuards = ReturnType<typeof createRequestGuards>;
