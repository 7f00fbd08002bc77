import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../contracts/errors.js';
import { bodyUnread } from './http-body.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  CONFIG_INVALID: 400,
  AUTH_REQUIRED: 401,
  AUTH_INVALID: 401,
  ORIGIN_FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_METHOD: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  OVERLOADED: 503,
  RATE_LIMITED: 429,
  BUDGET_EXCEEDED: 429,
  NO_MODEL: 503,
  SHUTTING_DOWN: 503,
  PROVIDER_AUTH: 502,
  PROVIDER_RATE_LIMITED: 429,
  PROVIDER_OVERLOADED: 503,
  CONTEXT_OVERFLOW: 400,
  PROVIDER_NETWORK: 502,
  PROVIDER_TIMEOUT: 504,
  PROVIDER_UNAVAILABLE: 503,
  PROVIDER_BAD_RESPONSE: 502,
  PROVIDER_ERROR: 502,
  TURN_TIMEOUT: 504,
  ABORTED: 499 as number,
};

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

export function httpStatusFor(code: string): number {
  return STATUS_BY_CODE[code as ErrorCode] ?? 500;
}

/** Sends an OpenAI-style error body: `{error:{message, type, code, param}}`. */
export function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: { headers?: Record<string, string>; body?: Record<string, unknown> } = {},
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const body = JSON.stringify({
    error: { message, type: TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), code, param: null },
    ...extra.body,
  });
  // A refusal before the body was read closes the connection rather than read (or wait for) the rest.
  const close: Record<string, string> = response.req && bodyUnread(response.req) ? { connection: 'close' } : {};
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...close, ...extra.headers });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}
