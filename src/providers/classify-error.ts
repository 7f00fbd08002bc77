import { HearthError, isHearthError } from '../contracts/errors.js';

/**
 * Turns whatever a provider SDK, `fetch` or the network threw into a HearthError with a stable
 * code, a `retryable` flag, `retryAfterMs` for rate limits, and a message that tells the user what
 * to do. Works by duck typing (status, headers, error body, cause codes), not `instanceof`, so it
 * covers the OpenAI and Anthropic SDKs and plain fetch errors alike. Never echoes secrets.
 */

/** Where an error came from; used for messages and to scrub secrets from copied remote text. */
export interface ErrorContext {
  providerId: string;
  model?: string;
  baseUrl?: string;
  /** Values (API keys, header values) that must never appear in a message. */
  secrets?: readonly string[];
  now?: () => number;
}

const NETWORK_CODES: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
];

const CONTEXT_OVERFLOW_PATTERN =
  /context[ _-]?length|context[ _-]?window|too many tokens|context_length_exceeded|prompt is too long|maximum context|exceeds? the (?:model'?s? )?(?:maximum|max)|input is too long|request too large for model/i;

const KEY_PATTERN = /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}|\bsk-ant-[A-Za-z0-9_-]{8,}|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function stringField(value: unknown, key: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}

