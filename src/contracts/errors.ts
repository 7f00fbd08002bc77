/**
 * The one error catalogue. Every error that crosses a module boundary is a HearthError with a
 * stable `code` and a message that tells the reader what to do. Recognise errors with
 * `isHearthError` (a Symbol.for brand), not `instanceof`, so copies across bundles still match.
 */
export const ERROR_CODES = [
  // configuration
  'CONFIG_INVALID',
  // control plane
  'AUTH_REQUIRED',
  'AUTH_INVALID',
  'BAD_REQUEST',
  'NOT_FOUND',
  /** The thing asked for was already done another way (an approval already decided). */
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNKNOWN_METHOD',
  'ORIGIN_FORBIDDEN',
  'SHUTTING_DOWN',
  /** The gateway's queue for this client is full; retry after `retryAfterMs`. */
  'OVERLOADED',
  'UNSUPPORTED_MEDIA_TYPE',
  // models
  'NO_MODEL',
  'PROVIDER_AUTH',
  'PROVIDER_RATE_LIMITED',
  'PROVIDER_OVERLOADED',
  'CONTEXT_OVERFLOW',
  'PROVIDER_NETWORK',
  'PROVIDER_TIMEOUT',
  /** The provider's circuit breaker is open: it stopped answering and is skipped for a while. */
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_BAD_RESPONSE',
  'PROVIDER_ERROR',
  // turns and tools
  'ABORTED',
  'TURN_TIMEOUT',
  'TURN_FAILED',
  'TOOL_ERROR',
  'TOOL_DENIED',
  'BUDGET_EXCEEDED',
  'PATH_OUTSIDE_WORKSPACE',
  /** A session's older history could not be summarised; nothing was changed. */
  'COMPACTION_FAILED',
  /** A structured run's model gave no valid plan (asked twice). */
  'PLAN_INVALID',
  /** A structured run's step kept failing verification; the run stopped there (`hearth runs resume`). */
  'STEP_FAILED',
  // storage and everything else
  'STORE_ERROR',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for('hearth.error');

export interface HearthErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** For rate limits: how long the remote asked us to wait. */
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

export class HearthError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: HearthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HearthError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; retryAfterMs?: number; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isHearthError(value: unknown): value is HearthError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Wraps anything thrown into a HearthError, keeping HearthErrors as they are. */
export function toHearthError(value: unknown, fallback: ErrorCode = 'INTERNAL'): HearthError {
  if (isHearthError(value)) return value;
  if (value instanceof Error && value.name === 'AbortError') {
    return new HearthError('ABORTED', 'The operation was aborted.', { cause: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  return new HearthError(fallback, message, { cause: value });
}
