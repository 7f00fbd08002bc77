import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HearthError } from '../contracts/errors.js';
import { classifyProviderError, parseRetryAfterMs, redactSecrets } from './classify-error.js';

const context = { providerId: 'local', model: 'qwen3:8b', baseUrl: 'http://127.0.0.1:11434/v1', secrets: ['sk-very-secret-value'] };

/** Something shaped like an SDK APIError. */
function apiError(status: number | undefined, body: unknown, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`${status} status`), { status, error: body, headers: new Headers(headers) });
}

test('parseRetryAfterMs reads seconds, HTTP dates and retry-after-ms', () => {
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '0.5' })), 500);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after-ms': '1234', 'retry-after': '9' })), 1234);
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:07 GMT' }, () => now), 7000);
  assert.equal(parseRetryAfterMs({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }, () => now), 0);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
  assert.equal(parseRetryAfterMs(undefined), undefined);
});

test('401 and 403 are PROVIDER_AUTH with a hint and without the key', () => {
  const auth = classifyProviderError(apiError(401, { message: 'Incorrect API key provided: sk-very-secret-value' }), context);
  assert.equal(auth.code, 'PROVIDER_AUTH');
  assert.equal(auth.retryable, false);
  assert.match(auth.message, /^The provider 'local' rejected the API key \(401\).*Check models\.providers\.local\.apiKey\.$/);
  assert.doesNotMatch(auth.message, /sk-very-secret-value/);
  assert.equal(classifyProviderError(apiError(403, { message: 'no access' }), context).code, 'PROVIDER_AUTH');
});

test('429 is retryable PROVIDER_RATE_LIMITED with retryAfterMs; quota exhaustion is not retryable', () => {
  const limited = classifyProviderError(apiError(429, { message: 'slow down' }, { 'retry-after': '3' }), context);
  assert.equal(limited.code, 'PROVIDER_RATE_LIMITED');
  assert.equal(limited.retryable, true);
  assert.equal(limited.retryAfterMs, 3000);
  const quota = classifyProviderError(apiError(429, { message: 'You exceeded your current quota', type: 'insufficient_quota' }), context);
  assert.equal(quota.code, 'PROVIDER_RATE_LIMITED');
  assert.equal(quota.retryable, false);
});

test('529, 503 and overloaded_error are retryable PROVIDER_OVERLOADED', () => {
  for (const status of [529, 503]) {
    const error = classifyProviderError(apiError(status, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), context);
    assert.equal(error.code, 'PROVIDER_OVERLOADED');
    assert.equal(error.retryable, true);
  }
  // Anthropic sends overload mid-stream as an SSE error event: no status, just the type.
  const midStream = Object.assign(new Error('overloaded'), { status: undefined, type: 'overloaded_error', error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
  assert.equal(classifyProviderError(midStream, context).code, 'PROVIDER_OVERLOADED');
});

test('context overflow messages are CONTEXT_OVERFLOW; other 400s are not', () => {
  const messages = [
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
    'prompt is too long: 210000 tokens > 200000 maximum',
    'Request has too many tokens',
  ];
  for (const message of messages) {
    const error = classifyProviderError(apiError(400, { message }), context);
    assert.equal(error.code, 'CONTEXT_OVERFLOW', message);
    assert.match(error.message, /too long/);
  }
  assert.equal(classifyProviderError(apiError(400, { message: 'x', code: 'context_length_exceeded' }), context).code, 'CONTEXT_OVERFLOW');
  assert.equal(classifyProviderError(apiError(413, { message: 'request exceeds the maximum context window' }), context).code, 'CONTEXT_OVERFLOW');
  const bad = classifyProviderError(apiError(400, { message: 'temperature must be <= 2' }), context);
  assert.equal(bad.code, 'PROVIDER_ERROR');
  assert.equal(bad.retryable, false);
});

test('other 5xx are retryable PROVIDER_ERROR; 404 names the model', () => {
  const server = classifyProviderError(apiError(502, { message: 'bad gateway' }), context);
  assert.equal(server.code, 'PROVIDER_ERROR');
  assert.equal(server.retryable, true);
  const missing = classifyProviderError(apiError(404, { message: 'model not found' }), context);
  assert.equal(missing.retryable, false);
  assert.match(missing.message, /qwen3:8b/);
});

test('network failures are retryable PROVIDER_NETWORK naming the base URL', () => {
  const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const error = classifyProviderError(refused, context);
  assert.equal(error.code, 'PROVIDER_NETWORK');
  assert.equal(error.retryable, true);
  assert.match(error.message, /ECONNREFUSED/);
  assert.match(error.message, /127\.0\.0\.1:11434/);
  const dns = classifyProviderError(Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), { code: 'ENOTFOUND' }), context);
  assert.equal(dns.code, 'PROVIDER_NETWORK');
  class APIConnectionError extends Error {}
  assert.equal(classifyProviderError(new APIConnectionError('Connection error.'), context).code, 'PROVIDER_NETWORK');
});

test('timeouts, aborts, bad JSON and HearthErrors', () => {
  class APIConnectionTimeoutError extends Error {}
  const timeout = classifyProviderError(new APIConnectionTimeoutError('Request timed out.'), context);
  assert.equal(timeout.code, 'PROVIDER_TIMEOUT');
  assert.equal(timeout.retryable, true);
  class APIUserAbortError extends Error {}
  assert.equal(classifyProviderError(new APIUserAbortError('aborted'), context).code, 'ABORTED');
  assert.equal(classifyProviderError(new DOMException('aborted', 'AbortError'), context).code, 'ABORTED');
  const syntax = classifyProviderError(new SyntaxError('Unexpected token'), context);
  assert.equal(syntax.code, 'PROVIDER_BAD_RESPONSE');
  assert.equal(syntax.retryable, true);
  const existing = new HearthError('TOOL_ERROR', 'kept');
  assert.equal(classifyProviderError(existing, context), existing);
  assert.equal(classifyProviderError('weird', context).code, 'PROVIDER_ERROR');
});

test('redactSecrets removes configured secrets and key-like strings', () => {
  assert.equal(redactSecrets('key sk-very-secret-value used', ['sk-very-secret-value']), 'key [redacted] used');
  assert.equal(redactSecrets('got sk-proj-ABCDEFGH12345678 and Bearer abcdefghijklmnop'), 'got [redacted] and [redacted]');
});