/** Reads one header from a `Headers` object or a plain record. */
function header(headers: unknown, name: string): string | undefined {
  if (!isRecord(headers)) return undefined;
  const get = headers.get;
  if (typeof get === 'function') {
    const value: unknown = get.call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  const value = headers[name] ?? headers[name.toLowerCase()];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * How long a response asks us to wait before retrying, from `retry-after-ms` (milliseconds) or
 * `retry-after` (seconds or an HTTP date). Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(headers: unknown, now: () => number = Date.now): number | undefined {
  const milliseconds = header(headers, 'retry-after-ms');
  if (milliseconds !== undefined) {
    const value = Number.parseFloat(milliseconds);
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  }
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter === undefined || retryAfter.trim() === '') return undefined;
  const seconds = Number(retryAfter.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

/** Removes secrets and anything that looks like a key from text copied out of a remote reply. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result.replace(KEY_PATTERN, '[redacted]');
}

/** The remote's own explanation, from the body shapes OpenAI, Anthropic and most servers use. */
function remoteMessage(error: Record<string, unknown>): string | undefined {
  const body = error.error;
  const candidates = [
    stringField(error, 'apiMessage'),
    stringField(isRecord(body) ? body.error : undefined, 'message'),
    stringField(body, 'message'),
    typeof body === 'string' ? body : undefined,
    stringField(error, 'message'),
  ];
  return candidates.find((text) => text !== undefined && text.trim() !== '');
}

function remoteType(error: Record<string, unknown>): string | undefined {
  const body = error.error;
  return (
    stringField(error, 'type') ??
    stringField(isRecord(body) ? body.error : undefined, 'type') ??
    stringField(body, 'type') ??
    stringField(body, 'code') ??
    stringField(error, 'code')
  );
}

/** Network error codes on the error or anywhere along its `cause` chain. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && isRecord(current); depth += 1) {
    const code = stringField(current, 'code');
    if (code !== undefined && NETWORK_CODES.includes(code)) return code;
    const errors = current.errors;
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const innerCode = stringField(inner, 'code');
        if (innerCode !== undefined && NETWORK_CODES.includes(innerCode)) return innerCode;
      }
    }
    current = current.cause;
  }
  return undefined;
}

/** The error's class name; the OpenAI SDK leaves `name` as 'Error', so fall back to the constructor. */
function errorName(error: Record<string, unknown>): string {
  const name = stringField(error, 'name');
  if (name !== undefined && name !== 'Error') return name;
  const errorClass: unknown = error.constructor;
  return typeof errorClass === 'function' && errorClass.name !== '' ? errorClass.name : 'Error';
}

/** The message at the end of the `cause` chain (undici hides the useful reason there). */
function innermostMessage(error: unknown): string | undefined {
  let current: unknown = error;
  let message: string | undefined;
  for (let depth = 0; depth < 6 && isRecord(current); depth += 1) {
    message = stringField(current, 'message') ?? message;
    current = current.cause;
  }
  return message;
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** The error a stream ends with when no byte arrived for `idleTimeoutMs`. */
export function providerTimeoutError(providerId: string, idleTimeoutMs: number): HearthError {
  return new HearthError(
    'PROVIDER_TIMEOUT',
    `The provider '${providerId}' sent nothing for ${idleTimeoutMs} ms, so the request was given up. The server may be overloaded or loading the model; try again, or raise models.providers.${providerId}.timeoutMs.`,
    { retryable: true, details: { providerId, idleTimeoutMs } },
  );
}

/** The error a stream ends with when the provider's reply cannot be understood. */
export function providerBadResponseError(providerId: string, detail: string, cause?: unknown): HearthError {
  return new HearthError(
    'PROVIDER_BAD_RESPONSE',
    `The provider '${providerId}' sent a reply Hearth could not understand (${detail}). Check that models.providers.${providerId}.baseUrl points at a compatible API.`,
    { retryable: true, cause, details: { providerId } },
  );
}

/** The error attached to an aborted call. */
export function providerAbortedError(providerId: string): HearthError {
  return new HearthError('ABORTED', `The request to the provider '${providerId}' was aborted.`, { details: { providerId } });
}

/** Classifies anything a provider call threw; HearthErrors pass through unchanged. */
export function classifyProviderError(error: unknown, context: ErrorContext): HearthError {
  if (isHearthError(error)) return error;
  const id = context.providerId;
  const secrets = context.secrets ?? [];
  const details: Record<string, unknown> = { providerId: id, ...(context.model === undefined ? {} : { model: context.model }) };
  if (!isRecord(error)) {
    return new HearthError('PROVIDER_ERROR', `The provider '${id}' failed: ${clip(redactSecrets(String(error), secrets))}`, { cause: error, details });
  }
  const name = errorName(error);
  const status = typeof error.status === 'number' ? error.status : undefined;
  const type = remoteType(error);
  const remote = remoteMessage(error);
  const said = remote === undefined ? '' : `: ${clip(redactSecrets(remote, secrets)).replace(/\.+$/, '')}`;
  const model = context.model === undefined ? '' : ` '${context.model}'`;
  const options = { cause: error, details: status === undefined ? details : { ...details, status } };

  if (name === 'AbortError' || name === 'APIUserAbortError') {
    return new HearthError('ABORTED', `The request to the provider '${id}' was aborted.`, options);
  }
  if (name === 'APIConnectionTimeoutError' || name === 'TimeoutError' || status === 408 || type === 'timeout_error') {
    return new HearthError(
      'PROVIDER_TIMEOUT',
      `The provider '${id}' did not answer in time (model${model}). Try again, or raise models.providers.${id}.timeoutMs.`,
      { ...options, retryable: true },
    );
  }
  if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error' || type === 'invalid_api_key') {
    const verb = status === 403 || type === 'permission_error' ? 'refused access with the API key' : 'rejected the API key';
    const shown = status === undefined ? '' : ` (${status})`;
    return new HearthError('PROVIDER_AUTH', `The provider '${id}' ${verb}${shown}${said}. Check models.providers.${id}.apiKey.`, options);
  }
  if (status === 429 || type === 'rate_limit_error' || type === 'rate_limit_exceeded' || type === 'insufficient_quota') {
    const retryAfterMs = parseRetryAfterMs(error.headers, context.now);
    if (type === 'insufficient_quota') {
      return new HearthError(
        'PROVIDER_RATE_LIMITED',
        `The provider '${id}' says the account is out of quota (429)${said}. Check the plan and billing for models.providers.${id}.apiKey, or configure a fallback model.`,
        options,
      );
    }
    const wait = retryAfterMs === undefined ? '' : ` It asked to wait ${Math.ceil(retryAfterMs / 1000)} s.`;
    return new HearthError(
      'PROVIDER_RATE_LIMITED',
      `The provider '${id}' is rate-limiting requests (429).${wait} If this keeps happening, lower the request rate, raise maxRetries or add a fallback model.`,
      { ...options, retryable: true, retryAfterMs },
    );
  }
  if (status === 529 || status === 503 || type === 'overloaded_error') {
    const shown = status === undefined ? '' : ` (${status})`;
    return new HearthError(
      'PROVIDER_OVERLOADED',
      `The provider '${id}' is overloaded${shown}. Try again shortly, or add a fallback model to keep answering meanwhile.`,
      { ...options, retryable: true, retryAfterMs: parseRetryAfterMs(error.headers, context.now) },
    );
  }
  const mentionsOverflow = (remote !== undefined && CONTEXT_OVERFLOW_PATTERN.test(remote)) || type === 'context_length_exceeded';
  if ((status === 400 || status === 413 || status === undefined) && mentionsOverflow) {
    return new HearthError(
      'CONTEXT_OVERFLOW',
      `The conversation is too long for the model${model} on provider '${id}'${said}. Reset or compact the session, or lower agents.defaults.contextTokens.`,
      options,
    );
  }
  if (status === 404) {
    return new HearthError(
      'PROVIDER_ERROR',
      `The provider '${id}' does not know the model or endpoint (404)${said}. Check the model id${model} and models.providers.${id}.baseUrl.`,
      options,
    );
  }
  if (status !== undefined && status >= 500) {
    return new HearthError('PROVIDER_ERROR', `The provider '${id}' had a server error (${status})${said}. Try again; if it persists, check the provider's status or add a fallback model.`, { ...options, retryable: true });
  }
  if (status !== undefined && status >= 400) {
    return new HearthError('PROVIDER_ERROR', `The provider '${id}' rejected the request (${status})${said}.`, options);
  }
  if (type === 'api_error') {
    return new HearthError('PROVIDER_ERROR', `The provider '${id}' reported an internal error${said}. Try again; if it persists, add a fallback model.`, { ...options, retryable: true });
  }
  const code = networkCode(error);
  if (code !== undefined || name === 'APIConnectionError' || (name === 'TypeError' && /fetch failed|terminated|network/i.test(String(error.message)))) {
    const where = context.baseUrl === undefined ? '' : ` at ${context.baseUrl}`;
    const reason = code ?? innermostMessage(error);
    const why = reason === undefined ? '' : ` (${clip(redactSecrets(reason, secrets))})`;
    return new HearthError(
      'PROVIDER_NETWORK',
      `Could not reach the provider '${id}'${where}${why}. Check that the server is running and models.providers.${id}.baseUrl is right.`,
      { ...options, retryable: true },
    );
  }
  if (name === 'SyntaxError') {
    return providerBadResponseError(id, 'a streamed chunk was not valid JSON', error);
  }
  return new HearthError('PROVIDER_ERROR', `The provider '${id}' failed${said}.`, options);
}
